//! Zoom and pan shared by every panel, in the HR image's pixel coordinates, so all panels show
//! the same region whatever their size. A "crop" is a region the user dragged out: "fit" means
//! fitting it (through resizes and slider moves), and it stays the region of interest (exports,
//! the label in the controls) while the user zooms and pans around it, until it is cleared.

use egui::{pos2, Pos2, Rect, Vec2};

pub const MIN_ZOOM: f32 = 0.02;
pub const MAX_ZOOM: f32 = 64.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ViewFit {
    /// The crop, or the whole image when there is none, fits each panel.
    Fit,
    /// Screen points per image pixel, and the image point at each panel's centre.
    Manual { zoom: f32, center: Pos2 },
}

/// Where the image sits in one panel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub panel: Rect,
    pub zoom: f32,
    pub center: Pos2,
}

impl Transform {
    pub fn image_to_screen(&self, p: Pos2) -> Pos2 {
        self.panel.center() + (p - self.center) * self.zoom
    }

    pub fn screen_to_image(&self, p: Pos2) -> Pos2 {
        self.center + (p - self.panel.center()) / self.zoom
    }

    /// Screen rectangle of the image rectangle `r`.
    pub fn rect_to_screen(&self, r: Rect) -> Rect {
        Rect::from_min_max(self.image_to_screen(r.min), self.image_to_screen(r.max))
    }

    /// Image region visible in the panel.
    pub fn visible_region(&self) -> Rect {
        Rect::from_min_max(self.screen_to_image(self.panel.min), self.screen_to_image(self.panel.max))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    pub fit: ViewFit,
    /// The region the user dragged out, in image pixels.
    pub crop: Option<Rect>,
    /// A crop being dragged out: start and current point, in image pixels.
    pub selecting: Option<(Pos2, Pos2)>,
    /// Split view divider, 0 (left edge) to 1 (right edge).
    pub split: f32,
    /// The image point under the pointer in any panel, last frame (for the pixel inspector).
    pub hover: Option<Pos2>,
}

impl Default for ViewState {
    fn default() -> Self {
        Self { fit: ViewFit::Fit, crop: None, selecting: None, split: 0.5, hover: None }
    }
}

impl ViewState {
    pub fn transform(&self, panel: Rect, image_size: Vec2) -> Transform {
        let region = match (self.fit, self.crop) {
            (ViewFit::Manual { zoom, center }, _) => return Transform { panel, zoom, center },
            (ViewFit::Fit, Some(crop)) => crop,
            (ViewFit::Fit, None) => Rect::from_min_size(Pos2::ZERO, image_size),
        };
        let zoom = fit_zoom(panel.size(), region.size());
        Transform { panel, zoom, center: region.center() }
    }

