//! Bjøntegaard deltas between two rate–distortion curves (VCEG-M33): how much better a method is
//! at equal size (BD-PSNR, dB) and how many bits it saves at equal quality (BD-rate, %).
//! Comparing at equal codec quality flatters a learned downscaler, whose LR holds more detail
//! and costs more bytes; these compare at equal bytes.
//!
//! Each curve is fitted by a cubic polynomial (least squares) — PSNR over log10(rate) for
//! BD-PSNR, log10(rate) over PSNR for BD-rate — and the gap between the two fits is averaged
//! over the interval where both curves have points. `training/rd.py` is the same computation
//! in Python (both are tested on the same closed-form cases).

use crate::error::{EngineError, Result};

/// One curve: (rate, quality) points, e.g. (bits per pixel, PSNR-Y in dB). At least four.
pub type Curve = [(f64, f64)];

fn check(curve: &Curve, what: &str) -> Result<()> {
    if curve.len() < 4 {
        return Err(EngineError::InvalidArgument(format!(
            "{what}: a Bjøntegaard delta needs at least four (rate, quality) points, got {}",
            curve.len()
        )));
    }
    if curve.iter().any(|&(r, q)| !(r > 0.0 && r.is_finite() && q.is_finite())) {
        return Err(EngineError::InvalidArgument(format!("{what}: rates must be positive and every value finite")));
    }
    Ok(())
}

/// Least-squares cubic through `(x, y)`: coefficients c0 + c1 x + c2 x² + c3 x³. The normal
/// equations are solved on x centred and scaled to [-1, 1], which keeps them well conditioned.
fn fit_cubic(points: &[(f64, f64)]) -> Result<Cubic> {
    let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| (a.min(x), b.max(x)));
    let centre = 0.5 * (lo + hi);
    let half = 0.5 * (hi - lo);
    if half <= 0.0 {
        return Err(EngineError::InvalidArgument("a Bjøntegaard fit needs points at different values".into()));
    }
    let mut a = [[0.0f64; 5]; 4];
    for &(x, y) in points {
        let t = (x - centre) / half;
        let powers = [1.0, t, t * t, t * t * t];
        for i in 0..4 {
            for j in 0..4 {
                a[i][j] += powers[i] * powers[j];
            }
            a[i][4] += powers[i] * y;
        }
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..4 {
        let pivot = (col..4).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs())).unwrap_or(col);
        a.swap(col, pivot);
        if a[col][col].abs() < 1e-12 {
            return Err(EngineError::InvalidArgument("a Bjøntegaard fit needs four distinct points".into()));
        }
        for row in 0..4 {
            if row != col {
                let f = a[row][col] / a[col][col];
                for k in col..5 {
                    a[row][k] -= f * a[col][k];
                }
            }
        }
    }
    Ok(Cubic { coef: [a[0][4] / a[0][0], a[1][4] / a[1][1], a[2][4] / a[2][2], a[3][4] / a[3][3]], centre, half })
}

struct Cubic {
    coef: [f64; 4],
    centre: f64,
    half: f64,
}

impl Cubic {
    /// ∫ from `lo` to `hi` (in the original x).
    fn integral(&self, lo: f64, hi: f64) -> f64 {
        let anti = |x: f64| {
            let t = (x - self.centre) / self.half;
            let [c0, c1, c2, c3] = self.coef;
            self.half * (c0 * t + c1 * t * t / 2.0 + c2 * t.powi(3) / 3.0 + c3 * t.powi(4) / 4.0)
        };
        anti(hi) - anti(lo)
    }
}

fn average_gap(reference: &[(f64, f64)], test: &[(f64, f64)]) -> Result<f64> {
    let range = |c: &[(f64, f64)]| c.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| (a.min(x), b.max(x)));
    let (lo1, hi1) = range(reference);
    let (lo2, hi2) = range(test);
    let (lo, hi) = (lo1.max(lo2), hi1.min(hi2));
    if hi <= lo {
        return Err(EngineError::InvalidArgument("the two rate–distortion curves do not overlap".into()));
    }
    let (f1, f2) = (fit_cubic(reference)?, fit_cubic(test)?);
    Ok((f2.integral(lo, hi) - f1.integral(lo, hi)) / (hi - lo))
}

