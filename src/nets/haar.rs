//! One level of the Haar wavelet transform, the invertible 2× downsampling both nets start with.
//!
//! The checkpoints store the filter as `haar_weights`; it is a constant, so it is computed here
//! with plain tensor arithmetic instead of a grouped convolution (candle's transposed
//! convolution has no groups, and the arithmetic form is exact and cheaper anyway).

use candle_core::{Result, Tensor, D};

/// HR (N, C, H, W) → (N, 4C, H/2, W/2), sub-band major: output channel `band·C + c`, bands in
/// the order low-pass, horizontal, vertical, diagonal detail, each divided by 4.
pub fn haar_forward(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if !h.is_multiple_of(2) || !w.is_multiple_of(2) {
        candle_core::bail!("Haar downsampling needs even sides, got {h}x{w}")
    }
    let (h2, w2) = (h / 2, w / 2);
    // (N, C, h2, 2, w2, 2): the two trailing size-2 axes index the row and column in each block.
    let blocks = x.reshape((n, c, h2, 2, w2, 2))?;
    let px = |r: usize, s: usize| -> Result<Tensor> {
        blocks.narrow(3, r, 1)?.narrow(5, s, 1)?.squeeze(5)?.squeeze(3)
    };
    let (a, b, cc, d) = (px(0, 0)?, px(0, 1)?, px(1, 0)?, px(1, 1)?);
    let top_sum = (&a + &b)?;
    let top_diff = (&a - &b)?;
    let bottom_sum = (&cc + &d)?;
    let bottom_diff = (&cc - &d)?;
    let low = ((&top_sum + &bottom_sum)? * 0.25)?;
    let horizontal = ((&top_diff + &bottom_diff)? * 0.25)?;
    let vertical = ((&top_sum - &bottom_sum)? * 0.25)?;
    let diagonal = ((&top_diff - &bottom_diff)? * 0.25)?;
    Tensor::stack(&[low, horizontal, vertical, diagonal], 1)?.reshape((n, 4 * c, h2, w2))
}

/// Exact inverse of [`haar_forward`]: (N, 4C, h, w) → (N, C, 2h, 2w).
pub fn haar_inverse(x: &Tensor) -> Result<Tensor> {
    let (n, c4, h, w) = x.dims4()?;
    if !c4.is_multiple_of(4) {
        candle_core::bail!("Haar upsampling needs a multiple of 4 channels, got {c4}")
    }
    let c = c4 / 4;
    let bands = x.reshape((n, 4, c, h, w))?;
    let band = |k: usize| -> Result<Tensor> { bands.narrow(1, k, 1)?.squeeze(1) };
    let (low, horizontal, vertical, diagonal) = (band(0)?, band(1)?, band(2)?, band(3)?);
    let lv_sum = (&low + &vertical)?;
    let lv_diff = (&low - &vertical)?;
    let hd_sum = (&horizontal + &diagonal)?;
    let hd_diff = (&horizontal - &diagonal)?;
    let a = (&lv_sum + &hd_sum)?;
    let b = (&lv_sum - &hd_sum)?;
    let cc = (&lv_diff + &hd_diff)?;
    let d = (&lv_diff - &hd_diff)?;
    let top = Tensor::stack(&[a, b], D::Minus1)?;
    let bottom = Tensor::stack(&[cc, d], D::Minus1)?;
    Tensor::stack(&[top, bottom], 3)?.reshape((n, c, 2 * h, 2 * w))
}
