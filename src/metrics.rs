//! The papers' evaluation protocol: PSNR and SSIM on RGB and on Y (BT.601), after a border crop.
//!
//! Reproduces `calculate_psnr` / `calculate_ssim` of the IRN/SAIN code (float64 throughout,
//! Y not rounded). The 11×11 Gaussian window is separable, so SSIM filters rows then columns;
//! the result equals the official 2-D filtering up to float64 rounding.
//!
//! Sizes: the four single-metric functions return NaN when the two images differ in size, or
//! when the crop leaves nothing to measure (SSIM also needs at least 11×11 pixels after the
//! crop, as its window is only taken where it fits). `try_evaluate` reports those cases as
//! errors instead; `evaluate` fills NaN.

use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Metrics {
    pub psnr_y: f64,
    pub ssim_y: f64,
    pub psnr_rgb: f64,
    pub ssim_rgb: f64,
}

/// Metrics compare pixel for pixel: two sizes are an error, not a number.
pub fn check_same_size(reference: &RgbImage, distorted: &RgbImage) -> Result<()> {
    if reference.dimensions() != distorted.dimensions() {
        return Err(EngineError::InvalidArgument(format!(
            "cannot compare a {}x{} image with a {}x{} one",
            reference.width(),
            reference.height(),
            distorted.width(),
            distorted.height()
        )));
    }
    Ok(())
}

/// The smallest side both images may have for every metric to be defined with `border`.
pub fn min_measurable_side(border: u32) -> u32 {
    2 * border + SSIM_WINDOW as u32
}

/// All four metrics of `distorted` against `reference`, `border` pixels removed from every side.
/// Both images must have the same size; otherwise every field is NaN (see `try_evaluate`).
pub fn evaluate(reference: &RgbImage, distorted: &RgbImage, border: u32) -> Metrics {
    // Each set of planes is extracted once and shared by PSNR and SSIM.
    let rgb = cropped_planes(reference, distorted, border, Channels::Rgb);
    let y = cropped_planes(reference, distorted, border, Channels::Y);
    Metrics {
        psnr_y: y.as_deref().map_or(f64::NAN, psnr),
        ssim_y: y.as_deref().map_or(f64::NAN, ssim_of_planes),
        psnr_rgb: rgb.as_deref().map_or(f64::NAN, psnr),
        ssim_rgb: rgb.as_deref().map_or(f64::NAN, ssim_of_planes),
    }
}

/// `evaluate`, with different sizes or a too small image reported as `InvalidArgument`.
pub fn try_evaluate(reference: &RgbImage, distorted: &RgbImage, border: u32) -> Result<Metrics> {
    check_same_size(reference, distorted)?;
    let (width, height) = reference.dimensions();
    let min_side = 2 * border as u64 + SSIM_WINDOW as u64;
    if (width as u64) < min_side || (height as u64) < min_side {
        return Err(EngineError::InvalidArgument(format!(
            "a {width}x{height} image is too small for metrics with a {border}-pixel border \
             (at least {min_side}x{min_side} needed)"
        )));
    }
    Ok(evaluate(reference, distorted, border))
}

pub fn psnr_rgb(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    cropped_planes(reference, distorted, border, Channels::Rgb).map_or(f64::NAN, |planes| psnr(&planes))
}

pub fn psnr_y(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    cropped_planes(reference, distorted, border, Channels::Y).map_or(f64::NAN, |planes| psnr(&planes))
}

pub fn ssim_rgb(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    cropped_planes(reference, distorted, border, Channels::Rgb).map_or(f64::NAN, |planes| ssim_of_planes(&planes))
}

pub fn ssim_y(reference: &RgbImage, distorted: &RgbImage, border: u32) -> f64 {
    cropped_planes(reference, distorted, border, Channels::Y).map_or(f64::NAN, |planes| ssim_of_planes(&planes))
}

/// Every plane has the same number of SSIM values, so the mean over the three RGB maps (what
/// the official code computes on the H×W×3 map) is the mean of the three plane means.
fn ssim_of_planes(planes: &[PlanePair]) -> f64 {
    planes.iter().map(ssim).sum::<f64>() / planes.len() as f64
}

/// Bits per pixel of the original (HR) image that a compressed LR of `bytes` costs.
pub fn bits_per_pixel(bytes: usize, hr_width: u32, hr_height: u32) -> f64 {
    (bytes as f64 * 8.0) / (hr_width as f64 * hr_height as f64)
}

