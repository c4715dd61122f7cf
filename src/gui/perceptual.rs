//! SSIMULACRA2 and Butteraugli in the app: computed by the worker after every method's
//! PSNR/SSIM is on screen (never delaying them), kept per method for the settings they were
//! computed at, and shown as a panel line, table columns and the Butteraugli difference map.

use std::collections::HashMap;

use egui::TextureHandle;

use crate::perceptual::PerceptualMetrics;

use super::documents::{ResultKey, IMAGE_TEXTURE};
use super::worker::PerceptualResult;

pub struct PerceptualSlot {
    pub key: ResultKey,
    pub outcome: Result<(PerceptualMetrics, TextureHandle), String>,
}

/// Perceptual results of the active image, per method key.
#[derive(Default)]
pub struct PerceptualState {
    doc_id: Option<u64>,
    slots: HashMap<String, PerceptualSlot>,
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
        self.slots.insert(result.key, PerceptualSlot { key, outcome });
    }

    /// The result for `method` at exactly the `current` settings.
    pub fn current(&self, method: &str, current: Option<&ResultKey>) -> Option<&PerceptualSlot> {
        self.slots.get(method).filter(|slot| Some(&slot.key) == current)
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
