//! One method against another on the same image: per pixel, how much closer to the original the
//! method is than the baseline (the difference of their absolute errors), and the region where
//! the two differ most, so a demo can go straight to it.

use image::RgbImage;

use crate::error::{EngineError, Result};

/// `|original − baseline| − |original − method|` per pixel, mean over R, G, B, in 8-bit levels:
/// positive where the method is closer to the original, negative where the baseline is.
#[derive(Debug, Clone)]
pub struct ErrorGain {
    pub width: usize,
    pub height: usize,
    pub gain: Vec<f32>,
}

/// A square region of the image and the mean gain inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hotspot {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    /// Mean of [`ErrorGain::gain`] over the region: positive, the method is better there.
    pub mean_gain: f32,
}

pub fn error_gain(original: &RgbImage, baseline: &RgbImage, method: &RgbImage) -> Result<ErrorGain> {
    let size = original.dimensions();
    if baseline.dimensions() != size || method.dimensions() != size {
        return Err(EngineError::InvalidArgument(format!(
            "images to compare differ in size: original {}x{}, baseline {}x{}, method {}x{}",
            size.0,
            size.1,
            baseline.width(),
            baseline.height(),
            method.width(),
            method.height()
        )));
    }
    let gain = original
        .as_raw()
        .chunks_exact(3)
        .zip(baseline.as_raw().chunks_exact(3).zip(method.as_raw().chunks_exact(3)))
        .map(|(o, (b, m))| {
            let err = |x: &[u8]| -> i32 { (0..3).map(|c| (o[c] as i32 - x[c] as i32).abs()).sum() };
            (err(b) - err(m)) as f32 / 3.0
        })
        .collect();
    Ok(ErrorGain { width: size.0 as usize, height: size.1 as usize, gain })
}

impl ErrorGain {
    /// Side of the region [`largest_difference`](Self::largest_difference) looks for: an eighth of
    /// the shorter side (a detail that fills a panel when zoomed to), at least 16 pixels.
    pub fn default_block(&self) -> usize {
        (self.width.min(self.height) / 8).max(16).min(self.width.min(self.height))
    }

    /// The `block`-sided square (on a half-block grid) where the two methods' errors differ most
    /// in total, whichever is better there; `None` when they are equal everywhere.
    pub fn largest_difference(&self, block: usize) -> Option<Hotspot> {
        let (w, h) = (self.width, self.height);
        if block == 0 || block > w || block > h {
            return None;
        }
        // Summed-area table: each candidate square costs four lookups.
        let mut table = vec![0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0f64;
            for x in 0..w {
                row += self.gain[y * w + x] as f64;
                table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row;
            }
        }
        let sum = |x: usize, y: usize| {
            let at = |x: usize, y: usize| table[y * (w + 1) + x];
            at(x + block, y + block) - at(x, y + block) - at(x + block, y) + at(x, y)
        };
        let step = (block / 2).max(1);
        let positions = |len: usize| {
            let mut p: Vec<usize> = (0..=len - block).step_by(step).collect();
            if p.last() != Some(&(len - block)) {
                p.push(len - block);
            }
            p
        };
        let mut best: Option<(f64, usize, usize)> = None;
        for &y in &positions(h) {
            for &x in &positions(w) {
                let s = sum(x, y);
                if best.is_none_or(|(b, _, _)| s.abs() > b.abs()) {
                    best = Some((s, x, y));
                }
            }
        }
        let (s, x, y) = best?;
        (s != 0.0).then(|| Hotspot { x: x as u32, y: y as u32, size: block as u32, mean_gain: (s / (block * block) as f64) as f32 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn gain_is_the_baselines_error_minus_the_methods() {
        let original = RgbImage::from_pixel(2, 1, Rgb([100, 100, 100]));
        let mut baseline = original.clone();
        baseline.put_pixel(0, 0, Rgb([110, 94, 100])); // error 16 over three channels
        let mut method = original.clone();
        method.put_pixel(1, 0, Rgb([103, 100, 100])); // error 3
        let g = error_gain(&original, &baseline, &method).unwrap();
        assert_eq!(g.gain, vec![16.0 / 3.0, -1.0]);
        assert!(error_gain(&original, &RgbImage::new(1, 1), &method).is_err());
    }

    #[test]
    fn the_largest_difference_is_found_wherever_it_is_and_keeps_its_sign() {
        let original = RgbImage::from_fn(200, 120, |x, y| Rgb([(x % 256) as u8, (y * 2) as u8, 90]));
        // The baseline is off by a little everywhere and by a lot in one 30×30 patch; the method
        // is off by a little everywhere else.
        let off = |img: &RgbImage, d: u8, inside: &dyn Fn(u32, u32) -> bool| {
            RgbImage::from_fn(img.width(), img.height(), |x, y| {
                let p = img.get_pixel(x, y).0;
                if inside(x, y) { Rgb([p[0].saturating_add(d), p[1], p[2]]) } else { Rgb(p) }
            })
        };
        let patch = |x: u32, y: u32| (150..180).contains(&x) && (70..100).contains(&y);
        let baseline = off(&off(&original, 2, &|_, _| true), 40, &patch);
        let method = off(&original, 2, &|x, y| !patch(x, y));
        let g = error_gain(&original, &baseline, &method).unwrap();
        let spot = g.largest_difference(30).unwrap();
        assert!(spot.mean_gain > 10.0, "{spot:?}");
        let centre = (spot.x + 15, spot.y + 15);
        assert!(patch(centre.0, centre.1), "{spot:?} misses the patch");
        // The other way round the region is the same and the sign flips.
        let g = error_gain(&original, &method, &baseline).unwrap();
        let back = g.largest_difference(30).unwrap();
        assert_eq!((back.x, back.y), (spot.x, spot.y));
        assert!(back.mean_gain < -10.0);
        // Identical methods: nothing to go to.
        assert_eq!(error_gain(&original, &method, &method).unwrap().largest_difference(30), None);
    }
}