/// dB by which `test` is above `reference` at equal rate.
pub fn bd_psnr(reference: &Curve, test: &Curve) -> Result<f64> {
    check(reference, "reference curve")?;
    check(test, "test curve")?;
    let flip = |c: &Curve| c.iter().map(|&(r, q)| (r.log10(), q)).collect::<Vec<_>>();
    average_gap(&flip(reference), &flip(test))
}

/// Per cent of bits `test` needs relative to `reference` at equal quality (negative: saves bits).
pub fn bd_rate(reference: &Curve, test: &Curve) -> Result<f64> {
    check(reference, "reference curve")?;
    check(test, "test curve")?;
    let swap = |c: &Curve| c.iter().map(|&(r, q)| (q, r.log10())).collect::<Vec<_>>();
    Ok((10f64.powf(average_gap(&swap(reference), &swap(test))?) - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [f64; 5] = [0.25, 0.4, 0.7, 1.1, 1.6];

    /// Concave and exactly cubic in log10(rate), so the fit is exact.
    fn quality(rate: f64) -> f64 {
        let x = rate.log10();
        30.0 + 6.0 * x - 1.5 * x * x + 0.3 * x * x * x
    }

    fn curve(rates: impl IntoIterator<Item = f64>, shift_db: f64) -> Vec<(f64, f64)> {
        rates.into_iter().map(|r| (r, quality(r) + shift_db)).collect()
    }

    #[test]
    fn identical_curves_give_zero() {
        let c = curve(RATES, 0.0);
        assert!(bd_psnr(&c, &c).unwrap().abs() < 1e-12);
        assert!(bd_rate(&c, &c).unwrap().abs() < 1e-9);
    }

    #[test]
    fn a_curve_one_db_higher_is_plus_one_db() {
        let (a, b) = (curve(RATES, 0.0), curve(RATES, 1.0));
        assert!((bd_psnr(&a, &b).unwrap() - 1.0).abs() < 1e-9);
        assert!((bd_psnr(&b, &a).unwrap() + 1.0).abs() < 1e-9);
        assert!(bd_rate(&a, &b).unwrap() < 0.0, "a higher curve needs fewer bits");
    }

    #[test]
    fn the_same_quality_at_ninety_percent_of_the_bits_is_minus_ten_percent() {
        let reference = curve(RATES, 0.0);
        let cheaper: Vec<_> = RATES.iter().map(|&r| (0.9 * r, quality(r))).collect();
        assert!((bd_rate(&reference, &cheaper).unwrap() + 10.0).abs() < 1e-6);
        let dearer: Vec<_> = RATES.iter().map(|&r| (1.25 * r, quality(r))).collect();
        assert!((bd_rate(&reference, &dearer).unwrap() - 25.0).abs() < 1e-6);
    }

    #[test]
    fn bd_psnr_of_a_rate_shift_is_the_integral_of_the_gap() {
        let reference = curve(RATES, 0.0);
        let cheaper: Vec<_> = RATES.iter().map(|&r| (0.9 * r, quality(r))).collect();
        let (lo, hi) = (RATES[0].log10(), (0.9 * RATES[4]).log10());
        let n = 200_000;
        let step = (hi - lo) / n as f64;
        let gap = |x: f64| quality(10f64.powf(x) / 0.9) - quality(10f64.powf(x));
        let integral: f64 = (0..n).map(|i| gap(lo + (i as f64 + 0.5) * step) * step).sum();
        let want = integral / (hi - lo);
        assert!(want > 0.0);
        assert!((bd_psnr(&reference, &cheaper).unwrap() - want).abs() < 1e-6);
    }

    #[test]
    fn refuses_what_it_cannot_measure() {
        let c = curve(RATES, 0.0);
        assert!(bd_psnr(&c[..3], &c[..3]).unwrap_err().to_string().contains("four"));
        let far = curve(RATES.map(|r| r * 100.0), 0.0);
        assert!(bd_psnr(&c, &far).unwrap_err().to_string().contains("overlap"));
        let mut nan = c.clone();
        nan[2].1 = f64::NAN;
        assert!(bd_rate(&c, &nan).unwrap_err().to_string().contains("finite"));
    }
}
