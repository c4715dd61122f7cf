//! The comparison: a grid of synchronised panels, one maximised panel, or a split (swipe) view
//! of two of them. Zoom, pan and crop change the shared [`ViewState`]; drawing only maps it.

use egui::{pos2, vec2, Align2, Color32, FontId, Id, PointerButton, Rect, Sense, Stroke, StrokeKind, UiBuilder, Vec2};

use crate::gui::app::{Action, MessageKind, PanelDesc, PanelImage, RescaleApp, MESSAGES_SHOWN};
use crate::gui::colormap;
use crate::gui::samples;
use crate::gui::settings::{DiffKind, ViewMode};
use crate::gui::versus::Delta;
use crate::gui::view::{visible_uv, Transform, ViewState};

const TITLE_H: f32 = 74.0;
pub(super) const GAP: f32 = 6.0;
const BACKDROP: Color32 = Color32::from_gray(18);
const UPDATING: Color32 = Color32::from_rgb(240, 190, 80);
pub(super) const BEST: Color32 = Color32::from_rgb(120, 210, 130);
/// The region computed first: its outline and its metrics.
const REGION: Color32 = Color32::from_rgb(110, 200, 240);
pub(super) const ERROR: Color32 = Color32::from_rgb(240, 110, 100);

pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui) {
    messages(app, ui);
    let Some(doc) = app.active_doc() else {
        welcome(app, ui);
        return;
    };
    let image_size = doc.size();
    let descs = app.panel_descs();
    // Last frame's pointer position: every panel marks the same pixel; this frame's hover is
    // recorded as the panels are drawn.
    let hover = app.view.hover.take();
    if let Some(notice) = app.unavailable_notice() {
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(notice).color(ERROR).small());
            if ui.small_button("Load model…").clicked() {
                app.actions.push(Action::LoadModelDialog);
            }
        });
    }
    let mut area = ui.available_rect_before_wrap();
    if app.settings.view == ViewMode::Difference {
        let legend = Rect::from_min_max(pos2(area.min.x, area.max.y - 26.0), area.max);
        area.max.y -= 30.0;
        match app.settings.diff_kind {
            DiffKind::Error => diff_legend(ui, legend, app.settings.diff_full_scale),
            DiffKind::Butteraugli => butteraugli_legend(ui, legend),
            DiffKind::VsBicubic => versus_legend(ui, legend, app.settings.diff_full_scale),
        }
    }
    ui.allocate_rect(area, Sense::hover());
    match app.settings.view {
        ViewMode::Split => split(app, ui, area, image_size, &descs),
        ViewMode::TwoUp => super::two_up::show(app, ui, area, image_size, &descs, hover),
        ViewMode::Grid | ViewMode::Difference => {
            let focused: Vec<&PanelDesc> = match &app.focus {
                Some(id) if descs.iter().any(|d| &d.id == id) => descs.iter().filter(|d| &d.id == id).collect(),
                _ => descs.iter().collect(),
            };
            grid(app, ui, area, image_size, &focused, hover);
        }
    }
}

/// One stack above the panels, newest first, of the messages about this image (or about none):
/// the newest few in full, the older ones folded into a line, all dismissible at once.
fn messages(app: &mut RescaleApp, ui: &mut egui::Ui) {
    let visible = app.visible_messages();
    let shown = if app.messages_expanded { visible.len() } else { visible.len().min(MESSAGES_SHOWN) };
    for (n, &i) in visible.iter().take(shown).enumerate() {
        let m = &app.messages[i];
        let (fill, text_color) = match m.kind {
            MessageKind::Error => (Color32::from_rgb(90, 30, 30), Color32::from_rgb(255, 220, 215)),
            MessageKind::Warning => (Color32::from_rgb(85, 65, 20), Color32::from_rgb(255, 235, 190)),
            MessageKind::Info => (Color32::from_rgb(25, 60, 40), Color32::from_rgb(210, 245, 220)),
        };
        egui::Frame::new().fill(fill).inner_margin(4.0).corner_radius(4.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                let prefix = match m.kind {
                    MessageKind::Error => "Error: ",
                    MessageKind::Warning => "Note: ",
                    MessageKind::Info => "",
                };
                ui.label(egui::RichText::new(format!("{prefix}{}", m.text)).color(text_color));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.small_button("dismiss").clicked() {
                        app.actions.push(Action::DismissMessage(i));
                    }
                    if n == 0 && visible.len() > 1 && ui.small_button(format!("dismiss all {}", visible.len())).clicked() {
                        app.actions.push(Action::DismissShownMessages);
                    }
                });
            });
        });
    }
    if visible.len() > MESSAGES_SHOWN {
        let text = if app.messages_expanded { "fold the older messages".to_string() } else { format!("{} older messages…", visible.len() - shown) };
        if ui.small_button(text).clicked() {
            app.actions.push(Action::ToggleMessages);
        }
    }
}

