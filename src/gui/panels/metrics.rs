//! The numbers: a table of every method's metrics, sizes and stage times, and the status bar.

use crate::gui::app::{bytes_text, codec_text, ms_text, RescaleApp};
use crate::gui::documents::Slot;

pub fn table(app: &mut RescaleApp, ui: &mut egui::Ui) {
    // Unavailable methods are named in the notice above the panels; the table keeps to numbers.
    let methods: Vec<_> = app.shown_methods().into_iter().filter(|m| m.runnable.is_ok()).collect();
    egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("metrics-table").striped(true).num_columns(18).spacing([14.0, 3.0]).show(ui, |ui| {
            for h in [
                "Method", "region PSNR-Y / SSIM-Y", "PSNR-Y", "SSIM-Y", "PSNR-RGB", "SSIM-RGB", "SSIMULACRA2", "Butteraugli", "3-norm", "LR size", "LR bytes",
                "bpp", "quality", "downscale", "codec",
                "upscale", "metrics", "",
            ] {
                ui.label(egui::RichText::new(h).strong());
            }
            ui.end_row();
            for m in methods {
                // The status column is often off-screen: the row's name says "preview" too.
                let preview = matches!(app.results.slots.get(&m.key), Some(Slot { outcome: Ok(r), .. }) if r.view.preview);
                ui.label(if preview { format!("{} (preview ≈)", m.label) } else { m.label.clone() });
                // The region computed first (crop or zoomed-in view), beside the whole image's.
                let region = app.current_region(&m.key).map(|r| match &r.view.output.metrics {
                    Some(x) => format!("{:.2} dB / {:.4}", x.psnr_y, x.ssim_y),
                    None => "too small".into(),
                });
                ui.label(egui::RichText::new(region.unwrap_or_else(|| "-".into())).monospace())
                    .on_hover_text("Metrics of the region you are looking at (the crop, or what the panels show when zoomed in)");
                match (&m.runnable, app.results.slots.get(&m.key)) {
                    (Err(reason), _) => {
                        ui.label(egui::RichText::new(format!("unavailable: {reason}")).weak());
                    }
                    (Ok(_), Some(slot @ Slot { outcome: Ok(ready), .. })) => {
                        let o = &ready.view.output;
                        let stale = app.slot_is_stale(slot);
                        // A preview's numbers are of a reduced copy: every one is marked "≈" and
                        // dimmed, so none is read as the method's beside a full-resolution row.
                        let preview = ready.view.preview;
                        let cell = |ui: &mut egui::Ui, text: String| {
                            let text = if preview && text != "-" { format!("≈{text}") } else { text };
                            let mut t = egui::RichText::new(text).monospace();
                            if stale || preview {
                                t = t.weak();
                            }
                            ui.label(t);
                        };
                        cell(ui, format!("{:.2} dB", o.metrics.psnr_y));
                        cell(ui, format!("{:.4}", o.metrics.ssim_y));
                        cell(ui, format!("{:.2} dB", o.metrics.psnr_rgb));
                        cell(ui, format!("{:.4}", o.metrics.ssim_rgb));
                        let current = app.current_key();
                        match app.perceptual.current(&m.key, current.as_ref()).map(|p| &p.outcome) {
                            Some(Ok((p, _))) => {
                                cell(ui, format!("{:.2}", p.ssimulacra2));
                                cell(ui, format!("{:.3}", p.butteraugli));
                                cell(ui, format!("{:.3}", p.butteraugli_3norm));
                            }
                            Some(Err(_)) => (0..3).for_each(|_| cell(ui, "failed".into())),
                            None if app.settings.perceptual => (0..3).for_each(|_| cell(ui, "…".into())),
                            None => (0..3).for_each(|_| cell(ui, "off".into())),
                        }
                        cell(ui, format!("{}×{}", o.lr.width(), o.lr.height()));
                        let n = o.compressed_bytes();
                        cell(ui, if n >= 10_000 { format!("{n} ({})", bytes_text(n)) } else { format!("{n}") });
                        cell(ui, format!("{:.3}", o.bits_per_pixel));
                        cell(ui, match (&ready.view.size_match, o.codec.quality()) {
                            (Some(matched), _) => match &matched.note {
                                Some(note) => format!("{} (for ≤{} B; {note})", matched.quality, matched.target_bytes),
                                None => format!("{} (for ≤{} B)", matched.quality, matched.target_bytes),
                            },
                            (None, Some(q)) => q.get().to_string(),
                            (None, None) => "-".into(),
                        });
                        cell(ui, stage(o.timings.downscale, o.stages_run.downscale));
                        cell(ui, stage(o.timings.codec, o.stages_run.codec));
                        cell(ui, stage(o.timings.upscale, o.stages_run.upscale));
                        cell(ui, ms_text(o.timings.metrics));
                        if stale {
                            ui.horizontal(|ui| {
                                crate::gui::busy::spinner(ui, Some(11.0));
                                ui.label("updating");
                            });
                        } else if ready.view.preview {
                            ui.label(format!("preview of a {} copy: approximate", crate::gui::app::preview_size_text(&ready.view)));
                        } else {
                            ui.label("");
                        }
                    }
                    (Ok(_), Some(Slot { outcome: Err(e), .. })) => {
                        ui.label(egui::RichText::new(format!("failed: {e}")).color(egui::Color32::from_rgb(240, 110, 100)));
                    }
                    (Ok(_), None) => {
                        crate::gui::busy::spinner(ui, None);
                    }
                }
                ui.end_row();
            }
        });
        // The BD figures right under the rows they summarise, before the long footnote, so a
        // table of default height shows them.
        for line in crate::gui::chart::bd_lines(app) {
            ui.label(egui::RichText::new(line).monospace());
        }
        ui.label(
            egui::RichText::new(
                "Metrics as in the papers: on the modcropped image, Y of BT.601 (and RGB), border of `scale` pixels removed. \
                 SSIMULACRA2 (higher is better) and Butteraugli (max and 3-norm, lower is better) on the whole modcropped image. \
                 bpp = compressed LR bits per HR pixel; at equal size, each method's quality is the one that meets the target. \"(cached)\": the stage was served from the cache; its time is from when it ran.",
            )
            .weak()
            .small(),
        );
    });
}

