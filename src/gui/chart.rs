//! The rate–distortion chart: PSNR-Y against bits per pixel, one line per method, filled in by
//! the background sweep over quality, with the current setting marked.

use egui::Color32;
use egui_plot::{Corner, Legend, Line, MarkerShape, Plot, PlotPoints, Points, VLine};

use super::app::RescaleApp;
use super::documents::Slot;
use super::settings::CodecFamily;

/// One colour per method, in the order they are listed (bicubic, IRN, SAIN, user models).
pub const PALETTE: [Color32; 6] = [
    Color32::from_rgb(150, 150, 160),
    Color32::from_rgb(90, 160, 250),
    Color32::from_rgb(240, 140, 60),
    Color32::from_rgb(120, 210, 130),
    Color32::from_rgb(220, 100, 200),
    Color32::from_rgb(240, 220, 90),
];

pub fn show(app: &mut RescaleApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Rate–distortion");
        if app.rd.running {
            ui.spinner();
            ui.label("sweeping quality…");
        }
    });
    let family = app.settings.codec;
    if family == CodecFamily::None {
        ui.label("No codec: one point per method. Choose JPEG or WebP to sweep the quality.");
    } else {
        match app.settings.target_bpp() {
            Some(target) => ui.label(format!(
                "{} quality 5–100 swept in the background; the dashed line is the target size ({target:.3} bpp), \
                 the large dots each method's result at it.",
                family.label()
            )),
            None => ui.label(format!(
                "{} quality 5–100 swept in the background; the large dot is the current quality ({}).",
                family.label(),
                app.settings.quality
            )),
        };
    }
    if let Some((w, h)) = app.rd.reduced {
        ui.label(
            egui::RichText::new(format!(
                "Swept on a {w}×{h} copy of the image so the networks finish in seconds; \
                 the panels' numbers are at full resolution."
            ))
            .weak()
            .small(),
        );
    }
    let methods: Vec<_> = app.shown_methods().into_iter().filter(|m| m.runnable.is_ok()).collect();
    let mut errors = Vec::new();
    // The marker comes from the sweep itself, so it sits on its curve even on a reduced copy.
    let current_quality = if family == CodecFamily::None { 100 } else { app.settings.quality };
    let current: Vec<(String, [f64; 2])> = methods
        .iter()
        .filter_map(|m| {
            // At equal size each method has its own quality: only the live result marks it.
            let swept = app
                .rd
                .curves
                .get(&m.key)
                .filter(|_| app.settings.target_bpp().is_none())
                .and_then(|c| c.points.iter().find(|p| p.0 == current_quality));
            if let Some(p) = swept {
                return Some((m.key.clone(), [p.1, p.2]));
            }
            // Not swept (the quality moved since): the live result is on the same image only
            // when the sweep is not on a reduced copy.
            match app.results.slots.get(&m.key) {
                Some(slot @ Slot { outcome: Ok(r), .. }) if !app.slot_is_stale(slot) && app.rd.reduced.is_none() => {
                    Some((m.key.clone(), [r.view.output.bits_per_pixel, r.view.output.metrics.psnr_y]))
                }
                _ => None,
            }
        })
        .collect();
    Plot::new("rd-chart")
        // Bottom right: the curves rise to the top left and flatten along the top.
        .legend(Legend::default().position(Corner::RightBottom))
        .x_axis_label("bits per HR pixel")
        .y_axis_label("PSNR-Y (dB)")
        .show(ui, |plot| {
            if let Some(target) = app.settings.target_bpp() {
                plot.vline(VLine::new(format!("target {target:.3} bpp"), target).color(Color32::from_gray(140)).style(egui_plot::LineStyle::dashed_loose()));
            }
            for (i, m) in methods.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                if let Some(curve) = app.rd.curves.get(&m.key) {
                    if let Some(e) = &curve.error {
                        errors.push(format!("{}: {e}", m.label));
                    }
                    // Sorted by bpp so the line does not zig-zag where quality and size disagree.
                    let mut pts: Vec<[f64; 2]> = curve.points.iter().map(|p| [p.1, p.2]).filter(|p| p[1].is_finite()).collect();
                    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
                    if !pts.is_empty() {
                        plot.line(Line::new(m.label.clone(), PlotPoints::from(pts.clone())).color(color).width(2.0));
                        plot.points(Points::new(m.label.clone(), PlotPoints::from(pts)).color(color).radius(2.5));
                    }
                }
                if let Some((_, p)) = current.iter().find(|(k, _)| k == &m.key) {
                    if p[1].is_finite() {
                        plot.points(
                            Points::new(m.label.clone(), PlotPoints::from(vec![*p]))
                                .color(color)
                                .shape(MarkerShape::Circle)
                                .filled(true)
                                .radius(6.0),
                        );
                    }
                }
            }
        });
    for e in errors {
        ui.colored_label(Color32::from_rgb(240, 110, 100), e);
    }
    for line in bd_lines(app) {
        ui.label(egui::RichText::new(line).monospace());
    }
}

/// Bjøntegaard deltas of every swept method against Bicubic's sweep: dB at equal size and %
/// bits at equal PSNR-Y (VCEG-M33 cubic fits; needs four points per curve). Empty until the
/// sweep has enough points.
pub fn bd_lines(app: &RescaleApp) -> Vec<String> {
    let methods: Vec<_> = app.shown_methods().into_iter().filter(|m| m.runnable.is_ok()).collect();
    let points = |key: &str| -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = app
            .rd
            .curves
            .get(key)
            .map(|c| c.points.iter().map(|p| (p.1, p.2)).filter(|p| p.0 > 0.0 && p.1.is_finite()).collect())
            .unwrap_or_default();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    let Some(bicubic) = methods.iter().find(|m| m.kind == Some(crate::methods::MethodKind::Bicubic)) else { return Vec::new() };
    let base = points(&bicubic.key);
    let mut lines = Vec::new();
    for m in methods.iter().filter(|m| m.key != bicubic.key) {
        let test = points(&m.key);
        if let (Ok(db), Ok(rate)) = (crate::rd::bd_psnr(&base, &test), crate::rd::bd_rate(&base, &test)) {
            lines.push(format!("{}: BD-PSNR {db:+.2} dB at equal size · BD-rate {rate:+.1} % bits at equal PSNR-Y", m.label));
        }
    }
    if !lines.is_empty() {
        let note = if app.rd.reduced.is_some() { " (on the sweep's reduced copy)" } else { "" };
        lines.insert(0, format!("Against Bicubic, Bjøntegaard over the sweep{note}:"));
    }
    lines
}