fn welcome(app: &mut RescaleApp, ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.3);
        if app.is_loading() {
            crate::gui::busy::spinner(ui, None);
            ui.label("Opening…");
            return;
        }
        ui.heading("Drop images here");
        ui.label("PNG, JPEG, WebP, BMP, TIFF or GIF. Or:");
        ui.horizontal(|ui| {
            ui.add_space((ui.available_width() - 330.0).max(0.0) / 2.0);
            if ui.button("Open…").clicked() {
                app.actions.push(Action::OpenDialog);
            }
            if ui.button("Paste").clicked() {
                app.actions.push(Action::PasteFromClipboard);
            }
            for (i, s) in samples::SAMPLES.iter().enumerate() {
                if ui.button(s.name).on_hover_text("Bundled CC0 photo").clicked() {
                    app.actions.push(Action::OpenSample(i));
                }
            }
        });
    });
}

/// Columns that make the panels' images largest for `n` panels of this aspect.
fn best_columns(n: usize, area: Vec2, image: Vec2) -> usize {
    let mut best = (1, 0.0f32);
    for cols in 1..=n.max(1) {
        let rows = n.div_ceil(cols);
        let cell = vec2(
            (area.x - GAP * (cols as f32 - 1.0)) / cols as f32,
            (area.y - GAP * (rows as f32 - 1.0)) / rows as f32 - TITLE_H,
        );
        if cell.x <= 0.0 || cell.y <= 0.0 {
            continue;
        }
        let zoom = (cell.x / image.x).min(cell.y / image.y);
        if zoom > best.1 {
            best = (cols, zoom);
        }
    }
    best.0
}

fn grid(app: &mut RescaleApp, ui: &mut egui::Ui, area: Rect, image_size: Vec2, descs: &[&PanelDesc], hover: Option<egui::Pos2>) {
    if descs.is_empty() {
        return;
    }
    let n = descs.len();
    let cols = best_columns(n, area.size(), image_size);
    let rows = n.div_ceil(cols);
    let cell = vec2(
        (area.width() - GAP * (cols as f32 - 1.0)) / cols as f32,
        (area.height() - GAP * (rows as f32 - 1.0)) / rows as f32,
    );
    let all_ids = app.visible_panel_ids();
    let mut first_view = None;
    for (i, desc) in descs.iter().enumerate() {
        let (c, r) = (i % cols, i / cols);
        let min = area.min + vec2(c as f32 * (cell.x + GAP), r as f32 * (cell.y + GAP));
        let cell_rect = Rect::from_min_size(min, cell);
        let title_rect = Rect::from_min_size(cell_rect.min, vec2(cell.x, TITLE_H));
        let view_rect = Rect::from_min_max(pos2(cell_rect.min.x, cell_rect.min.y + TITLE_H), cell_rect.max);
        let number = all_ids.iter().position(|id| id == &desc.id).map(|p| p + 1);
        title(app, ui, title_rect, desc, number);
        viewport(app, ui, view_rect, image_size, desc, hover);
        first_view.get_or_insert(view_rect);
    }
    // The grid's spare cell, when the whole grid is shown, holds the comparison with Bicubic.
    if cols * rows > n && app.focus.is_none() {
        let (c, r) = (n % cols, n / cols);
        let min = area.min + vec2(c as f32 * (cell.x + GAP), r as f32 * (cell.y + GAP));
        summary(app, ui, Rect::from_min_size(min, cell), image_size, descs);
    }
    app.last_panel_rect = first_view;
}

/// Each network against Bicubic in large type, with a way to go to where they differ most.
fn summary(app: &mut RescaleApp, ui: &mut egui::Ui, rect: Rect, image_size: Vec2, descs: &[&PanelDesc]) {
    ui.painter().rect_filled(rect, 4.0, Color32::from_gray(28));
    let inner = rect.shrink(8.0);
    ui.scope_builder(UiBuilder::new().max_rect(inner).id_salt("summary"), |ui| {
        ui.set_clip_rect(inner.intersect(ui.clip_rect()));
        // Many user models make the list longer than the cell: it scrolls.
        egui::ScrollArea::vertical().id_salt("summary-scroll").auto_shrink([false, false]).show(ui, |ui| summary_body(app, ui, image_size, descs));
    });
}

