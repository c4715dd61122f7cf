//! The list of methods a user can compare: bicubic, the shipped IRN/SAIN weights, and any
//! checkpoint the user loads. A method whose weights are missing stays in the list, disabled,
//! with the reason, so the GUI and CLI can say why it is not there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bicubic::Bicubic;
use crate::error::{EngineError, Result};
use crate::models::{self, TrainedCodec};
use crate::nets::{Arch, NetworkRescaler};
use crate::rescaler::Rescaler;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MethodKind {
    Bicubic,
    Irn,
    Sain,
}

impl MethodKind {
    pub fn label(self) -> &'static str {
        match self {
            MethodKind::Bicubic => "Bicubic",
            MethodKind::Irn => "IRN",
            MethodKind::Sain => "SAIN",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bicubic" => Ok(MethodKind::Bicubic),
            "irn" => Ok(MethodKind::Irn),
            "sain" => Ok(MethodKind::Sain),
            other => Err(EngineError::InvalidArgument(format!(
                "unknown method '{other}' (expected bicubic, irn or sain)"
            ))),
        }
    }
}

/// A method ready to run, or the reason it cannot.
#[derive(Clone)]
pub struct Method {
    /// Unique per loaded model; the pipeline caches by it.
    pub key: String,
    pub kind: MethodKind,
    /// Shown to the user: "IRN ×2 (irn_x2)".
    pub label: String,
    pub weights: Option<PathBuf>,
    pub rescaler: std::result::Result<Arc<dyn Rescaler>, String>,
}

impl Method {
    pub fn bicubic(scale: u32) -> Self {
        Method {
            key: format!("bicubic-x{scale}"),
            kind: MethodKind::Bicubic,
            label: "Bicubic".into(),
            weights: None,
            rescaler: Ok(Arc::new(Bicubic::new(scale))),
        }
    }

    pub fn is_available(&self) -> bool {
        self.rescaler.is_ok()
    }
}

/// Loads a network from a weights file (`.pth` or `.safetensors`); the architecture and scale
/// come from the file.
pub fn load_network(path: &Path, device: &candle_core::Device) -> Result<Method> {
    let rescaler = NetworkRescaler::load(path, device)?;
    let kind = kind_of(rescaler.arch());
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Method {
        key: network_key(kind, path),
        kind,
        label: format!("{} ×{} ({name})", kind.label(), rescaler.scale()),
        weights: Some(path.to_path_buf()),
        rescaler: Ok(Arc::new(rescaler)),
    })
}

/// The pipeline's cache key of a network: one per weights file, however it was loaded.
fn network_key(kind: MethodKind, weights: &Path) -> String {
    format!("{}:{}", kind.label().to_ascii_lowercase(), weights.display())
}

fn kind_of(arch: Arch) -> MethodKind {
    match arch {
        Arch::Irn => MethodKind::Irn,
        Arch::Sain => MethodKind::Sain,
    }
}

/// The default method of `kind` at `scale`: bicubic, or the shipped weights for the network.
/// `codec_family` ("none", "jpeg", "webp") picks, among shipped SAIN weights, the one trained
/// for that codec when there is one.
pub fn default_method(kind: MethodKind, scale: u32, codec_family: &str, device: &candle_core::Device) -> Method {
    let arch = match kind {
        MethodKind::Bicubic => return Method::bicubic(scale),
        MethodKind::Irn => Arch::Irn,
        MethodKind::Sain => Arch::Sain,
    };
    let shipped = match (arch, TrainedCodec::parse(codec_family)) {
        // SAIN's weights are codec-specific; without compression the paper's JPEG model is used.
        (Arch::Sain, Some(codec)) if codec != TrainedCodec::None => models::find_for_codec(arch, scale, codec),
        _ => models::find_default(arch, scale),
    };
    let Some(shipped) = shipped else {
        return Method {
            key: format!("{}-x{scale}-missing", kind.label().to_ascii_lowercase()),
            kind,
            label: format!("{} ×{scale}", kind.label()),
            weights: None,
            rescaler: Err(format!(
                "no {} ×{scale} weights in {} (load a checkpoint, or train one with training/)",
                kind.label(),
                models::models_dir().display()
            )),
        };
    };
    let rescaler = NetworkRescaler::load_as(&shipped.weights, arch, device)
        .map(|r| Arc::new(r) as Arc<dyn Rescaler>)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            if r.scale() == scale {
                Ok(r)
            } else {
                Err(format!("{}: manifest says ×{scale} but the weights are ×{}", shipped.weights.display(), r.scale()))
            }
        });
    Method {
        key: network_key(kind, &shipped.weights),
        kind,
        label: shipped.label(),
        weights: Some(shipped.weights.clone()),
        rescaler,
    }
}
