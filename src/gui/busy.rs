//! The "working" indicator.
//!
//! egui's own spinner asks for a new frame every frame it is visible, so while a job runs the
//! window redraws as fast as it can. With software rendering (llvmpipe under Xvfb, remote
//! desktops, VMs without a GPU) each frame of the window costs ~40 ms of CPU, so those frames
//! took about half of a 2-core machine and made the networks' region upscales twice as slow in
//! the app as in `speed --round-trip --region`. This indicator only draws, and is made for a
//! few frames a second: three dots, one lit, the lit one moving on each [`FRAME_INTERVAL`]. The
//! app asks for a frame that often while it is busy (`RescaleApp::logic`), and the workers ask
//! for one with every result.

use std::time::Duration;

use egui::{Rect, Response, Sense, Ui, Vec2};

/// How often the window redraws while work is in flight and nothing else happens.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(250);

/// An indicator of the interact size's height (as `ui.spinner()`), or of `size`.
pub fn spinner(ui: &mut Ui, size: Option<f32>) -> Response {
    let side = size.unwrap_or_else(|| ui.style().spacing.interact_size.y);
    let (rect, response) = ui.allocate_exact_size(Vec2::new(side * 1.5, side), Sense::hover());
    paint(ui, rect);
    response
}

/// Paints the indicator in `rect` without asking for more frames.
pub fn paint(ui: &Ui, rect: Rect) {
    if !ui.is_rect_visible(rect) {
        return;
    }
    let lit = (ui.input(|i| i.time) / FRAME_INTERVAL.as_secs_f64()) as u64 % 3;
    let radius = (rect.width() / 9.0).min(rect.height() / 3.0);
    let (strong, weak) = (ui.visuals().strong_text_color(), ui.visuals().weak_text_color());
    for i in 0..3u64 {
        let centre = rect.center() + Vec2::new((i as f32 - 1.0) * 3.0 * radius, 0.0);
        let (r, color) = if i == lit { (radius * 1.2, strong) } else { (radius * 0.8, weak) };
        ui.painter().circle_filled(centre, r, color);
    }
}
