//! SAIN's latent sampler against the analytic moments of its Gaussian mixture.

use std::path::PathBuf;

use candle_core::Device;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rescale_lab::checkpoint::load_sain;
use rescale_lab::nets::{GaussianMixture, NetworkRescaler};
use rescale_lab::UpscaleOptions;

/// Enough draws that 5 standard errors are a few thousandths.
const N: usize = 2_000_000;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nets").join(name)
}

/// Mean, variance and central moments 3, 4 and 6 of a mixture, from its raw parameters
/// (logits, means, log-variances), computed here independently of the library.
fn analytic(logits: &[f64], mus: &[f64], log_vars: &[f64]) -> [f64; 5] {
    let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    let w: Vec<f64> = logits.iter().map(|l| (l - max).exp() / total).collect();
    let var_k: Vec<f64> = log_vars.iter().map(|lv| lv.clamp(-20.0, 20.0).exp()).collect();
    let mean: f64 = w.iter().zip(mus).map(|(w, m)| w * m).sum();
    let mut moments = [mean, 0.0, 0.0, 0.0, 0.0];
    for k in 0..w.len() {
        let d = mus[k] - mean;
        let v = var_k[k];
        moments[1] += w[k] * (d * d + v);
        moments[2] += w[k] * (d.powi(3) + 3.0 * d * v);
        moments[3] += w[k] * (d.powi(4) + 6.0 * d * d * v + 3.0 * v * v);
        moments[4] += w[k] * (d.powi(6) + 15.0 * d.powi(4) * v + 45.0 * d * d * v * v + 15.0 * v.powi(3));
    }
    moments
}

fn empirical(samples: &[f32]) -> [f64; 4] {
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mut m = [mean, 0.0, 0.0, 0.0];
    for &x in samples {
        let d = x as f64 - mean;
        m[1] += d * d / n;
        m[2] += d.powi(3) / n;
        m[3] += d.powi(4) / n;
    }
    m
}

/// Mean, variance and third central moment within 5 standard errors of the analytic values
/// (the standard errors from the higher analytic moments).
fn assert_matches(label: &str, samples: &[f32], want: [f64; 5]) {
    let got = empirical(samples);
    let n = samples.len() as f64;
    let se_mean = (want[1] / n).sqrt();
    let se_var = ((want[3] - want[1] * want[1]) / n).sqrt();
    println!("{label}: mean {:.5} (want {:.5} ± {:.5}), var {:.5} (want {:.5} ± {:.5})", got[0], want[0], 5.0 * se_mean, got[1], want[1], 5.0 * se_var);
    assert!((got[0] - want[0]).abs() <= 5.0 * se_mean, "{label}: mean {} vs {}", got[0], want[0]);
    assert!((got[1] - want[1]).abs() <= 5.0 * se_var, "{label}: variance {} vs {}", got[1], want[1]);
    // Asymptotic variance of the sample third central moment: (μ6 − μ3² − 6μ4μ2 + 9μ2³)/n.
    let se_m3 = ((want[4] - want[2].powi(2) - 6.0 * want[3] * want[1] + 9.0 * want[1].powi(3)) / n).sqrt();
    assert!((got[2] - want[2]).abs() <= 5.0 * se_m3, "{label}: third moment {} vs {}", got[2], want[2]);
}

#[test]
fn fixture_mixture_moments() {
    let raw = candle_core::pickle::read_all(fixture("sain_x2.pth")).unwrap();
    let para = raw.into_iter().find(|(k, _)| k == "gmm.gmm_para").unwrap().1;
    let rows = para.to_dtype(candle_core::DType::F64).unwrap().to_vec2::<f64>().unwrap();
    let want = analytic(&rows[0], &rows[1], &rows[2]);

    let sain = load_sain(&fixture("sain_x2.pth"), &Device::Cpu).unwrap();
    let gmm = sain.gmm();
    assert!((gmm.mean() - want[0]).abs() < 1e-12);
    assert!((gmm.variance() - want[1]).abs() < 1e-12);
    let samples = gmm.sample(N, 1.0, &mut StdRng::seed_from_u64(1));
    assert_matches("fixture gmm", &samples, want);
}

