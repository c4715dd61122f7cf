//! Open images and the results currently shown for the active one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use egui::{TextureHandle, TextureOptions};
use image::RgbImage;

use crate::codec::Codec;

use super::worker::MethodView;

/// Nearest-neighbour when magnified (pixels stay pixels, as the comparison needs), smooth with
/// mipmaps when reduced (no shimmer when a large image is fitted).
pub const IMAGE_TEXTURE: TextureOptions = TextureOptions {
    magnification: egui::TextureFilter::Nearest,
    minification: egui::TextureFilter::Linear,
    wrap_mode: egui::TextureWrapMode::ClampToEdge,
    mipmap_mode: Some(egui::TextureFilter::Linear),
};

pub struct Document {
    pub id: u64,
    pub name: String,
    pub path: Option<PathBuf>,
    pub rgb: Arc<RgbImage>,
    pub texture: TextureHandle,
    pub warnings: Vec<String>,
    /// One of the bundled samples (index into `samples::SAMPLES`): it has no path, but a session
    /// can still name it.
    pub sample: Option<usize>,
}

impl Document {
    pub fn size(&self) -> egui::Vec2 {
        egui::vec2(self.rgb.width() as f32, self.rgb.height() as f32)
    }
}

/// Everything a result depends on besides the method: when it differs from the current one,
/// the result on screen is stale and marked "updating".
#[derive(Debug, Clone, PartialEq)]
pub struct ResultKey {
    pub doc_id: u64,
    pub scale: u32,
    pub codec: Codec,
    /// Equal-size mode's target (bits of the f64), which then decides each method's quality.
    pub target_bpp_bits: Option<u64>,
    /// Whether SSIMULACRA2/Butteraugli are wanted: switching them on must start their pass.
    pub perceptual: bool,
    pub temperature_bits: u32,
    pub seed: u64,
    pub diff_full_scale: u8,
}

pub struct Ready {
    pub view: Arc<MethodView>,
    pub recon: TextureHandle,
    pub lr: TextureHandle,
    pub diff: TextureHandle,
    /// The network-minus-Bicubic map, for full-resolution network results.
    pub versus: Option<TextureHandle>,
}

pub struct Slot {
    pub label: String,
    pub key: ResultKey,
    pub outcome: Result<Ready, String>,
}

/// Results of the active image, per method key.
#[derive(Default)]
pub struct Results {
    pub doc_id: Option<u64>,
    pub slots: HashMap<String, Slot>,
}

impl Results {
    pub fn clear_for(&mut self, doc_id: Option<u64>) {
        if self.doc_id != doc_id {
            self.slots.clear();
            self.doc_id = doc_id;
        }
    }
}
