//! MATLAB-style bicubic resize (`imresize`), and the Bicubic rescaler.
//! STUB: signatures are the contract; bodies are being written.

use image::Rgb32FImage;

use crate::error::Result;
use crate::rescaler::{Rescaler, UpscaleOptions};

/// MATLAB `imresize(img, scale, 'bicubic')`: a = −0.5, antialiased when shrinking, symmetric
/// padding, output size ceil(in·scale), not rounded.
pub fn imresize(image: &Rgb32FImage, scale: f64) -> Rgb32FImage {
    let _ = (image, scale);
    todo!()
}

#[derive(Debug, Clone, Copy)]
pub struct Bicubic {
    pub scale: u32,
}

impl Bicubic {
    pub fn new(scale: u32) -> Self {
        Self { scale }
    }
}

impl Rescaler for Bicubic {
    fn name(&self) -> &str {
        "Bicubic"
    }
    fn scale(&self) -> u32 {
        self.scale
    }
    fn downscale(&self, hr: &Rgb32FImage) -> Result<Rgb32FImage> {
        Ok(imresize(hr, 1.0 / self.scale as f64))
    }
    fn upscale(&self, lr: &Rgb32FImage, _options: &UpscaleOptions) -> Result<Rgb32FImage> {
        Ok(imresize(lr, self.scale as f64))
    }
}
