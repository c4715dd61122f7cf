//! Folder benchmarks: every image of every dataset through every method and codec setting,
//! averaged per dataset the way the papers report them (mean of per-image PSNR/SSIM).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::codec::Codec;
use crate::error::{EngineError, Result};
use crate::image_io::{load_image, LoadOptions};
use crate::methods::{Method, MethodKind};
use crate::perceptual::PerceptualMetrics;
use crate::pipeline::Pipeline;
use crate::rd;
use crate::rescaler::UpscaleOptions;

const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"];

#[derive(Clone)]
pub struct BenchConfig {
    pub datasets: Vec<PathBuf>,
    pub codecs: Vec<Codec>,
    pub methods: Vec<Method>,
    pub options: UpscaleOptions,
    pub load: LoadOptions,
    /// Stop at the first unusable file instead of skipping it.
    pub strict: bool,
    /// Also compute SSIMULACRA2 and Butteraugli (slower than PSNR/SSIM).
    pub perceptual: bool,
    /// Equal-size mode: target sizes in bits per HR pixel, one column each, every method's
    /// quality chosen per image to meet it (`equal_size`). Empty: the codecs' own qualities.
    pub target_bpp: Vec<f64>,
}

/// What one column of a table holds: a codec at its quality, or a codec at a target size.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Setting {
    Quality(Codec),
    Size { codec: Codec, bpp: f64 },
}

impl BenchConfig {
    fn settings(&self) -> Vec<Setting> {
        if self.target_bpp.is_empty() {
            return self.codecs.iter().map(|&codec| Setting::Quality(codec)).collect();
        }
        self.codecs.iter().flat_map(|&codec| self.target_bpp.iter().map(move |&bpp| Setting::Size { codec, bpp })).collect()
    }
}

/// A file left out of the averages, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    pub dataset: String,
    pub path: PathBuf,
    pub reason: String,
}

/// The rows of the tables, and the files that could not be used.
#[derive(Debug, Clone, Default)]
pub struct BenchReport {
    pub rows: Vec<BenchRow>,
    pub skipped: Vec<SkippedFile>,
}

/// One cell group of a paper table: a dataset × method × codec setting, averaged over images.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub dataset: String,
    pub method: String,
    pub scale: u32,
    pub codec: String,
    pub quality: Option<u8>,
    /// Equal-size rows: the target (bits per HR pixel) and the mean quality the search chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_bpp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_quality: Option<f64>,
    /// Images averaged.
    pub images: usize,
    /// Files of the dataset left out (unreadable, too small…); listed in `BenchReport::skipped`.
    pub skipped: usize,
    pub psnr_y: f64,
    pub ssim_y: f64,
    pub psnr_rgb: f64,
    pub ssim_rgb: f64,
    /// Bits per HR pixel of the compressed LR; absent without compression.
    pub bpp: Option<f64>,
    /// Means of the perceptual metrics over the images (absent when not computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssimulacra2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub butteraugli: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub butteraugli_3norm: Option<f64>,
    /// Bjøntegaard deltas of this method's rate–distortion curve (all the qualities of this
    /// dataset and codec) against Bicubic's, when both were run at four or more qualities: dB
    /// at equal size, and % bits at equal PSNR-Y (negative: fewer bits). Equal on every
    /// quality row of the curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bd_psnr_db: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bd_rate_percent: Option<f64>,
}

/// Where a running benchmark is, for progress bars.
#[derive(Debug, Clone)]
pub struct BenchProgress {
    pub done: usize,
    pub total: usize,
    pub current: PathBuf,
}

