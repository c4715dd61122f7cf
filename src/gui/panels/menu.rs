//! The menu bar and the tabs of the open images.

use crate::gui::app::{Action, RescaleApp};
use crate::gui::samples;
use crate::gui::settings::ViewMode;
use crate::gui::worker::ImageSource;

pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open images…  (Ctrl+O)").clicked() {
                app.actions.push(Action::OpenDialog);
                ui.close();
            }
            if ui.button("Paste image  (Ctrl+V)").clicked() {
                app.actions.push(Action::PasteFromClipboard);
                ui.close();
            }
            ui.menu_button("Samples", |ui| {
                for (i, sample) in samples::SAMPLES.iter().enumerate() {
                    if ui.button(sample.name).clicked() {
                        app.actions.push(Action::OpenSample(i));
                        ui.close();
                    }
                }
            });
            ui.add_enabled_ui(!app.settings.recent.is_empty(), |ui| {
                ui.menu_button("Open recent", |ui| {
                    for path in app.settings.recent.clone() {
                        let exists = path.exists();
                        let response = ui.add_enabled(exists, egui::Button::new(path.display().to_string()));
                        if response.clicked() {
                            app.actions.push(Action::Open(ImageSource::Path(path)));
                            ui.close();
                        }
                    }
                    ui.separator();
                    if ui.button("Clear list").clicked() {
                        app.settings.recent.clear();
                        ui.close();
                    }
                });
            });
            ui.separator();
            if ui.button("Open session…").on_hover_text("A saved comparison (.rlab): images, settings, models, view").clicked() {
                app.actions.push(Action::OpenSessionDialog);
                ui.close();
            }
            if ui.button("Save session…").on_hover_text("Save this comparison to reopen it later (.rlab)").clicked() {
                app.actions.push(Action::SaveSessionDialog);
                ui.close();
            }
            ui.separator();
            if ui.button("Load model…").clicked() {
                app.actions.push(Action::LoadModelDialog);
                ui.close();
            }
            ui.separator();
            if ui.button("Export…  (Ctrl+E)").clicked() {
                app.actions.push(Action::ExportDialog);
                ui.close();
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                app.actions.push(Action::Quit);
            }
        });
        ui.menu_button("View", |ui| {
            for mode in [ViewMode::Grid, ViewMode::Split, ViewMode::Difference, ViewMode::TwoUp] {
                if ui.radio(app.settings.view == mode, mode.label()).clicked() {
                    app.actions.push(Action::SetView(mode));
                    ui.close();
                }
            }
            ui.separator();
            ui.checkbox(&mut app.settings.show_chart, "Rate–distortion chart  (R)");
            ui.checkbox(&mut app.settings.controls_visible, "Controls  (Tab)");
            if ui.button("Fit to window  (F / double-click)").clicked() {
                app.actions.push(Action::FitView);
                ui.close();
            }
            ui.separator();
            if ui.button("Demo mode: full screen  (F11)").clicked() {
                app.actions.push(Action::ToggleDemo);
                ui.close();
            }
        });
        ui.menu_button("Help", |ui| {
            if ui.button("Keyboard shortcuts  (F1 / ?)").clicked() {
                app.actions.push(Action::ToggleHelp);
                ui.close();
            }
            if ui.button("Get the official weights…").clicked() {
                app.actions.push(Action::ToggleWeightsHelp);
                ui.close();
            }
            if ui.button("About and licences").clicked() {
                app.actions.push(Action::ToggleAbout);
                ui.close();
            }
        });
        ui.separator();
        tabs(app, ui);
    });
}

fn tabs(app: &mut RescaleApp, ui: &mut egui::Ui) {
    let docs: Vec<(u64, String)> = app.docs.iter().map(|d| (d.id, d.name.clone())).collect();
    for (id, name) in docs {
        let selected = app.active == Some(id);
        if ui.selectable_label(selected, &name).on_hover_text("Switch to this image").clicked() {
            app.actions.push(Action::SelectDoc(id));
        }
        if ui.small_button("×").on_hover_text(format!("Close {name}")).clicked() {
            app.actions.push(Action::CloseDoc(id));
        }
    }
    if app.is_loading() {
        crate::gui::busy::spinner(ui, None);
    }
}
