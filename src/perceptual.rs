//! Perceptual metrics beside the papers' PSNR/SSIM: SSIMULACRA2 (0–100, higher is better;
//! ~90 visually lossless, ~70 high, ~50 medium quality) and Butteraugli (a distance, lower is
//! better; below 1 most viewers see no difference), as codec engineers read them.
//!
//! Both are computed on the modcropped HR and the reconstruction, the same pair as PSNR/SSIM,
//! but without the papers' border crop: that crop is a convention of the PSNR tables, and these
//! metrics come with their own conventions (whole image, sRGB input).
//!
//! Butteraugli reports two aggregates of its per-pixel distance map: the max-norm (libjxl's
//! "butteraugli score", the worst spot) and the 3-norm (libjxl's `--pnorm`, which averages tail
//! and bulk and suits rate–distortion curves). Validated against libjxl's `butteraugli_main`
//! (`tests/perceptual.rs`).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Both metrics need at least this many pixels on each side.
pub const MIN_SIDE: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PerceptualMetrics {
    pub ssimulacra2: f64,
    /// Max-norm Butteraugli distance.
    pub butteraugli: f64,
    /// 3-norm Butteraugli distance.
    pub butteraugli_3norm: f64,
}

/// SSIMULACRA2 and Butteraugli of `distorted` against `reference` (same size, ≥ 8×8).
pub fn evaluate(reference: &RgbImage, distorted: &RgbImage) -> Result<PerceptualMetrics> {
    Ok(compute(reference, distorted, false)?.0)
}

/// `evaluate`, plus Butteraugli's per-pixel distance map (row-major, `width × height`) for the
/// difference view, from the same Butteraugli pass.
pub fn evaluate_with_map(reference: &RgbImage, distorted: &RgbImage) -> Result<(PerceptualMetrics, Vec<f32>)> {
    let (metrics, map) = compute(reference, distorted, true)?;
    Ok((metrics, map.ok_or_else(|| metric_error("Butteraugli", "no distance map returned"))?))
}

fn compute(reference: &RgbImage, distorted: &RgbImage, with_map: bool) -> Result<(PerceptualMetrics, Option<Vec<f32>>)> {
    check_sizes(reference, distorted)?;
    let (ssimulacra2, butteraugli) = rayon::join(|| ssimulacra2(reference, distorted), || butteraugli(reference, distorted, with_map));
    let butteraugli = butteraugli?;
    let metrics = PerceptualMetrics { ssimulacra2: ssimulacra2?, butteraugli: butteraugli.score, butteraugli_3norm: butteraugli.pnorm_3 };
    Ok((metrics, butteraugli.diffmap.map(|map| map.buf().to_vec())))
}

fn check_sizes(reference: &RgbImage, distorted: &RgbImage) -> Result<()> {
    crate::metrics::check_same_size(reference, distorted)?;
    let (width, height) = reference.dimensions();
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(EngineError::InvalidArgument(format!(
            "a {width}x{height} image is too small for SSIMULACRA2/Butteraugli (at least {MIN_SIDE}x{MIN_SIDE})"
        )));
    }
    Ok(())
}

fn metric_error(metric: &str, reason: impl std::fmt::Display) -> EngineError {
    EngineError::Metric(format!("{metric} failed: {reason}"))
}

fn ssimulacra2(reference: &RgbImage, distorted: &RgbImage) -> Result<f64> {
    use ssimulacra2::{ColorPrimaries, Rgb, TransferCharacteristic};
    let frame = |image: &RgbImage| {
        let data: Vec<[f32; 3]> = image.pixels().map(|p| p.0.map(|v| v as f32 / 255.0)).collect();
        Rgb::new(data, image.width() as usize, image.height() as usize, TransferCharacteristic::SRGB, ColorPrimaries::BT709)
            .map_err(|e| metric_error("SSIMULACRA2", format!("{e:?}")))
    };
    ssimulacra2::compute_frame_ssimulacra2(frame(reference)?, frame(distorted)?).map_err(|e| metric_error("SSIMULACRA2", e))
}

fn butteraugli(reference: &RgbImage, distorted: &RgbImage, with_map: bool) -> Result<butteraugli::ButteraugliResult> {
    use butteraugli::{Img, RGB8};
    let pixels = |image: &RgbImage| -> Vec<RGB8> { image.pixels().map(|p| RGB8::new(p[0], p[1], p[2])).collect() };
    let (width, height) = (reference.width() as usize, reference.height() as usize);
    let params = butteraugli::ButteraugliParams::new().with_compute_diffmap(with_map);
    butteraugli::butteraugli(
        Img::new(pixels(reference), width, height).as_ref(),
        Img::new(pixels(distorted), width, height).as_ref(),
        &params,
    )
    .map_err(|e| metric_error("Butteraugli", e))
}
