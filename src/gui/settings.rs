//! What the user chose, persisted between runs through eframe's storage.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::codec::{Codec, Quality};
use crate::methods::MethodKind;

pub const STORAGE_KEY: &str = "rescale-lab-settings";
/// The recent-files menu stays short enough to scan at a glance.
pub const MAX_RECENT: usize = 10;
/// The target-size slider's range, bits per HR pixel (log scale).
pub const TARGET_BPP_RANGE: (f32, f32) = (0.05, 8.0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodecFamily {
    None,
    Jpeg,
    Webp,
}

impl CodecFamily {
    pub const ALL: [CodecFamily; 3] = [CodecFamily::None, CodecFamily::Jpeg, CodecFamily::Webp];

    pub fn label(self) -> &'static str {
        match self {
            CodecFamily::None => "None (lossless)",
            CodecFamily::Jpeg => "JPEG",
            CodecFamily::Webp => "WebP",
        }
    }

    /// The name `default_method` uses to pick codec-specific SAIN weights.
    pub fn key(self) -> &'static str {
        match self {
            CodecFamily::None => "none",
            CodecFamily::Jpeg => "jpeg",
            CodecFamily::Webp => "webp",
        }
    }

    pub fn next(self) -> Self {
        match self {
            CodecFamily::None => CodecFamily::Jpeg,
            CodecFamily::Jpeg => CodecFamily::Webp,
            CodecFamily::Webp => CodecFamily::None,
        }
    }

    pub fn codec(self, quality: u8) -> Codec {
        // The slider keeps quality in 1–100; clamping here keeps a hand-edited settings file safe.
        let quality = Quality::new(quality.clamp(1, 100)).expect("clamped to 1–100");
        match self {
            CodecFamily::None => Codec::None,
            CodecFamily::Jpeg => Codec::Jpeg { quality },
            CodecFamily::Webp => Codec::Webp { quality },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceChoice {
    Cpu,
    Cuda,
    Metal,
}

impl DeviceChoice {
    pub const ALL: [DeviceChoice; 3] = [DeviceChoice::Cpu, DeviceChoice::Cuda, DeviceChoice::Metal];

    pub fn label(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "CPU",
            DeviceChoice::Cuda => "CUDA",
            DeviceChoice::Metal => "Metal",
        }
    }
}

/// How the compressed LR panel is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LrDisplay {
    /// Nearest-neighbour upscaled to the HR size, so it lines up with the other panels.
    UpscaledNearest,
    /// At its own pixel size (1/scale of the others), to show how small it really is.
    OwnSize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewMode {
    /// Every panel side by side.
    Grid,
    /// Two panels in one, with a draggable divider.
    Split,
    /// |method − original| as a heatmap in every method panel.
    Difference,
    /// Two methods side by side, large, each under one headline: the demo layout for a room.
    TwoUp,
}

impl ViewMode {
    pub fn label(self) -> &'static str {
        match self {
            ViewMode::Grid => "Grid",
            ViewMode::Split => "Split",
            ViewMode::Difference => "Difference",
            ViewMode::TwoUp => "Two-up",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "grid" | "compare" => Some(ViewMode::Grid),
            "split" | "swipe" => Some(ViewMode::Split),
            "diff" | "difference" => Some(ViewMode::Difference),
            "two-up" | "twoup" | "2up" => Some(ViewMode::TwoUp),
            _ => None,
        }
    }
}

