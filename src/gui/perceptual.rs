//! SSIMULACRA2 and Butteraugli in the app: computed by the worker after every method's
//! PSNR/SSIM is on screen (never delaying them), kept per method for the settings they were
//! computed at, and shown as a panel line, table columns and the Butteraugli difference map.
//! The last few settings of each method are kept, so that going back to one (the slider back at
//! a quality) shows its numbers and map again without the pass (about a second a megapixel).

use std::collections::HashMap;

use egui::TextureHandle;

use crate::perceptual::PerceptualMetrics;

use super::documents::{ResultKey, IMAGE_TEXTURE};
use super::worker::PerceptualResult;

/// Settings kept per method.
pub const KEPT_PER_METHOD: usize = 8;
/// The Butteraugli maps kept, in bytes of texture: a 12 MP map is 48 MB, so a large photo keeps
/// fewer settings than `KEPT_PER_METHOD` (each method's newest always stays).
pub const KEPT_MAP_BYTES: usize = 192 << 20;

pub struct PerceptualSlot {
    pub key: ResultKey,
    pub outcome: Result<(PerceptualMetrics, TextureHandle), String>,
}

impl PerceptualSlot {
    fn map_bytes(&self) -> usize {
        self.outcome.as_ref().map_or(0, |(_, map)| map.size()[0] * map.size()[1] * 4)
    }
}

/// Perceptual results of the active image, per method key, newest last.
#[derive(Default)]
pub struct PerceptualState {
    doc_id: Option<u64>,
    slots: HashMap<String, Vec<PerceptualSlot>>,
}

impl PerceptualState {
    pub fn clear_for(&mut self, doc_id: Option<u64>) {
        if self.doc_id != doc_id {
            self.slots.clear();
            self.doc_id = doc_id;
        }
    }

    pub fn accept(&mut self, ctx: &egui::Context, result: PerceptualResult, key: ResultKey) {
        if Some(result.doc_id) != self.doc_id {
            return;
        }
        let name = result.key.clone();
        let outcome = result.outcome.map(|(metrics, map)| {
            (metrics, ctx.load_texture(format!("butteraugli-{name}"), map, IMAGE_TEXTURE))
        });
        let kept = self.slots.entry(result.key).or_default();
        kept.retain(|slot| slot.key != key);
        kept.push(PerceptualSlot { key, outcome });
        if kept.len() > KEPT_PER_METHOD {
            kept.remove(0);
        }
        self.bound_maps();
    }

    /// Drops the oldest settings, across methods, until the maps fit `KEPT_MAP_BYTES`.
    fn bound_maps(&mut self) {
        loop {
            let total: usize = self.slots.values().flatten().map(PerceptualSlot::map_bytes).sum();
            if total <= KEPT_MAP_BYTES {
                return;
            }
            // The method with the most settings beyond its newest gives up its oldest.
            let Some(kept) = self.slots.values_mut().filter(|kept| kept.len() > 1).max_by_key(|kept| kept.len()) else {
                return;
            };
            kept.remove(0);
        }
    }

    /// The result for `method` at exactly the `current` settings.
    pub fn current(&self, method: &str, current: Option<&ResultKey>) -> Option<&PerceptualSlot> {
        let current = current?;
        self.slots.get(method)?.iter().rev().find(|slot| &slot.key == current)
    }

    /// How many settings are kept for `method`.
    pub fn kept(&self, method: &str) -> usize {
        self.slots.get(method).map_or(0, Vec::len)
    }

    /// The panel line: the numbers, or what is happening instead.
    pub fn line(&self, method: &str, current: Option<&ResultKey>, enabled: bool) -> String {
        if !enabled {
            return "SSIMULACRA2 / Butteraugli off (Perceptual metrics)".into();
        }
        match self.current(method, current).map(|s| &s.outcome) {
            Some(Ok((m, _))) => format!("SSIMULACRA2 {:.1} · Butteraugli {:.2} (3-norm {:.2})", m.ssimulacra2, m.butteraugli, m.butteraugli_3norm),
            Some(Err(e)) => format!("perceptual metrics failed: {e}"),
            None => "SSIMULACRA2 / Butteraugli: computing…".into(),
        }
    }
}
