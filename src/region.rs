//! The part of the image the user is looking at, computed before the rest.
//!
//! The networks are local: an output pixel depends on LR pixels within a bounded distance, and
//! that influence decays fast (see `nets::tiling`). So the upscale of a region is the network
//! run on the region's LR plus a halo of context, with the same whole-image latent cut to the
//! same window: the tiled whole-image pass does exactly this per tile. A region therefore
//! matches the whole-image result to the same tolerance as two tilings match each other
//! (`tests/region.rs`), and it costs the region's area plus its halo instead of the image's.
//!
//! Regions are in HR pixels on the scale's grid, so that their LR window is whole LR pixels.

use std::time::Duration;

use image::RgbImage;

use crate::metrics::{self, Metrics};

/// A rectangle of the HR image, its corners on multiples of the scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Smallest side of a region, in HR pixels: the SSIM window must fit in it.
pub const MIN_SIDE: u32 = 32;

impl Region {
    /// `[x, y, w, h]` in image pixels, grown outwards to the scale's grid, to at least
    /// [`MIN_SIDE`] a side, and clipped to the `hr_width × hr_height` image (whose sides are
    /// multiples of `scale`). `None` when nothing of it is inside the image.
    pub fn snap(rect: [u32; 4], scale: u32, hr_width: u32, hr_height: u32) -> Option<Self> {
        let s = scale.max(1);
        let [x, y, w, h] = rect;
        if w == 0 || h == 0 || x >= hr_width || y >= hr_height || hr_width < s || hr_height < s {
            return None;
        }
        let (x1, y1) = ((x + w).min(hr_width), (y + h).min(hr_height));
        let span = |a: u32, b: u32, limit: u32| {
            let (mut a, mut b) = (a / s * s, b.div_ceil(s) * s);
            // Grow around the centre to the minimum, keeping inside [0, limit).
            let min = MIN_SIDE.div_ceil(s) * s;
            while b - a < min.min(limit) {
                let grown = (a >= s, b + s <= limit);
                if grown.0 {
                    a -= s;
                }
                if b - a < min.min(limit) && grown.1 {
                    b += s;
                }
                if grown == (false, false) {
                    break; // a side that is not on the grid: as large as it gets
                }
            }
            (a, b.min(limit))
        };
        let (x0, x1) = span(x, x1, hr_width);
        let (y0, y1) = span(y, y1, hr_height);
        Some(Self { x: x0, y: y0, width: x1 - x0, height: y1 - y0 })
    }

    /// The same rectangle on the LR grid: `(x, y, w, h)` in LR pixels.
    pub fn lr(&self, scale: u32) -> (usize, usize, usize, usize) {
        let s = scale.max(1);
        ((self.x / s) as usize, (self.y / s) as usize, (self.width / s) as usize, (self.height / s) as usize)
    }

    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// Whether `other` lies inside this region.
    pub fn contains(&self, other: &Region) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.width <= self.x + self.width
            && other.y + other.height <= self.y + self.height
    }

    /// This region of `image`.
    pub fn crop(&self, image: &RgbImage) -> RgbImage {
        image::imageops::crop_imm(image, self.x, self.y, self.width, self.height).to_image()
    }

    /// Metrics of `region_recon` (this region of a reconstruction) against the HR reference,
    /// on the part of the region inside the papers' `scale`-pixel border, so that a region's
    /// numbers follow the whole image's protocol. `None` when too little is left to measure.
    pub fn metrics(&self, hr: &RgbImage, region_recon: &RgbImage, scale: u32) -> Option<Metrics> {
        let b = scale;
        let (w, h) = hr.dimensions();
        let x0 = self.x.max(b);
        let y0 = self.y.max(b);
        let x1 = (self.x + self.width).min(w.saturating_sub(b));
        let y1 = (self.y + self.height).min(h.saturating_sub(b));
        let min = metrics::min_measurable_side(0);
        if x1 < x0 + min || y1 < y0 + min {
            return None;
        }
        let reference = image::imageops::crop_imm(hr, x0, y0, x1 - x0, y1 - y0).to_image();
        let recon = image::imageops::crop_imm(region_recon, x0 - self.x, y0 - self.y, x1 - x0, y1 - y0).to_image();
        Some(metrics::evaluate(&reference, &recon, 0))
    }
}

/// One method's reconstruction of a region, before (or without) the whole image.
#[derive(Debug, Clone)]
pub struct RegionOutput {
    pub region: Region,
    /// The region of the reconstruction, 8-bit.
    pub reconstruction: RgbImage,
    /// Against the same region of the HR reference (see [`Region::metrics`]).
    pub metrics: Option<Metrics>,
    /// Time of the region's upscale (zero when cut from a cached whole-image result).
    pub upscale: Duration,
    /// Cut from the whole-image result already in the cache, rather than computed.
    pub from_whole: bool,
    /// Computed earlier (e.g. ahead of the slider, `Pipeline::prefetch_region`) and taken from
    /// the cache; `upscale` is then the time it took then.
    pub from_cache: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping_grows_to_the_grid_and_the_minimum_and_stays_inside() {
        let r = Region::snap([5, 7, 10, 3], 4, 100, 60).unwrap();
        assert_eq!((r.x % 4, r.y % 4, r.width % 4, r.height % 4), (0, 0, 0, 0));
        assert!(r.width >= MIN_SIDE && r.height >= MIN_SIDE);
        assert!(r.contains(&Region { x: 4, y: 4, width: 12, height: 4 }));
        // A side off the grid (not a modcropped image) still ends.
        assert!(Region::snap([0, 0, 8, 8], 2, 31, 31).is_some());
        let edge = Region::snap([90, 50, 40, 40], 2, 100, 60).unwrap();
        assert_eq!((edge.x + edge.width, edge.y + edge.height), (100, 60));
        assert!(edge.width >= MIN_SIDE && edge.height >= MIN_SIDE);
        assert_eq!(Region::snap([200, 0, 10, 10], 2, 100, 60), None);
        let tiny = Region::snap([0, 0, 4, 4], 2, 20, 20).unwrap();
        assert_eq!((tiny.width, tiny.height), (20, 20));
    }

    #[test]
    fn region_metrics_leave_out_the_papers_border_and_match_the_whole_image_inside() {
        let hr = RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8]));
        let mut recon = hr.clone();
        recon.put_pixel(1, 1, image::Rgb([0, 0, 0])); // inside the border: never measured
        recon.put_pixel(30, 30, image::Rgb([255, 255, 255]));
        let whole = Region { x: 0, y: 0, width: 64, height: 64 };
        let m = whole.metrics(&hr, &recon, 2).unwrap();
        assert_eq!(m.psnr_y, metrics::evaluate(&hr, &recon, 2).psnr_y);
        let away = Region { x: 40, y: 40, width: 24, height: 24 };
        assert!(away.metrics(&hr, &away.crop(&recon), 2).unwrap().psnr_y.is_infinite());
    }
}
