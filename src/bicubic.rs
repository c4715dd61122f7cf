//! MATLAB-style bicubic resize (`imresize`), and the Bicubic rescaler.
//!
//! Follows the `imresize_np` of the IRN/SAIN code (itself a port of MATLAB's `imresize`): the
//! Keys cubic with a = −0.5, widened by 1/scale when shrinking (antialiasing), half-pixel
//! centres, symmetric edge padding, normalised weights, output size `ceil(in·scale)`, no
//! rounding. Like the official code it resizes the height first, then the width, keeping the
//! intermediate image in f32; weights and sums are in f64.

use image::Rgb32FImage;
use rayon::prelude::*;

use crate::error::{EngineError, Result};
use crate::rescaler::{Rescaler, UpscaleOptions};

/// MATLAB `imresize(img, scale, 'bicubic')`: a = −0.5, antialiased when shrinking, symmetric
/// padding, output size ceil(in·scale), not rounded.
///
/// A scale that is not finite and positive, or an output too large for `u32` sides, gives an
/// empty 0×0 image; use [`try_imresize`] to get the reason instead.
pub fn imresize(image: &Rgb32FImage, scale: f64) -> Rgb32FImage {
    try_imresize(image, scale).unwrap_or_else(|_| Rgb32FImage::new(0, 0))
}

/// [`imresize`] that reports an invalid scale as `EngineError::InvalidArgument`.
pub fn try_imresize(image: &Rgb32FImage, scale: f64) -> Result<Rgb32FImage> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(EngineError::InvalidArgument(format!("resize scale must be positive, got {scale}")));
    }
    let (in_width, in_height) = image.dimensions();
    let out_width = output_length(in_width, scale)?;
    let out_height = output_length(in_height, scale)?;
    if in_width == 0 || in_height == 0 || out_width == 0 || out_height == 0 {
        return Ok(Rgb32FImage::new(out_width, out_height));
    }
    // A tiny scale widens the antialiasing kernel to ~4/scale taps per output pixel; refuse
    // weight tables that could not sensibly fit in memory instead of aborting on allocation.
    let taps = if scale < 1.0 { (4.0 / scale).ceil() + 2.0 } else { 6.0 };
    if taps * out_width.max(out_height) as f64 > MAX_WEIGHT_TABLE as f64 {
        return Err(EngineError::InvalidArgument(format!(
            "resize scale {scale} is too small for a {in_width}x{in_height} image"
        )));
    }

    let rows = AxisWeights::new(in_height as usize, out_height as usize, scale);
    let columns = AxisWeights::new(in_width as usize, out_width as usize, scale);
    let resized_rows = resize_height(image.as_raw(), in_width as usize * 3, &rows);
    let resized = resize_width(&resized_rows, in_width as usize, &columns);
    Ok(Rgb32FImage::from_raw(out_width, out_height, resized).expect("output buffer matches its size"))
}

/// Most weights one axis may need (2 GiB of f64 and indices together).
const MAX_WEIGHT_TABLE: usize = 1 << 27;

/// `ceil(in·scale)` computed in f64 exactly as Python's `math.ceil(in_H * scale)` does.
fn output_length(input: u32, scale: f64) -> Result<u32> {
    let length = (input as f64 * scale).ceil();
    if length > u32::MAX as f64 {
        return Err(EngineError::InvalidArgument(format!(
            "resizing {input} pixels by {scale} gives a side of {length} pixels, too large"
        )));
    }
    Ok(length as u32)
}

/// MATLAB's cubic kernel (Keys, a = −0.5).
fn cubic(x: f64) -> f64 {
    let ax = x.abs();
    let ax2 = ax * ax;
    let ax3 = ax2 * ax;
    if ax <= 1.0 {
        1.5 * ax3 - 2.5 * ax2 + 1.0
    } else if ax <= 2.0 {
        -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    } else {
        0.0
    }
}

/// Index into `0..length` of a position in the symmetrically extended signal
/// (… 1 0 | 0 1 2 … n−1 | n−1 n−2 …), repeating for images narrower than the kernel.
fn reflect(position: i64, length: usize) -> usize {
    let period = 2 * length as i64;
    let p = position.rem_euclid(period);
    if p < length as i64 {
        p as usize
    } else {
        (period - 1 - p) as usize
    }
}

/// For each output position of one axis: the input positions it reads and their weights,
/// computed once and shared by every row (or column).
struct AxisWeights {
    taps: usize,
    /// `out_len × taps`, already reflected into `0..in_len`.
    indices: Vec<usize>,
    /// `out_len × taps`, each row sums to 1.
    weights: Vec<f64>,
}

