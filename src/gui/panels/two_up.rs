//! The two-up demo layout: two methods side by side on the same synchronised region (the split
//! view's pair, default Bicubic | the best network), each under one headline large enough to read from the
//! back of a room: "SAIN +1.26 dB vs Bicubic · at equal quality: JPEG q30 · LR +23 % bytes vs
//! Bicubic's". Only figures of current, full-resolution results are headlines (`versus::delta`).

use egui::{pos2, vec2, Color32, Rect, UiBuilder, Vec2};

use super::compare::{delta_color, viewport, BEST, ERROR, GAP};
use crate::gui::app::{PanelDesc, RescaleApp};

/// The headline band over each side, in points (demo mode scales it with the UI).
const HEADLINE_H: f32 = 78.0;
const HEADLINE_SIZE: f32 = 26.0;
const DETAIL_SIZE: f32 = 15.0;

pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui, area: Rect, image_size: Vec2, descs: &[PanelDesc], hover: Option<egui::Pos2>) {
    let (left, right) = app.split_ids();
    let width = (area.width() - GAP) / 2.0;
    let mut first_view = None;
    for (i, id) in [left, right].iter().enumerate() {
        let Some(desc) = descs.iter().find(|d| &d.id == id) else { continue };
        let x = area.min.x + i as f32 * (width + GAP);
        let head = Rect::from_min_size(pos2(x, area.min.y), vec2(width, HEADLINE_H));
        let view = Rect::from_min_max(pos2(x, area.min.y + HEADLINE_H), pos2(x + width, area.max.y));
        headline(app, ui, head, desc);
        viewport(app, ui, view, image_size, desc, hover);
        first_view.get_or_insert(view);
    }
    app.last_panel_rect = first_view;
}

/// The method's name and its one figure against Bicubic, then what that figure is at and costs.
pub fn headline_text(app: &RescaleApp, desc: &PanelDesc) -> (String, String) {
    let name = desc.title.split(" (").next().unwrap_or(&desc.title).to_string();
    let setting = crate::gui::versus::setting_sentence(app);
    match &desc.delta {
        Some(d) => {
            let bytes = d.details().rsplit(" · ").next().unwrap_or_default().to_string();
            (format!("{name} {}", d.headline()), format!("{setting} · {bytes}"))
        }
        None if desc.is_error => (name, "failed: see the grid view".into()),
        None if desc.preview || desc.updating || desc.image.is_none() => (name, "computing the full-resolution result…".into()),
        // Bicubic, the original, the LR: their own numbers, no comparison.
        None => (name, desc.lines.first().cloned().unwrap_or_default()),
    }
}

fn headline(app: &RescaleApp, ui: &mut egui::Ui, rect: Rect, desc: &PanelDesc) {
    let (big, small) = headline_text(app, desc);
    let color = match &desc.delta {
        Some(d) => delta_color(d.sign()),
        None if desc.is_error => ERROR,
        None if desc.best => BEST,
        None => Color32::from_gray(235),
    };
    ui.scope_builder(UiBuilder::new().max_rect(rect.shrink2(vec2(6.0, 2.0))).id_salt(("two-up", &desc.id)), |ui| {
        ui.set_clip_rect(rect.intersect(ui.clip_rect()));
        ui.spacing_mut().item_spacing.y = 2.0;
        ui.add(egui::Label::new(egui::RichText::new(big).size(HEADLINE_SIZE).strong().color(color)).truncate());
        ui.add(egui::Label::new(egui::RichText::new(small).size(DETAIL_SIZE)).truncate());
    });
}