fn summary_body(app: &mut RescaleApp, ui: &mut egui::Ui, image_size: Vec2, descs: &[&PanelDesc]) {
    ui.label(egui::RichText::new("vs Bicubic").strong().size(16.0));
    ui.add(egui::Label::new(egui::RichText::new(crate::gui::versus::setting_sentence(app)).small()).truncate());
    ui.add_space(4.0);
    let networks: Vec<&&PanelDesc> = descs.iter().filter(|d| app.shown_methods().iter().any(|m| m.key == d.id && m.kind != Some(crate::methods::MethodKind::Bicubic))).collect();
    if crate::gui::versus::bicubic_key(app).is_none() {
        ui.label("Show Bicubic to compare against it.");
        return;
    }
    for desc in networks {
        let short = desc.title.split(" (").next().unwrap_or(&desc.title).to_string();
        match &desc.delta {
            Some(delta) => {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(&short).strong());
                    ui.add(egui::Label::new(egui::RichText::new(delta.short()).size(20.0).strong().color(delta_color(delta.sign()))).truncate())
                        .on_hover_text(delta.headline());
                });
                ui.add(egui::Label::new(egui::RichText::new(delta.details()).monospace()).wrap());
                if let Some(spot) = delta.hotspot {
                    let better = if spot.mean_gain > 0.0 { short.clone() } else { "Bicubic".to_string() };
                    if ui
                        .add(egui::Button::new(format!("zoom to where {short} gains or loses most vs Bicubic")).small().wrap())
                        .on_hover_text(format!("The {}×{} px square where the two errors differ most in total; {better} is closer to the original there by {:.1} levels on average", spot.size, spot.size, spot.mean_gain.abs()))
                        .clicked()
                    {
                        app.actions.push(Action::ZoomTo(crate::gui::versus::hotspot_region(&spot, image_size)));
                    }
                }
            }
            None if desc.is_error => {
                ui.label(egui::RichText::new(format!("{short}: failed, see its panel")).color(ERROR));
            }
            None => {
                ui.label(egui::RichText::new(format!("{short}: waits for both full-resolution results")).weak());
            }
        }
        ui.add_space(4.0);
    }
    for line in crate::gui::chart::bd_lines(app) {
        ui.add(egui::Label::new(egui::RichText::new(line).small()).truncate());
    }
}

pub(super) fn delta_color(sign: i8) -> Color32 {
    match sign {
        1 => BEST,
        -1 => ERROR,
        _ => Color32::from_gray(200),
    }
}