/// Image files directly inside `dir`, sorted by name so runs are reproducible.
pub fn dataset_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), error: source })?;
    let mut images: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        // Not only regular files: a pipe or device named like an image is listed, then skipped
        // with its reason, rather than silently left out.
        .filter(|path| {
            !path.is_dir()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    images.sort();
    if images.is_empty() {
        return Err(EngineError::InvalidArgument(format!("{}: no images in this folder", dir.display())));
    }
    Ok(images)
}

/// A label per dataset folder: its name, or as many trailing path parts as it takes to tell
/// folders of the same name apart (two `Set5`s must not share a table block).
fn dataset_names(dirs: &[PathBuf]) -> Result<Vec<String>> {
    let absolute: Vec<PathBuf> = dirs.iter().map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone())).collect();
    for (i, dir) in absolute.iter().enumerate() {
        if absolute[..i].contains(dir) {
            return Err(EngineError::InvalidArgument(format!("{}: this folder is given twice", dirs[i].display())));
        }
    }
    let tail = |dir: &Path, parts: usize| -> String {
        let names: Vec<String> = dir.components().rev().take(parts).map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        names.into_iter().rev().collect::<Vec<_>>().join("/")
    };
    Ok(absolute
        .iter()
        .map(|dir| {
            let depth = dir.components().count();
            (1..=depth)
                .map(|parts| tail(dir, parts))
                .find(|name| absolute.iter().filter(|other| *other != dir).all(|other| !other.ends_with(name)))
                .unwrap_or_else(|| dir.display().to_string())
        })
        .collect())
}

/// One image's numbers for one method and codec setting.
struct ImageResult {
    metrics: crate::metrics::Metrics,
    bpp: f64,
    quality: f64,
    perceptual: Option<PerceptualMetrics>,
}

/// Every method and codec setting on one image: all or nothing, so that one failing method
/// cannot leave the image in some averages and not in others.
fn bench_image(
    path: &Path,
    config: &BenchConfig,
    runnable: &[(&Method, std::sync::Arc<dyn crate::rescaler::Rescaler>)],
) -> Result<Vec<ImageResult>> {
    let loaded = load_image(path, &config.load)?;
    let mut pipeline = Pipeline::new(loaded.rgb);
    let settings = config.settings();
    let mut results = Vec::with_capacity(runnable.len() * settings.len());
    for (method, rescaler) in runnable {
        for setting in &settings {
            let out = match *setting {
                Setting::Quality(codec) => pipeline.run(&method.key, rescaler.as_ref(), codec, &config.options)?,
                Setting::Size { codec, bpp } => pipeline.run_at_size(&method.key, rescaler.as_ref(), codec, bpp, &config.options)?.0,
            };
            let quality = out.codec.quality().map_or(0.0, |q| q.get() as f64);
            let perceptual = if config.perceptual {
                let (hr, _) = pipeline.hr(out.scale)?;
                Some(crate::perceptual::evaluate(hr, &out.reconstruction)?)
            } else {
                None
            };
            results.push(ImageResult { metrics: out.metrics, bpp: out.bits_per_pixel, quality, perceptual });
        }
    }
    Ok(results)
}

