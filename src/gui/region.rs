//! The region the user looks at, computed before the rest of the image (`crate::region`): per
//! method, its reconstruction and metrics for the settings and region they were made for. The
//! panel draws the region over whatever it shows until the whole image is current, and its
//! metrics stay beside the whole image's.

use std::collections::HashMap;

use egui::{Pos2, Rect, TextureHandle};

use crate::region::Region;

use super::documents::{ResultKey, IMAGE_TEXTURE};
use super::worker::{RegionResult, RegionView};

/// Regions above this share of the image are not worth computing first: the whole image is
/// barely more work.
pub const REGION_MAX_SHARE: f64 = 0.5;

/// The region a job computes first: `roi` (`[x, y, w, h]` in image pixels) on the grid of
/// `scale` in the modcropped `width × height` image, when it is at most `REGION_MAX_SHARE` of
/// it. Snapped here, once, so that a view moving within the same grid cells asks for nothing
/// new and the worker gets a region ready to run.
pub fn job_region(roi: [u32; 4], scale: u32, width: u32, height: u32) -> Option<Region> {
    let s = scale.max(1);
    let (w, h) = (width - width % s, height - height % s);
    let r = Region::snap(roi, s, w, h)?;
    (r.pixels() as f64 <= REGION_MAX_SHARE * w as f64 * h as f64).then_some(r)
}

pub struct RegionSlot {
    pub key: ResultKey,
    pub view: std::sync::Arc<RegionView>,
    pub texture: TextureHandle,
}

impl RegionSlot {
    pub fn region(&self) -> Region {
        self.view.output.region
    }

    /// Where the region's texture goes, in HR image pixels.
    pub fn placement(&self) -> Rect {
        let r = self.region();
        Rect::from_min_size(Pos2::new(r.x as f32, r.y as f32), egui::vec2(r.width as f32, r.height as f32))
    }

    /// "region 256×256: PSNR-Y 31.20 dB · SSIM-Y 0.9123".
    pub fn metrics_text(&self) -> String {
        let r = self.region();
        match &self.view.output.metrics {
            Some(m) => format!("region {}×{}: PSNR-Y {:.2} dB · SSIM-Y {:.4}", r.width, r.height, m.psnr_y, m.ssim_y),
            None => format!("region {}×{}: too close to the border to measure", r.width, r.height),
        }
    }
}

/// Region results of the active image, per method key.
#[derive(Default)]
pub struct RegionState {
    doc_id: Option<u64>,
    slots: HashMap<String, RegionSlot>,
}

impl RegionState {
    pub fn clear_for(&mut self, doc_id: Option<u64>) {
        if self.doc_id != doc_id {
            self.slots.clear();
            self.doc_id = doc_id;
        }
    }

    /// Keeps a result for the settings `key`. Failures are not kept: the whole image's run of
    /// the same method reports them.
    pub fn accept(&mut self, ctx: &egui::Context, result: RegionResult, key: ResultKey) {
        if Some(result.doc_id) != self.doc_id {
            return;
        }
        if let Ok(view) = result.outcome {
            let texture = ctx.load_texture(format!("region-{}", result.key), view.recon.clone(), IMAGE_TEXTURE);
            self.slots.insert(result.key, RegionSlot { key, view, texture });
        }
    }

    /// The region of `method` for exactly these settings and this region.
    pub fn current(&self, method: &str, key: Option<&ResultKey>, region: Option<Region>) -> Option<&RegionSlot> {
        self.slots.get(method).filter(|s| Some(&s.key) == key && Some(s.region()) == region)
    }
}
