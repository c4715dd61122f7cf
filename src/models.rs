//! The weights shipped with the app: `models/NAME.safetensors`, each described by the manifest
//! `models/NAME.json` beside it.
//!
//! A manifest holds at least `name`, `arch` ("irn" / "sain") and `scale`; `codec` (what the
//! model was trained for: "none", "jpeg" or "webp"), `provenance`, `iterations`, `validation`
//! and `default` are optional, and any other field is kept in `extra`.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::nets::Arch;

/// Environment variable that overrides where the shipped models are looked for.
pub const MODELS_DIR_ENV: &str = "RESCALE_LAB_MODELS";

/// The lossy codec a model was trained to withstand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainedCodec {
    #[default]
    None,
    Jpeg,
    Webp,
}

impl TrainedCodec {
    /// "none", "jpeg"/"jpg" or "webp", case-insensitive.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Some(TrainedCodec::None),
            "jpeg" | "jpg" => Some(TrainedCodec::Jpeg),
            "webp" => Some(TrainedCodec::Webp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrainedCodec::None => "none",
            TrainedCodec::Jpeg => "jpeg",
            TrainedCodec::Webp => "webp",
        }
    }

    /// The codec's own spelling, for people: "JPEG", "WebP" ("none" without a codec).
    pub fn display_name(self) -> &'static str {
        match self {
            TrainedCodec::None => "none",
            TrainedCodec::Jpeg => "JPEG",
            TrainedCodec::Webp => "WebP",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelManifest {
    pub name: String,
    pub arch: Arch,
    pub scale: u32,
    #[serde(default)]
    pub codec: TrainedCodec,
    /// Where the weights come from: training recipe, data, conversion from official weights…
    #[serde(default)]
    pub provenance: String,
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Free-form validation results (PSNR/SSIM per data set…).
    #[serde(default)]
    pub validation: serde_json::Value,
    /// Marks the model to pick when several share an architecture and scale.
    #[serde(default)]
    pub default: bool,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShippedModel {
    pub manifest: ModelManifest,
    /// `NAME.safetensors`.
    pub weights: PathBuf,
    /// `NAME.json`.
    pub manifest_path: PathBuf,
}

impl ShippedModel {
    /// "SAIN ×2 (sain_x2_jpeg, JPEG-trained)".
    pub fn label(&self) -> String {
        let m = &self.manifest;
        match m.codec {
            TrainedCodec::None => format!("{} ×{} ({})", m.arch, m.scale, m.name),
            codec => format!("{} ×{} ({}, {}-trained)", m.arch, m.scale, m.name, codec.display_name()),
        }
    }
}

/// `$RESCALE_LAB_MODELS`, else the first `models/` folder next to the executable or one of its
/// ancestors (installed layouts and `target/release/…` both work), else the source tree's.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(found) = exe.ancestors().skip(1).map(|d| d.join("models")).find(|d| d.is_dir()) {
            return found;
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

/// Every `NAME.json` with a `NAME.safetensors` beside it, sorted by architecture, scale, codec
/// and name. A missing or empty folder gives an empty list; a manifest that does not parse is an
/// error naming it (JSON files without weights beside them are not manifests and are skipped).
pub fn discover(dir: &Path) -> Result<Vec<ShippedModel>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(EngineError::Io { path: dir.to_path_buf(), error: source }),
    };
    let mut models = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| EngineError::Io { path: dir.to_path_buf(), error: source })?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let weights = path.with_extension("safetensors");
        if !weights.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| EngineError::Io { path: path.clone(), error: source })?;
        let manifest: ModelManifest = serde_json::from_str(&text).map_err(|e| EngineError::Weights {
            path: path.clone(),
            reason: format!("invalid model manifest: {e}"),
        })?;
        models.push(ShippedModel { manifest, weights, manifest_path: path });
    }
    models.sort_by(|a, b| {
        let key = |m: &ShippedModel| (m.manifest.arch, m.manifest.scale, m.manifest.codec, m.manifest.name.clone());
        key(a).cmp(&key(b))
    });
    Ok(models)
}

