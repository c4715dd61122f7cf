//! The papers' evaluation protocol: PSNR and SSIM on RGB and on Y (BT.601), after a border crop.
//! STUB: signatures are the contract; bodies are being written.

use image::RgbImage;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Metrics {
    pub psnr_y: f64,
    pub ssim_y: f64,
    pub psnr_rgb: f64,
    pub ssim_rgb: f64,
}

/// All four metrics of `distorted` against `reference`, `border` pixels removed from every side.
/// Both images must have the same size.
pub fn evaluate(reference: &RgbImage, distorted: &RgbImage, border: u32) -> Metrics {
    Metrics {
        psnr_y: psnr_y(reference, distorted, border),
        ssim_y: ssim_y(reference, distorted, border),
        psnr_rgb: psnr_rgb(reference, distorted, border),
        ssim_rgb: ssim_rgb(reference, distorted, border),
    }
}

pub fn psnr_rgb(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    let _ = (reference, distorted, border);
    todo!()
}
pub fn psnr_y(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    let _ = (reference, distorted, border);
    todo!()
}
pub fn ssim_rgb(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    let _ = (reference, distorted, border);
    todo!()
}
pub fn ssim_y(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    let _ = (reference, distorted, border);
    todo!()
}

/// Bits per pixel of the original (HR) image that a compressed LR of `bytes` costs.
pub fn bits_per_pixel(bytes: usize, hr_width: u32, hr_height: u32) -> f64 {
    (bytes as f64 * 8.0) / (hr_width as f64 * hr_height as f64)
}
