//! IRN, "Invertible Image Rescaling" (Xiao et al., ECCV 2020).
//!
//! One invertible network: forward maps an HR image to `[LR, z]`, inverse maps `[LR, z]` back.
//! Each scale level is a Haar transform followed by a stack of [`InvBlock`]s.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::haar::{haar_forward, haar_inverse};
use super::inv_block::InvBlock;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IrnConfig {
    /// Coupling blocks after each Haar level; the length is log2 of the scale.
    pub block_num: Vec<usize>,
}

impl IrnConfig {
    /// The paper's ×2 model.
    pub fn x2() -> Self {
        Self { block_num: vec![8] }
    }

    /// The paper's ×4 model.
    pub fn x4() -> Self {
        Self { block_num: vec![8, 8] }
    }

    pub fn scale(&self) -> u32 {
        1 << self.block_num.len()
    }
}

/// One entry per scale level: a Haar transform (a constant, so nothing stored) followed by these
/// coupling blocks.
#[derive(Debug, Clone)]
pub struct Irn {
    levels: Vec<Vec<InvBlock>>,
    config: IrnConfig,
}

impl Irn {
    /// Reads `operations.{i}.{F,G,H}.conv{1..5}.{weight,bias}`, `i` counting Haar levels and
    /// blocks together as the official `operations` list does. The Haar filters are constants
    /// and are not read.
    pub fn new(cfg: &IrnConfig, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("operations");
        let mut levels = Vec::with_capacity(cfg.block_num.len());
        let (mut index, mut channels) = (0, 3);
        for &blocks in &cfg.block_num {
            index += 1;
            channels *= 4;
            let level = (index..index + blocks)
                .map(|i| InvBlock::new(channels, vb.pp(i)))
                .collect::<Result<Vec<_>>>()?;
            index += blocks;
            levels.push(level);
        }
        Ok(Self { levels, config: cfg.clone() })
    }

    pub fn config(&self) -> &IrnConfig {
        &self.config
    }

    pub fn scale(&self) -> u32 {
        self.config.scale()
    }

    /// HR (N, 3, H, W) → (N, 3s², H/s, W/s); channels 0..3 are the LR image, the rest is z.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut out = x.clone();
        for level in &self.levels {
            out = haar_forward(&out)?;
            for block in level {
                out = block.forward(&out)?;
            }
        }
        Ok(out)
    }

    /// `[LR, z]` (N, 3s², h, w) → (N, 3, hs, ws), the HR reconstruction.
    pub fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let mut out = y.clone();
        for level in self.levels.iter().rev() {
            for block in level.iter().rev() {
                out = block.inverse(&out)?;
            }
            out = haar_inverse(&out)?;
        }
        Ok(out)
    }
}
