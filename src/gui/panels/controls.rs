//! The experiment's controls: scale, codec and quality, methods, latent, device, view, export.

use crate::gui::app::{Action, RescaleApp, BEST_NETWORK};
use crate::gui::device;
use crate::gui::settings::{CodecFamily, DeviceChoice, DiffKind, LrDisplay, ViewMode};

/// Width of the panel's drop-down lists: fixed, so a long model name never widens the panel.
const COMBO_WIDTH: f32 = 150.0;

/// The most used controls come first and never move: what changes with the view is at the end
/// of the View section, in a block of constant height; rarely used sections fold.
pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui) {
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        if ui.button("Open…").on_hover_text("Open images (Ctrl+O); or drop files on the window").clicked() {
            app.actions.push(Action::OpenDialog);
        }
        if ui.button("Paste").on_hover_text("Paste an image from the clipboard (Ctrl+V)").clicked() {
            app.actions.push(Action::PasteFromClipboard);
        }
        if ui.button("Export…").on_hover_text("Choose a folder: reconstructions, LR, compressed LR, montage, metrics CSV/JSON (Ctrl+E)").clicked() {
            app.actions.push(Action::ExportDialog);
        }
        if app.exports_in_flight() > 0 {
            crate::gui::busy::spinner(ui, None);
        }
    });
    if let Some(dir) = app.settings.export_dir.clone() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
        if ui.add(egui::Button::new(format!("Export again to {name}")).truncate()).on_hover_text(format!("Export again to {} (E)", dir.display())).clicked() {
            app.actions.push(Action::ExportTo(dir));
        }
    }

    section(ui, "Experiment");
    ui.horizontal(|ui| {
        ui.label("Scale");
        ui.radio_value(&mut app.settings.scale, 2, "×2");
        ui.radio_value(&mut app.settings.scale, 4, "×4");
        ui.radio_value(&mut app.settings.scale, 8, "×8")
            .on_hover_text("Bicubic, and IRN with a ×8 model (the IRN authors publish one; put it in the user models folder)");
    });
    ui.horizontal(|ui| {
        ui.label("Codec");
        for family in CodecFamily::ALL {
            let label = match family {
                CodecFamily::None => "None",
                other => other.label(),
            };
            ui.radio_value(&mut app.settings.codec, family, label)
                .on_hover_text(family.label());
        }
    });
    ui.add_enabled_ui(app.settings.codec != CodecFamily::None, |ui| {
        ui.horizontal(|ui| {
            ui.label("Compare at");
            ui.radio_value(&mut app.settings.size_mode, false, "same quality")
                .on_hover_text("Every method's LR is compressed at the slider's quality");
            ui.radio_value(&mut app.settings.size_mode, true, "same size")
                .on_hover_text("Each method gets the quality that brings its compressed LR closest to the target size without going over");
        });
    });
    if app.settings.size_mode && app.settings.codec != CodecFamily::None {
        ui.horizontal(|ui| {
            let label = ui.label("Target");
            let (low, high) = crate::gui::settings::TARGET_BPP_RANGE;
            ui.add(egui::Slider::new(&mut app.settings.target_bpp, low..=high).logarithmic(true).suffix(" bpp").max_decimals(3))
                .labelled_by(label.id)
                .on_hover_text("Bits of compressed LR per pixel of the HR image; the panels say which quality each method got");
        });
    }
    ui.add_enabled_ui(app.settings.codec != CodecFamily::None && !app.settings.size_mode, |ui| {
        ui.horizontal(|ui| {
            let label = ui.label("Quality");
            if ui.small_button("−").on_hover_text("Quality −1 (Left arrow key); −5 with Down").clicked() {
                app.settings.quality = app.settings.quality.saturating_sub(1).max(1);
            }
            ui.add(egui::Slider::new(&mut app.settings.quality, 1..=100).clamping(egui::SliderClamping::Always))
                .labelled_by(label.id)
                .on_hover_text("Encoder quality, as Pillow's quality=. Only the newest value is computed while you drag.");
            if ui.small_button("+").on_hover_text("Quality +1 (Right arrow key); +5 with Up").clicked() {
                app.settings.quality = (app.settings.quality + 1).min(100);
            }
        });
    });

    section(ui, "Methods");
    let methods = app.all_methods();
    if methods.is_empty() {
        ui.horizontal(|ui| {
            crate::gui::busy::spinner(ui, None);
            ui.label("loading methods…");
        });
    }
    for (m, visible) in methods {
        ui.horizontal(|ui| {
            let mut show = visible;
            let response = ui.add_enabled(m.runnable.is_ok() || visible, egui::Checkbox::new(&mut show, &m.label));
            if response.changed() {
                match (m.kind, &m.path) {
                    (_, Some(_)) => {
                        if show {
                            app.settings.hidden_models.retain(|k| k != &m.key);
                        } else {
                            app.settings.hidden_models.push(m.key.clone());
                        }
                    }
                    (Some(kind), None) => app.settings.set_shows_kind(kind, show),
                    (None, None) => {}
                }
            }
            if let Some(path) = m.path.as_ref().filter(|p| !app.is_folder_model(p)) {
                if ui.small_button("remove").on_hover_text(format!("Remove {}", path.display())).clicked() {
                    app.actions.push(Action::RemoveModel(path.clone()));
                }
                if m.runnable.is_ok() && ui.small_button("keep").on_hover_text("Copy it into the user models folder, so it is offered at every start").clicked() {
                    app.actions.push(Action::KeepModel(path.clone()));
                }
            }
        });
        if let Err(reason) = &m.runnable {
            ui.indent(&m.key, |ui| {
                ui.label(egui::RichText::new(format!("disabled: {reason}")).weak().small());
            });
        }
    }
    default_choosers(app, ui);
    ui.horizontal(|ui| {
        if ui.button("Load model…").on_hover_text("An IRN or SAIN checkpoint: official .pth or .safetensors; or drop it on the window").clicked() {
            app.actions.push(Action::LoadModelDialog);
        }
        if ui.small_button("official weights?").on_hover_text("Where the papers' authors publish their checkpoints, and where to put them").clicked() {
            app.actions.push(Action::ToggleWeightsHelp);
        }
    });

    section(ui, "View");
    ui.horizontal(|ui| {
        for mode in [ViewMode::Grid, ViewMode::Split, ViewMode::Difference, ViewMode::TwoUp] {
            if ui.selectable_label(app.settings.view == mode, mode.label()).clicked() {
                app.actions.push(Action::SetView(mode));
            }
        }
        ui.separator();
        ui.toggle_value(&mut app.settings.show_chart, "Chart").on_hover_text("Rate–distortion chart (R)");
    });
    ui.horizontal(|ui| {
        if ui.button("Fit").on_hover_text("Fit the crop, or the whole image (F, or double-click a panel)").clicked() {
            app.actions.push(Action::FitView);
        }
        if let Some(crop) = app.view.crop() {
            ui.label(format!("crop {:.0}×{:.0}", crop.width(), crop.height()));
            if ui.small_button("clear").on_hover_text("Forget the crop and fit the whole image (Esc)").clicked() {
                app.actions.push(Action::ClearCrop);
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("LR panel");
        ui.radio_value(&mut app.settings.lr_display, LrDisplay::UpscaledNearest, "upscaled")
            .on_hover_text("Nearest-neighbour to the HR size, aligned with the other panels");
        ui.radio_value(&mut app.settings.lr_display, LrDisplay::OwnSize, "own size")
            .on_hover_text("At its real pixel size: 1/scale of the others");
    });
    lr_source_chooser(app, ui);
    ui.checkbox(&mut app.settings.perceptual, "Perceptual metrics")
        .on_hover_text("SSIMULACRA2 and Butteraugli, computed after PSNR/SSIM in the background; turn off for very large images");
    ui.checkbox(&mut app.settings.compute_ahead, "Crop ahead of the slider")
        .on_hover_text("With a crop set, IRN and SAIN also compute it at the next few qualities while the app is otherwise idle, so a one-step move shows at once. About 3 s of CPU after each move on a 256×256 crop; turn off to save battery.");
    ui.label(egui::RichText::new("Wheel: zoom · drag: pan · Shift+drag or right-drag: crop").weak());
    // What depends on the view comes last, in a block that keeps its height across views, so
    // nothing below it moves when the view changes.
    let row = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
    let top = ui.cursor().min.y;
    match app.settings.view {
        ViewMode::Split | ViewMode::TwoUp => split_choosers(app, ui),
        ViewMode::Difference => diff_options(app, ui),
        ViewMode::Grid => {
            ui.label(egui::RichText::new("Keys 1–9 maximise a panel; 0 or Esc returns").weak());
        }
    }
    let used = ui.cursor().min.y - top;
    if used < 2.0 * row {
        ui.add_space(2.0 * row - used);
    }

    folding_section(ui, "Latent (IRN, SAIN)", |ui| {
    ui.horizontal(|ui| {
        let label = ui.label("Temperature");
        ui.add(egui::Slider::new(&mut app.settings.temperature, 0.0..=2.0).step_by(0.05))
            .labelled_by(label.id)
            .on_hover_text("Multiplies the latent draw z (IRN: N(0, 1); SAIN: its learned mixture), as the official code's gaussian_scale; 0 gives z = 0, a deterministic upscale.");
    });
    ui.horizontal(|ui| {
        let label = ui.label("Seed");
        ui.add(egui::DragValue::new(&mut app.settings.seed).speed(1.0)).labelled_by(label.id);
        if ui.small_button("random").on_hover_text("Random seed").clicked() {
            app.actions.push(Action::RandomSeed);
        }
    });
    });

    folding_section(ui, "Device", |ui| {
    ui.horizontal(|ui| {
        let label = ui.label("Run on");
        egui::ComboBox::from_id_salt("device").width(COMBO_WIDTH).truncate()
            .selected_text(app.settings.device.label())
            .show_ui(ui, |ui| {
                for choice in DeviceChoice::ALL {
                    let label = if device::compiled_in(choice) {
                        choice.label().to_string()
                    } else {
                        format!("{} (not in this build)", choice.label())
                    };
                    ui.selectable_value(&mut app.settings.device, choice, label);
                }
            })
            .response
            .labelled_by(label.id);
        ui.label(format!("active: {}", app.device_label()));
    });
    });
}

fn diff_options(app: &mut RescaleApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.label("Map");
        ui.radio_value(&mut app.settings.diff_kind, DiffKind::Error, "|error|")
            .on_hover_text("Absolute difference from the original, in 8-bit levels");
        ui.radio_value(&mut app.settings.diff_kind, DiffKind::VsBicubic, "vs Bicubic")
            .on_hover_text("Each network against Bicubic: green where the network is closer to the original, magenta where Bicubic is");
        ui.add_enabled_ui(app.settings.perceptual, |ui| {
            ui.radio_value(&mut app.settings.diff_kind, DiffKind::Butteraugli, "Butteraugli")
                .on_hover_text("Butteraugli's per-pixel distance: where a viewer would see the difference (needs the perceptual metrics)");
        });
    });
    if app.settings.diff_kind != DiffKind::Butteraugli {
        ui.horizontal(|ui| {
            let label = ui.label("Full scale");
            ui.add(egui::Slider::new(&mut app.settings.diff_full_scale, 4..=128).suffix(" levels"))
                .labelled_by(label.id)
                .on_hover_text("An absolute error (mean over R, G, B, in 8-bit levels) this large or larger gets the top colour; the vs-Bicubic map tops out at half of it.");
        });
    }
}

