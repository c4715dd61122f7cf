//! Writing what is on screen to disk: each reconstruction, the LR before and after the codec, a
//! labelled montage, and the metrics as CSV and JSON. File names carry image, method, scale,
//! codec and quality; an existing file is never replaced: the new one gets a " (1)" suffix.

use std::fs::OpenOptions;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::{imageops, Rgb, RgbImage};

use crate::codec::Codec;
pub use crate::files::Written;
use crate::rescaler::UpscaleOptions;

use super::font;
use super::worker::MethodView;

pub struct ExportMethod {
    pub label: String,
    pub view: Arc<MethodView>,
    /// SSIMULACRA2 / Butteraugli when they were computed for these settings.
    pub perceptual: Option<crate::perceptual::PerceptualMetrics>,
}

pub struct ExportJob {
    pub dir: PathBuf,
    pub image_name: String,
    pub original: Arc<RgbImage>,
    pub scale: u32,
    pub codec: Codec,
    /// Equal size: the target every method's quality was chosen for.
    pub target_bpp: Option<f64>,
    pub options: UpscaleOptions,
    pub device: String,
    pub methods: Vec<ExportMethod>,
    /// Index in `methods` of the one whose LR the montage shows.
    pub lr_source: Option<usize>,
    /// The region (x, y, w, h in HR pixels) the user zoomed to; the montage shows only that.
    pub region: Option<[u32; 4]>,
}

/// `"SAIN ×2 (sain_x2_jpeg, JPEG-trained)"` → `"sain-x2-jpeg-trained"`: safe in file names on
/// every OS, each word once (labels repeat the method's name in the weights' name).
/// Where exports go when no folder was chosen yet: `~/Pictures/rescale-lab` where the user has a
/// Pictures folder, else `~/rescale-lab-export`; an absolute path either way.
pub fn default_dir() -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from).filter(|h| h.is_absolute());
    match home {
        Some(home) if home.join("Pictures").is_dir() => home.join("Pictures").join("rescale-lab"),
        Some(home) => home.join("rescale-lab-export"),
        None => absolute(PathBuf::from("rescale-lab-export")),
    }
}

/// `dir` against the working directory when it is relative.
pub fn absolute(dir: PathBuf) -> PathBuf {
    if dir.is_absolute() {
        return dir;
    }
    std::env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or(dir)
}

pub fn tag(label: &str) -> String {
    let ascii = font::to_ascii(label).to_ascii_lowercase();
    let mut words: Vec<&str> = Vec::new();
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.is_empty() {
        "method".into()
    } else {
        words.join("-")
    }
}

/// The stem every file of one export shares: `sunset_pier_x2_jpeg-q75`.
pub fn base_name(image_name: &str, scale: u32, codec: &Codec, target_bpp: Option<f64>) -> String {
    // At equal size the setting is the target: the qualities differ between methods.
    let setting = match (target_bpp, codec.quality()) {
        (Some(bpp), Some(_)) => format!("{}-{bpp}bpp", crate::bench::codec_family(codec)),
        _ => codec.label(),
    };
    format!("{}_x{scale}_{setting}", sanitize_stem(image_name))
}

fn sanitize_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    if s.is_empty() {
        "image".into()
    } else {
        s
    }
}

/// Creates `dir/name`, or `dir/stem (1).ext`, `(2)`… if taken; a file of that series that
/// already holds exactly `bytes` is kept as it is (`Unchanged`: exporting the same result again
/// adds no copies). Creation is atomic (`create_new`), so two exports at once cannot overwrite
/// each other either.
pub fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Result<(PathBuf, Written), String> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.to_string(), String::new()),
    };
    for n in 0..10_000 {
        let candidate = if n == 0 { dir.join(name) } else { dir.join(format!("{stem} ({n}){ext}")) };
        match OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(mut file) => {
                file.write_all(bytes).map_err(|e| format!("{}: {e}", candidate.display()))?;
                return Ok((candidate, Written::Created));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let same_size = std::fs::metadata(&candidate).is_ok_and(|m| m.len() == bytes.len() as u64);
                if same_size && std::fs::read(&candidate).is_ok_and(|old| old == bytes) {
                    return Ok((candidate, Written::Unchanged));
                }
            }
            Err(e) => return Err(format!("{}: {e}", candidate.display())),
        }
    }
    Err(format!("{}: too many files named {name}", dir.display()))
}

