//! Looking at pixels: at high zoom the pixel grid and the RGB values under the cursor, in every
//! panel at the same image position, read from the 8-bit images the metrics use.

use std::sync::Arc;

use egui::{pos2, vec2, Align2, Color32, FontId, Painter, Pos2, Rect, Stroke};
use image::RgbImage;

use super::view::Transform;
use super::worker::MethodView;

/// From this zoom (screen points per image pixel) the grid and the values are drawn.
pub const INSPECT_ZOOM: f32 = 8.0;

/// Where a panel's pixel values come from.
#[derive(Clone)]
pub enum PixelSource {
    Image(Arc<RgbImage>),
    Reconstruction(Arc<MethodView>),
    /// The decoded compressed LR, drawn `scale` times larger.
    Lr(Arc<MethodView>),
}

impl PixelSource {
    /// The value at image point `p` (HR pixels), if it is inside.
    pub fn at(&self, p: Pos2) -> Option<[u8; 3]> {
        if p.x < 0.0 || p.y < 0.0 {
            return None;
        }
        let (image, scale) = match self {
            PixelSource::Image(image) => (image.as_ref(), 1),
            PixelSource::Reconstruction(view) => (&view.output.reconstruction, 1),
            PixelSource::Lr(view) => (&view.output.compressed.decoded, view.output.scale.max(1)),
        };
        let (x, y) = (p.x as u32 / scale, p.y as u32 / scale);
        (x < image.width() && y < image.height()).then(|| image.get_pixel(x, y).0)
    }
}

/// Pixel boundaries over the visible part of the panel, when zoomed in far enough.
pub fn paint_grid(painter: &Painter, t: &Transform, image_size: egui::Vec2) {
    if t.zoom < INSPECT_ZOOM {
        return;
    }
    let visible = t.visible_region().intersect(Rect::from_min_size(Pos2::ZERO, image_size));
    let stroke = Stroke::new(1.0, Color32::from_black_alpha(90));
    for x in (visible.min.x.floor() as i64)..=(visible.max.x.ceil() as i64) {
        let a = t.image_to_screen(pos2(x as f32, visible.min.y));
        let b = t.image_to_screen(pos2(x as f32, visible.max.y));
        painter.line_segment([a, b], stroke);
    }
    for y in (visible.min.y.floor() as i64)..=(visible.max.y.ceil() as i64) {
        let a = t.image_to_screen(pos2(visible.min.x, y as f32));
        let b = t.image_to_screen(pos2(visible.max.x, y as f32));
        painter.line_segment([a, b], stroke);
    }
}

/// The value under the cursor, outlined, with its coordinates.
pub fn paint_value(painter: &Painter, t: &Transform, p: Pos2, source: &PixelSource) {
    if t.zoom < INSPECT_ZOOM {
        return;
    }
    let Some([r, g, b]) = source.at(p) else { return };
    let cell = Rect::from_min_size(pos2(p.x.floor(), p.y.floor()), vec2(1.0, 1.0));
    let screen = t.rect_to_screen(cell);
    painter.rect_stroke(screen, 0.0, Stroke::new(2.0, Color32::WHITE), egui::StrokeKind::Outside);
    let text = format!("({}, {})  R {r}  G {g}  B {b}", p.x as u32, p.y as u32);
    let galley = painter.layout_no_wrap(text, FontId::monospace(13.0), Color32::WHITE);
    let text_rect = label_rect(screen, galley.size(), painter.clip_rect());
    painter.rect_filled(text_rect.expand(3.0), 3.0, Color32::from_black_alpha(200));
    painter.galley(text_rect.min, galley, Color32::WHITE);
}

/// Where the value label of the outlined pixel `cell` goes: below and right of it, flipped to
/// the other side of the cell on each axis where it would leave the panel (`clip`), so it
/// stays readable at a panel's right and bottom edges.
fn label_rect(cell: Rect, size: egui::Vec2, clip: Rect) -> Rect {
    const GAP: f32 = 6.0;
    const PAD: f32 = 3.0; // the label's background reaches this far beyond its text
    let right = cell.right() + GAP;
    let x = if right + size.x + PAD > clip.right() && cell.left() - GAP - size.x - PAD >= clip.left() {
        cell.left() - GAP - size.x
    } else {
        right
    };
    let below = cell.bottom() + GAP;
    let y = if below + size.y + PAD > clip.bottom() && cell.top() - GAP - size.y - PAD >= clip.top() {
        cell.top() - GAP - size.y
    } else {
        below
    };
    Align2::LEFT_TOP.anchor_size(pos2(x, y), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_label_flips_inward_at_the_panel_edges() {
        let clip = Rect::from_min_max(pos2(0.0, 0.0), pos2(400.0, 300.0));
        let size = vec2(200.0, 16.0);
        let cell = |x: f32, y: f32| Rect::from_min_size(pos2(x, y), vec2(10.0, 10.0));
        // Room everywhere: below and right of the pixel.
        assert_eq!(label_rect(cell(50.0, 50.0), size, clip).min, pos2(66.0, 66.0));
        // At the right edge: left of the pixel, whole inside the panel.
        let r = label_rect(cell(350.0, 50.0), size, clip);
        assert!(r.max.x + 3.0 <= clip.max.x && r.max.x <= 350.0, "{r:?}");
        // At the bottom edge: above the pixel.
        let r = label_rect(cell(50.0, 285.0), size, clip);
        assert!(r.max.y + 3.0 <= clip.max.y && r.max.y <= 285.0, "{r:?}");
        // A panel too narrow for either side keeps the usual place rather than leave it on the left.
        let narrow = Rect::from_min_max(pos2(0.0, 0.0), pos2(150.0, 300.0));
        assert_eq!(label_rect(cell(60.0, 50.0), size, narrow).min.x, 76.0);
    }
}