impl AxisWeights {
    fn new(in_len: usize, out_len: usize, scale: f64) -> Self {
        let antialias = scale < 1.0;
        let kernel_width = if antialias { 4.0 / scale } else { 4.0 };
        // One spare tap on each side, as MATLAB allocates; those that are zero everywhere are
        // removed below so the inner loops do no useless work.
        let all_taps = kernel_width.ceil() as usize + 2;
        let mut first_index = Vec::with_capacity(out_len);
        let mut weights = Vec::with_capacity(out_len * all_taps);
        for i in 0..out_len {
            // 1-based output coordinate mapped so that pixel centres line up (MATLAB's convention).
            let x = (i + 1) as f64;
            let u = x / scale + 0.5 * (1.0 - 1.0 / scale);
            let left = (u - kernel_width / 2.0).floor();
            let row_start = weights.len();
            for k in 0..all_taps {
                let distance = u - (left + k as f64);
                let w = if antialias { scale * cubic(distance * scale) } else { cubic(distance) };
                weights.push(w);
            }
            let sum: f64 = weights[row_start..].iter().sum();
            weights[row_start..].iter_mut().for_each(|w| *w /= sum);
            first_index.push(left as i64);
        }

        let column_is_zero = |k: usize| (0..out_len).all(|i| weights[i * all_taps + k] == 0.0);
        let skip_front = usize::from(all_taps > 1 && column_is_zero(0));
        let skip_back = usize::from(all_taps > skip_front + 1 && column_is_zero(all_taps - 1));
        let taps = all_taps - skip_front - skip_back;

        let mut kept_weights = Vec::with_capacity(out_len * taps);
        let mut indices = Vec::with_capacity(out_len * taps);
        for (i, &left) in first_index.iter().enumerate() {
            for k in skip_front..skip_front + taps {
                kept_weights.push(weights[i * all_taps + k]);
                // `left + k` is a 1-based MATLAB index.
                indices.push(reflect(left + k as i64 - 1, in_len));
            }
        }
        Self { taps, indices, weights: kept_weights }
    }

    fn taps_of(&self, output: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = output * self.taps..(output + 1) * self.taps;
        self.indices[range.clone()].iter().copied().zip(self.weights[range].iter().copied())
    }
}

/// Resamples along the height: each output row is a weighted sum of whole input rows.
fn resize_height(input: &[f32], row_len: usize, rows: &AxisWeights) -> Vec<f32> {
    let out_height = rows.indices.len() / rows.taps;
    let mut output = vec![0f32; out_height * row_len];
    output.par_chunks_mut(row_len).enumerate().for_each_init(
        || vec![0f64; row_len],
        |sum, (i, out_row)| {
            sum.fill(0.0);
            for (index, weight) in rows.taps_of(i) {
                let in_row = &input[index * row_len..(index + 1) * row_len];
                for (s, &v) in sum.iter_mut().zip(in_row) {
                    *s += weight * v as f64;
                }
            }
            for (o, &s) in out_row.iter_mut().zip(sum.iter()) {
                *o = s as f32;
            }
        },
    );
    output
}

/// Resamples along the width, one row at a time.
fn resize_width(input: &[f32], in_width: usize, columns: &AxisWeights) -> Vec<f32> {
    let out_width = columns.indices.len() / columns.taps;
    let in_row_len = in_width * 3;
    let out_row_len = out_width * 3;
    let height = input.len() / in_row_len;
    let mut output = vec![0f32; height * out_row_len];
    output.par_chunks_mut(out_row_len).enumerate().for_each(|(y, out_row)| {
        let in_row = &input[y * in_row_len..(y + 1) * in_row_len];
        for (j, out_pixel) in out_row.chunks_exact_mut(3).enumerate() {
            let mut sum = [0f64; 3];
            for (index, weight) in columns.taps_of(j) {
                let pixel = &in_row[index * 3..index * 3 + 3];
                for c in 0..3 {
                    sum[c] += weight * pixel[c] as f64;
                }
            }
            for c in 0..3 {
                out_pixel[c] = sum[c] as f32;
            }
        }
    });
    output
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
        try_imresize(hr, 1.0 / self.scale as f64)
    }
    fn upscale(&self, lr: &Rgb32FImage, _options: &UpscaleOptions) -> Result<Rgb32FImage> {
        try_imresize(lr, self.scale as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_is_symmetric_padding() {
        let n = 4;
        let got: Vec<usize> = (-3..7).map(|p| reflect(p, n)).collect();
        assert_eq!(got, vec![2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
    }

    #[test]
    fn weights_sum_to_one_and_drop_only_zero_taps() {
        for &(in_len, out_len, scale) in &[(288, 72, 0.25), (72, 288, 4.0), (75, 38, 0.5), (3, 1, 0.25)] {
            let axis = AxisWeights::new(in_len, out_len, scale);
            let expected_taps = if scale < 1.0 { (4.0 / scale) as usize } else { 4 };
            assert_eq!(axis.taps, expected_taps);
            for i in 0..out_len {
                let sum: f64 = axis.taps_of(i).map(|(_, w)| w).sum();
                assert!((sum - 1.0).abs() < 1e-12);
                assert!(axis.taps_of(i).all(|(index, _)| index < in_len));
            }
        }
    }

    #[test]
    fn invalid_scale_is_an_error_not_a_panic() {
        let image = Rgb32FImage::new(4, 4);
        assert!(try_imresize(&image, 0.0).is_err());
        assert!(try_imresize(&image, f64::NAN).is_err());
        assert!(try_imresize(&image, -2.0).is_err());
        assert_eq!(imresize(&image, f64::INFINITY).dimensions(), (0, 0));
        assert_eq!(imresize(&Rgb32FImage::new(0, 5), 0.5).dimensions(), (0, 3));
        // Would need 4e12 taps per output pixel.
        assert!(try_imresize(&image, 1e-12).is_err());
    }
}