pub fn png_bytes(image: &RgbImage) -> Result<Vec<u8>, String> {
    let mut buf = Cursor::new(Vec::new());
    image.write_to(&mut buf, image::ImageFormat::Png).map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(buf.into_inner())
}

/// Writes every file; returns their paths and whether each was new or already there.
pub fn run(job: &ExportJob) -> Result<Vec<(PathBuf, Written)>, String> {
    std::fs::create_dir_all(&job.dir).map_err(|e| format!("{}: {e}", job.dir.display()))?;
    let base = base_name(&job.image_name, job.scale, &job.codec, job.target_bpp);
    let stem = sanitize_stem(&job.image_name);
    let mut written = Vec::new();
    for m in &job.methods {
        let out = &m.view.output;
        let t = tag(&m.label);
        written.push(write_new(&job.dir, &format!("{base}_{t}.png"), &png_bytes(&out.reconstruction)?)?);
        // The LR before the codec does not depend on the codec, so its name does not carry it.
        written.push(write_new(&job.dir, &format!("{stem}_x{}_{t}_lr.png", job.scale), &png_bytes(&out.lr)?)?);
        written.push(write_new(
            &job.dir,
            &format!("{base}_{t}_lr.{}", job.codec.extension()),
            &out.compressed.bytes,
        )?);
    }
    written.push(write_new(&job.dir, &format!("{base}_metrics.csv"), metrics_csv(job).as_bytes())?);
    let json = serde_json::to_string_pretty(&metrics_json(job)).map_err(|e| e.to_string())?;
    written.push(write_new(&job.dir, &format!("{base}_metrics.json"), json.as_bytes())?);
    if !job.methods.is_empty() {
        written.push(write_new(&job.dir, &format!("{base}_montage.png"), &png_bytes(&montage(job))?)?);
    }
    Ok(written)
}

/// "Exported 6 files to out (4 unchanged: identical files were there already; 1 renamed with a
/// number: names were taken)".
pub fn summary(files: &[(PathBuf, Written)], dir: &Path) -> String {
    let unchanged = files.iter().filter(|(_, w)| *w == Written::Unchanged).count();
    let renamed = files
        .iter()
        .filter(|(f, w)| *w == Written::Created && f.file_name().is_some_and(|n| n.to_string_lossy().contains(" (")))
        .count();
    let mut notes = Vec::new();
    if unchanged > 0 {
        notes.push(format!("{unchanged} unchanged: identical files were there already"));
    }
    if renamed > 0 {
        notes.push(format!("{renamed} renamed with a number: names were taken"));
    }
    let mut text = format!("Exported {} files to {}", files.len(), dir.display());
    if !notes.is_empty() {
        text.push_str(&format!(" ({})", notes.join("; ")));
    }
    text
}

fn quality_text(codec: &Codec) -> String {
    codec.quality().map(|q| q.get().to_string()).unwrap_or_default()
}

