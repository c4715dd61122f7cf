//! Each network against Bicubic, as a demo needs it: one large figure per panel, a summary for
//! the grid's spare cell, and the region where the two differ most. Figures are given only when
//! both results are current, at full resolution and for the same setting, so the app never
//! shows a difference between numbers that are not comparable.

use egui::{Pos2, Rect, Vec2};

use super::app::RescaleApp;
use crate::versus::Hotspot;

/// Below this the two are called level: PSNR moves by a few hundredths with any re-encode.
pub const LEVEL_DB: f64 = 0.05;

/// A network's result minus Bicubic's, under the same setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub psnr_y_db: f64,
    pub ssim_y: f64,
    /// SSIMULACRA2 points, once both perceptual passes are in.
    pub ssimulacra2: Option<f64>,
    /// The network's compressed LR size over Bicubic's.
    pub bytes_ratio: f64,
    pub hotspot: Option<Hotspot>,
}

impl Delta {
    /// The panel's large figure: "+1.10 dB vs Bicubic", or "level with Bicubic".
    pub fn headline(&self) -> String {
        if self.psnr_y_db.abs() < LEVEL_DB {
            format!("level with Bicubic ({:+.2} dB)", self.psnr_y_db)
        } else {
            format!("{:+.2} dB vs Bicubic", self.psnr_y_db)
        }
    }

    /// The figure alone, for narrow panels and the summary under its "vs Bicubic" heading.
    pub fn short(&self) -> String {
        if self.psnr_y_db.abs() < LEVEL_DB {
            "level".to_string()
        } else {
            format!("{:+.2} dB", self.psnr_y_db)
        }
    }

    /// What the headline leaves out: SSIM, SSIMULACRA2 and the LR's size, so a lead bought
    /// with a larger file is visible.
    pub fn details(&self) -> String {
        let mut parts = vec![format!("SSIM-Y {:+.4}", self.ssim_y)];
        if let Some(s) = self.ssimulacra2 {
            parts.push(format!("SSIMULACRA2 {s:+.1}"));
        }
        let pct = (self.bytes_ratio - 1.0) * 100.0;
        // Every byte figure names what it is compared with (the badge compares with another method).
        parts.push(if pct.abs() < 1.0 { "LR same size as Bicubic's".to_string() } else { format!("LR {pct:+.0} % bytes vs Bicubic's") });
        parts.join(" · ")
    }

    pub fn sign(&self) -> i8 {
        if self.psnr_y_db.abs() < LEVEL_DB {
            0
        } else if self.psnr_y_db > 0.0 {
            1
        } else {
            -1
        }
    }
}

/// The Bicubic method's key among the shown ones, if it is shown.
pub fn bicubic_key(app: &RescaleApp) -> Option<String> {
    app.shown_methods()
        .into_iter()
        .find(|m| m.kind == Some(crate::methods::MethodKind::Bicubic) && m.runnable.is_ok())
        .map(|m| m.key)
}

/// The method at `key` minus Bicubic, when both are current full-resolution results.
pub fn delta(app: &RescaleApp, key: &str) -> Option<Delta> {
    let base_key = bicubic_key(app)?;
    if base_key == key {
        return None;
    }
    let (m, b) = (app.current_full_result(key)?, app.current_full_result(&base_key)?);
    let (mo, bo) = (&m.view.output, &b.view.output);
    let current = app.current_key();
    let perceptual = |k: &str| app.perceptual.current(k, current.as_ref()).and_then(|p| p.outcome.as_ref().ok()).map(|(pm, _)| pm.ssimulacra2);
    Some(Delta {
        psnr_y_db: mo.metrics.psnr_y - bo.metrics.psnr_y,
        ssim_y: mo.metrics.ssim_y - bo.metrics.ssim_y,
        ssimulacra2: perceptual(key).zip(perceptual(&base_key)).map(|(a, b)| a - b),
        bytes_ratio: mo.compressed_bytes() as f64 / bo.compressed_bytes().max(1) as f64,
        hotspot: m.view.versus.as_ref().and_then(|v| v.hotspot),
    })
}

/// "Show me where it matters": the region where a network and Bicubic differ most. The two-up
/// view's network when it shows one, else the network furthest ahead of Bicubic.
pub fn largest_difference(app: &RescaleApp) -> Option<Rect> {
    let image_size = app.active_doc()?.size();
    let networks: Vec<String> = app.shown_methods().into_iter().filter(|m| m.kind != Some(crate::methods::MethodKind::Bicubic)).map(|m| m.key).collect();
    let with_spot = |key: &String| delta(app, key).and_then(|d| d.hotspot.map(|h| (d.psnr_y_db, h)));
    let (left, right) = app.split_ids();
    let chosen = [right, left].into_iter().filter(|_| app.settings.view == super::settings::ViewMode::TwoUp).find(|k| networks.contains(k)).and_then(|k| with_spot(&k));
    let (_, spot) = chosen.or_else(|| networks.iter().filter_map(with_spot).max_by(|a, b| a.0.total_cmp(&b.0)))?;
    Some(hotspot_region(&spot, image_size))
}

/// The region to zoom to for a hotspot: the hotspot with a margin, inside the image.
pub fn hotspot_region(spot: &Hotspot, image_size: Vec2) -> Rect {
    let margin = spot.size as f32 * 0.25;
    let r = Rect::from_min_size(Pos2::new(spot.x as f32, spot.y as f32), Vec2::splat(spot.size as f32)).expand(margin);
    r.intersect(Rect::from_min_size(Pos2::ZERO, image_size))
}

/// What the comparison is at, for the summary: "JPEG q75 (same quality)" or "0.500 bpp (same size)".
pub fn setting_sentence(app: &RescaleApp) -> String {
    let Some(key) = app.current_key() else { return String::new() };
    match key.target_bpp_bits.map(f64::from_bits) {
        Some(bpp) => format!("at equal size: {bpp:.3} bpp target, each method's own quality"),
        None => format!("at equal quality: {}", super::app::setting_text(&key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(db: f64, ratio: f64) -> Delta {
        Delta { psnr_y_db: db, ssim_y: 0.0123, ssimulacra2: None, bytes_ratio: ratio, hotspot: None }
    }

    #[test]
    fn small_differences_are_called_level_and_bigger_files_are_said() {
        assert_eq!(d(0.03, 1.0).headline(), "level with Bicubic (+0.03 dB)");
        assert_eq!(d(0.03, 1.0).sign(), 0);
        assert_eq!(d(-0.4, 1.0).headline(), "-0.40 dB vs Bicubic");
        assert_eq!(d(1.104, 1.23).headline(), "+1.10 dB vs Bicubic");
        assert_eq!((d(1.104, 1.0).short(), d(-0.01, 1.0).short()), ("+1.10 dB".to_string(), "level".to_string()));
        assert_eq!(d(1.1, 1.23).details(), "SSIM-Y +0.0123 · LR +23 % bytes vs Bicubic's");
        assert_eq!(d(1.1, 1.004).details(), "SSIM-Y +0.0123 · LR same size as Bicubic's");
    }

    #[test]
    fn the_hotspot_region_has_a_margin_and_stays_in_the_image() {
        let spot = Hotspot { x: 0, y: 40, size: 40, mean_gain: 3.0 };
        let r = hotspot_region(&spot, Vec2::new(100.0, 90.0));
        assert_eq!(r, Rect::from_min_max(Pos2::new(0.0, 30.0), Pos2::new(50.0, 90.0)));
    }
}