/// Which file each network's panel runs at this scale: the shipped weights or a loaded model
/// (the official checkpoints, typically). Saved with the settings.
fn default_choosers(app: &mut RescaleApp, ui: &mut egui::Ui) {
    use crate::methods::MethodKind;
    let scale = app.settings.scale;
    for kind in [MethodKind::Irn, MethodKind::Sain] {
        let candidates = app.default_candidates(kind);
        if candidates.is_empty() {
            continue;
        }
        let current = app.settings.default_model(kind, scale).cloned();
        let text = current
            .as_ref()
            .and_then(|c| candidates.iter().find(|(p, _)| p == c).map(|(_, l)| l.clone()))
            .unwrap_or_else(|| "shipped weights".into());
        let mut chosen: Option<Option<std::path::PathBuf>> = None;
        ui.horizontal(|ui| {
            let label = ui.label(format!("{} ×{scale} panel runs", kind.label()));
            egui::ComboBox::from_id_salt(("default-model", kind.label()))
                .width(COMBO_WIDTH)
                .truncate()
                .selected_text(text)
                .show_ui(ui, |ui| {
                    if ui.selectable_label(current.is_none(), "shipped weights").clicked() {
                        chosen = Some(None);
                    }
                    for (path, label) in &candidates {
                        if ui.selectable_label(current.as_ref() == Some(path), label).clicked() {
                            chosen = Some(Some(path.clone()));
                        }
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text("Which weights this method's panel uses at this scale; remembered between runs");
        });
        if let Some(choice) = chosen {
            app.settings.set_default_model(kind, scale, choice);
        }
    }
}

/// A section that folds, open by default only when the window is tall enough for everything.
fn folding_section(ui: &mut egui::Ui, title: &str, body: impl FnOnce(&mut egui::Ui)) {
    ui.add_space(2.0);
    ui.separator();
    let tall = ui.ctx().content_rect().height() > 820.0;
    egui::CollapsingHeader::new(egui::RichText::new(title).strong()).default_open(tall).show(ui, body);
}

fn section(ui: &mut egui::Ui, title: &str) {
    ui.add_space(6.0);
    ui.separator();
    ui.label(egui::RichText::new(title).strong());
}

/// Everything the split view can compare, as (id, label).
fn choices(app: &RescaleApp) -> Vec<(String, String)> {
    let mut out = vec![("original".to_string(), "Original".to_string()), ("lr".to_string(), "Compressed LR".to_string())];
    out.extend(app.shown_methods().into_iter().filter(|m| m.runnable.is_ok()).map(|m| (m.key, m.label)));
    out
}

fn split_choosers(app: &mut RescaleApp, ui: &mut egui::Ui) {
    let options = choices(app);
    let (left, right) = app.split_ids();
    let best = BEST_NETWORK.to_string();
    for (side, salt) in [("Left", "split-left"), ("Right", "split-right")] {
        let resolved = Some(if side == "Left" { left.clone() } else { right.clone() });
        let chosen = if side == "Left" { &app.settings.split_left } else { &app.settings.split_right };
        let follows_best = chosen == &best;
        let label_of = |id: &Option<String>| options.iter().find(|(o, _)| Some(o) == id.as_ref()).map(|(_, l)| l.clone());
        let mut text = label_of(&resolved).unwrap_or_else(|| "—".into());
        if follows_best {
            text = format!("Best network: {text}");
        }
        let best_label = format!("Best network (now {})", label_of(&app.best_network()).unwrap_or_else(|| "—".into()));
        ui.horizontal(|ui| {
            let label = ui.label(side);
            egui::ComboBox::from_id_salt(salt).width(COMBO_WIDTH).truncate().selected_text(text).show_ui(ui, |ui| {
                let entries = std::iter::once((&best, &best_label)).chain(options.iter().map(|(id, l)| (id, l)));
                for (id, label) in entries {
                    let selected = if follows_best { id == &best } else { id != &best && resolved.as_ref() == Some(id) };
                    if ui.selectable_label(selected, label.as_str()).clicked() {
                        if side == "Left" {
                            app.settings.split_left = id.clone();
                        } else {
                            app.settings.split_right = id.clone();
                        }
                    }
                }
            })
            .response
            .labelled_by(label.id);
        });
    }
}

fn lr_source_chooser(app: &mut RescaleApp, ui: &mut egui::Ui) {
    let methods: Vec<(String, String)> =
        app.shown_methods().into_iter().filter(|m| m.runnable.is_ok()).map(|m| (m.key, m.label)).collect();
    let current = if app.settings.lr_source == "auto" {
        "auto".to_string()
    } else {
        methods.iter().find(|(k, _)| Some(k) == app.resolve_panel_id(&app.settings.lr_source).as_ref()).map(|(_, l)| l.clone()).unwrap_or_else(|| "auto".into())
    };
    ui.horizontal(|ui| {
        let label = ui.label("LR of");
        egui::ComboBox::from_id_salt("lr-source").width(COMBO_WIDTH).truncate().selected_text(current).show_ui(ui, |ui| {
            if ui.selectable_label(app.settings.lr_source == "auto", "auto (first network)").clicked() {
                app.settings.lr_source = "auto".into();
            }
            for (key, label) in methods {
                if ui.selectable_label(app.settings.lr_source == key, &label).clicked() {
                    app.settings.lr_source = key;
                }
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text("Each method makes its own LR: IRN and SAIN hide information in theirs");
    });
}
