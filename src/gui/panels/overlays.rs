//! What floats over the window: the drop target, the shortcut help, the about box.

use egui::{Align2, Color32, FontId, Id, LayerId, Order};

use crate::gui::app::{Action, RescaleApp};
use crate::gui::samples;

pub const SHORTCUTS: &[(&str, &str)] = &[
    ("F1 or ?", "this help"),
    ("↑ / ↓  or  + / −", "quality ±5"),
    ("→ / ←", "quality ±1"),
    ("X", "scale: ×2, ×4, ×8 in turn"),
    ("C", "codec: None, JPEG, WebP in turn"),
    ("G / S / D / T", "grid / split / difference / two-up view"),
    ("W", "zoom to where a network and Bicubic differ most"),
    ("O", "hide/show the panels' labels over the images"),
    ("1 … 9", "maximise panel n (again, or 0, for the grid)"),
    ("M", "maximised panel: next method"),
    ("Space (hold)", "every panel shows the original"),
    ("F or double-click", "fit the image"),
    ("wheel / drag", "zoom around the cursor / pan (all panels together); from 800 % the pixel grid and RGB values under the cursor"),
    ("Shift+drag or right-drag", "crop: every panel shows that region"),
    ("R", "rate–distortion chart"),
    ("Tab", "show/hide the controls (in demo mode too)"),
    ("E", "export again to the last folder"),
    ("Ctrl+O / Ctrl+V / Ctrl+E", "open / paste image / export to…"),
    ("F11", "demo mode (large type, images first)"),
    ("Esc", "close help, leave focus, leave demo mode, clear crop"),
];

pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui) {
    let ctx = ui.ctx().clone();
    if app.files_hovering {
        let painter = ctx.layer_painter(LayerId::new(Order::Foreground, Id::unique("drop-overlay")));
        let rect = ctx.content_rect();
        painter.rect_filled(rect, 0.0, Color32::from_black_alpha(180));
        painter.rect_stroke(rect.shrink(12.0), 12.0, egui::Stroke::new(3.0, Color32::from_rgb(100, 170, 255)), egui::StrokeKind::Inside);
        painter.text(rect.center(), Align2::CENTER_CENTER, "Drop to open\nimages, or IRN/SAIN checkpoints (.pth, .safetensors)", FontId::proportional(26.0), Color32::WHITE);
    }

    let mut help_open = app.help_open;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut help_open)
        .collapsible(false)
        .resizable(false)
        .anchor(Align2::CENTER_CENTER, [0.0, 0.0])
        .show(&ctx, |ui| {
            egui::Grid::new("shortcuts").num_columns(2).spacing([18.0, 4.0]).striped(true).show(ui, |ui| {
                for (keys, what) in SHORTCUTS {
                    ui.label(egui::RichText::new(*keys).monospace().strong());
                    ui.label(*what);
                    ui.end_row();
                }
            });
        });
    if help_open != app.help_open {
        app.actions.push(Action::ToggleHelp);
    }

    let mut about_open = app.about_open;
    egui::Window::new("About rescale-lab")
        .open(&mut about_open)
        .collapsible(false)
        .default_width(560.0)
        .anchor(Align2::CENTER_CENTER, [0.0, 0.0])
        .show(&ctx, |ui| {
            ui.label("Compares bicubic, IRN (Invertible Image Rescaling, ECCV 2020) and SAIN (AAAI 2023) when the LR image is JPEG or WebP compressed, with the papers' PSNR/SSIM protocol.");
            ui.separator();
            ui.label(egui::RichText::new("Bundled sample photos").strong());
            egui::ScrollArea::vertical().max_height(220.0).show(ui, |ui| {
                ui.label(egui::RichText::new(samples::LICENSES).monospace().small());
            });
        });
    if about_open != app.about_open {
        app.actions.push(Action::ToggleAbout);
    }
}