pub fn run_bench(config: &BenchConfig, mut progress: impl FnMut(&BenchProgress)) -> Result<BenchReport> {
    let runnable: Vec<_> = config
        .methods
        .iter()
        .map(|m| m.rescaler.clone().map(|r| (m, r)).map_err(|why| EngineError::InvalidArgument(format!("{}: {why}", m.label))))
        .collect::<Result<_>>()?;
    let names = dataset_names(&config.datasets)?;
    let datasets: Vec<(String, Vec<PathBuf>)> =
        names.into_iter().zip(&config.datasets).map(|(name, d)| Ok((name, dataset_images(d)?))).collect::<Result<_>>()?;
    let total = datasets.iter().map(|(_, images)| images.len()).sum();
    let settings = config.settings();
    let mut done = 0;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();

    for (name, images) in &datasets {
        // sums[method][codec] accumulates per-image metrics.
        let mut sums = vec![vec![Sums::default(); settings.len()]; runnable.len()];
        let mut used = 0;
        let skipped_before = skipped.len();
        for path in images {
            progress(&BenchProgress { done, total, current: path.clone() });
            done += 1;
            match bench_image(path, config, &runnable) {
                Ok(results) => {
                    for (i, result) in results.iter().enumerate() {
                        sums[i / settings.len()][i % settings.len()].add(result);
                    }
                    used += 1;
                }
                Err(error) => {
                    let error = with_file(error, path);
                    if config.strict {
                        return Err(error);
                    }
                    skipped.push(SkippedFile { dataset: name.clone(), path: path.clone(), reason: error.to_string() });
                }
            }
        }
        if used == 0 {
            continue; // nothing to average; the skipped files say why
        }
        let skipped_here = skipped.len() - skipped_before;
        for (m, (method, rescaler)) in runnable.iter().enumerate() {
            for (c, setting) in settings.iter().enumerate() {
                let s = &sums[m][c];
                let n = used as f64;
                let (codec, target_bpp) = match *setting {
                    Setting::Quality(codec) => (codec, None),
                    Setting::Size { codec, bpp } => (codec, Some(bpp)),
                };
                let codec = &codec;
                rows.push(BenchRow {
                    dataset: name.clone(),
                    method: method.label.clone(),
                    scale: rescaler.scale(),
                    codec: codec_family(codec).to_string(),
                    quality: if target_bpp.is_none() { codec.quality().map(|q| q.get()) } else { None },
                    target_bpp,
                    mean_quality: target_bpp.map(|_| s.quality / n),
                    images: used,
                    skipped: skipped_here,
                    psnr_y: s.psnr_y / n,
                    ssim_y: s.ssim_y / n,
                    psnr_rgb: s.psnr_rgb / n,
                    ssim_rgb: s.ssim_rgb / n,
                    bpp: (*codec != Codec::None).then(|| s.bpp / n),
                    ssimulacra2: config.perceptual.then(|| s.ssimulacra2 / n),
                    butteraugli: config.perceptual.then(|| s.butteraugli / n),
                    butteraugli_3norm: config.perceptual.then(|| s.butteraugli_3norm / n),
                    bd_psnr_db: None,
                    bd_rate_percent: None,
                });
            }
        }
        let bicubic: Vec<&str> =
            runnable.iter().filter(|(m, _)| m.kind == MethodKind::Bicubic).map(|(m, _)| m.label.as_str()).collect();
        if let [reference] = bicubic[..] {
            add_bjontegaard(&mut rows, name, reference);
        }
    }
    progress(&BenchProgress { done, total, current: PathBuf::new() });
    Ok(BenchReport { rows, skipped })
}

/// Errors that do not say which file they concern get its path in front.
fn with_file(error: EngineError, path: &Path) -> EngineError {
    match error {
        EngineError::Image { .. } | EngineError::ImageTooLarge { .. } | EngineError::Io { .. } | EngineError::Weights { .. } => error,
        other => EngineError::Image { path: path.to_path_buf(), reason: other.to_string() },
    }
}

