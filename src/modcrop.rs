//! Crop to a multiple of the scale, as the papers do before evaluation.

use image::RgbImage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modcrop {
    pub original: (u32, u32),
    pub cropped: (u32, u32),
}

impl Modcrop {
    pub fn changed(&self) -> bool {
        self.original != self.cropped
    }
}

/// Keeps the top-left `floor(w/scale)*scale × floor(h/scale)*scale` pixels.
///
/// A scale of 0 is treated as 1 (nothing cropped). An image smaller than `scale` on a side
/// gives an empty image; callers check the size against the scale before running a model.
pub fn modcrop(image: &RgbImage, scale: u32) -> (RgbImage, Modcrop) {
    let scale = scale.max(1);
    let (width, height) = image.dimensions();
    let cropped = (width - width % scale, height - height % scale);
    let info = Modcrop { original: (width, height), cropped };
    if !info.changed() {
        return (image.clone(), info);
    }
    // Rows are contiguous, so the crop is one slice copy per kept row.
    let src_row = width as usize * 3;
    let dst_row = cropped.0 as usize * 3;
    let mut data = Vec::with_capacity(dst_row * cropped.1 as usize);
    for row in image.as_raw().chunks_exact(src_row.max(1)).take(cropped.1 as usize) {
        data.extend_from_slice(&row[..dst_row]);
    }
    let out = RgbImage::from_raw(cropped.0, cropped.1, data).expect("cropped buffer matches its size");
    (out, info)
}
