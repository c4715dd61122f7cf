//! The window's layout; each region is its own module and only reads the app state, changes
//! plain settings, or pushes an [`Action`](super::app::Action).

pub mod compare;
pub mod controls;
pub mod menu;
pub mod metrics;
pub mod overlays;
pub mod two_up;

use super::app::RescaleApp;
use super::chart;

/// Demo mode's UI zoom: text reads from the back of a room. The controls fold away so the
/// panels keep their size; the keys still work.
pub const DEMO_ZOOM: f32 = 1.5;

pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui) {
    if app.demo != app.demo_zoom {
        // Demo mode is for a room: bigger text reads from the back. Only switched on a change,
        // so the user's own Ctrl+/- zoom is left alone otherwise.
        ui.ctx().set_zoom_factor(if app.demo { DEMO_ZOOM } else { 1.0 });
        app.demo_zoom = app.demo;
    }
    if !app.demo {
        egui::Panel::top("menu").show(ui, |ui| menu::show(app, ui));
    }
    egui::Panel::bottom("status").show(ui, |ui| metrics::status_bar(app, ui));
    // The controls take the full height (before the table), so they fit a 720-pixel screen.
    let mut controls_visible = if app.demo { app.demo_controls } else { app.settings.controls_visible };
    egui::Panel::left("controls")
        .resizable(true)
        .default_size(270.0)
        .min_size(220.0)
        .show_collapsible(ui, &mut controls_visible, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| controls::show(app, ui));
        });
    if app.demo {
        app.demo_controls = controls_visible;
    } else {
        app.settings.controls_visible = controls_visible;
    }
    if app.active_doc().is_some() && !app.demo {
        // Tall enough for every row and two BD lines, at most a third of the window.
        let rows = app.shown_methods().len() as f32;
        let height = (60.0 + 22.0 * (rows + 1.0) + 2.0 * 20.0).min(ui.available_height() / 3.0).max(120.0);
        egui::Panel::bottom("metrics")
            .resizable(true)
            .default_size(height)
            .show(ui, |ui| metrics::table(app, ui));
    }
    if app.settings.show_chart && app.active_doc().is_some() {
        // At most half of what the side panel leaves: the chart's own wide lines (the BD
        // summary) would otherwise widen it until the panels are a sliver.
        let most = (ui.available_width() * 0.5).max(260.0);
        egui::Panel::right("chart")
            .resizable(true)
            .default_size(420.0_f32.min(most))
            .min_size(260.0)
            .max_size(most)
            .show(ui, |ui| chart::show(app, ui));
    }
    egui::CentralPanel::default().show(ui, |ui| compare::show(app, ui));
    overlays::show(app, ui);
    super::path_prompt::show(app, ui.ctx());
    super::user_folder::show_help(app, ui.ctx());
}

