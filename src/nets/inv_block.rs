//! Affine coupling layers: IRN's InvBlockExp (= SAIN's VanillaInvBlock) and SAIN's
//! EnhancedInvBlock. Both split the channels into the 3 image channels and the rest.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::dense_block::DenseBlock;

/// Upscales stop between blocks once their work is stale (`progress::with_cancel`), so that even
/// a pass of one tile (a region) gives way to newer settings within a block's time.
fn stop_if_cancelled() -> Result<()> {
    if crate::progress::cancelled() {
        candle_core::bail!("{}", super::tiling::CANCELLED)
    }
    Ok(())
}

/// Channels of the image branch; the rest of the tensor is the high-frequency branch.
pub const SPLIT: usize = 3;

fn split(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let c = x.dim(1)?;
    Ok((x.narrow(1, 0, SPLIT)?, x.narrow(1, SPLIT, c - SPLIT)?))
}

/// `exp(σ)` of the coupling, with `σ = 2·sigmoid(H(y)) − 1` bounded to (−1, 1) so that the
/// scale never explodes or vanishes (the official clamp of 1).
fn coupling_scale(h: &Tensor) -> Result<Tensor> {
    candle_nn::ops::sigmoid(h)?.affine(2.0, -1.0)?.exp()
}

/// The affine half of a coupling: `x2·exp(σ(h)) + g` forward, `(x2 − g) / exp(σ(h))` inverse.
/// On the CPU in f32 this is one fused pass; candle's ops would make five passes over
/// full-size temporaries, which showed as a tenth of a network's time next to `fast_conv`.
fn affine_coupling(x2: &Tensor, h: &Tensor, g: &Tensor, inverse: bool) -> Result<Tensor> {
    let cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32;
    if !(cpu_f32(x2) && cpu_f32(h) && cpu_f32(g)) || x2.shape() != h.shape() || x2.shape() != g.shape() {
        let scale = coupling_scale(h)?;
        return if inverse { (x2 - g)? / scale } else { (x2 * scale)? + g };
    }
    let values = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
    let (mut x, h_values, g_values) = (values(x2)?, values(h)?, values(g)?);
    const CHUNK: usize = 1 << 14;
    x.par_chunks_mut(CHUNK)
        .zip(h_values.par_chunks(CHUNK))
        .zip(g_values.par_chunks(CHUNK))
        .for_each(|((x, h), g)| {
            for ((x, &h), &g) in x.iter_mut().zip(h).zip(g) {
                let scale = (2.0 / (1.0 + (-h).exp()) - 1.0).exp();
                *x = if inverse { (*x - g) / scale } else { *x * scale + g };
            }
        });
    Tensor::from_vec(x, x2.shape(), x2.device())
}

#[derive(Debug, Clone)]
pub struct InvBlock {
    f: DenseBlock,
    g: DenseBlock,
    h: DenseBlock,
}

impl InvBlock {
    /// `channels` is the total channel count (12 after one Haar level, 48 after two).
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        let rest = channels - SPLIT;
        Ok(Self {
            f: DenseBlock::new(rest, SPLIT, vb.pp("F"))?,
            g: DenseBlock::new(SPLIT, rest, vb.pp("G"))?,
            h: DenseBlock::new(SPLIT, rest, vb.pp("H"))?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (x1, x2) = split(x)?;
        let y1 = (&x1 + self.f.forward(&x2)?)?;
        let y2 = affine_coupling(&x2, &self.h.forward(&y1)?, &self.g.forward(&y1)?, false)?;
        Tensor::cat(&[y1, y2], 1)
    }

    pub fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        stop_if_cancelled()?;
        let (y1, y2) = split(y)?;
        let x2 = affine_coupling(&y2, &self.h.forward(&y1)?, &self.g.forward(&y1)?, true)?;
        let x1 = (&y1 - self.f.forward(&x2)?)?;
        Tensor::cat(&[x1, x2], 1)
    }
}

/// SAIN's coupling with a fourth subnet `E`, which keeps two LR images in one block: the
/// high-quality `LR` and `y1`, the LR as it looks after lossy compression.
#[derive(Debug, Clone)]
pub struct EnhancedInvBlock {
    e: DenseBlock,
    f: DenseBlock,
    g: DenseBlock,
    h: DenseBlock,
}

impl EnhancedInvBlock {
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        let rest = channels - SPLIT;
        Ok(Self {
            e: DenseBlock::new(rest, SPLIT, vb.pp("E"))?,
            f: DenseBlock::new(rest, SPLIT, vb.pp("F"))?,
            g: DenseBlock::new(SPLIT, rest, vb.pp("G"))?,
            h: DenseBlock::new(SPLIT, rest, vb.pp("H"))?,
        })
    }

    /// Returns `(out, LR)`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (x1, x2) = split(x)?;
        let lr = (&x1 + self.e.forward(&x2)?)?;
        let y1 = (&lr - self.f.forward(&x2)?)?;
        let y2 = affine_coupling(&x2, &self.h.forward(&y1)?, &self.g.forward(&y1)?, false)?;
        Ok((Tensor::cat(&[y1, y2], 1)?, lr))
    }

    /// Returns `(out, LR)`, `LR` being the high-quality LR recovered from the (compressed) input.
    pub fn inverse(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        stop_if_cancelled()?;
        let (y1, y2) = split(y)?;
        let x2 = affine_coupling(&y2, &self.h.forward(&y1)?, &self.g.forward(&y1)?, true)?;
        let lr = (&y1 + self.f.forward(&x2)?)?;
        let x1 = (&lr - self.e.forward(&x2)?)?;
        Ok((Tensor::cat(&[x1, x2], 1)?, lr))
    }
}
