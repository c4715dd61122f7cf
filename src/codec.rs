//! Lossy codecs applied to the LR image, behaving like Pillow's defaults (the papers used Pillow).
//! STUB: signatures are the contract; bodies are being written.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Encoder quality 1–100, as Pillow's `quality=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quality(u8);

impl Quality {
    pub fn new(value: u8) -> Result<Self> {
        if (1..=100).contains(&value) {
            Ok(Self(value))
        } else {
            Err(crate::EngineError::InvalidArgument(format!("quality must be 1–100, got {value}")))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    None,
    Jpeg { quality: Quality },
    Webp { quality: Quality },
}

/// What a codec did to an image: the file it would write and what a decoder reads back.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// Encoded file bytes (for `Codec::None`, a PNG of the image).
    pub bytes: Vec<u8>,
    pub decoded: RgbImage,
}

impl Codec {
    pub fn compress(&self, image: &RgbImage) -> Result<Compressed> {
        let _ = image;
        todo!()
    }

    /// File extension of `Compressed::bytes`: "png", "jpg" or "webp".
    pub fn extension(&self) -> &'static str {
        match self {
            Codec::None => "png",
            Codec::Jpeg { .. } => "jpg",
            Codec::Webp { .. } => "webp",
        }
    }

    /// Short label for tables and file names: "none", "jpeg-q30", "webp-q90".
    pub fn label(&self) -> String {
        match self {
            Codec::None => "none".into(),
            Codec::Jpeg { quality } => format!("jpeg-q{}", quality.get()),
            Codec::Webp { quality } => format!("webp-q{}", quality.get()),
        }
    }

    pub fn quality(&self) -> Option<Quality> {
        match self {
            Codec::None => None,
            Codec::Jpeg { quality } | Codec::Webp { quality } => Some(*quality),
        }
    }
}

/// Decodes a JPEG as Pillow (libjpeg-turbo, default options) does.
pub fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage> {
    let _ = bytes;
    todo!()
}

/// Decodes a lossy or lossless WebP as Pillow (libwebp) does.
pub fn decode_webp(bytes: &[u8]) -> Result<RgbImage> {
    let _ = bytes;
    todo!()
}