pub fn metrics_csv(job: &ExportJob) -> String {
    let mut s = String::from(
        "image,method,scale,codec,quality,target_bpp,lr_width,lr_height,lr_bytes,bpp,psnr_y,ssim_y,psnr_rgb,ssim_rgb,\
         ssimulacra2,butteraugli,butteraugli_3norm,downscale_ms,codec_ms,upscale_ms,metrics_ms,temperature,seed\n",
    );
    for m in &job.methods {
        let o = &m.view.output;
        let t = &o.timings;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:.6},{:.4},{:.6},{:.4},{:.6},{},{},{},{:.1},{:.1},{:.1},{:.1},{},{}\n",
            csv_field(&job.image_name),
            csv_field(&m.label),
            job.scale,
            // Each method's own: at equal size the qualities differ.
            o.codec.label(),
            quality_text(&o.codec),
            job.target_bpp.map(|b| b.to_string()).unwrap_or_default(),
            o.lr.width(),
            o.lr.height(),
            o.compressed_bytes(),
            o.bits_per_pixel,
            o.metrics.psnr_y,
            o.metrics.ssim_y,
            o.metrics.psnr_rgb,
            o.metrics.ssim_rgb,
            m.perceptual.map(|p| format!("{:.4}", p.ssimulacra2)).unwrap_or_default(),
            m.perceptual.map(|p| format!("{:.4}", p.butteraugli)).unwrap_or_default(),
            m.perceptual.map(|p| format!("{:.4}", p.butteraugli_3norm)).unwrap_or_default(),
            ms(t.downscale),
            ms(t.codec),
            ms(t.upscale),
            ms(t.metrics),
            job.options.temperature,
            job.options.seed,
        ));
    }
    s
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn metrics_json(job: &ExportJob) -> serde_json::Value {
    let methods: Vec<serde_json::Value> = job
        .methods
        .iter()
        .map(|m| {
            let o = &m.view.output;
            serde_json::json!({
                "method": m.label,
                "lr_size": [o.lr.width(), o.lr.height()],
                "lr_bytes": o.compressed_bytes(),
                "bpp": o.bits_per_pixel,
                "codec": o.codec.label(),
                "metrics": o.metrics,
                "ssimulacra2": m.perceptual.map(|p| p.ssimulacra2),
                "butteraugli": m.perceptual.map(|p| p.butteraugli),
                "butteraugli_3norm": m.perceptual.map(|p| p.butteraugli_3norm),
                "timings_ms": {
                    "downscale": ms(o.timings.downscale),
                    "codec": ms(o.timings.codec),
                    "upscale": ms(o.timings.upscale),
                    "metrics": ms(o.timings.metrics),
                },
            })
        })
        .collect();
    serde_json::json!({
        "image": job.image_name,
        "original_size": [job.original.width(), job.original.height()],
        "scale": job.scale,
        "codec": crate::bench::codec_family(&job.codec),
        "quality": if job.target_bpp.is_some() { None } else { job.codec.quality().map(|q| q.get()) },
        "target_bpp": job.target_bpp,
        "temperature": job.options.temperature,
        "seed": job.options.seed,
        "device": job.device,
        "region": job.region,
        "methods": methods,
    })
}

const BG: [u8; 3] = [28, 28, 30];
const FG: [u8; 3] = [235, 235, 235];
const DIM: [u8; 3] = [170, 170, 175];
const GAP: u32 = 8;
const TEXT_SCALE: u32 = 2;
/// Tiles narrower than this are magnified (nearest), so a small crop stays legible.
const MIN_TILE_W: u32 = 360;
/// Tiles wider than this are reduced, so a montage of big photos stays a sane file.
const MAX_TILE_W: u32 = 1600;

