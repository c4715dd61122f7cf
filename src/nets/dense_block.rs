//! The subnet of every coupling layer: a five-convolution dense block.

use candle_core::{Module, Result, Tensor};
use candle_nn::{conv2d, Conv2d, Conv2dConfig, VarBuilder};

/// Channels added by each of the first four convolutions.
pub const GROWTH: usize = 32;
const LEAKY_SLOPE: f64 = 0.2;

#[derive(Debug, Clone)]
pub struct DenseBlock {
    convs: [Conv2d; 5],
}

impl DenseBlock {
    /// Reads `conv1..conv5.{weight,bias}` under `vb`.
    pub fn new(channels_in: usize, channels_out: usize, vb: VarBuilder) -> Result<Self> {
        let cfg = Conv2dConfig { padding: 1, ..Default::default() };
        let conv = |k: usize, out: usize| {
            conv2d(channels_in + (k - 1) * GROWTH, out, 3, cfg, vb.pp(format!("conv{k}")))
        };
        Ok(Self {
            convs: [
                conv(1, GROWTH)?,
                conv(2, GROWTH)?,
                conv(3, GROWTH)?,
                conv(4, GROWTH)?,
                conv(5, channels_out)?,
            ],
        })
    }
}

impl Module for DenseBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut features = x.clone();
        for conv in &self.convs[..4] {
            let grown = candle_nn::ops::leaky_relu(&conv.forward(&features)?, LEAKY_SLOPE)?;
            features = Tensor::cat(&[&features, &grown], 1)?;
        }
        self.convs[4].forward(&features)
    }
}
