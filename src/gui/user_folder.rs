//! The user models folder in the app: the page that says where the papers' authors publish
//! their weights and where to put them, a rescan, and "keep" (copy a model loaded by hand into
//! the folder, so it is there at the next start without being loaded again).

use std::path::{Path, PathBuf};

use super::app::{MessageKind, RescaleApp};
use crate::user_models::{self, OFFICIAL};

/// Where the authors publish their code and, with it, their trained checkpoints.
const SOURCES: [(&str, &str, &str); 2] = [
    ("IRN (Xiao et al., ECCV 2020)", "https://github.com/pkuxmq/Invertible-Image-Rescaling", "IRN_x2.pth, IRN_x4.pth, IRN_x8.pth"),
    ("SAIN (Yang et al., AAAI 2023)", "https://github.com/yang-jin-hai/SAIN", "SAINx2_JPEG.pth, SAINx2_WebP.pth, SAINx4_JPEG.pth"),
];

/// The folder this run uses.
pub fn folder(app: &RescaleApp) -> Option<PathBuf> {
    app.user_models_dir.clone()
}

/// Reads the folder again (after the user put files in it); the methods reload.
pub fn rescan(app: &mut RescaleApp) {
    let found = folder(app).map(|d| user_models::model_files(&d)).unwrap_or_default();
    let added = found.iter().filter(|p| !app.folder_models.contains(p)).count();
    app.folder_models = found;
    app.push_message(MessageKind::Info, format!("User models folder read: {} model file(s), {added} new", app.folder_models.len()));
}

/// Copies a model loaded by hand into the folder (never over a file already there) and lists
/// it from there.
pub fn keep(app: &mut RescaleApp, path: &Path) {
    let Some(dir) = folder(app) else {
        app.push_message(MessageKind::Error, "No user models folder: neither XDG_DATA_HOME nor HOME is set".to_string());
        return;
    };
    let Some(name) = path.file_name() else { return };
    let target = dir.join(name);
    if target.exists() {
        app.push_message(MessageKind::Error, format!("{} is already in {}; rename one of them", name.to_string_lossy(), dir.display()));
        return;
    }
    // A weight file is tens of MB at most: copied here, on the UI thread, in well under a second.
    // `create_new`: a file that appeared meanwhile under that name is not replaced.
    let copy = || -> std::io::Result<u64> {
        std::fs::create_dir_all(&dir)?;
        let mut out = std::fs::OpenOptions::new().write(true).create_new(true).open(&target)?;
        std::io::copy(&mut std::fs::File::open(path)?, &mut out)
    };
    match copy() {
        Ok(_) => {
            app.folder_models = user_models::model_files(&dir);
            if app.folder_models.contains(&target) {
                app.settings.user_models.retain(|p| p != path);
            }
            app.push_message(MessageKind::Info, format!("Kept {} in {}", name.to_string_lossy(), dir.display()));
        }
        Err(e) => app.push_message(MessageKind::Error, format!("Could not copy {} to {}: {}", path.display(), dir.display(), crate::error::describe_io(&e))),
    }
}

/// Help ▸ Get the official weights.
pub fn show_help(app: &mut RescaleApp, ctx: &egui::Context) {
    let mut open = app.weights_help_open;
    let mut rescan_now = false;
    egui::Window::new("Get the official weights").open(&mut open).collapsible(false).default_width(620.0).show(ctx, |ui| {
        ui.label(
            "The convincing comparison runs on the papers' own checkpoints. rescale-lab reads them unchanged \
             (.pth as published); its own shipped weights are far from the papers' numbers. \
             Download them from the authors (their licences apply):",
        );
        egui::Grid::new("weight-sources").num_columns(3).spacing([12.0, 4.0]).show(ui, |ui| {
            for (paper, url, files) in SOURCES {
                ui.label(egui::RichText::new(paper).strong());
                ui.hyperlink(url);
                ui.label(egui::RichText::new(files).monospace());
                ui.end_row();
            }
        });
        ui.add_space(6.0);
        match folder(app) {
            Some(dir) => {
                ui.label("Then put the files, under their published names, in this folder:");
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(dir.display().to_string()).monospace());
                    if ui.small_button("copy path").clicked() {
                        ui.ctx().copy_text(dir.display().to_string());
                    }
                    if !dir.is_dir() && ui.small_button("create it").clicked() {
                        if let Err(e) = std::fs::create_dir_all(&dir) {
                            app.push_message(MessageKind::Error, format!("{}: {}", dir.display(), crate::error::describe_io(&e)));
                        }
                    }
                });
                ui.label("In the folder now:");
                for official in OFFICIAL {
                    let present = app.folder_models.iter().any(|p| user_models::official_name(p).map(|o| o.file) == Some(official.file));
                    let state = if present { "in the folder" } else { "not yet" };
                    ui.label(egui::RichText::new(format!("{}: {state}", official.file)).monospace());
                }
                if ui.button("Read the folder again").clicked() {
                    rescan_now = true;
                }
            }
            None => {
                ui.label("No user models folder here (neither XDG_DATA_HOME nor HOME is set): use File ▸ Load model… instead.");
            }
        }
        ui.label(egui::RichText::new("`rescale-lab models` lists what the app offers and why a file was skipped.").weak());
    });
    app.weights_help_open = open;
    if rescan_now {
        rescan(app);
    }
}