/// Original, compressed LR and each reconstruction side by side, over the same region, each
/// with its title and metrics, under a header with the settings.
pub fn montage(job: &ExportJob) -> RgbImage {
    let hr_size = job.methods.first().map(|m| m.view.hr_size).unwrap_or([job.original.width(), job.original.height()]);
    let [x, y, w, h] = clamp_region(job.region, hr_size);

    let mut tiles: Vec<(RgbImage, Vec<(String, [u8; 3])>)> = Vec::new();
    tiles.push((
        imageops::crop_imm(job.original.as_ref(), x, y, w, h).to_image(),
        vec![("Original".into(), FG), (format!("{}x{}", job.original.width(), job.original.height()), DIM)],
    ));
    if let Some(m) = job.lr_source.and_then(|i| job.methods.get(i)) {
        let lr = &m.view.output.compressed.decoded;
        let up = imageops::resize(lr, lr.width() * job.scale, lr.height() * job.scale, imageops::FilterType::Nearest);
        tiles.push((
            imageops::crop_imm(&up, x, y, w.min(up.width().saturating_sub(x)), h.min(up.height().saturating_sub(y)))
                .to_image(),
            vec![
                (format!("Compressed LR ({})", m.label), FG),
                (format!("{}x{} {}", lr.width(), lr.height(), m.view.output.codec.label()), DIM),
                (
                    format!("{} B  {:.3} bpp", m.view.output.compressed_bytes(), m.view.output.bits_per_pixel),
                    DIM,
                ),
            ],
        ));
    }
    for m in &job.methods {
        let o = &m.view.output;
        tiles.push((
            imageops::crop_imm(&o.reconstruction, x, y, w, h).to_image(),
            vec![
                (m.label.clone(), FG),
                (format!("PSNR-Y {:.2} dB  SSIM-Y {:.4}", o.metrics.psnr_y, o.metrics.ssim_y), FG),
                (
                    match m.perceptual {
                        Some(p) => format!("{}  {:.3} bpp  SSIMU2 {:.1}  BA {:.2}", o.codec.label(), o.bits_per_pixel, p.ssimulacra2, p.butteraugli),
                        None => format!("{}  {:.3} bpp  RGB {:.2} dB", o.codec.label(), o.bits_per_pixel, o.metrics.psnr_rgb),
                    },
                    DIM,
                ),
            ],
        ));
    }

    // One tile size for all, so the pixels line up across the row.
    let (tw, th) = tile_size(w, h);
    let cols = if tw >= 900 { 3 } else { tiles.len().min(6) } as u32;
    let rows = (tiles.len() as u32).div_ceil(cols);
    let lh = font::line_height(TEXT_SCALE);
    let label_h = lh * 3 + GAP;
    let header_lines = header_text(job, [x, y, w, h], hr_size);
    let header_h = lh * header_lines.len() as u32 + GAP * 2;
    let width = cols * tw + (cols + 1) * GAP;
    let height = header_h + rows * (th + label_h + GAP) + GAP;
    let mut canvas = RgbImage::from_pixel(width, height, Rgb(BG));

    for (i, line) in header_lines.iter().enumerate() {
        let color = if i == 0 { FG } else { DIM };
        font::draw_text(&mut canvas, GAP as i64, (GAP + i as u32 * lh) as i64, &font::fit(line, TEXT_SCALE, width - 2 * GAP), TEXT_SCALE, color);
    }
    for (i, (tile, lines)) in tiles.iter().enumerate() {
        let col = i as u32 % cols;
        let row = i as u32 / cols;
        let x0 = GAP + col * (tw + GAP);
        let y0 = header_h + row * (th + label_h + GAP);
        for (j, (line, color)) in lines.iter().enumerate() {
            font::draw_text(&mut canvas, x0 as i64, (y0 + j as u32 * lh) as i64, &font::fit(line, TEXT_SCALE, tw), TEXT_SCALE, *color);
        }
        let scaled = if tile.width() == tw && tile.height() == th {
            tile.clone()
        } else {
            let filter = if tw > tile.width() { imageops::FilterType::Nearest } else { imageops::FilterType::Triangle };
            imageops::resize(tile, tw, th, filter)
        };
        imageops::replace(&mut canvas, &scaled, x0 as i64, (y0 + label_h) as i64);
    }
    canvas
}

fn clamp_region(region: Option<[u32; 4]>, [w, h]: [u32; 2]) -> [u32; 4] {
    let Some([x, y, rw, rh]) = region else { return [0, 0, w, h] };
    let x = x.min(w.saturating_sub(1));
    let y = y.min(h.saturating_sub(1));
    [x, y, rw.clamp(1, w - x), rh.clamp(1, h - y)]
}

fn tile_size(w: u32, h: u32) -> (u32, u32) {
    if w < MIN_TILE_W {
        // Integer magnification keeps every source pixel the same size on screen.
        let k = MIN_TILE_W.div_ceil(w.max(1));
        (w * k, h * k)
    } else if w > MAX_TILE_W {
        let f = MAX_TILE_W as f64 / w as f64;
        (MAX_TILE_W, ((h as f64 * f).round() as u32).max(1))
    } else {
        (w, h)
    }
}

