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

    /// The square of about `block` pixels a side, on a half-block grid, where the two methods'
    /// errors differ most in total, whichever is better there; `None` when they are equal
    /// everywhere. The gain is summed into half-block cells first (a few bytes per cell, not per
    /// pixel, so a 50 MP photo costs kilobytes here); a candidate is 2 × 2 cells, so its side is
    /// `block` rounded down to even. A strip narrower than half a block at the right and bottom
    /// edges is not searched.
    pub fn largest_difference(&self, block: usize) -> Option<Hotspot> {
        let (w, h) = (self.width, self.height);
        let step = (block / 2).max(1);
        let side = 2 * step;
        if block == 0 || side > w || side > h {
            return None;
        }
        let (cw, ch) = (w / step, h / step);
        let mut cells = vec![0f64; cw * ch];
        for y in 0..ch * step {
            let row = &self.gain[y * w..y * w + cw * step];
            let cells_row = &mut cells[(y / step) * cw..(y / step + 1) * cw];
            for (x, g) in row.iter().enumerate() {
                cells_row[x / step] += *g as f64;
            }
        }
        let mut best: Option<(f64, usize, usize)> = None;
        for cy in 0..ch - 1 {
            for cx in 0..cw - 1 {
                let s = cells[cy * cw + cx] + cells[cy * cw + cx + 1] + cells[(cy + 1) * cw + cx] + cells[(cy + 1) * cw + cx + 1];
                if best.is_none_or(|(b, _, _)| s.abs() > b.abs()) {
                    best = Some((s, cx, cy));
                }
            }
        }
        let (s, cx, cy) = best?;
        (s != 0.0).then(|| Hotspot {
            x: (cx * step) as u32,
            y: (cy * step) as u32,
            size: side as u32,
            mean_gain: (s / (side * side) as f64) as f32,
        })
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
