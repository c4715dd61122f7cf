//! Reading any user image into 8-bit RGB, and writing PNGs.
//! STUB: signatures are the contract; bodies are being written.

use std::path::{Path, PathBuf};

use image::{Rgb32FImage, RgbImage};

use crate::error::Result;

pub const DEFAULT_MAX_MEGAPIXELS: f64 = 64.0;

#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub max_megapixels: f64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { max_megapixels: DEFAULT_MAX_MEGAPIXELS }
    }
}

#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub path: PathBuf,
    pub rgb: RgbImage,
    /// Things the user should know but that do not stop the load (alpha dropped, 16-bit reduced…).
    pub warnings: Vec<String>,
}

/// Reads PNG, JPEG, WebP, BMP, TIFF or GIF (first frame) from a file.
pub fn load_image(path: &Path, options: &LoadOptions) -> Result<LoadedImage> {
    let _ = (path, options);
    todo!()
}

/// Same as `load_image` for bytes already in memory (drop, clipboard); `name` is used in errors.
pub fn load_image_from_bytes(bytes: &[u8], name: &Path, options: &LoadOptions) -> Result<LoadedImage> {
    let _ = (bytes, name, options);
    todo!()
}

/// Writes an 8-bit RGB PNG. Overwrites: callers decide whether that is allowed.
pub fn save_png(image: &RgbImage, path: &Path) -> Result<()> {
    let _ = (image, path);
    todo!()
}

pub fn to_f32(image: &RgbImage) -> Rgb32FImage {
    let _ = image;
    todo!()
}

/// Clamp to [0, 1] and round to 8 bits, as the papers do before metrics and codecs.
pub fn to_u8(image: &Rgb32FImage) -> RgbImage {
    let _ = image;
    todo!()
}