fn title(app: &mut RescaleApp, ui: &mut egui::Ui, rect: Rect, desc: &PanelDesc, number: Option<usize>) {
    // Clipped and truncated: a narrow panel shortens its own header instead of printing over
    // its neighbour's. Truncated labels show their full text on hover.
    ui.scope_builder(UiBuilder::new().max_rect(rect.shrink2(vec2(2.0, 1.0))).id_salt(("title", &desc.id)), |ui| {
        ui.set_clip_rect(rect.intersect(ui.clip_rect()));
        ui.spacing_mut().item_spacing.y = 1.0;
        // The figure goes on a line of its own when it would leave the title less than a word.
        let figure_below = ui
            .horizontal(|ui| {
                if let Some(n) = number {
                    let focus = app.focus.as_deref() == Some(desc.id.as_str());
                    let hint = if focus { "Back to the grid (Esc or 0)".to_string() } else { format!("Maximise this panel ({n})") };
                    if ui.small_button(format!("{n}")).on_hover_text(hint).clicked() {
                        app.actions.push(Action::ToggleFocus(desc.id.clone()));
                    }
                }
                // The full "+1.10 dB vs Bicubic" when the title keeps room, else the figure alone.
                let delta = desc.delta.as_ref().map(|d| {
                    let full = d.headline();
                    let text = if ui.available_width() - text_width(ui, &full, 17.0) > 150.0 { full } else { d.short() };
                    let width = text_width(ui, &text, 17.0) + 8.0;
                    (d, egui::RichText::new(text).size(17.0).strong().color(delta_color(d.sign())), width)
                });
                let delta_width = delta.as_ref().map(|(_, _, w)| *w).unwrap_or(0.0);
                let below = ui.available_width() - delta_width < MIN_TITLE_WIDTH;
                // The figure is what the audience reads: the title gives way first.
                let title_width = if below { ui.available_width() } else { ui.available_width() - delta_width };
                let mut text = egui::RichText::new(&desc.title).strong();
                if desc.best {
                    text = text.color(BEST);
                }
                ui.scope(|ui| {
                    ui.set_max_width(title_width);
                    ui.add(egui::Label::new(text).truncate());
                });
                match delta {
                    Some((d, text, _)) if !below => {
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            ui.add(egui::Label::new(text).extend()).on_hover_text(delta_hover(app, desc, d));
                        });
                        None
                    }
                    other => other.map(|(d, text, _)| (d, text)),
                }
            })
            .inner;
        if let Some((d, text)) = figure_below {
            ui.add(egui::Label::new(text).truncate()).on_hover_text(delta_hover(app, desc, d));
        }
        // Only the lines that end within the header (the figure on a line of its own pushes
        // the last ones down): the rest would be cut in half at the image's edge. The last line
        // shown then lists them all on hover (demo mode has no table below).
        let line_height = ui.text_style_height(&egui::TextStyle::Monospace);
        let mut previous: Option<egui::Response> = None;
        for line in &desc.lines {
            if ui.cursor().min.y + line_height > rect.max.y {
                if let Some(previous) = previous {
                    previous.on_hover_text(desc.lines.join("\n"));
                }
                break;
            }
            let color = if desc.is_error { ERROR } else { ui.visuals().text_color() };
            previous = Some(ui.add(egui::Label::new(egui::RichText::new(line).monospace().color(color)).truncate()));
        }
    });
}

/// Narrowest title kept beside the figure: about a short word ("IRN…").
const MIN_TITLE_WIDTH: f32 = 48.0;

fn delta_hover(app: &RescaleApp, desc: &PanelDesc, d: &Delta) -> String {
    format!("{} − Bicubic, {}: {}", desc.title, crate::gui::versus::setting_sentence(app), d.details())
}

fn text_width(ui: &egui::Ui, text: &str, size: f32) -> f32 {
    ui.fonts_mut(|f| f.layout_no_wrap(text.to_string(), FontId::proportional(size), Color32::WHITE).size().x)
}

/// The panel's state over its image, top left: the badge, "preview", "updating" and the wait,
/// each on its own line, so none of them crowds the header.
fn status_overlay(ui: &mut egui::Ui, rect: Rect, desc: &PanelDesc) {
    let mut pills: Vec<(String, Color32, &str)> = Vec::new();
    if desc.best {
        pills.push((desc.badge.clone(), BEST, "Highest PSNR-Y of the panels, all at full resolution and current settings"));
    }
    if desc.preview {
        pills.push(("preview".into(), UPDATING, "Computed on a reduced copy of this large image; full resolution follows"));
    }
    if desc.updating {
        let text = if desc.stale_note.is_empty() { "updating".to_string() } else { format!("updating: {}", desc.stale_note) };
        pills.push((text, UPDATING, "The image shows an earlier setting until the new result is in"));
    }
    if let Some(text) = &desc.region_text {
        pills.push((text.clone(), REGION, "Metrics of the region you are looking at (the crop, or what the panels show when zoomed in), computed before the rest of the image"));
    }
    if let Some(wait) = &desc.wait {
        pills.push((wait.clone(), Color32::from_gray(225), "What this method is doing, how long it has taken and about how long it has left in all (from its last run and the tiles done so far)"));
    }
    if pills.is_empty() {
        return;
    }
    let area = Rect::from_min_max(rect.min + vec2(4.0, 4.0), rect.max - vec2(4.0, 4.0));
    ui.scope_builder(UiBuilder::new().max_rect(area).id_salt(("status", &desc.id)), |ui| {
        ui.set_clip_rect(area.intersect(ui.clip_rect()));
        ui.spacing_mut().item_spacing.y = 2.0;
        for (text, color, hover) in pills {
            egui::Frame::new().fill(Color32::from_black_alpha(190)).corner_radius(3.0).inner_margin(egui::Margin::symmetric(5, 2)).show(ui, |ui| {
                ui.horizontal(|ui| {
                    if color == UPDATING && text.starts_with("updating") {
                        crate::gui::busy::spinner(ui, Some(12.0));
                    }
                    ui.add(egui::Label::new(egui::RichText::new(text).color(color)).truncate()).on_hover_text(hover);
                });
            });
        }
    });
}

