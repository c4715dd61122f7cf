//! The user's own models folder: weight files put there (the official checkpoints the papers'
//! authors publish, or any with their key names) are found at start-up and offered as methods.
//! What each file is comes from its keys, never from its name; the official names are only
//! recognised to label the file "official" and, for SAIN, to say which codec it was trained for.

use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, NetConfig};

/// The folder's name under the platform's data folder.
const APP_DIR: &str = "rescale-lab";

/// `$XDG_DATA_HOME/rescale-lab/models`, else `~/.local/share/rescale-lab/models` on Linux;
/// `~/Library/Application Support/rescale-lab/models` on macOS; `%APPDATA%\rescale-lab\models`
/// on Windows. `None` when no home folder is known.
pub fn user_models_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(target_os = "windows") {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local/share")))
    };
    base.map(|b| b.join(APP_DIR).join("models"))
}

/// A file of the folder the authors publish under this name, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficialName {
    pub file: &'static str,
    /// The codec a SAIN model was trained with (`None` for IRN).
    pub codec: Option<&'static str>,
}

/// The official checkpoints' file names (IRN: ×2, ×4, ×8; SAIN: ×2 JPEG and WebP, ×4 JPEG).
pub const OFFICIAL: [OfficialName; 6] = [
    OfficialName { file: "IRN_x2.pth", codec: None },
    OfficialName { file: "IRN_x4.pth", codec: None },
    OfficialName { file: "IRN_x8.pth", codec: None },
    OfficialName { file: "SAINx2_JPEG.pth", codec: Some("jpeg") },
    OfficialName { file: "SAINx2_WebP.pth", codec: Some("webp") },
    OfficialName { file: "SAINx4_JPEG.pth", codec: Some("jpeg") },
];

pub fn official_name(path: &Path) -> Option<OfficialName> {
    let name = path.file_name()?.to_str()?;
    OFFICIAL.iter().copied().find(|o| o.file.eq_ignore_ascii_case(name))
}

/// A usable model of the folder.
#[derive(Debug, Clone, PartialEq)]
pub struct UserModel {
    pub path: PathBuf,
    pub config: NetConfig,
    pub official: Option<OfficialName>,
}

/// "IRN ×2 · IRN_x2.pth (official)": a model file as the app lists it.
pub fn label_for(arch: &str, scale: u32, path: &Path) -> String {
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut label = format!("{arch} ×{scale} · {file}");
    match official_name(path) {
        Some(OfficialName { codec: Some(codec), .. }) => label.push_str(&format!(" (official, {}-trained)", codec_name(codec))),
        Some(_) => label.push_str(" (official)"),
        None => {}
    }
    label
}

impl UserModel {
    /// "SAIN ×2 · SAINx2_JPEG.pth (official, JPEG-trained)".
    pub fn label(&self) -> String {
        let arch = match self.config {
            NetConfig::Irn(_) => "IRN",
            NetConfig::Sain(_) => "SAIN",
        };
        label_for(arch, self.config.scale(), &self.path)
    }
}

fn codec_name(codec: &str) -> &'static str {
    match codec {
        "webp" => "WebP",
        _ => "JPEG",
    }
}

/// What a scan of the folder found: the models, and every other entry with why it is not one.
#[derive(Debug, Default)]
pub struct Scan {
    pub models: Vec<UserModel>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// An engine error's text without the leading "PATH: ", which the listing says already.
fn reason(path: &Path, error: impl std::fmt::Display) -> String {
    let text = error.to_string();
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix).map(str::to_string).unwrap_or(text)
}

/// What the app loads as a model: `.pth`, `.pt` (both PyTorch) and `.safetensors`.
pub fn is_weight_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(), Some("pth" | "pt" | "safetensors"))
}

/// The weight files of `dir` by extension, sorted, without reading them: what the app lists at
/// start-up and loads on a worker thread (where a broken file is reported like any model).
pub fn model_files(dir: &Path) -> Vec<PathBuf> {
    sorted_entries(dir).unwrap_or_default().into_iter().filter(|p| is_weight_file(p)).collect()
}

/// Everything in `dir`, sorted by name.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

/// Reads every `.pth` / `.pt` / `.safetensors` file of `dir` (sorted by name). A missing folder
/// is an empty scan: nobody has to create it.
pub fn scan(dir: &Path) -> Scan {
    let mut out = Scan::default();
    let paths = match sorted_entries(dir) {
        Ok(paths) => paths,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.skipped.push((dir.to_path_buf(), crate::error::describe_io(&e)));
            return out;
        }
    };
    for path in paths {
        if !is_weight_file(&path) {
            if path.is_file() {
                out.skipped.push((path, "not a .pth, .pt or .safetensors file".into()));
            }
            continue;
        }
        if let Err(e) = crate::files::require_regular_file(&path) {
            out.skipped.push((path.clone(), reason(&path, e)));
            continue;
        }
        match Checkpoint::read(&path) {
            Ok(checkpoint) => out.models.push(UserModel { official: official_name(&path), config: checkpoint.config().clone(), path }),
            Err(e) => out.skipped.push((path.clone(), reason(&path, e))),
        }
    }
    out
}