/// A stage time, marked when it came from the cache (it is then the time it took when it ran).
fn stage(d: std::time::Duration, ran: bool) -> String {
    if ran {
        ms_text(d)
    } else {
        format!("{} (cached)", ms_text(d))
    }
}

pub fn status_bar(app: &mut RescaleApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        match app.activity() {
            Some(activity) => {
                crate::gui::busy::spinner(ui, None);
                ui.label(activity);
            }
            None => {
                ui.label("ready");
            }
        }
        ui.separator();
        ui.label(format!("device: {}", app.device_label()));
        if let Some(doc) = app.active_doc() {
            ui.separator();
            ui.label(format!("{} · {}×{}", doc.name, doc.rgb.width(), doc.rgb.height()));
        }
        ui.separator();
        let setting = match app.settings.target_bpp() {
            Some(bpp) => format!("{} at equal size ≤{bpp:.3} bpp", app.settings.codec.label()),
            None => codec_text(&app.settings.codec()),
        };
        ui.label(format!("×{} · {setting}", app.settings.scale));
        if app.demo {
            ui.separator();
            // Demo mode's one visible way back to the controls (Tab does the same), so a
            // presenter who does not know the keys is never stuck.
            let text = if app.demo_controls { "Hide the controls (Tab)" } else { "Controls (Tab)" };
            if ui.small_button(text).on_hover_text("Show or hide the controls for this demo").clicked() {
                app.actions.push(crate::gui::app::Action::ToggleControls);
            }
            ui.label("demo: Esc leaves · F1 keys");
        }
        if app.settings.view == crate::gui::settings::ViewMode::TwoUp {
            ui.separator();
            ui.label("W: where it matters · O: overlays");
        }
        if !app.demo {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(egui::RichText::new("F1: shortcuts").weak());
            });
        }
    });
}