/// What the difference view draws in each method panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffKind {
    /// |method − original| in 8-bit levels.
    Error,
    /// Butteraugli's per-pixel distance (where a viewer would see a difference).
    Butteraugli,
    /// Where each network is closer to the original than Bicubic, and where it is further.
    VsBicubic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub scale: u32,
    pub codec: CodecFamily,
    pub quality: u8,
    /// Equal size instead of equal quality: every method's quality is chosen so its compressed
    /// LR meets `target_bpp` (bits per HR pixel).
    pub size_mode: bool,
    pub target_bpp: f32,
    /// SSIMULACRA2 and Butteraugli, computed after PSNR/SSIM (can be slow on huge images).
    pub perceptual: bool,
    /// With a crop, compute the networks' crop at the slider's next positions while idle.
    pub compute_ahead: bool,
    pub diff_kind: DiffKind,
    pub show_bicubic: bool,
    pub show_irn: bool,
    pub show_sain: bool,
    /// Method keys of user-loaded models the user hid.
    pub hidden_models: Vec<String>,
    pub temperature: f32,
    pub seed: u64,
    pub device: DeviceChoice,
    pub lr_display: LrDisplay,
    pub view: ViewMode,
    /// Panels compared in the split view: "original", "lr", "best" (`app::BEST_NETWORK`) or a
    /// method kind/key.
    pub split_left: String,
    pub split_right: String,
    /// Whose LR the compressed-LR panel shows: "auto" (the first network shown) or a method.
    pub lr_source: String,
    /// Heatmap full scale: an absolute error of this many 8-bit levels is drawn at the top colour.
    pub diff_full_scale: u8,
    pub show_chart: bool,
    pub controls_visible: bool,
    pub recent: Vec<PathBuf>,
    /// Checkpoints loaded with "Load model…", reloaded at start.
    pub user_models: Vec<PathBuf>,
    pub export_dir: Option<PathBuf>,
    /// The model a network panel uses at a scale instead of the shipped one, by "irn-x2" etc.
    pub default_models: std::collections::BTreeMap<String, PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            scale: 2,
            codec: CodecFamily::Jpeg,
            quality: 75,
            size_mode: false,
            target_bpp: 0.5,
            perceptual: true,
            compute_ahead: true,
            diff_kind: DiffKind::Error,
            show_bicubic: true,
            show_irn: true,
            show_sain: true,
            hidden_models: Vec::new(),
            temperature: 1.0,
            seed: 0,
            device: DeviceChoice::Cpu,
            lr_display: LrDisplay::UpscaledNearest,
            view: ViewMode::Grid,
            split_left: "bicubic".into(),
            split_right: super::app::BEST_NETWORK.into(),
            lr_source: "auto".into(),
            diff_full_scale: 32,
            show_chart: false,
            controls_visible: true,
            recent: Vec::new(),
            user_models: Vec::new(),
            export_dir: None,
            default_models: Default::default(),
        }
    }
}

impl Settings {
    pub fn codec(&self) -> Codec {
        self.codec.codec(self.quality)
    }

    /// The target size when comparing at equal size (needs a lossy codec).
    pub fn target_bpp(&self) -> Option<f64> {
        // Rounded to the slider's 3 decimals: an f32 widened as it is prints 0.30000001.
        (self.size_mode && self.codec != CodecFamily::None).then_some((self.target_bpp as f64 * 1000.0).round() / 1000.0)
    }

    /// The codec a result depends on: at equal size the quality is searched for, so the
    /// quality slider's value does not matter.
    pub fn result_codec(&self) -> Codec {
        if self.target_bpp().is_some() {
            self.codec.codec(75)
        } else {
            self.codec()
        }
    }

    pub fn shows_kind(&self, kind: MethodKind) -> bool {
        match kind {
            MethodKind::Bicubic => self.show_bicubic,
            MethodKind::Irn => self.show_irn,
            MethodKind::Sain => self.show_sain,
        }
    }

    pub fn set_shows_kind(&mut self, kind: MethodKind, show: bool) {
        match kind {
            MethodKind::Bicubic => self.show_bicubic = show,
            MethodKind::Irn => self.show_irn = show,
            MethodKind::Sain => self.show_sain = show,
        }
    }

    pub fn default_model(&self, kind: MethodKind, scale: u32) -> Option<&PathBuf> {
        self.default_models.get(&default_key(kind, scale))
    }

    /// `None` goes back to the shipped weights.
    pub fn set_default_model(&mut self, kind: MethodKind, scale: u32, path: Option<PathBuf>) {
        match path {
            Some(p) => self.default_models.insert(default_key(kind, scale), p),
            None => self.default_models.remove(&default_key(kind, scale)),
        };
    }

    pub fn add_recent(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
    }

    /// Repairs values a hand-edited or older settings file may carry.
    pub fn sanitize(&mut self) {
        if !matches!(self.scale, 2 | 4 | 8) {
            self.scale = 2;
        }
        self.quality = self.quality.clamp(1, 100);
        if !self.temperature.is_finite() {
            self.temperature = 1.0;
        }
        self.temperature = self.temperature.clamp(0.0, 2.0);
        self.diff_full_scale = self.diff_full_scale.max(1);
        if !self.target_bpp.is_finite() {
            self.target_bpp = 0.5;
        }
        self.target_bpp = self.target_bpp.clamp(TARGET_BPP_RANGE.0, TARGET_BPP_RANGE.1);
    }
}

fn default_key(kind: MethodKind, scale: u32) -> String {
    format!("{}-x{scale}", kind.label().to_ascii_lowercase())
}