    /// Zooms by `factor` keeping the image point under `cursor` where it is.
    pub fn zoom_at(&mut self, panel: Rect, image_size: Vec2, cursor: Pos2, factor: f32) {
        if !factor.is_finite() || factor <= 0.0 || (factor - 1.0).abs() < 1e-4 {
            return;
        }
        let t = self.transform(panel, image_size);
        let anchor = t.screen_to_image(cursor);
        let zoom = (t.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let center = anchor - (cursor - panel.center()) / zoom;
        self.fit = ViewFit::Manual { zoom, center: clamp_center(center, image_size) };
    }

    /// Moves the image with the pointer (`delta` in screen points).
    pub fn pan(&mut self, panel: Rect, image_size: Vec2, delta: Vec2) {
        if delta == Vec2::ZERO {
            return;
        }
        let t = self.transform(panel, image_size);
        let center = t.center - delta / t.zoom;
        self.fit = ViewFit::Manual { zoom: t.zoom, center: clamp_center(center, image_size) };
    }

    /// Sets an absolute zoom (1.0 = one image pixel per screen point) around the current centre.
    pub fn set_zoom(&mut self, panel: Rect, image_size: Vec2, zoom: f32) {
        let t = self.transform(panel, image_size);
        self.fit = ViewFit::Manual { zoom: zoom.clamp(MIN_ZOOM, MAX_ZOOM), center: t.center };
    }

    /// Fits the crop, or the whole image when there is none.
    pub fn fit(&mut self) {
        self.fit = ViewFit::Fit;
        self.selecting = None;
    }

    /// Forgets the crop and fits the whole image (another image, or the user cleared it).
    pub fn reset(&mut self) {
        self.fit();
        self.crop = None;
    }

    /// Finishes a crop drag; regions under 4 pixels are taken as a click and ignored. The crop
    /// is the region the networks compute (`Region::snap`: whole pixels on the grid of `scale`,
    /// at least 32 a side), so the rectangle drawn and the numbers given are for the same pixels.
    pub fn finish_selection(&mut self, image_size: Vec2, scale: u32) {
        if let Some((a, b)) = self.selecting.take() {
            let r = Rect::from_two_pos(a, b).intersect(Rect::from_min_size(Pos2::ZERO, image_size));
            if r.width() >= 4.0 && r.height() >= 4.0 {
                let s = scale.max(1);
                let (w, h) = (image_size.x as u32, image_size.y as u32);
                let (x0, y0) = (r.min.x.floor() as u32, r.min.y.floor() as u32);
                let (x1, y1) = (r.max.x.ceil() as u32, r.max.y.ceil() as u32);
                let snapped = crate::region::Region::snap([x0, y0, x1 - x0, y1 - y0], s, w - w % s, h - h % s)
                    .map(|g| Rect::from_min_size(Pos2::new(g.x as f32, g.y as f32), Vec2::new(g.width as f32, g.height as f32)));
                self.crop = Some(snapped.unwrap_or(r));
                self.fit = ViewFit::Fit;
            }
        }
    }

    pub fn crop(&self) -> Option<Rect> {
        self.crop
    }

    /// The region to export: the crop, or what a manual zoom shows in `panel`, in whole pixels.
    pub fn export_region(&self, panel: Option<Rect>, image_size: Vec2) -> Option<[u32; 4]> {
        let region = match (self.crop, self.fit, panel) {
            (Some(crop), _, _) => crop,
            (None, ViewFit::Fit, _) => return None,
            (None, ViewFit::Manual { .. }, Some(panel)) => self.transform(panel, image_size).visible_region(),
            (None, ViewFit::Manual { .. }, None) => return None,
        };
        let r = region.intersect(Rect::from_min_size(Pos2::ZERO, image_size));
        if r.width() < 1.0 || r.height() < 1.0 {
            return None;
        }
        let x = r.min.x.floor().max(0.0) as u32;
        let y = r.min.y.floor().max(0.0) as u32;
        let w = (r.max.x.ceil() as u32).saturating_sub(x).max(1);
        let h = (r.max.y.ceil() as u32).saturating_sub(y).max(1);
        if [x, y, w, h] == [0, 0, image_size.x as u32, image_size.y as u32] {
            None
        } else {
            Some([x, y, w, h])
        }
    }
}

pub fn fit_zoom(panel: Vec2, region: Vec2) -> f32 {
    if region.x <= 0.0 || region.y <= 0.0 || panel.x <= 0.0 || panel.y <= 0.0 {
        return 1.0;
    }
    (panel.x / region.x).min(panel.y / region.y).clamp(MIN_ZOOM, MAX_ZOOM)
}

/// Keeps at least part of the image reachable: the centre stays inside the image.
fn clamp_center(c: Pos2, image_size: Vec2) -> Pos2 {
    pos2(c.x.clamp(0.0, image_size.x.max(0.0)), c.y.clamp(0.0, image_size.y.max(0.0)))
}

/// The part of `image_rect` (screen) inside `clip`, and the matching texture coordinates.
pub fn visible_uv(image_rect: Rect, clip: Rect) -> Option<(Rect, Rect)> {
    let visible = image_rect.intersect(clip);
    if visible.width() <= 0.0 || visible.height() <= 0.0 || image_rect.width() <= 0.0 || image_rect.height() <= 0.0 {
        return None;
    }
    let size = image_rect.size();
    let uv = Rect::from_min_max(
        ((visible.min - image_rect.min) / size).to_pos2(),
        ((visible.max - image_rect.min) / size).to_pos2(),
    );
    Some((visible, uv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::vec2;

    fn panel() -> Rect {
        Rect::from_min_size(pos2(100.0, 50.0), vec2(400.0, 300.0))
    }

    #[test]
    fn fit_centres_the_image() {
        let v = ViewState::default();
        let t = v.transform(panel(), vec2(800.0, 600.0));
        assert!((t.zoom - 0.5).abs() < 1e-6);
        assert_eq!(t.image_to_screen(pos2(400.0, 300.0)), panel().center());
    }

    #[test]
    fn zoom_keeps_the_point_under_the_cursor() {
        let mut v = ViewState::default();
        let size = vec2(800.0, 600.0);
        let cursor = pos2(180.0, 90.0);
        let before = v.transform(panel(), size).screen_to_image(cursor);
        v.zoom_at(panel(), size, cursor, 3.0);
        let after = v.transform(panel(), size).screen_to_image(cursor);
        assert!((before - after).length() < 1e-3, "{before:?} vs {after:?}");
    }

    #[test]
    fn crop_is_fitted_and_exported() {
        let mut v = ViewState::default();
        let size = vec2(800.0, 600.0);
        v.selecting = Some((pos2(100.0, 100.0), pos2(300.0, 250.0)));
        v.finish_selection(size, 2);
        assert_eq!(v.export_region(Some(panel()), size), Some([100, 100, 200, 150]));
        let t = v.transform(panel(), size);
        assert!((t.zoom - 2.0).abs() < 1e-6);
        // A tiny drag is a click, not a crop.
        v.selecting = Some((pos2(1.0, 1.0), pos2(2.0, 2.0)));
        v.finish_selection(size, 2);
        assert!(v.crop().is_some());
        // Panning and zooming look around the crop; they do not drop it, and fit returns to it.
        v.pan(panel(), size, vec2(30.0, 10.0));
        v.zoom_at(panel(), size, pos2(50.0, 50.0), 2.0);
        assert_eq!(v.export_region(Some(panel()), size), Some([100, 100, 200, 150]));
        v.fit();
        assert!((v.transform(panel(), size).zoom - 2.0).abs() < 1e-6);
        v.reset();
        assert_eq!(v.crop(), None);
    }

    #[test]
    fn a_crop_is_the_region_its_numbers_are_for() {
        // Drawn at fractional image positions, off the ×4 grid: the crop grows to the grid, as
        // the computed region does, instead of differing from it by a few pixels.
        let mut v = ViewState::default();
        let size = vec2(801.0, 601.0);
        v.selecting = Some((pos2(101.3, 50.6), pos2(291.2, 179.9)));
        v.finish_selection(size, 4);
        let crop = v.crop().unwrap();
        let region = crate::gui::region::job_region(v.export_region(None, size).unwrap(), 4, 801, 601).unwrap();
        assert_eq!([crop.min.x, crop.min.y, crop.width(), crop.height()], [100.0, 48.0, 192.0, 132.0]);
        assert_eq!([region.x, region.y, region.width, region.height], [100, 48, 192, 132]);
    }

    #[test]
    fn uv_of_a_partly_visible_image() {
        let image = Rect::from_min_size(pos2(0.0, 0.0), vec2(200.0, 100.0));
        let clip = Rect::from_min_size(pos2(100.0, 0.0), vec2(200.0, 200.0));
        let (vis, uv) = visible_uv(image, clip).unwrap();
        assert_eq!(vis, Rect::from_min_max(pos2(100.0, 0.0), pos2(200.0, 100.0)));
        assert_eq!(uv, Rect::from_min_max(pos2(0.5, 0.0), pos2(1.0, 1.0)));
    }
}
