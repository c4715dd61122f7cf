//! SAIN, "Self-Asymmetric Invertible Network for Compression-Aware Image Rescaling" (Yang et
//! al., AAAI 2023).
//!
//! Haar levels, then E-InvBlocks that produce the high-quality LR, then vanilla blocks that
//! simulate its lossy compression; the high-frequency latent follows a learned Gaussian mixture.
//! The inverse undoes the compression first, then upscales.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::gmm::GaussianMixture;
use super::haar::{haar_forward, haar_inverse};
use super::inv_block::{EnhancedInvBlock, InvBlock};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SainConfig {
    /// Number of Haar levels, log2 of the scale.
    pub down_num: usize,
    pub e_blocks: usize,
    pub v_blocks: usize,
    pub gmm_components: usize,
}

impl SainConfig {
    /// The paper's ×2 model.
    pub fn x2() -> Self {
        Self { down_num: 1, e_blocks: 5, v_blocks: 3, gmm_components: 5 }
    }

    /// The paper's ×4 model.
    pub fn x4() -> Self {
        Self { down_num: 2, e_blocks: 10, v_blocks: 6, gmm_components: 5 }
    }

    pub fn scale(&self) -> u32 {
        1 << self.down_num
    }

    /// Channels the coupling blocks work on: 3·4^levels.
    pub fn channels(&self) -> usize {
        3 << (2 * self.down_num)
    }
}

#[derive(Debug, Clone)]
pub struct Sain {
    down_operations: Vec<EnhancedInvBlock>,
    comp_operations: Vec<InvBlock>,
    gmm: GaussianMixture,
    config: SainConfig,
}

impl Sain {
    /// Reads `down_operations.{i}.{E,F,G,H}.…`, `comp_operations.{i}.{F,G,H}.…` and
    /// `gmm.gmm_para`. The Haar filters (`haar_operations.{i}.haar_weights`) are constants and
    /// are not read.
    pub fn new(cfg: &SainConfig, vb: VarBuilder) -> Result<Self> {
        let channels = cfg.channels();
        let down_operations = (0..cfg.e_blocks)
            .map(|i| EnhancedInvBlock::new(channels, vb.pp("down_operations").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        let comp_operations = (0..cfg.v_blocks)
            .map(|i| InvBlock::new(channels, vb.pp("comp_operations").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        let gmm = GaussianMixture::new(cfg.gmm_components, vb.pp("gmm"))?;
        Ok(Self { down_operations, comp_operations, gmm, config: cfg.clone() })
    }

    pub fn config(&self) -> &SainConfig {
        &self.config
    }

    pub fn scale(&self) -> u32 {
        self.config.scale()
    }

    pub fn gmm(&self) -> &GaussianMixture {
        &self.gmm
    }

    /// HR (N, 3, H, W) → `(out, LR)`: `out` is (N, 3s², H/s, W/s) whose first 3 channels are
    /// the simulated compressed LR; `LR` (N, 3, H/s, W/s) is the high-quality LR to keep.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut out = x.clone();
        for _ in 0..self.config.down_num {
            out = haar_forward(&out)?;
        }
        let mut lr = None;
        for block in &self.down_operations {
            let (next, block_lr) = block.forward(&out)?;
            out = next;
            lr = Some(block_lr);
        }
        for block in &self.comp_operations {
            out = block.forward(&out)?;
        }
        // Without E-blocks there is no separate LR; the image channels are the LR then.
        let lr = match lr {
            Some(lr) => lr,
            None => out.narrow(1, 0, 3)?,
        };
        Ok((out, lr))
    }

    /// `[LR', z]` (N, 3s², h, w), LR' possibly compressed → `(out, LR)`: `out` (N, 3, hs, ws) is
    /// the HR reconstruction and `LR` the high-quality LR recovered along the way.
    pub fn inverse(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut out = y.clone();
        for block in self.comp_operations.iter().rev() {
            out = block.inverse(&out)?;
        }
        let mut lr = None;
        for block in self.down_operations.iter().rev() {
            let (next, block_lr) = block.inverse(&out)?;
            // The official model reports the LR of its last E-block, the first one undone here.
            if lr.is_none() {
                lr = Some(block_lr);
            }
            out = next;
        }
        let lr = match lr {
            Some(lr) => lr,
            None => out.narrow(1, 0, 3)?,
        };
        for _ in 0..self.config.down_num {
            out = haar_inverse(&out)?;
        }
        Ok((out, lr))
    }
}
