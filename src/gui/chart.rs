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
    // Wrapped: a row that does not wrap would widen the panel past its maximum (half the
    // width), and the progress text is long.
    ui.horizontal_wrapped(|ui| {
        ui.heading("Rate–distortion");
        if app.rd.running {
            ui.spinner();
            let progress = app.rd.progress_text(std::time::Instant::now()).unwrap_or_default();
            ui.label(format!("sweeping quality: {progress}"));
            // The text counts seconds: keep it moving while nothing else repaints.
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(500));
        }
    });
    let family = app.settings.codec;
    if family == CodecFamily::None {
        ui.label("No codec: one point per method. Choose JPEG or WebP to sweep the quality.");
    } else {
        match app.settings.target_bpp() {
            Some(target) if app.rd.reduced.is_some() => ui.label(format!(
                "{} quality 5–100 swept in the background; the dashed line is the target size ({target:.3} bpp), \
                 the large dots where each curve crosses it.",
                family.label()
            )),
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
                "Swept on a {w}×{h} copy of the image so the networks finish in seconds: \
                 the curves' numbers differ from the panels', which are at full resolution."
            ))
            .color(egui::Color32::from_rgb(240, 190, 80)),
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
                return Some((m.key.clone(), [log_bpp(p.1), p.2]));
            }
            // Not swept (the quality moved since): the live result is on the same image only
            // when the sweep is not on a reduced copy.
            match app.results.slots.get(&m.key) {
                Some(slot @ Slot { outcome: Ok(r), .. }) if !app.slot_is_stale(slot) && app.rd.reduced.is_none() && !r.view.preview => {
                    Some((m.key.clone(), [log_bpp(r.view.output.bits_per_pixel), r.view.output.metrics.psnr_y]))
                }
                // Equal size on a reduced copy: the curve itself at the target, so the caption's
                // dots are there whatever the image's size.
                _ => {
                    let (target, curve) = (app.settings.target_bpp()?, app.rd.curves.get(&m.key)?);
                    let pts: Vec<[f64; 2]> = curve.points.iter().map(|p| [log_bpp(p.1), p.2]).collect();
                    curve_at(&pts, log_bpp(target)).map(|y| (m.key.clone(), [log_bpp(target), y]))
                }
            }
        })
        .collect();
    Plot::new("rd-chart")
        // Bottom right: the curves rise to the top left and flatten along the top.
        .legend(Legend::default().position(Corner::RightBottom))
        // Log rate, as codec plots use: below 0.5 bpp, where the methods differ, is no longer
        // squeezed into a sliver of the width.
        .x_axis_label("bits per HR pixel (log scale)")
        .x_grid_spacer(|input| log_ticks(input.bounds.0, input.bounds.1))
        .x_axis_formatter(|mark, _| bpp_text(10f64.powf(mark.value)))
        .label_formatter(|hover| {
            let (name, at) = match hover {
                egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, position),
                egui_plot::HoverPosition::Elsewhere { position } => ("", position),
            };
            let head = if name.is_empty() { String::new() } else { format!("{name}\n") };
            Some(format!("{head}{:.3} bpp, {:.2} dB", 10f64.powf(at.x), at.y))
        })
        .y_axis_label("PSNR-Y (dB)")
        .show(ui, |plot| {
            if let Some(target) = app.settings.target_bpp() {
                plot.vline(VLine::new(format!("target {target:.3} bpp"), log_bpp(target)).color(Color32::from_gray(140)).style(egui_plot::LineStyle::dashed_loose()));
            }
            for (i, m) in methods.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                if let Some(curve) = app.rd.curves.get(&m.key) {
                    if let Some(e) = &curve.error {
                        errors.push(format!("{}: {e}", m.label));
                    }
                    // Sorted by bpp so the line does not zig-zag where quality and size disagree.
                    let mut pts: Vec<[f64; 2]> =
                        curve.points.iter().map(|p| [log_bpp(p.1), p.2]).filter(|p| p[0].is_finite() && p[1].is_finite()).collect();
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
        ui.add(egui::Label::new(egui::RichText::new(line).monospace()).wrap());
    }
}

/// The chart's x: log10 of the rate (a rate of 0, only possible without a codec, is left out).
fn log_bpp(bpp: f64) -> f64 {
    if bpp > 0.0 { bpp.log10() } else { f64::NAN }
}

fn bpp_text(bpp: f64) -> String {
    match bpp {
        b if b >= 1.0 => format!("{b:.0}"),
        b if b >= 0.1 => format!("{b:.1}"),
        b => format!("{b:.2}"),
    }
}

/// Ticks of a log axis at 1, 2 and 5 × 10^k between `min` and `max` (in log10 units); the
/// powers of ten are the major lines.
pub fn log_ticks(min: f64, max: f64) -> Vec<egui_plot::GridMark> {
    if !(min.is_finite() && max.is_finite()) || max <= min || max - min > 12.0 {
        return Vec::new();
    }
    let mut marks = Vec::new();
    for decade in (min.floor() as i32)..=(max.ceil() as i32) {
        for (m, step) in [(1.0f64, 1.0), (2.0, 0.3), (5.0, 0.3)] {
            let value = (m * 10f64.powi(decade)).log10();
            if value >= min && value <= max {
                marks.push(egui_plot::GridMark { value, step_size: step });
            }
        }
    }
    marks
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

/// The curve through `points` (x, y in any order) at `x`, linear between the two nearest swept
/// points around it; `None` outside the swept range.
pub fn curve_at(points: &[[f64; 2]], x: f64) -> Option<f64> {
    let mut pts: Vec<[f64; 2]> = points.iter().copied().filter(|p| p[0].is_finite() && p[1].is_finite()).collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    pts.windows(2).find(|w| w[0][0] <= x && x <= w[1][0]).map(|w| {
        let span = w[1][0] - w[0][0];
        if span <= 0.0 { w[0][1] } else { w[0][1] + (w[1][1] - w[0][1]) * (x - w[0][0]) / span }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_fall_on_1_2_5_with_decades_major() {
        let marks = log_ticks(0.05f64.log10(), 3.0f64.log10());
        let labels: Vec<String> = marks.iter().map(|m| bpp_text(10f64.powf(m.value))).collect();
        assert_eq!(labels, ["0.05", "0.1", "0.2", "0.5", "1", "2"]);
        let majors: Vec<String> = marks.iter().filter(|m| m.step_size == 1.0).map(|m| bpp_text(10f64.powf(m.value))).collect();
        assert_eq!(majors, ["0.1", "1"]);
        assert!(log_ticks(1.0, 0.0).is_empty());
    }

    #[test]
    fn the_curve_at_a_size_interpolates_between_its_neighbours_only() {
        let pts = [[2.0, 40.0], [0.0, 30.0], [1.0, 36.0]];
        assert_eq!(curve_at(&pts, 0.5), Some(33.0));
        assert_eq!(curve_at(&pts, 1.5), Some(38.0));
        assert_eq!(curve_at(&pts, 2.0), Some(40.0));
        assert_eq!(curve_at(&pts, 2.1), None);
        assert_eq!(curve_at(&pts[..1], 2.0), None);
    }
}