/// Luma of BT.601 in studio range [16, 235], from 8-bit R, G, B, not rounded.
pub fn luma_bt601(r: u8, g: u8, b: u8) -> f64 {
    16.0 + (65.481 * r as f64 + 128.553 * g as f64 + 24.966 * b as f64) / 255.0
}

#[derive(Clone, Copy)]
enum Channels {
    Rgb,
    Y,
}

/// One channel of both images over the same cropped region, as float64 in [0, 255].
struct PlanePair {
    width: usize,
    height: usize,
    reference: Vec<f64>,
    distorted: Vec<f64>,
}

/// Cuts `border` pixels from each side and splits into float64 planes (three for RGB, one for
/// Y). None when sizes differ or nothing is left.
fn cropped_planes(reference: &RgbImage, distorted: &RgbImage, border: u32, channels: Channels) -> Option<Vec<PlanePair>> {
    if reference.dimensions() != distorted.dimensions() {
        return None;
    }
    let (width, height) = reference.dimensions();
    let border = border as usize;
    let crop_width = (width as usize).checked_sub(2 * border).filter(|&w| w > 0)?;
    let crop_height = (height as usize).checked_sub(2 * border).filter(|&h| h > 0)?;

    let plane_count = match channels {
        Channels::Rgb => 3,
        Channels::Y => 1,
    };
    let extract = |image: &RgbImage, plane: usize| -> Vec<f64> {
        let mut values = Vec::with_capacity(crop_width * crop_height);
        let row_bytes = 3 * width as usize;
        for row in image.as_raw().chunks_exact(row_bytes).skip(border).take(crop_height) {
            let pixels = row[3 * border..3 * (border + crop_width)].chunks_exact(3);
            match channels {
                Channels::Rgb => values.extend(pixels.map(|p| p[plane] as f64)),
                Channels::Y => values.extend(pixels.map(|p| luma_bt601(p[0], p[1], p[2]))),
            }
        }
        values
    };
    Some(
        (0..plane_count)
            .map(|plane| PlanePair {
                width: crop_width,
                height: crop_height,
                reference: extract(reference, plane),
                distorted: extract(distorted, plane),
            })
            .collect(),
    )
}

/// PSNR over all values of all planes (one MSE, as the official code does on the H×W×3 array).
fn psnr(planes: &[PlanePair]) -> f64 {
    let mut squared_error = 0.0;
    let mut count = 0usize;
    for plane in planes {
        squared_error += plane
            .reference
            .iter()
            .zip(&plane.distorted)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>();
        count += plane.reference.len();
    }
    let mse = squared_error / count as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    20.0 * (255.0 / mse.sqrt()).log10()
}

const SSIM_WINDOW: usize = 11;
const SSIM_SIGMA: f64 = 1.5;
const SSIM_C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const SSIM_C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
/// Output rows per parallel task; each task re-filters the 10 rows its window overlaps.
const SSIM_BAND_ROWS: usize = 64;

/// The normalised 1-D Gaussian of OpenCV's `getGaussianKernel(11, 1.5)`; the official 2-D
/// window is its outer product.
fn gaussian_window() -> [f64; SSIM_WINDOW] {
    let centre = (SSIM_WINDOW / 2) as f64;
    let mut window = [0.0; SSIM_WINDOW];
    for (i, w) in window.iter_mut().enumerate() {
        let x = i as f64 - centre;
        *w = (-x * x / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp();
    }
    let sum: f64 = window.iter().sum();
    window.iter_mut().for_each(|w| *w /= sum);
    window
}

/// Mean SSIM of one plane over the positions where the whole window fits (no padding).
fn ssim(plane: &PlanePair) -> f64 {
    let (width, height) = (plane.width, plane.height);
    if width < SSIM_WINDOW || height < SSIM_WINDOW {
        return f64::NAN;
    }
    let out_width = width - SSIM_WINDOW + 1;
    let out_height = height - SSIM_WINDOW + 1;
    let window = gaussian_window();

    let band_sums: Vec<f64> = (0..out_height)
        .step_by(SSIM_BAND_ROWS)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|band_start| {
            let band_end = (band_start + SSIM_BAND_ROWS).min(out_height);
            ssim_band_sum_dispatch(plane, &window, band_start, band_end, out_width)
        })
        .collect();
    // Summed in a fixed order so the result does not depend on thread scheduling.
    band_sums.iter().sum::<f64>() / (out_width * out_height) as f64
}

