//! Crop to a multiple of the scale, as the papers do before evaluation.
//! STUB: signatures are the contract; bodies are being written.

use image::RgbImage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modcrop {
    pub original: (u32, u32),
    pub cropped: (u32, u32),
}

impl Modcrop {
    pub fn changed(&self) -> bool {
        self.original != self.cropped
    }
}

/// Keeps the top-left `floor(w/scale)*scale × floor(h/scale)*scale` pixels.
pub fn modcrop(image: &RgbImage, scale: u32) -> (RgbImage, Modcrop) {
    let _ = (image, scale);
    todo!()
}