/// One image panel: interaction first (so this frame draws the new view), then painting.
pub(super) fn viewport(app: &mut RescaleApp, ui: &mut egui::Ui, rect: Rect, image_size: Vec2, desc: &PanelDesc, hover: Option<egui::Pos2>) {
    let id = ui.make_persistent_id(("view", &desc.id));
    let response = interact(ui, &mut app.view, rect, image_size, id, app.settings.scale);
    if let Some(p) = response.hover_pos() {
        app.view.hover = Some(app.view.transform(rect, image_size).screen_to_image(p));
    }
    if response.double_clicked() {
        app.actions.push(Action::FitView);
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, BACKDROP);
    let t = app.view.transform(rect, image_size);
    match (&desc.image, &desc.note) {
        (Some(image), _) => paint_image(&painter, &t, image),
        // The region computed first stands in for the image; its pill says the rest is coming.
        (None, Some(_)) if desc.overlay.is_some() => {}
        (None, Some(note)) => {
            let color = if desc.is_error { ERROR } else { Color32::from_gray(190) };
            painter.text(rect.center(), Align2::CENTER_CENTER, wrap(note, rect.width()), FontId::proportional(15.0), color);
            if !desc.is_error && note.ends_with('…') {
                crate::gui::busy::paint(ui, Rect::from_center_size(rect.center() - vec2(0.0, 24.0), vec2(20.0, 20.0)));
            }
        }
        (None, None) => {}
    }
    if let Some(overlay) = &desc.overlay {
        paint_region(&painter, &t, overlay);
    }
    if desc.image.is_some() {
        crate::gui::inspect::paint_grid(&painter, &t, image_size);
        if let (Some(p), Some(source)) = (hover, &desc.pixels) {
            crate::gui::inspect::paint_value(&painter, &t, p, source);
        }
    }
    paint_selection(&painter, &app.view, &t);
    if desc.updating {
        painter.rect_stroke(rect, 0.0, Stroke::new(2.0, UPDATING.gamma_multiply(0.6)), StrokeKind::Inside);
    }
    // The overlays hide (O) so an audience sees only the images.
    if !app.overlays_hidden {
        zoom_badge(&painter, &t);
        status_overlay(ui, rect, desc);
    }
}

fn wrap(text: &str, width: f32) -> String {
    // Rough wrap for painter text (no layout job needed for a one-off note).
    let per_line = ((width / 7.5) as usize).max(20);
    let mut out = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        if len + word.len() > per_line && len > 0 {
            out.push('\n');
            len = 0;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(word);
        len += word.len();
    }
    out
}

fn interact(ui: &mut egui::Ui, view: &mut ViewState, rect: Rect, image_size: Vec2, id: Id, scale: u32) -> egui::Response {
    let response = ui.interact(rect, id, Sense::click_and_drag());
    if response.hovered() {
        let (scroll, zoom, pointer) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta(), i.pointer.hover_pos()));
        let factor = zoom * (scroll * 0.0025).exp();
        if let Some(p) = pointer {
            view.zoom_at(rect, image_size, p, factor);
        }
    }
    let t = view.transform(rect, image_size);
    let shift = ui.input(|i| i.modifiers.shift);
    if response.drag_started() {
        if let Some(p) = response.interact_pointer_pos() {
            if response.dragged_by(PointerButton::Secondary) || (shift && response.dragged_by(PointerButton::Primary)) {
                let a = t.screen_to_image(p);
                view.selecting = Some((a, a));
            }
        }
    }
    if response.dragged() {
        if let Some((start, _)) = view.selecting {
            if let Some(p) = response.interact_pointer_pos() {
                view.selecting = Some((start, t.screen_to_image(p)));
            }
        } else if response.dragged_by(PointerButton::Primary) {
            view.pan(rect, image_size, response.drag_delta());
        }
    }
    if response.drag_stopped() {
        view.finish_selection(image_size, scale);
    }
    response.on_hover_cursor(egui::CursorIcon::Grab)
}

fn paint_image(painter: &egui::Painter, t: &Transform, image: &PanelImage) {
    let screen = t.rect_to_screen(image.placement);
    if let Some((visible, uv)) = visible_uv(screen, t.panel) {
        painter.image(image.texture, visible, uv, Color32::WHITE);
    }
}