/// [`ssim_band_sum`] compiled for the widest vectors the CPU has (`crate::simd`, which
/// `RESCALE_LAB_SIMD` can narrow; on baseline x86-64's two f64 lanes SSIM was a tenth of a
/// slider move). The same
/// operations in the same order: no FMA contraction, and the SSIM map is summed one value at a
/// time as before, so every instruction set gives the same bits.
fn ssim_band_sum_dispatch(plane: &PlanePair, window: &[f64; SSIM_WINDOW], band_start: usize, band_end: usize, out_width: usize) -> f64 {
    match crate::simd::simd() {
        // SAFETY: `simd` reports only what the CPU has.
        #[cfg(target_arch = "x86_64")]
        crate::simd::Simd::Avx512 => unsafe { ssim_band_sum_avx512(plane, window, band_start, band_end, out_width) },
        #[cfg(target_arch = "x86_64")]
        crate::simd::Simd::Avx2 => unsafe { ssim_band_sum_avx2(plane, window, band_start, band_end, out_width) },
        crate::simd::Simd::Base => ssim_band_sum(plane, window, band_start, band_end, out_width),
    }
}

/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn ssim_band_sum_avx512(plane: &PlanePair, window: &[f64; SSIM_WINDOW], band_start: usize, band_end: usize, out_width: usize) -> f64 {
    ssim_band_sum(plane, window, band_start, band_end, out_width)
}

/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn ssim_band_sum_avx2(plane: &PlanePair, window: &[f64; SSIM_WINDOW], band_start: usize, band_end: usize, out_width: usize) -> f64 {
    ssim_band_sum(plane, window, band_start, band_end, out_width)
}

/// Sum of the SSIM map over output rows `band_start..band_end`.
///
/// Works on whole rows (filter tap outermost) so that the inner loops run over contiguous
/// memory and vectorise.
#[inline(always)]
fn ssim_band_sum(plane: &PlanePair, window: &[f64; SSIM_WINDOW], band_start: usize, band_end: usize, out_width: usize) -> f64 {
    let width = plane.width;
    let input_rows = band_end - band_start + SSIM_WINDOW - 1;
    // The five quantities SSIM filters: x, y, x², y², xy.
    let mut products = [vec![0.0f64; width], vec![0.0f64; width], vec![0.0f64; width]];
    // Each quantity filtered along x, for every input row the band's windows touch. The
    // buffer is the thread's, reused: fresh pages for every band cost more than the filtering.
    // (Taken out rather than borrowed in a closure: the closure would not be compiled for the
    // caller's vector width.)
    let mut buffer = FILTERED.take();
    buffer.resize(5 * input_rows * out_width, 0.0);
    let mut filtered: Vec<&mut [f64]> = buffer.chunks_exact_mut(input_rows * out_width).collect();
    for r in 0..input_rows {
        let start = (band_start + r) * width;
        let a = &plane.reference[start..start + width];
        let b = &plane.distorted[start..start + width];
        let [aa, bb, ab] = &mut products;
        for x in 0..width {
            aa[x] = a[x] * a[x];
            bb[x] = b[x] * b[x];
            ab[x] = a[x] * b[x];
        }
        let sources: [&[f64]; 5] = [a, b, aa, bb, ab];
        for (source, target) in sources.iter().zip(filtered.iter_mut()) {
            let out = &mut target[r * out_width..(r + 1) * out_width];
            for (x, o) in out.iter_mut().enumerate() {
                *o = filter_at(window, |k| source[x + k]);
            }
        }
    }

    let mut sums: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0f64; out_width]);
    let mut map = vec![0.0f64; out_width];
    let mut total = 0.0;
    for out_row in 0..band_end - band_start {
        for (sum, source) in sums.iter_mut().zip(&filtered) {
            let rows = &source[out_row * out_width..(out_row + SSIM_WINDOW) * out_width];
            for (x, s) in sum.iter_mut().enumerate() {
                *s = filter_at(window, |k| rows[k * out_width + x]);
            }
        }
        let [mu_a, mu_b, mean_aa, mean_bb, mean_ab] = &sums;
        // The map's row first, then its sum: the running sum is sequential, and computed
        // inside it the divisions could not be vectorised.
        for (x, value) in map.iter_mut().enumerate() {
            let (mu_aa, mu_bb, mu_ab) = (mu_a[x] * mu_a[x], mu_b[x] * mu_b[x], mu_a[x] * mu_b[x]);
            let (var_a, var_b, cov) = (mean_aa[x] - mu_aa, mean_bb[x] - mu_bb, mean_ab[x] - mu_ab);
            *value = ((2.0 * mu_ab + SSIM_C1) * (2.0 * cov + SSIM_C2))
                / ((mu_aa + mu_bb + SSIM_C1) * (var_a + var_b + SSIM_C2));
        }
        for value in &map {
            total += value;
        }
    }
    drop(filtered);
    // Kept for the next band unless a very wide image made it large (16 MiB covers ~5700
    // pixels of width): that memory would otherwise stay with the thread for good.
    if buffer.capacity() <= KEPT_FILTERED_VALUES {
        FILTERED.set(buffer);
    }
    total
}

