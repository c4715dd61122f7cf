//! The subnet of every coupling layer: a five-convolution dense block.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{conv2d, Conv2d, Conv2dConfig, VarBuilder};

use crate::fast_conv::PackedDenseBlock;

/// Channels added by each of the first four convolutions.
pub const GROWTH: usize = 32;
const LEAKY_SLOPE: f64 = 0.2;

#[derive(Debug, Clone)]
pub struct DenseBlock {
    convs: [Conv2d; 5],
    /// CPU fast path (NHWC + GEMM, see `fast_conv`); candle's conv2d is several times slower on
    /// these shapes. `None` on GPU devices, which keep candle's kernels.
    packed_cpu: Option<PackedDenseBlock>,
}

/// Setting this variable to 1 makes CPU inference use candle's `conv2d` (for comparisons).
pub const DISABLE_FAST_CONV_ENV: &str = "RESCALE_LAB_NO_FAST_CONV";

/// Whether CPU DenseBlocks loaded now use `fast_conv` (see [`DISABLE_FAST_CONV_ENV`]).
pub fn fast_conv_enabled() -> bool {
    std::env::var(DISABLE_FAST_CONV_ENV).map_or(true, |v| v != "1")
}

impl DenseBlock {
    /// Reads `conv1..conv5.{weight,bias}` under `vb`.
    pub fn new(channels_in: usize, channels_out: usize, vb: VarBuilder) -> Result<Self> {
        let cfg = Conv2dConfig { padding: 1, ..Default::default() };
        let conv = |k: usize, out: usize| {
            conv2d(channels_in + (k - 1) * GROWTH, out, 3, cfg, vb.pp(format!("conv{k}")))
        };
        let convs = [conv(1, GROWTH)?, conv(2, GROWTH)?, conv(3, GROWTH)?, conv(4, GROWTH)?, conv(5, channels_out)?];
        // The packed path computes in f32; other dtypes (f64 reference runs) keep candle's.
        let weight = convs[0].weight();
        let packed_cpu = if weight.device().is_cpu() && weight.dtype() == DType::F32 && fast_conv_enabled() {
            let pairs: Vec<(Tensor, Tensor)> = convs
                .iter()
                .map(|c| Ok((c.weight().clone(), c.bias().expect("conv2d has a bias").clone())))
                .collect::<Result<_>>()?;
            let pairs: [(Tensor, Tensor); 5] = pairs.try_into().expect("five convolutions");
            Some(PackedDenseBlock::new(&pairs)?)
        } else {
            None
        };
        Ok(Self { convs, packed_cpu })
    }
}

impl Module for DenseBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (Some(packed), true) = (&self.packed_cpu, x.device().is_cpu()) {
            return packed.forward(x);
        }
        let mut features = x.clone();
        for conv in &self.convs[..4] {
            let grown = candle_nn::ops::leaky_relu(&conv.forward(&features)?, LEAKY_SLOPE)?;
            features = Tensor::cat(&[&features, &grown], 1)?;
        }
        self.convs[4].forward(&features)
    }
}