/// The region computed first, over the older or coarser image, with a thin outline so that
/// where the current pixels end is visible.
fn paint_region(painter: &egui::Painter, t: &Transform, overlay: &PanelImage) {
    paint_image(painter, t, overlay);
    painter.rect_stroke(t.rect_to_screen(overlay.placement), 0.0, Stroke::new(1.0, REGION), StrokeKind::Outside);
}

fn paint_selection(painter: &egui::Painter, view: &ViewState, t: &Transform) {
    if let Some((a, b)) = view.selecting {
        let r = t.rect_to_screen(Rect::from_two_pos(a, b));
        painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(80, 160, 255, 30));
        painter.rect_stroke(r, 0.0, Stroke::new(1.5, Color32::from_rgb(80, 160, 255)), StrokeKind::Middle);
    }
}

fn zoom_badge(painter: &egui::Painter, t: &Transform) {
    let text = format!("{:.0}%", t.zoom * 100.0);
    let pos = t.panel.right_bottom() - vec2(6.0, 4.0);
    painter.text(pos + vec2(1.0, 1.0), Align2::RIGHT_BOTTOM, &text, FontId::monospace(11.0), Color32::BLACK);
    painter.text(pos, Align2::RIGHT_BOTTOM, text, FontId::monospace(11.0), Color32::from_gray(210));
}

fn split(app: &mut RescaleApp, ui: &mut egui::Ui, area: Rect, image_size: Vec2, descs: &[PanelDesc]) {
    let (left_id, right_id) = app.split_ids();
    let left = descs.iter().find(|d| d.id == left_id);
    let right = descs.iter().find(|d| d.id == right_id);
    let (Some(left), Some(right)) = (left, right) else { return };

    let header = Rect::from_min_size(area.min, vec2(area.width(), TITLE_H));
    let rect = Rect::from_min_max(pos2(area.min.x, area.min.y + TITLE_H), area.max);
    let half = vec2(header.width() / 2.0, header.height());
    title(app, ui, Rect::from_min_size(header.min, half), left, None);
    let right_rect = Rect::from_min_size(header.min + vec2(half.x, 0.0), half);
    ui.scope_builder(UiBuilder::new().max_rect(right_rect.shrink2(vec2(2.0, 1.0))).id_salt("split-right-title"), |ui| {
        ui.set_clip_rect(right_rect.intersect(ui.clip_rect()));
        ui.with_layout(egui::Layout::top_down(egui::Align::Max), |ui| {
            ui.spacing_mut().item_spacing.y = 1.0;
            ui.horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.add(egui::Label::new(egui::RichText::new(&right.title).strong()).truncate());
                    if right.updating {
                        crate::gui::busy::spinner(ui, Some(12.0));
                    }
                });
            });
            for line in &right.lines {
                ui.add(egui::Label::new(egui::RichText::new(line).monospace()).truncate());
            }
        });
    });

    let id = ui.make_persistent_id("split-view");
    let response = interact(ui, &mut app.view, rect, image_size, id, app.settings.scale);
    if response.double_clicked() {
        app.actions.push(Action::FitView);
    }
    let divider_x = rect.min.x + rect.width() * app.view.split.clamp(0.0, 1.0);
    let handle = Rect::from_center_size(pos2(divider_x, rect.center().y), vec2(14.0, rect.height()));
    let drag = ui.interact(handle, ui.make_persistent_id("split-divider"), Sense::drag()).on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
    if drag.dragged() {
        if let Some(p) = drag.interact_pointer_pos() {
            app.view.split = ((p.x - rect.min.x) / rect.width()).clamp(0.0, 1.0);
        }
    }
    let divider_x = rect.min.x + rect.width() * app.view.split;
    let t = app.view.transform(rect, image_size);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, BACKDROP);
    let left_clip = Rect::from_min_max(rect.min, pos2(divider_x, rect.max.y));
    let right_clip = Rect::from_min_max(pos2(divider_x, rect.min.y), rect.max);
    for (desc, clip) in [(left, left_clip), (right, right_clip)] {
        for image in desc.image.iter().chain(&desc.overlay) {
            // Same zoom and centre as the whole panel, only the clip differs.
            let screen = t.rect_to_screen(image.placement);
            if let Some((visible, uv)) = visible_uv(screen, clip) {
                painter.image(image.texture, visible, uv, Color32::WHITE);
            }
        }
    }
    painter.line_segment([pos2(divider_x, rect.min.y), pos2(divider_x, rect.max.y)], Stroke::new(2.0, Color32::WHITE));
    painter.circle_filled(pos2(divider_x, rect.center().y), 9.0, Color32::WHITE);
    painter.text(pos2(divider_x, rect.center().y), Align2::CENTER_CENTER, "↔", FontId::monospace(12.0), Color32::BLACK);
    for (text, pos, align) in [
        (&left.title, rect.left_top() + vec2(8.0, 8.0), Align2::LEFT_TOP),
        (&right.title, rect.right_top() + vec2(-8.0, 8.0), Align2::RIGHT_TOP),
    ] {
        let galley_rect = painter.text(pos, align, text, FontId::proportional(15.0), Color32::WHITE);
        painter.rect_filled(galley_rect.expand(4.0), 3.0, Color32::from_black_alpha(150));
        painter.text(pos, align, text, FontId::proportional(15.0), Color32::WHITE);
    }
    paint_selection(&painter, &app.view, &t);
    zoom_badge(&painter, &t);
    app.last_panel_rect = Some(rect);
}