/// `Σ_k window[k]·value(k)`, summed from k = 0 up. Each output is summed in registers (the
/// values are never −0, so starting from the first product is starting from 0).
#[inline(always)]
fn filter_at(window: &[f64; SSIM_WINDOW], value: impl Fn(usize) -> f64) -> f64 {
    let mut sum = window[0] * value(0);
    for (k, &w) in window.iter().enumerate().skip(1) {
        sum += w * value(k);
    }
    sum
}

const KEPT_FILTERED_VALUES: usize = 2 << 20;

thread_local! {
    static FILTERED: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_images_give_infinite_psnr_and_unit_ssim() {
        let image = RgbImage::from_fn(20, 16, |x, y| image::Rgb([(x * 7) as u8, (y * 13) as u8, (x * y) as u8]));
        let metrics = evaluate(&image, &image, 2);
        assert_eq!(metrics.psnr_rgb, f64::INFINITY);
        assert_eq!(metrics.psnr_y, f64::INFINITY);
        assert!((metrics.ssim_rgb - 1.0).abs() < 1e-12);
        assert!((metrics.ssim_y - 1.0).abs() < 1e-12);
    }

    #[test]
    fn size_mismatch_and_tiny_images_are_nan_or_errors() {
        let a = RgbImage::new(20, 20);
        let b = RgbImage::new(20, 21);
        assert!(psnr_rgb(&a, &b, 0).is_nan());
        assert!(ssim_y(&a, &b, 0).is_nan());
        assert!(try_evaluate(&a, &b, 0).is_err());
        // 20 − 2·5 = 10 < 11: PSNR is defined, SSIM is not.
        assert!(psnr_rgb(&a, &a, 5).is_infinite());
        assert!(ssim_rgb(&a, &a, 5).is_nan());
        assert!(try_evaluate(&a, &a, 5).is_err());
        assert!(psnr_y(&a, &a, 10).is_nan());
        assert!(try_evaluate(&a, &a, 4).is_ok());
    }

    /// The SSIM map straight from its definition: the 11×11 window's weighted means at every
    /// position, no separable passes, no bands.
    fn naive_ssim(plane: &PlanePair) -> f64 {
        let w = gaussian_window();
        let (ow, oh) = (plane.width - SSIM_WINDOW + 1, plane.height - SSIM_WINDOW + 1);
        let mut total = 0.0;
        for y in 0..oh {
            for x in 0..ow {
                let mut m = [0.0f64; 5];
                for i in 0..SSIM_WINDOW {
                    for j in 0..SSIM_WINDOW {
                        let k = (y + i) * plane.width + x + j;
                        let (a, b) = (plane.reference[k], plane.distorted[k]);
                        for (m, v) in m.iter_mut().zip([a, b, a * a, b * b, a * b]) {
                            *m += w[i] * w[j] * v;
                        }
                    }
                }
                let [ma, mb, aa, bb, ab] = m;
                let (va, vb, cov) = (aa - ma * ma, bb - mb * mb, ab - ma * mb);
                total += ((2.0 * ma * mb + SSIM_C1) * (2.0 * cov + SSIM_C2)) / ((ma * ma + mb * mb + SSIM_C1) * (va + vb + SSIM_C2));
            }
        }
        total / (ow * oh) as f64
    }

    /// `ssim_band_sum` as it was before it was restructured for speed (8593dae): every
    /// quantity accumulated tap by tap into zeroed rows, the map summed as it is computed.
    fn ssim_band_sum_before(plane: &PlanePair, window: &[f64; SSIM_WINDOW], band_start: usize, band_end: usize, out_width: usize) -> f64 {
        let width = plane.width;
        let input_rows = band_end - band_start + SSIM_WINDOW - 1;
        let mut filtered: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0f64; input_rows * out_width]);
        for r in 0..input_rows {
            let start = (band_start + r) * width;
            let a = &plane.reference[start..start + width];
            let b = &plane.distorted[start..start + width];
            let aa: Vec<f64> = a.iter().map(|v| v * v).collect();
            let bb: Vec<f64> = b.iter().map(|v| v * v).collect();
            let ab: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
            let sources: [&[f64]; 5] = [a, b, &aa, &bb, &ab];
            for (source, target) in sources.iter().zip(filtered.iter_mut()) {
                let out = &mut target[r * out_width..(r + 1) * out_width];
                for (k, &w) in window.iter().enumerate() {
                    for (o, &v) in out.iter_mut().zip(&source[k..k + out_width]) {
                        *o += w * v;
                    }
                }
            }
        }
        let mut sums: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0f64; out_width]);
        let mut total = 0.0;
        for out_row in 0..band_end - band_start {
            for (sum, source) in sums.iter_mut().zip(&filtered) {
                sum.fill(0.0);
                for (k, &w) in window.iter().enumerate() {
                    for (s, &v) in sum.iter_mut().zip(&source[(out_row + k) * out_width..(out_row + k + 1) * out_width]) {
                        *s += w * v;
                    }
                }
            }
            let [mu_a, mu_b, mean_aa, mean_bb, mean_ab] = &sums;
            for x in 0..out_width {
                let (mu_aa, mu_bb, mu_ab) = (mu_a[x] * mu_a[x], mu_b[x] * mu_b[x], mu_a[x] * mu_b[x]);
                let (var_a, var_b, cov) = (mean_aa[x] - mu_aa, mean_bb[x] - mu_bb, mean_ab[x] - mu_ab);
                total += ((2.0 * mu_ab + SSIM_C1) * (2.0 * cov + SSIM_C2)) / ((mu_aa + mu_bb + SSIM_C1) * (var_a + var_b + SSIM_C2));
            }
        }
        total
    }

    #[test]
    fn ssim_gives_the_bits_it_gave_before_on_every_instruction_set_and_matches_its_definition() {
        // 97 × 150, 2-pixel border: 136 output rows in three bands (64, 64, 8), odd widths.
        let reference = RgbImage::from_fn(97, 150, |x, y| image::Rgb([(x * 7 + y * 3) as u8, (x * y % 251) as u8, ((x ^ y) * 5) as u8]));
        let distorted = RgbImage::from_fn(97, 150, |x, y| {
            let p = reference.get_pixel(x, y).0;
            image::Rgb([p[0].saturating_add((x * 37 % 41) as u8), p[1] ^ (y * 11 % 32) as u8, p[2] / 2 + 60])
        });
        let window = gaussian_window();
        for channels in [Channels::Y, Channels::Rgb] {
            for plane in cropped_planes(&reference, &distorted, 2, channels).unwrap() {
                let (ow, oh) = (plane.width - SSIM_WINDOW + 1, plane.height - SSIM_WINDOW + 1);
                for start in (0..oh).step_by(SSIM_BAND_ROWS) {
                    let end = (start + SSIM_BAND_ROWS).min(oh);
                    let before = ssim_band_sum_before(&plane, &window, start, end, ow).to_bits();
                    let mut builds = vec![("baseline", ssim_band_sum(&plane, &window, start, end, ow))];
                    #[cfg(target_arch = "x86_64")]
                    {
                        // SAFETY: each only where the CPU has its feature.
                        if std::is_x86_feature_detected!("avx2") {
                            builds.push(("avx2", unsafe { ssim_band_sum_avx2(&plane, &window, start, end, ow) }));
                        }
                        if std::is_x86_feature_detected!("avx512f") {
                            builds.push(("avx512", unsafe { ssim_band_sum_avx512(&plane, &window, start, end, ow) }));
                        }
                    }
                    for (name, sum) in builds {
                        assert_eq!(sum.to_bits(), before, "{name}, rows {start}..{end}");
                    }
                }
                let (fast, naive) = (ssim(&plane), naive_ssim(&plane));
                assert!((fast - naive).abs() < 1e-12 && fast < 0.99, "{fast} against {naive}");
            }
        }
    }

    #[test]
    fn known_psnr_of_a_constant_offset() {
        let a = RgbImage::from_pixel(8, 8, image::Rgb([100, 100, 100]));
        let b = RgbImage::from_pixel(8, 8, image::Rgb([110, 100, 100]));
        // MSE = 100/3 over the three channels.
        let expected = 20.0 * (255.0 / (100.0f64 / 3.0).sqrt()).log10();
        assert!((psnr_rgb(&a, &b, 0) - expected).abs() < 1e-12);
    }
}
