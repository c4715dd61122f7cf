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

    /// The upscale of one region of `lr` only: `(x, y, w, h)` in LR pixels, giving the
    /// `w·s × h·s` HR region (see `crate::region`). This default upscales the whole image and
    /// cuts the region out, which is right for methods that are cheap anyway; the networks run
    /// the region with a halo of context instead.
    fn upscale_region(
        &self,
        lr: &Rgb32FImage,
        options: &UpscaleOptions,
        (x, y, w, h): (usize, usize, usize, usize),
    ) -> Result<Rgb32FImage> {
        check_region(lr, (x, y, w, h))?;
        let whole = self.upscale(lr, options)?;
        let s = self.scale();
        Ok(image::imageops::crop_imm(&whole, x as u32 * s, y as u32 * s, w as u32 * s, h as u32 * s).to_image())
    }
}

/// A region `(x, y, w, h)` in pixels must be non-empty and inside `image`.
pub fn check_region(image: &Rgb32FImage, (x, y, w, h): (usize, usize, usize, usize)) -> Result<()> {
    let (iw, ih) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 || x + w > iw || y + h > ih {
        return Err(crate::error::EngineError::InvalidArgument(format!(
            "region {w}x{h} at ({x}, {y}) is not inside the {iw}x{ih} LR image"
        )));
    }
    Ok(())
}