fn header_text(job: &ExportJob, [x, y, w, h]: [u32; 4], hr_size: [u32; 2]) -> Vec<String> {
    let codec = match (job.codec, job.target_bpp) {
        (Codec::None, _) => "no codec (lossless PNG)".to_string(),
        (Codec::Jpeg { .. }, Some(bpp)) => format!("JPEG at equal size, <= {bpp} bpp (quality per method)"),
        (Codec::Webp { .. }, Some(bpp)) => format!("WebP at equal size, <= {bpp} bpp (quality per method)"),
        (Codec::Jpeg { quality }, None) => format!("JPEG quality {}", quality.get()),
        (Codec::Webp { quality }, None) => format!("WebP quality {}", quality.get()),
    };
    let region = if [x, y, w, h] == [0, 0, hr_size[0], hr_size[1]] {
        "full image".to_string()
    } else {
        format!("region {w}x{h} at ({x}, {y})")
    };
    vec![
        format!("rescale-lab | {} | x{} | {}", job.image_name, job.scale, codec),
        format!(
            "{} | temperature {} | seed {} | {} | metrics on the modcropped image, {} px border",
            region, job.options.temperature, job.options.seed, job.device, job.scale
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_folders_are_absolute() {
        assert!(default_dir().is_absolute(), "{}", default_dir().display());
        let typed = absolute(PathBuf::from("out/here"));
        assert!(typed.is_absolute() && typed.ends_with("out/here"), "{}", typed.display());
        let fixed = std::env::temp_dir().join("x");
        assert_eq!(absolute(fixed.clone()), fixed);
    }

    #[test]
    fn tags_are_file_safe_and_say_each_word_once() {
        assert_eq!(tag("IRN ×2 (irn_x2)"), "irn-x2");
        assert_eq!(tag("SAIN ×2 (sain_x2_jpeg, JPEG-trained)"), "sain-x2-jpeg-trained");
        assert_eq!(tag("SAIN ×2 (sain_x2_webp, WebP-trained)"), "sain-x2-webp-trained");
        assert_eq!(tag("SAIN ×2 · SAINx2_JPEG.pth (official, JPEG-trained)"), "sain-x2-sainx2-jpeg-pth-official-trained");
        assert_eq!(tag("Bicubic"), "bicubic");
        assert_eq!(tag("///"), "method");
    }

    #[test]
    fn never_overwrites_and_keeps_identical_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, wa) = write_new(dir.path(), "a.png", b"1").unwrap();
        let (b, wb) = write_new(dir.path(), "a.png", b"2").unwrap();
        assert_eq!((a.file_name().unwrap(), wa), ("a.png".as_ref(), Written::Created));
        assert_eq!((b.file_name().unwrap(), wb), ("a (1).png".as_ref(), Written::Created));
        assert_eq!(std::fs::read(&a).unwrap(), b"1");
        // The same bytes again: the file that holds them is kept, whichever of the series it is.
        assert_eq!(write_new(dir.path(), "a.png", b"1").unwrap(), (a.clone(), Written::Unchanged));
        assert_eq!(write_new(dir.path(), "a.png", b"2").unwrap(), (b, Written::Unchanged));
        // Same size, other bytes: a new name, never the old file.
        let (c, wc) = write_new(dir.path(), "a.png", b"3").unwrap();
        assert_eq!((c.file_name().unwrap(), wc), ("a (2).png".as_ref(), Written::Created));
        assert_eq!(std::fs::read(&a).unwrap(), b"1");
    }

    #[test]
    fn tiles_magnify_small_crops() {
        assert_eq!(tile_size(40, 30), (360, 270));
        assert_eq!(tile_size(1000, 500), (1000, 500));
        assert_eq!(tile_size(3200, 1600), (1600, 800));
        assert_eq!(clamp_region(Some([90, 90, 50, 50]), [100, 100]), [90, 90, 10, 10]);
    }
}