/// The shipped model of `arch` and `scale` to use when the user has not picked one: the one
/// marked `default`, else for IRN one trained without a codec and for SAIN a JPEG-trained one
/// (as in the paper), else the first by name.
pub fn find_default(arch: Arch, scale: u32) -> Option<ShippedModel> {
    let preferred = match arch {
        Arch::Irn => TrainedCodec::None,
        Arch::Sain => TrainedCodec::Jpeg,
    };
    pick(discover(&models_dir()).ok()?, arch, scale, preferred, true)
}

/// Like [`find_default`], but preferring the model trained for `codec` when there is one.
pub fn find_for_codec(arch: Arch, scale: u32, codec: TrainedCodec) -> Option<ShippedModel> {
    pick(discover(&models_dir()).ok()?, arch, scale, codec, false)
}

/// Among the models of `arch` and `scale` (sorted by name), the best by codec match and the
/// `default` mark, in the order `default_first` says.
pub fn pick(
    models: Vec<ShippedModel>,
    arch: Arch,
    scale: u32,
    codec: TrainedCodec,
    default_first: bool,
) -> Option<ShippedModel> {
    models
        .into_iter()
        .filter(|m| m.manifest.arch == arch && m.manifest.scale == scale)
        .min_by_key(|m| {
            let (codec_miss, not_default) = (m.manifest.codec != codec, !m.manifest.default);
            if default_first { (not_default, codec_miss) } else { (codec_miss, not_default) }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, json: &str) {
        std::fs::write(dir.join(format!("{name}.json")), json).unwrap();
        std::fs::write(dir.join(format!("{name}.safetensors")), b"weights").unwrap();
    }

    #[test]
    fn missing_or_empty_dir_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(discover(dir.path()).unwrap().is_empty());
        assert!(discover(&dir.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn discovers_and_picks() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sain_x2_webp", r#"{"name": "sain_x2_webp", "arch": "sain", "scale": 2, "codec": "webp"}"#);
        write(
            dir.path(),
            "sain_x2_jpeg",
            r#"{"name": "sain_x2_jpeg", "arch": "sain", "scale": 2, "codec": "jpeg", "iterations": 5000,
                "validation": {"Set5": {"psnr_y": 33.1}}, "notes": "free-form"}"#,
        );
        write(dir.path(), "irn_x4", r#"{"name": "irn_x4", "arch": "irn", "scale": 4, "default": true}"#);
        // A JSON without weights beside it is not a manifest.
        std::fs::write(dir.path().join("log.json"), "[1, 2]").unwrap();

        let models = discover(dir.path()).unwrap();
        let names: Vec<&str> = models.iter().map(|m| m.manifest.name.as_str()).collect();
        assert_eq!(names, ["irn_x4", "sain_x2_jpeg", "sain_x2_webp"]);
        let jpeg = &models[1];
        assert_eq!(jpeg.manifest.iterations, Some(5000));
        assert_eq!(jpeg.manifest.extra["notes"], "free-form");
        assert_eq!(jpeg.weights, dir.path().join("sain_x2_jpeg.safetensors"));
        assert_eq!(jpeg.label(), "SAIN ×2 (sain_x2_jpeg, JPEG-trained)");

        let pick_name = |arch, scale, codec, default_first| {
            pick(models.clone(), arch, scale, codec, default_first).map(|m| m.manifest.name)
        };
        assert_eq!(pick_name(Arch::Sain, 2, TrainedCodec::Webp, false).as_deref(), Some("sain_x2_webp"));
        assert_eq!(pick_name(Arch::Sain, 2, TrainedCodec::Jpeg, true).as_deref(), Some("sain_x2_jpeg"));
        assert_eq!(pick_name(Arch::Irn, 4, TrainedCodec::Jpeg, false).as_deref(), Some("irn_x4"));
        assert_eq!(pick_name(Arch::Irn, 2, TrainedCodec::None, true), None);
    }

    #[test]
    fn malformed_manifest_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "broken", r#"{"name": "broken", "arch": "esrgan", "scale": 2}"#);
        match discover(dir.path()) {
            Err(EngineError::Weights { path, reason }) => {
                assert_eq!(path, dir.path().join("broken.json"));
                assert!(reason.contains("invalid model manifest"), "{reason}");
            }
            other => panic!("expected a Weights error, got {other:?}"),
        }
    }
}