/// (bpp, PSNR-Y) points of one method's rows of one dataset and codec, in rate order.
fn curve(rows: &[BenchRow], dataset: &str, method: &str, codec: &str) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.dataset == dataset && r.method == method && r.codec == codec)
        .filter_map(|r| Some((r.bpp?, r.psnr_y)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// Fills `bd_psnr_db` / `bd_rate_percent` of every non-reference method of `dataset` whose curve
/// and the reference's have four or more points (a curve that cannot be measured stays empty).
fn add_bjontegaard(rows: &mut [BenchRow], dataset: &str, reference: &str) {
    let mut deltas = Vec::new();
    for r in rows.iter().filter(|r| r.dataset == dataset && r.method != reference && r.bpp.is_some()) {
        if deltas.iter().any(|(m, c, _, _): &(String, String, f64, f64)| *m == r.method && *c == r.codec) {
            continue;
        }
        let base = curve(rows, dataset, reference, &r.codec);
        let test = curve(rows, dataset, &r.method, &r.codec);
        if let (Ok(db), Ok(rate)) = (rd::bd_psnr(&base, &test), rd::bd_rate(&base, &test)) {
            deltas.push((r.method.clone(), r.codec.clone(), db, rate));
        }
    }
    for r in rows.iter_mut().filter(|r| r.dataset == dataset && r.bpp.is_some()) {
        if let Some((_, _, db, rate)) = deltas.iter().find(|(m, c, _, _)| *m == r.method && *c == r.codec) {
            r.bd_psnr_db = Some(*db);
            r.bd_rate_percent = Some(*rate);
        }
    }
}

pub fn codec_family(codec: &Codec) -> &'static str {
    match codec {
        Codec::None => "none",
        Codec::Jpeg { .. } => "jpeg",
        Codec::Webp { .. } => "webp",
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    psnr_y: f64,
    ssim_y: f64,
    psnr_rgb: f64,
    ssim_rgb: f64,
    bpp: f64,
    quality: f64,
    ssimulacra2: f64,
    butteraugli: f64,
    butteraugli_3norm: f64,
}

impl Sums {
    fn add(&mut self, result: &ImageResult) {
        let m = &result.metrics;
        self.psnr_y += m.psnr_y;
        self.ssim_y += m.ssim_y;
        self.psnr_rgb += m.psnr_rgb;
        self.ssim_rgb += m.ssim_rgb;
        self.bpp += result.bpp;
        self.quality += result.quality;
        if let Some(p) = &result.perceptual {
            self.ssimulacra2 += p.ssimulacra2;
            self.butteraugli += p.butteraugli;
            self.butteraugli_3norm += p.butteraugli_3norm;
        }
    }
}

/// Which channel a table shows; the papers' headline numbers are on Y.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Y,
    Rgb,
}

/// The papers' layout: one block per dataset, a row per method, a column per codec setting,
/// cells "PSNR / SSIM", and a last row with the bits per pixel of each setting.
pub fn format_table(rows: &[BenchRow], channel: Channel) -> String {
    let mut out = String::new();
    let mut datasets: Vec<&str> = Vec::new();
    for row in rows {
        if !datasets.contains(&row.dataset.as_str()) {
            datasets.push(&row.dataset);
        }
    }
    for dataset in datasets {
        let in_set: Vec<&BenchRow> = rows.iter().filter(|r| r.dataset == dataset).collect();
        let mut settings: Vec<String> = Vec::new();
        let mut methods: Vec<&str> = Vec::new();
        for r in &in_set {
            let setting = setting_label(r);
            if !settings.contains(&setting) {
                settings.push(setting);
            }
            if !methods.contains(&r.method.as_str()) {
                methods.push(&r.method);
            }
        }
        let scale = in_set.first().map(|r| r.scale).unwrap_or(0);
        let images = in_set.first().map(|r| r.images).unwrap_or(0);
        let skipped = in_set.first().map(|r| r.skipped).unwrap_or(0);
        let channel_name = match channel {
            Channel::Y => "Y",
            Channel::Rgb => "RGB",
        };
        let skipped = match skipped {
            0 => String::new(),
            n => format!(", {n} file{} skipped", if n == 1 { "" } else { "s" }),
        };
        out.push_str(&format!("{dataset} ({images} images{skipped}), x{scale}, PSNR (dB) / SSIM on {channel_name}\n"));
        let headers = settings.clone();
        // Wide enough for the longest row label ("SSIMU2 / BA3 <method>").
        let prefix = if in_set.iter().any(|r| r.ssimulacra2.is_some()) {
            "SSIMU2 / BA3 ".len()
        } else if in_set.iter().any(|r| r.bpp.is_some()) {
            "bpp ".len()
        } else {
            0
        };
        let method_width = methods.iter().map(|m| m.chars().count() + prefix).max().unwrap_or(6).max(6);
        let cell_width = 16;
        out.push_str(&format!("{:<method_width$}", "method"));
        for h in &headers {
            out.push_str(&format!(" | {h:>cell_width$}"));
        }
        out.push('\n');
        out.push_str(&"-".repeat(method_width + headers.len() * (cell_width + 3)));
        out.push('\n');
        for method in &methods {
            out.push_str(&format!("{method:<method_width$}"));
            for setting in &settings {
                let cell = in_set
                    .iter()
                    .find(|r| r.method == *method && setting_label(r) == *setting)
                    .map(|r| {
                        let (p, s) = match channel {
                            Channel::Y => (r.psnr_y, r.ssim_y),
                            Channel::Rgb => (r.psnr_rgb, r.ssim_rgb),
                        };
                        format!("{p:.2} / {s:.4}")
                    })
                    .unwrap_or_default();
                out.push_str(&format!(" | {cell:>cell_width$}"));
            }
            out.push('\n');
        }
        // Rows under the table, one per method, shown when any of their cells has a value.
        let mut extra_rows = |prefix: &str, cell: &dyn Fn(&BenchRow) -> Option<String>| {
            for method in &methods {
                let cells: Vec<Option<String>> = settings
                    .iter()
                    .map(|setting| cell(in_set.iter().find(|r| r.method == *method && setting_label(r) == *setting)?))
                    .collect();
                if cells.iter().any(Option::is_some) {
                    out.push_str(&format!("{:<method_width$}", format!("{prefix}{method}")));
                    for cell in &cells {
                        out.push_str(&format!(" | {:>cell_width$}", cell.as_deref().unwrap_or("-")));
                    }
                    out.push('\n');
                }
            }
        };
        extra_rows("bpp ", &|r| r.bpp.map(|b| format!("{b:.4}")));
        extra_rows("QF ", &|r| r.mean_quality.map(|q| format!("{q:.1}")));
        extra_rows("SSIMU2 / BA3 ", &|r| Some(format!("{:.2} / {:.3}", r.ssimulacra2?, r.butteraugli_3norm?)));
        if in_set.iter().any(|r| r.ssimulacra2.is_some()) {
            out.push_str("SSIMU2 / BA3: SSIMULACRA2 (0-100, higher is better) / Butteraugli 3-norm (lower is better), whole modcropped image\n");
        }
        let mut bd_lines = Vec::new();
        for method in &methods {
            for r in in_set.iter().filter(|r| r.method == *method) {
                if let (Some(db), Some(rate)) = (r.bd_psnr_db, r.bd_rate_percent) {
                    let line = format!(
                        "  {method}, {}: BD-PSNR {db:+.3} dB at equal size, BD-rate {rate:+.2} % bits at equal PSNR-Y",
                        r.codec.to_uppercase()
                    );
                    if !bd_lines.contains(&line) {
                        bd_lines.push(line);
                    }
                }
            }
        }
        if !bd_lines.is_empty() {
            out.push_str("against Bicubic over the columns above (Bjøntegaard, bpp vs PSNR-Y):\n");
            for line in bd_lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// A column header: "JPEG QF 30", "JPEG ≤0.300 bpp" or "none".
fn setting_label(r: &BenchRow) -> String {
    match (r.target_bpp, r.quality) {
        (Some(bpp), _) => format!("{} ≤{bpp:.3} bpp", r.codec.to_uppercase()),
        (None, Some(q)) => format!("{} QF {q}", r.codec.to_uppercase()),
        (None, None) => r.codec.clone(),
    }
}

pub fn format_csv(rows: &[BenchRow]) -> String {
    let mut out =
        String::from("dataset,method,scale,codec,quality,target_bpp,mean_quality,images,skipped,psnr_y,ssim_y,psnr_rgb,ssim_rgb,bpp,ssimulacra2,butteraugli,butteraugli_3norm,bd_psnr_db,bd_rate_percent\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:.4},{:.6},{:.4},{:.6},{},{},{},{},{},{}\n",
            csv_field(&r.dataset),
            csv_field(&r.method),
            r.scale,
            r.codec,
            r.quality.map(|q| q.to_string()).unwrap_or_default(),
            r.target_bpp.map(|b| format!("{b}")).unwrap_or_default(),
            r.mean_quality.map(|q| format!("{q:.2}")).unwrap_or_default(),
            r.images,
            r.skipped,
            r.psnr_y,
            r.ssim_y,
            r.psnr_rgb,
            r.ssim_rgb,
            r.bpp.map(|b| format!("{b:.6}")).unwrap_or_default(),
            r.ssimulacra2.map(|v| format!("{v:.4}")).unwrap_or_default(),
            r.butteraugli.map(|v| format!("{v:.4}")).unwrap_or_default(),
            r.butteraugli_3norm.map(|v| format!("{v:.4}")).unwrap_or_default(),
            r.bd_psnr_db.map(|b| format!("{b:.4}")).unwrap_or_default(),
            r.bd_rate_percent.map(|b| format!("{b:.3}")).unwrap_or_default()
        ));
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