fn butteraugli_legend(ui: &mut egui::Ui, rect: Rect) {
    let full = crate::gui::perceptual_worker::BUTTERAUGLI_FULL_SCALE;
    ramp_legend(
        ui,
        rect,
        "Butteraugli distance per pixel (below 1: invisible to most viewers)",
        ["0".into(), format!("{}", full / 2.0), format!("≥{full}")],
    );
}

fn diff_legend(ui: &mut egui::Ui, rect: Rect, full_scale: u8) {
    ramp_legend(
        ui,
        rect,
        "|method − original|, mean over R,G,B (8-bit levels)",
        ["0".into(), format!("{}", full_scale as f32 / 2.0), format!("≥{full_scale}")],
    );
}

fn versus_legend(ui: &mut egui::Ui, rect: Rect, full_scale: u8) {
    let f = crate::gui::worker::versus_full_scale(full_scale);
    ramp_legend_with(
        ui,
        rect,
        "network vs Bicubic: green = network closer to the original, magenta = Bicubic closer (|error| difference, levels)",
        [format!("−{f}"), "0".into(), format!("+{f}")],
        |t| colormap::gain_color(t * 2.0 - 1.0),
    );
}

fn ramp_legend(ui: &mut egui::Ui, rect: Rect, caption: &str, ticks: [String; 3]) {
    ramp_legend_with(ui, rect, caption, ticks, colormap::ramp);
}

fn ramp_legend_with(ui: &mut egui::Ui, rect: Rect, caption: &str, ticks: [String; 3], color_of: impl Fn(f32) -> Color32) {
    let painter = ui.painter_at(rect);
    let caption = painter.text(
        pos2(rect.min.x + 4.0, rect.center().y),
        Align2::LEFT_CENTER,
        caption,
        FontId::proportional(12.0),
        ui.visuals().text_color(),
    );
    // The bar starts after the caption and its "0" tick, whatever the caption's length.
    let label_w = (caption.width() + 30.0).max(330.0);
    let bar = Rect::from_min_max(pos2(rect.min.x + label_w, rect.min.y + 6.0), pos2(rect.max.x - 60.0, rect.max.y - 8.0));
    if bar.width() > 20.0 {
        let steps = 64;
        for s in 0..steps {
            let x0 = bar.min.x + bar.width() * s as f32 / steps as f32;
            let x1 = bar.min.x + bar.width() * (s + 1) as f32 / steps as f32;
            painter.rect_filled(Rect::from_min_max(pos2(x0, bar.min.y), pos2(x1 + 0.5, bar.max.y)), 0.0, color_of(s as f32 / (steps - 1) as f32));
        }
        let color = ui.visuals().text_color();
        let [low, mid, high] = ticks;
        painter.text(pos2(bar.min.x - 4.0, bar.center().y), Align2::RIGHT_CENTER, low, FontId::monospace(11.0), color);
        painter.text(bar.center(), Align2::CENTER_CENTER, mid, FontId::monospace(11.0), Color32::WHITE);
        painter.text(pos2(bar.max.x + 4.0, bar.center().y), Align2::LEFT_CENTER, high, FontId::monospace(11.0), color);
    }
}
