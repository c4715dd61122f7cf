//! The difference heatmap: |reconstruction − original| per pixel, mapped through a perceptually
//! ordered colour ramp so small and large errors are easy to tell apart.

use egui::{Color32, ColorImage};
use image::RgbImage;

/// Control points of an "inferno"-like ramp (black → purple → orange → pale yellow).
const RAMP: [[u8; 3]; 6] = [
    [0, 0, 4],
    [66, 10, 104],
    [147, 38, 103],
    [221, 81, 58],
    [252, 165, 10],
    [252, 255, 164],
];

/// Colour of `t` in [0, 1] on the ramp.
pub fn ramp(t: f32) -> Color32 {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let pos = t * (RAMP.len() - 1) as f32;
    let i = (pos.floor() as usize).min(RAMP.len() - 2);
    let f = pos - i as f32;
    let a = RAMP[i];
    let b = RAMP[i + 1];
    let mix = |k: usize| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * f).round() as u8;
    Color32::from_rgb(mix(0), mix(1), mix(2))
}

/// Mean absolute error over R, G, B of each pixel, drawn so that `full_scale` 8-bit levels (or
/// more) is the top of the ramp. Images of different sizes are compared over their overlap.
pub fn diff_heatmap(reference: &RgbImage, image: &RgbImage, full_scale: u8) -> ColorImage {
    let w = reference.width().min(image.width()) as usize;
    let h = reference.height().min(image.height()) as usize;
    // A lookup table over the 0..=255 possible mean errors keeps this cheap on big images.
    let lut: Vec<Color32> = (0..=255u32).map(|e| ramp(e as f32 / full_scale.max(1) as f32)).collect();
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            let a = reference.get_pixel(x, y).0;
            let b = image.get_pixel(x, y).0;
            let sum: u32 = (0..3).map(|c| (a[c] as i32 - b[c] as i32).unsigned_abs()).sum();
            pixels.push(lut[((sum + 1) / 3) as usize]);
        }
    }
    ColorImage::new([w, h], pixels)
}

/// A method against the baseline: green where the method is closer to the original, magenta where
/// the baseline is, dark where they are level; `full_scale` levels of gain (or more) is the
/// brightest.
pub fn gain_map(gain: &crate::versus::ErrorGain, full_scale: u8) -> ColorImage {
    let full = full_scale.max(1) as f32;
    let pixels = gain
        .gain
        .iter()
        .map(|&g| {
            let t = (g.abs() / full).min(1.0).sqrt();
            let level = |c: f32| (16.0 + (c - 16.0) * t).round() as u8;
            if g >= 0.0 {
                Color32::from_rgb(level(40.0), level(230.0), level(110.0))
            } else {
                Color32::from_rgb(level(235.0), level(60.0), level(200.0))
            }
        })
        .collect();
    ColorImage::new([gain.width, gain.height], pixels)
}

/// Colour of a signed gain on [`gain_map`]'s scale, for the legend (`t` in −1..=1).
pub fn gain_color(t: f32) -> Color32 {
    let g = crate::versus::ErrorGain { width: 1, height: 1, gain: vec![t * 100.0] };
    gain_map(&g, 100).pixels[0]
}

pub fn to_color_image(image: &RgbImage) -> ColorImage {
    ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw())
}

/// Back from a pasted clipboard image (RGBA, unmultiplied) to the engine's RGB; alpha is dropped
/// onto black, as the loader does.
pub fn color_image_to_rgb(image: &ColorImage) -> RgbImage {
    let [w, h] = image.size;
    let mut out = RgbImage::new(w as u32, h as u32);
    for (dst, src) in out.pixels_mut().zip(image.pixels.iter()) {
        // Color32 is premultiplied, which is exactly "composited over black".
        dst.0 = [src.r(), src.g(), src.b()];
    }
    out
}
