//! Overlapping tiles, so that memory stays bounded whatever the image size.
//!
//! Each tile is processed with a halo of context around it and only its core is kept. Tiles
//! that touch the image border are clipped there rather than padded, so the convolutions see the
//! same zero padding at the border as on the whole image; only the inner tile seams can differ.
//!
//! Receptive field: a dense block is five 3×3 convolutions (radius 5 on the LR grid), a coupling
//! block chains two subnets (radius 10), so IRN ×2 (8 blocks) reaches 80 LR / 160 HR pixels in
//! theory and SAIN ×4 (16 blocks) 160 LR / 640 HR pixels. The influence decays fast with
//! distance, though: `tests/tiling.rs` measures seams of ~1e-6 with a halo of 12 LR pixels on
//! random nets of image-scale outputs. The default halo is 16 LR pixels (32 HR at ×2, 64 at ×4).
//!
//! Memory bound: a default tile is at most (512 + 2·halo)² HR pixels, i.e. 288² LR at ×2 and
//! 160² at ×4. On the CPU fast path (`fast_conv`) a dense block's largest buffer is its NHWC
//! feature map, (C − 3 + 128) floats per LR pixel: about 45 MB at ×2 (C = 12) and 18 MB at ×4
//! (C = 48). Candle's `conv2d` (GPU, or `RESCALE_LAB_NO_FAST_CONV=1`) materialises an im2col
//! buffer nine times that: about 410 MB and 160 MB. The whole-image input, latent and output
//! tensors come on top (about 12 bytes per HR pixel each).

use candle_core::{Result, Tensor};
use crate::progress::Pass;

/// Tile geometry in HR pixels; both are rounded to the scale's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    /// Side of a tile's core (what is kept of it).
    pub tile: usize,
    /// Context added on every side of a tile and thrown away after.
    pub halo: usize,
}

impl Tiling {
    pub const DEFAULT_TILE: usize = 512;
    /// In LR pixels: the blocks run on the LR grid, so that is where their reach is counted.
    pub const DEFAULT_HALO_LR: usize = 16;

    /// The default for a network of this scale.
    pub fn for_scale(scale: usize) -> Self {
        Self { tile: Self::DEFAULT_TILE, halo: Self::DEFAULT_HALO_LR * scale }
    }

    /// The whole image at once: fastest, memory grows with the image.
    pub fn whole() -> Self {
        Self { tile: usize::MAX, halo: 0 }
    }

    /// Core and halo measured in LR pixels, the grid every tile boundary must be on.
    fn cells(&self, scale: usize) -> (usize, usize) {
        ((self.tile / scale).max(1), self.halo.div_ceil(scale))
    }
}

/// Runs a downscaling `f` (HR (N, C, H, W) → (N, C', H/s, W/s)) tile by tile.
pub fn tiled_forward<F>(hr: &Tensor, scale: usize, tiling: Tiling, f: F) -> Result<Tensor>
where
    F: FnMut(&Tensor) -> Result<Tensor>,
{
    let (tile, halo) = tiling.cells(scale);
    map_tiles(hr, scale, 1, tile, halo, Pass::Downscale, f)
}

/// Runs an upscaling `f` ((N, C, h, w) → (N, C', hs, ws)) tile by tile. Anything random in the
/// input (the latent) must already be in `lr`, drawn for the whole image, so that tiling cannot
/// change the result. Between tiles it stops if the caller's work was cancelled
/// (`progress::with_cancel`).
pub fn tiled_inverse<F>(lr: &Tensor, scale: usize, tiling: Tiling, f: F) -> Result<Tensor>
where
    F: FnMut(&Tensor) -> Result<Tensor>,
{
    let (tile, halo) = tiling.cells(scale);
    map_tiles(lr, 1, scale, tile, halo, Pass::Upscale, f)
}

/// The message of a pass stopped by `progress::with_cancel`.
pub const CANCELLED: &str = "cancelled";

/// The halo of `tiling` in LR pixels, at `scale`.
pub fn halo_cells(tiling: Tiling, scale: usize) -> usize {
    tiling.cells(scale).1
}

/// `[start, end)` of `n` near-equal parts of `len`, so the last tile is never a sliver.
fn spans(len: usize, tile: usize) -> Vec<(usize, usize)> {
    let n = len.div_ceil(tile).max(1);
    (0..n).map(|i| (i * len / n, (i + 1) * len / n)).collect()
}

/// Tiles are laid on a grid of cells; a cell is `in_px` input pixels and `out_px` output pixels
/// wide. Only upscales can be cancelled: downscales do not depend on the settings that change.
fn map_tiles<F>(
    input: &Tensor,
    in_px: usize,
    out_px: usize,
    tile: usize,
    halo: usize,
    pass: Pass,
    mut f: F,
) -> Result<Tensor>
where
    F: FnMut(&Tensor) -> Result<Tensor>,
{
    let (_, _, h, w) = input.dims4()?;
    if !h.is_multiple_of(in_px) || !w.is_multiple_of(in_px) {
        candle_core::bail!("input {h}x{w} is not a multiple of {in_px}")
    }
    let cancellable = pass == Pass::Upscale;
    let (rows, cols) = (h / in_px, w / in_px);
    if rows <= tile && cols <= tile {
        if cancellable && crate::progress::cancelled() {
            candle_core::bail!("{CANCELLED}")
        }
        return f(input);
    }
    let (row_spans, col_spans) = (spans(rows, tile), spans(cols, tile));
    let total = row_spans.len() * col_spans.len();
    crate::progress::report(pass, 0, total);
    let mut bands = Vec::new();
    for &(y0, y1) in &row_spans {
        let (hy0, hy1) = (y0.saturating_sub(halo), (y1 + halo).min(rows));
        let band = input.narrow(2, hy0 * in_px, (hy1 - hy0) * in_px)?;
        let mut pieces = Vec::new();
        for &(x0, x1) in &col_spans {
            if cancellable && crate::progress::cancelled() {
                candle_core::bail!("{CANCELLED}")
            }
            let (hx0, hx1) = (x0.saturating_sub(halo), (x1 + halo).min(cols));
            let piece = band.narrow(3, hx0 * in_px, (hx1 - hx0) * in_px)?.contiguous()?;
            let out = f(&piece)?;
            let (_, _, oh, ow) = out.dims4()?;
            if oh != (hy1 - hy0) * out_px || ow != (hx1 - hx0) * out_px {
                candle_core::bail!("tile output is {oh}x{ow}, expected {}x{}", (hy1 - hy0) * out_px, (hx1 - hx0) * out_px)
            }
            let core = out
                .narrow(2, (y0 - hy0) * out_px, (y1 - y0) * out_px)?
                .narrow(3, (x0 - hx0) * out_px, (x1 - x0) * out_px)?;
            pieces.push(core);
            crate::progress::report(pass, bands.len() * col_spans.len() + pieces.len(), total);
        }
        bands.push(Tensor::cat(&pieces, 3)?);
    }
    Tensor::cat(&bands, 2)
}
