//! SAIN's learned Gaussian mixture over the high-frequency latent: every element of z is drawn
//! independently from the same K-component mixture.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;
use rand::Rng;
use rand_distr::StandardNormal;

/// Bounds of the log-variance, as in the official model, so a degenerate component can neither
/// collapse to a point nor blow up.
const LOG_VAR_MIN: f64 = -20.0;
const LOG_VAR_MAX: f64 = 20.0;

#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    means: Vec<f64>,
    stds: Vec<f64>,
}

impl GaussianMixture {
    /// Reads `gmm_para` (3 × K: logits, means, log-variances).
    pub fn new(components: usize, vb: VarBuilder) -> Result<Self> {
        let para = vb.get((3, components), "gmm_para")?;
        Self::from_tensor(&para)
    }

    /// From a 3 × K tensor laid out like `gmm_para`.
    pub fn from_tensor(para: &Tensor) -> Result<Self> {
        let rows = para.to_dtype(candle_core::DType::F64)?.to_vec2::<f64>()?;
        if rows.len() != 3 || rows[0].is_empty() {
            candle_core::bail!("gmm_para must be 3 x K with K > 0, got {:?}", para.shape())
        }
        Ok(Self::from_params(&rows[0], &rows[1], &rows[2]))
    }

    pub fn from_params(logits: &[f64], means: &[f64], log_vars: &[f64]) -> Self {
        let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        Self {
            weights: exps.iter().map(|e| e / total).collect(),
            means: means.to_vec(),
            stds: log_vars.iter().map(|lv| (0.5 * lv.clamp(LOG_VAR_MIN, LOG_VAR_MAX)).exp()).collect(),
        }
    }

    /// Mixture weights, softmax of the logits.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    pub fn means(&self) -> &[f64] {
        &self.means
    }

    pub fn stds(&self) -> &[f64] {
        &self.stds
    }

    /// E[z] = Σ w_k μ_k.
    pub fn mean(&self) -> f64 {
        self.weights.iter().zip(&self.means).map(|(w, m)| w * m).sum()
    }

    /// Var[z] = Σ w_k (σ_k² + μ_k²) − E[z]².
    pub fn variance(&self) -> f64 {
        let second: f64 = self
            .weights
            .iter()
            .zip(self.means.iter().zip(&self.stds))
            .map(|(w, (m, s))| w * (s * s + m * m))
            .sum();
        second - self.mean().powi(2)
    }

    /// `n` independent draws of `T·x`, x from the mixture: the temperature multiplies the whole
    /// draw, as the official SAIN test's `gaussian_scale` does (and this project's training), so
    /// numbers at any T can be reproduced with the official scripts. T = 1 is the model's
    /// distribution; T = 0 gives z = 0 (not the mixture mean) and consumes no randomness.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, temperature: f32, rng: &mut R) -> Vec<f32> {
        if temperature == 0.0 {
            return vec![0.0; n];
        }
        let t = temperature as f64;
        let mut cumulative = Vec::with_capacity(self.weights.len());
        let mut acc = 0.0;
        for w in &self.weights {
            acc += w;
            cumulative.push(acc);
        }
        let last = self.weights.len() - 1;
        (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                let k = cumulative.iter().position(|&c| u < c).unwrap_or(last);
                let eps: f64 = rng.sample(StandardNormal);
                let x = self.means[k] + self.stds[k] * eps;
                (t * x) as f32
            })
            .collect()
    }
}
