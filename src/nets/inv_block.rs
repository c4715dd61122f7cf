//! Affine coupling layers: IRN's InvBlockExp (= SAIN's VanillaInvBlock) and SAIN's
//! EnhancedInvBlock. Both split the channels into the 3 image channels and the rest.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::dense_block::DenseBlock;

/// Channels of the image branch; the rest of the tensor is the high-frequency branch.
pub const SPLIT: usize = 3;

fn split(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let c = x.dim(1)?;
    Ok((x.narrow(1, 0, SPLIT)?, x.narrow(1, SPLIT, c - SPLIT)?))
}

/// `exp(σ)` of the coupling, with `σ = 2·sigmoid(H(y)) − 1` bounded to (−1, 1) so that the
/// scale never explodes or vanishes (the official clamp of 1).
fn coupling_scale(h: &DenseBlock, y1: &Tensor) -> Result<Tensor> {
    candle_nn::ops::sigmoid(&h.forward(y1)?)?.affine(2.0, -1.0)?.exp()
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
        let y2 = ((x2 * coupling_scale(&self.h, &y1)?)? + self.g.forward(&y1)?)?;
        Tensor::cat(&[y1, y2], 1)
    }

    pub fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let (y1, y2) = split(y)?;
        let x2 = ((y2 - self.g.forward(&y1)?)? / coupling_scale(&self.h, &y1)?)?;
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
        let y2 = ((x2 * coupling_scale(&self.h, &y1)?)? + self.g.forward(&y1)?)?;
        Ok((Tensor::cat(&[y1, y2], 1)?, lr))
    }

    /// Returns `(out, LR)`, `LR` being the high-quality LR recovered from the (compressed) input.
    pub fn inverse(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let (y1, y2) = split(y)?;
        let x2 = ((y2 - self.g.forward(&y1)?)? / coupling_scale(&self.h, &y1)?)?;
        let lr = (&y1 + self.f.forward(&x2)?)?;
        let x1 = (&lr - self.e.forward(&x2)?)?;
        Ok((Tensor::cat(&[x1, x2], 1)?, lr))
    }
}