/// A mixture whose components are far apart and unequal, so a sampler that picked components
/// with the wrong weights, or ignored their means or variances, would fail clearly.
#[test]
fn separated_mixture_moments_and_temperature() {
    let (logits, mus, log_vars) = ([0.0, 3f64.ln(), -1.0], [-2.0, 3.0, 0.5], [0.25f64.ln(), 0.0, 2f64.ln()]);
    let gmm = GaussianMixture::from_params(&logits, &mus, &log_vars);
    let want = analytic(&logits, &mus, &log_vars);
    let samples = gmm.sample(N, 1.0, &mut StdRng::seed_from_u64(2));
    assert_matches("separated", &samples, want);

    // Temperature multiplies the whole draw, as the official SAIN's `gaussian_scale` (and this
    // project's training) do: the mean by T, the central moments by T^k.
    let t = 0.5;
    let scaled = [want[0] * t, want[1] * t * t, want[2] * t.powi(3), want[3] * t.powi(4), want[4] * t.powi(6)];
    let samples = gmm.sample(N, t as f32, &mut StdRng::seed_from_u64(3));
    assert_matches("separated T=0.5", &samples, scaled);

    let still = gmm.sample(1000, 0.0, &mut StdRng::seed_from_u64(4));
    assert!(still.iter().all(|&z| z == 0.0), "T = 0 gives z = 0, as gaussian_scale = 0 does");
}

#[test]
fn seeded_draws_reproduce() {
    let gmm = GaussianMixture::from_params(&[0.0, 1.0], &[-1.0, 1.0], &[0.0, -1.0]);
    let a = gmm.sample(1000, 1.0, &mut StdRng::seed_from_u64(9));
    let b = gmm.sample(1000, 1.0, &mut StdRng::seed_from_u64(9));
    let c = gmm.sample(1000, 1.0, &mut StdRng::seed_from_u64(10));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

/// The latent the rescalers feed their inverse: IRN's is N(0, T²), SAIN's the fixture mixture.
#[test]
fn rescaler_latents() {
    let irn = NetworkRescaler::load(&fixture("irn_x2.pth"), &Device::Cpu).unwrap();
    let opts = UpscaleOptions { temperature: 0.8, seed: 5 };
    let z = irn.latent(512, 512, &opts).unwrap();
    assert_eq!(z.dims(), &[1, 9, 512, 512]);
    let z = z.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let v: f64 = 0.64;
    assert_matches("IRN latent T=0.8", &z, [0.0, v, 0.0, 3.0 * v * v, 15.0 * v.powi(3)]);
    let zero = irn.latent(8, 8, &UpscaleOptions { temperature: 0.0, seed: 5 }).unwrap();
    assert_eq!(zero.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);

    let sain = NetworkRescaler::load(&fixture("sain_x2.pth"), &Device::Cpu).unwrap();
    let raw = candle_core::pickle::read_all(fixture("sain_x2.pth")).unwrap();
    let para = raw.into_iter().find(|(k, _)| k == "gmm.gmm_para").unwrap().1;
    let rows = para.to_dtype(candle_core::DType::F64).unwrap().to_vec2::<f64>().unwrap();
    let want = analytic(&rows[0], &rows[1], &rows[2]);
    let z = sain.latent(512, 512, &UpscaleOptions { temperature: 1.0, seed: 6 }).unwrap();
    let z = z.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_matches("SAIN latent", &z, want);
}

/// Same seed, same HR; another seed, another HR; T = 0 ignores the seed.
#[test]
fn upscale_reproduces() {
    use rescale_lab::Rescaler;
    for file in ["irn_x2.pth", "sain_x4_small.pth"] {
        let net = NetworkRescaler::load(&fixture(file), &Device::Cpu).unwrap();
        let lr = image::Rgb32FImage::from_fn(24, 16, |x, y| image::Rgb([x as f32 / 24.0, y as f32 / 16.0, 0.5]));
        let up = |temperature: f32, seed: u64| net.upscale(&lr, &UpscaleOptions { temperature, seed }).unwrap();
        assert_eq!(up(1.0, 1), up(1.0, 1), "{file}");
        assert_ne!(up(1.0, 1), up(1.0, 2), "{file}");
        assert_eq!(up(0.0, 1), up(0.0, 2), "{file}");
        assert_ne!(up(0.0, 1), up(1.0, 1), "{file}");
    }
}
