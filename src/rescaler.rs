//! The one abstraction that bicubic, IRN and SAIN share.
//!
//! Images cross this boundary as `image::Rgb32FImage`: interleaved RGB, f32, nominally in [0, 1]
//! (a downscaler may return values slightly outside; the pipeline clamps and rounds the LR to
//! 8 bits before the codec, as the papers do).

use image::Rgb32FImage;

use crate::error::Result;

/// Options of the upscale that only matter for methods with a latent variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpscaleOptions {
    /// Multiplies the latent draw (the official `gaussian_scale`); 0 gives z = 0, a deterministic
    /// upscale.
    pub temperature: f32,
    /// Seed of the latent draw, so every result can be reproduced.
    pub seed: u64,
}

impl Default for UpscaleOptions {
    fn default() -> Self {
        Self { temperature: 1.0, seed: 0 }
    }
}

pub trait Rescaler: Send + Sync {
    /// Short name shown in tables and panel titles ("Bicubic", "IRN", "SAIN").
    fn name(&self) -> &str;
    /// The integer scale factor (2, 4 or 8).
    fn scale(&self) -> u32;
    /// HR → LR. The input's sides are multiples of `scale()` (the pipeline modcrops first).
    fn downscale(&self, hr: &Rgb32FImage) -> Result<Rgb32FImage>;
    /// LR (possibly decoded from a lossy codec) → HR of `scale()` times the size.
    fn upscale(&self, lr: &Rgb32FImage, options: &UpscaleOptions) -> Result<Rgb32FImage>;
}
