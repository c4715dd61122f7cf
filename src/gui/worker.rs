//! Background threads, so the window never waits for decoding, networks, metrics or disk.
//!
//! * The compute thread owns one [`Pipeline`] per open image and runs the newest job only: jobs
//!   that arrive while one runs replace each other, and a running job gives way to a newer one
//!   between methods. Results go back per method, so bicubic shows up before a slow network.
//! * A job's SSIMULACRA2/Butteraugli passes run on threads of their own
//!   (`perceptual_worker`), so the next job starts without waiting for them.
//! * The rate–distortion thread sweeps the quality for the chart with the same rules.
//! * Loads, model loads and exports are one short-lived thread each.
//!
//! Every thread reports on one channel of [`Event`]s and wakes the UI with `request_repaint`.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::ColorImage;
use image::RgbImage;

use crate::codec::Codec;
use crate::equal_size::SizeMatch;
use crate::image_io::{self, LoadOptions};
use crate::methods::{self, Method};
use crate::perceptual::PerceptualMetrics;
use crate::pipeline::{MethodOutput, Pipeline};
use crate::region::{Region, RegionOutput};
use crate::rescaler::{Rescaler, UpscaleOptions};

use super::colormap;
use super::device;
use super::export::{self, ExportJob};
use super::perceptual_worker::{PerceptualJob, PerceptualWorker};
use super::settings::{CodecFamily, DeviceChoice};

/// Above this many pixels every method is first run on a smaller copy, so a first result
/// appears quickly; the full-resolution result replaces it.
pub const PREVIEW_ABOVE_PIXELS: u64 = 3_000_000;
/// Networks on a CPU take seconds per megapixel, so for them the preview starts much lower.
/// Not lower than this: below a megapixel the full pass takes ~2 s on two cores, and a preview
/// (about a third of that work, on the same cores) would delay the one result whose numbers
/// count while showing numbers that do not (issue 29).
pub const NETWORK_PREVIEW_ABOVE_PIXELS: u64 = 1_000_000;

/// [`NETWORK_PREVIEW_ABOVE_PIXELS`], or `RESCALE_LAB_NETWORK_PREVIEW_ABOVE` (pixels) to measure
/// the app with another threshold (`tests/latency/app_latency.sh` times the old 400,000).
pub fn network_preview_above() -> u64 {
    static ABOVE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *ABOVE.get_or_init(|| std::env::var("RESCALE_LAB_NETWORK_PREVIEW_ABOVE").ok().and_then(|v| v.parse().ok()).unwrap_or(NETWORK_PREVIEW_ABOVE_PIXELS))
}
/// Pixel count of that smaller copy (also what the rate–distortion sweep uses above it).
const PREVIEW_PIXELS: f64 = 250_000.0;

/// Qualities the rate–distortion chart samples, coarse first so the curve takes shape early.
pub const RD_QUALITIES: [u8; 12] = [10, 50, 90, 30, 70, 20, 40, 60, 80, 95, 5, 100];

/// An image decoded into memory, ready to become a document.
pub struct LoadedDoc {
    pub name: String,
    pub path: Option<PathBuf>,
    pub rgb: Arc<RgbImage>,
    /// What the Original panel draws (downsampled only if above the GPU's texture limit).
    pub display: ColorImage,
    pub warnings: Vec<String>,
}

/// Where an image comes from; all of them go through [`Workers::spawn_load`].
#[derive(Clone, Debug)]
pub enum ImageSource {
    Path(PathBuf),
    Bytes { name: String, bytes: Arc<[u8]> },
    Pixels { name: String, rgb: Arc<RgbImage> },
}

impl ImageSource {
    pub fn describe(&self) -> String {
        match self {
            ImageSource::Path(p) => p.display().to_string(),
            ImageSource::Bytes { name, .. } | ImageSource::Pixels { name, .. } => name.clone(),
        }
    }
}

/// One method of a compute job.
#[derive(Clone)]
pub struct JobMethod {
    pub key: String,
    pub label: String,
    pub rescaler: Arc<dyn Rescaler>,
    /// IRN/SAIN: slow on a CPU, so previewed on smaller images than bicubic.
    pub is_network: bool,
}

impl JobMethod {
    fn previewed(&self, pixels: u64) -> bool {
        pixels > if self.is_network { network_preview_above() } else { PREVIEW_ABOVE_PIXELS }
    }
}

#[derive(Clone)]
pub struct ComputeJob {
    pub job_id: u64,
    pub doc_id: u64,
    pub image: Arc<RgbImage>,
    pub methods: Vec<JobMethod>,
    pub codec: Codec,
    /// Equal size: each method's quality is chosen to meet this many bits per HR pixel.
    pub target_bpp: Option<f64>,
    /// Compute SSIMULACRA2/Butteraugli once every method's PSNR/SSIM is on screen.
    pub perceptual: bool,
    /// Compute the region at the slider's next positions when there is time (`prefetch`).
    pub compute_ahead: bool,
    pub options: UpscaleOptions,
    pub diff_full_scale: u8,
    /// What the user is looking at, on the scale's grid (`RescaleApp::job_region`): computed
    /// first, at full resolution, for every method, and measured on its own.
    pub region: Option<Region>,
    /// Methods whose current full result the app already shows: only their region is needed.
    pub have_full: Vec<String>,
    /// Methods whose perceptual metrics at this job's setting the app still holds (from an
    /// earlier visit of the setting): their pass is not made again.
    pub have_perceptual: Vec<String>,
}

/// One method's reconstruction of the job's region, ready for the GPU.
pub struct RegionView {
    pub output: RegionOutput,
    pub recon: ColorImage,
}

pub struct RegionResult {
    pub job_id: u64,
    pub doc_id: u64,
    pub key: String,
    pub outcome: Result<Arc<RegionView>, String>,
}

/// What one method produced, with the images already converted for the GPU.
pub struct MethodView {
    pub output: MethodOutput,
    /// Taken by the app when it makes its textures (`take_images`).
    images: Mutex<Option<DisplayImages>>,
    /// Computed on the smaller preview copy of a large image: numbers are approximate.
    pub preview: bool,
    /// Size of the HR reference the metrics used (the modcropped original).
    pub hr_size: [u32; 2],
    /// At equal size: the quality the search chose, and why.
    pub size_match: Option<SizeMatch>,
    /// A network's full-resolution result against Bicubic's in the same job.
    pub versus: Option<Versus>,
    /// How long the step took in all (cached stages included at no cost), for the estimates of
    /// later waits (`waits::Paces`).
    pub compute_time: Duration,
}

/// The images a result is drawn from. The app takes them when it uploads its textures: kept in
/// the view after that, they would hold every result twice (a 12 MP result's four are about
/// 190 MB, beside 54 MB of 8-bit output).
pub struct DisplayImages {
    /// The reconstruction.
    pub recon: ColorImage,
    /// The LR as the decoder reads it back from the compressed file.
    pub lr: ColorImage,
    /// |reconstruction − original| heatmap.
    pub diff: ColorImage,
    /// Where a network is closer to the original than Bicubic (with `MethodView::versus`).
    pub versus: Option<ColorImage>,
}

impl MethodView {
    /// The display images, once: `None` after the first call.
    pub fn take_images(&self) -> Option<DisplayImages> {
        self.images.lock().ok()?.take()
    }
}

/// Where the network differs most from Bicubic (its map is in `DisplayImages::versus`).
pub struct Versus {
    pub hotspot: Option<crate::versus::Hotspot>,
}

pub use super::waits::MethodProgress;
use super::waits::{PassProgress, RunPlan};

/// The perceptual metrics of one method's full-resolution result, and Butteraugli's map.
pub struct PerceptualResult {
    pub job_id: u64,
    pub doc_id: u64,
    pub key: String,
    pub outcome: Result<(PerceptualMetrics, ColorImage), String>,
}

pub struct ComputeResult {
    pub job_id: u64,
    pub doc_id: u64,
    pub key: String,
    pub label: String,
    pub outcome: Result<Arc<MethodView>, String>,
}

#[derive(Clone)]
pub struct RdJob {
    pub sweep_id: u64,
    pub doc_id: u64,
    pub image: Arc<RgbImage>,
    pub methods: Vec<JobMethod>,
    pub family: CodecFamily,
    pub current_quality: u8,
    pub options: UpscaleOptions,
    /// Sweep a copy of about `PREVIEW_PIXELS` instead of the full image.
    pub reduced: bool,
}

/// The qualities a sweep runs, in order (`None`: no codec, one point): the current quality
/// first, so the chart's marker appears with the first points, then `RD_QUALITIES`.
pub fn sweep_qualities(family: CodecFamily, current_quality: u8) -> Vec<Option<u8>> {
    match family {
        CodecFamily::None => vec![None],
        _ => std::iter::once(current_quality).chain(RD_QUALITIES.iter().copied().filter(|q| *q != current_quality)).map(Some).collect(),
    }
}

/// A network sweep runs on the reduced copy above this: thirteen qualities at full resolution
/// would keep the cores busy for a minute on the sample photo, where the curves' shape (and the
/// BD figures, marked as on the copy) come out the same from a quarter of the pixels.
pub const NETWORK_SWEEP_REDUCED_ABOVE_PIXELS: u64 = 400_000;

/// Whether a sweep of these methods on an image of this size runs on the reduced copy.
pub fn rd_reduced(methods: &[JobMethod], width: u32, height: u32) -> Option<(u32, u32)> {
    let pixels = width as u64 * height as u64;
    let reduced = |m: &JobMethod| pixels > if m.is_network { NETWORK_SWEEP_REDUCED_ABOVE_PIXELS } else { PREVIEW_ABOVE_PIXELS };
    methods.iter().any(reduced).then(|| reduced_size(width, height))
}

pub struct MethodsLoaded {
    pub request: u64,
    pub device: candle_core::Device,
    pub device_error: Option<String>,
    pub methods: Vec<Method>,
    /// User checkpoints, each loaded or failed with the reason.
    pub user_models: Vec<(PathBuf, Result<Method, String>)>,
}

pub enum Event {
    ImageLoaded { request: u64, doc: Box<LoadedDoc> },
    ImageFailed { request: u64, source: String, error: String },
    Result(Box<ComputeResult>),
    /// A method's reconstruction of the job's region (before its whole image, or cut from it).
    Region(Box<RegionResult>),
    Perceptual(Box<PerceptualResult>),
    /// A method of this job started, or finished a tile of a network pass.
    Progress { job_id: u64, key: String, progress: MethodProgress },
    /// The compute thread finished (or gave up on) this job.
    JobFinished { job_id: u64 },
    MethodsLoaded(Box<MethodsLoaded>),
    RdPoint { sweep_id: u64, key: String, label: String, quality: u8, bpp: f64, psnr_y: f64 },
    RdFinished { sweep_id: u64 },
    RdFailed { sweep_id: u64, key: String, error: String },
    ExportDone { result: Result<Vec<(PathBuf, export::Written)>, String>, dir: PathBuf },
    Screenshot(Arc<ColorImage>),
}

enum ComputeMsg {
    Job(Box<ComputeJob>),
    Forget(u64),
}

/// The images the user closed. The compute thread drops their pipelines when it reads their
/// Forget, and its work for them checks here to stop at the next tile or block, even mid-pass.
#[derive(Clone, Default)]
pub(super) struct Closed(Arc<Mutex<HashSet<u64>>>);

impl Closed {
    fn insert(&self, doc_id: u64) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(doc_id);
    }

    pub(super) fn contains(&self, doc_id: u64) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).contains(&doc_id)
    }
}

/// Handles to the long-lived threads and the one channel everything reports on.
pub struct Workers {
    pub events: Receiver<Event>,
    tx: Sender<Event>,
    compute: Sender<ComputeMsg>,
    /// Id of the newest job submitted: a network pass for an older one stops between tiles.
    latest_job: Arc<AtomicU64>,
    closed: Closed,
    rd: Sender<Option<RdJob>>,
    ctx: egui::Context,
    max_texture_side: usize,
}

impl Workers {
    pub fn start(ctx: egui::Context, max_texture_side: usize) -> Self {
        let (tx, events) = channel();
        let (compute, compute_rx) = channel();
        let (rd, rd_rx) = channel();
        // The chart sweep yields to the live view: it waits while the compute thread works.
        let busy = Arc::new(AtomicBool::new(false));
        let latest_job = Arc::new(AtomicU64::new(0));
        let closed = Closed::default();
        {
            let tx = tx.clone();
            let ctx = ctx.clone();
            let busy = busy.clone();
            let latest = latest_job.clone();
            let closed = closed.clone();
            std::thread::Builder::new()
                .name("rescale-compute".into())
                .spawn(move || compute_loop(compute_rx, tx, ctx, max_texture_side, busy, latest, closed))
                .expect("spawning the compute thread");
        }
        {
            let tx = tx.clone();
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name("rescale-rd".into())
                .spawn(move || rd_loop(rd_rx, tx, ctx, busy))
                .expect("spawning the rate-distortion thread");
        }
        Self { events, tx, compute, latest_job, closed, rd, ctx, max_texture_side }
    }

    pub fn sender(&self) -> Sender<Event> {
        self.tx.clone()
    }

    pub fn submit(&self, job: ComputeJob) {
        self.latest_job.fetch_max(job.job_id, Ordering::Relaxed);
        let _ = self.compute.send(ComputeMsg::Job(Box::new(job)));
    }

    /// The image was closed: its work stops and its pipelines are dropped.
    pub fn forget_doc(&self, doc_id: u64) {
        self.closed.insert(doc_id);
        let _ = self.compute.send(ComputeMsg::Forget(doc_id));
    }

    /// Starts a sweep, or with `None` stops the running one.
    pub fn sweep(&self, job: Option<RdJob>) {
        let _ = self.rd.send(job);
    }

    pub fn spawn_load(&self, request: u64, source: ImageSource) {
        let tx = self.tx.clone();
        let ctx = self.ctx.clone();
        let max_side = self.max_texture_side;
        std::thread::spawn(move || {
            let describe = source.describe();
            let event = match catch_unwind(AssertUnwindSafe(|| load(source, max_side))) {
                Ok(Ok(doc)) => Event::ImageLoaded { request, doc: Box::new(doc) },
                Ok(Err(error)) => Event::ImageFailed { request, source: describe, error },
                Err(panic) => Event::ImageFailed { request, source: describe, error: panic_message(&panic) },
            };
            let _ = tx.send(event);
            ctx.request_repaint();
        });
    }

    pub fn spawn_methods(
        &self,
        request: u64,
        scale: u32,
        family: CodecFamily,
        choice: DeviceChoice,
        user_models: Vec<PathBuf>,
        defaults: Vec<(methods::MethodKind, PathBuf)>,
    ) {
        let tx = self.tx.clone();
        let ctx = self.ctx.clone();
        std::thread::spawn(move || {
            let loaded = load_methods(request, scale, family, choice, &user_models, &defaults);
            let _ = tx.send(Event::MethodsLoaded(Box::new(loaded)));
            ctx.request_repaint();
        });
    }

    pub fn spawn_export(&self, job: ExportJob) {
        let tx = self.tx.clone();
        let ctx = self.ctx.clone();
        std::thread::spawn(move || {
            let dir = job.dir.clone();
            let result = catch_unwind(AssertUnwindSafe(|| export::run(&job)))
                .unwrap_or_else(|panic| Err(panic_message(&panic)));
            let _ = tx.send(Event::ExportDone { result, dir });
            ctx.request_repaint();
        });
    }
}

fn load(source: ImageSource, max_side: usize) -> Result<LoadedDoc, String> {
    let options = LoadOptions::default();
    let (name, path, rgb, warnings) = match source {
        ImageSource::Path(path) => {
            let loaded = image_io::load_image(&path, &options).map_err(|e| e.to_string())?;
            let name = file_stem(&path);
            (name, Some(path), loaded.rgb, loaded.warnings)
        }
        ImageSource::Bytes { name, bytes } => {
            let loaded = image_io::load_image_from_bytes(&bytes, Path::new(&name), &options)
                .map_err(|e| e.to_string())?;
            (file_stem(Path::new(&name)), None, loaded.rgb, loaded.warnings)
        }
        ImageSource::Pixels { name, rgb } => (name, None, Arc::unwrap_or_clone(rgb), Vec::new()),
    };
    if rgb.width() < 4 || rgb.height() < 4 {
        return Err(format!("{name}: image is {}x{}, too small to downscale ×4", rgb.width(), rgb.height()));
    }
    let display = display_image(&rgb, max_side);
    Ok(LoadedDoc { name, path, rgb: Arc::new(rgb), display, warnings })
}

pub fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into())
}

/// The image as a texture, downsampled if it exceeds what the GPU accepts.
pub fn display_image(rgb: &RgbImage, max_side: usize) -> ColorImage {
    let (w, h) = rgb.dimensions();
    let longest = w.max(h) as usize;
    if longest <= max_side || max_side == 0 {
        return colormap::to_color_image(rgb);
    }
    let f = max_side as f64 / longest as f64;
    let nw = ((w as f64 * f).floor() as u32).max(1);
    let nh = ((h as f64 * f).floor() as u32).max(1);
    colormap::to_color_image(&image::imageops::resize(rgb, nw, nh, image::imageops::FilterType::Triangle))
}

fn load_methods(
    request: u64,
    scale: u32,
    family: CodecFamily,
    choice: DeviceChoice,
    user_models: &[PathBuf],
    defaults: &[(methods::MethodKind, PathBuf)],
) -> MethodsLoaded {
    let (device, device_error) = device::open(choice);
    let methods = [methods::MethodKind::Bicubic, methods::MethodKind::Irn, methods::MethodKind::Sain]
        .into_iter()
        .map(|kind| {
            catch_unwind(AssertUnwindSafe(|| match defaults.iter().find(|(k, _)| *k == kind) {
                // The user's choice for this panel, labelled like a folder model.
                Some((_, path)) => match methods::load_network(path, &device) {
                    Ok(m) if m.kind != kind => Method {
                        key: format!("{}-x{scale}-default-wrong", kind.label().to_ascii_lowercase()),
                        kind,
                        label: crate::user_models::label_for(kind.label(), scale, path),
                        weights: Some(path.clone()),
                        rescaler: Err(format!("the chosen default {} is a {} model, not {}", path.display(), m.kind.label(), kind.label())),
                    },
                    Ok(mut m) => {
                        let scale = m.rescaler.as_ref().map(|r| r.scale()).unwrap_or(scale);
                        m.label = crate::user_models::label_for(kind.label(), scale, path);
                        m
                    }
                    Err(e) => Method {
                        key: format!("{}-x{scale}-default-failed", kind.label().to_ascii_lowercase()),
                        kind,
                        label: crate::user_models::label_for(kind.label(), scale, path),
                        weights: Some(path.clone()),
                        rescaler: Err(format!("the chosen default failed to load: {e}")),
                    },
                },
                None => methods::default_method(kind, scale, family.key(), &device),
            }))
                .unwrap_or_else(|panic| Method {
                    key: format!("{}-x{scale}-failed", kind.label().to_ascii_lowercase()),
                    kind,
                    label: format!("{} ×{scale}", kind.label()),
                    weights: None,
                    rescaler: Err(panic_message(&panic)),
                })
        })
        .collect();
    let user_models = user_models
        .iter()
        .map(|path| {
            let result = catch_unwind(AssertUnwindSafe(|| methods::load_network(path, &device)))
                .map_err(|panic| panic_message(&panic))
                .and_then(|r| r.map_err(|e| e.to_string()));
            (path.clone(), result)
        })
        .collect();
    MethodsLoaded { request, device, device_error, methods, user_models }
}

pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    if text.contains("not yet implemented") {
        "this part of the engine is not built yet (internal: not yet implemented)".into()
    } else {
        format!("internal error: {text}")
    }
}

/// The pipelines of one image: full resolution, and a small copy when the image is large.
struct DocPipelines {
    full: Pipeline,
    preview: Option<Pipeline>,
    pixels: u64,
}

/// Size of a `width × height` image scaled to about `PREVIEW_PIXELS` (never up, at least 8 px).
fn reduced_size(width: u32, height: u32) -> (u32, u32) {
    let f = (PREVIEW_PIXELS / (width as f64 * height as f64)).sqrt().min(1.0);
    (((width as f64 * f) as u32).max(8), ((height as f64 * f) as u32).max(8))
}

/// The image scaled to about `PREVIEW_PIXELS`.
fn reduced(image: &RgbImage) -> RgbImage {
    let (pw, ph) = reduced_size(image.width(), image.height());
    image::imageops::resize(image, pw, ph, image::imageops::FilterType::Triangle)
}

impl DocPipelines {
    fn new(image: &RgbImage) -> Self {
        let (w, h) = image.dimensions();
        let pixels = w as u64 * h as u64;
        let preview = (pixels > network_preview_above()).then(|| Pipeline::new(reduced(image)));
        Self { full: Pipeline::new(image.clone()), preview, pixels }
    }
}

/// What the compute thread does for one method of a job.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// The whole image at full resolution.
    Full,
    /// The whole image on the reduced copy.
    Preview,
    /// The region the user looks at, at full resolution.
    Region(Region),
}

/// The order of a job's work, so that what the user looks at comes first: the slow methods'
/// region (the crop or the zoomed-in view), the fast methods' whole images and their region,
/// then the slow methods on the reduced copy of a large image, then their whole images.
/// Methods whose current whole image the app already has only get their region (for its
/// metrics).
fn plan(job: &ComputeJob, pixels: u64, has_preview: bool) -> Vec<(&JobMethod, Step)> {
    let needs_full = |m: &&JobMethod| !job.have_full.contains(&m.key);
    let slow = |m: &&JobMethod| m.is_network || (has_preview && m.previewed(pixels));
    let region = job.region;
    let mut steps: Vec<(&JobMethod, Step)> = Vec::new();
    // Only the networks compute a region on its own; anything else would upscale its whole
    // image for it, so its region is cut from its whole image, below.
    if let Some(region) = region {
        steps.extend(job.methods.iter().filter(|m| m.is_network).map(|m| (m, Step::Region(region))));
    }
    steps.extend(job.methods.iter().filter(|m| !slow(m)).filter(needs_full).map(|m| (m, Step::Full)));
    if let Some(region) = region {
        steps.extend(job.methods.iter().filter(|m| !slow(m)).map(|m| (m, Step::Region(region))));
    }
    if has_preview {
        steps.extend(job.methods.iter().filter(slow).filter(|m| m.previewed(pixels)).filter(needs_full).map(|m| (m, Step::Preview)));
    }
    steps.extend(job.methods.iter().filter(slow).filter(needs_full).map(|m| (m, Step::Full)));
    // A region computed before its method's whole image is cut again from the whole image
    // afterwards, so the region's metrics end up those of the result on screen.
    if let Some(region) = region {
        steps.extend(job.methods.iter().filter(slow).filter(needs_full).map(|m| (m, Step::Region(region))));
    }
    steps
}

fn compute_loop(
    rx: Receiver<ComputeMsg>,
    tx: Sender<Event>,
    ctx: egui::Context,
    max_side: usize,
    busy: Arc<AtomicBool>,
    latest: Arc<AtomicU64>,
    closed: Closed,
) {
    let perceptual = PerceptualWorker::new(tx.clone(), ctx.clone(), max_side, latest.clone(), closed.clone());
    let mut docs: HashMap<u64, DocPipelines> = HashMap::new();
    let mut next: Option<Box<ComputeJob>> = None;
    // The last job's quality: which way the slider moves (`prefetch::neighbours`).
    let mut previous_quality: Option<u8> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match recv_releasing_memory(&rx) {
                Ok(ComputeMsg::Job(job)) => job,
                Ok(ComputeMsg::Forget(id)) => {
                    docs.remove(&id);
                    continue;
                }
                Err(_) => return,
            },
        };
        busy.store(true, Ordering::Relaxed);
        // Only the newest job matters: a slider drag queues many.
        let mut job = job;
        if let Some(newer) = drain_newest(&rx, &mut docs) {
            job = newer;
        }
        perceptual.yield_to(job.job_id);
        // A job queued before its image was closed: nothing to do (and no pipelines to make).
        if closed.contains(job.doc_id) {
            busy.store(false, Ordering::Relaxed);
            let _ = tx.send(Event::JobFinished { job_id: job.job_id });
            ctx.request_repaint();
            continue;
        }
        let pipelines = docs.entry(job.doc_id).or_insert_with(|| DocPipelines::new(&job.image));
        let steps = plan(&job, pipelines.pixels, pipelines.preview.is_some());
        let job_id = job.job_id;
        let stale = {
            let (latest, closed, doc_id) = (latest.clone(), closed.clone(), job.doc_id);
            move || latest.load(Ordering::Relaxed) > job_id || closed.contains(doc_id)
        };
        // Full-resolution results of this job, for the perceptual pass.
        let mut full_results: Vec<(&JobMethod, Arc<MethodView>)> = Vec::new();
        // Bicubic's full result: the networks' full results are mapped against it.
        let mut baseline: Option<Arc<MethodView>> = None;
        // The networks' regions come first (`plan`); the last of them is where the job's
        // crop is all on screen.
        let regions_shown = steps.iter().take_while(|(_, step)| matches!(step, Step::Region(_))).count().checked_sub(1);
        for (index, (method, step)) in steps.into_iter().enumerate() {
            if let Some(newer) = drain_newest(&rx, &mut docs) {
                let _ = tx.send(Event::JobFinished { job_id: job.job_id });
                next = Some(newer);
                break;
            }
            // The image was closed while the job ran: its pipelines are gone, and so is the job.
            let Some(pipelines) = docs.get_mut(&job.doc_id).filter(|_| !closed.contains(job.doc_id)) else {
                break;
            };
            if let Step::Region(region) = step {
                let plan = plan_of(&pipelines.full, method, &job, Some(region));
                let outcome = with_progress(&tx, &ctx, job.job_id, &method.key, plan, || {
                    crate::progress::with_cancel(stale.clone(), || run_region(&mut pipelines.full, method, &job, region, max_side))
                });
                // A region stopped for newer settings is not news.
                if outcome.is_ok() || !stale() {
                    let _ = tx.send(Event::Region(Box::new(RegionResult {
                        job_id: job.job_id,
                        doc_id: job.doc_id,
                        key: method.key.clone(),
                        outcome,
                    })));
                    ctx.request_repaint();
                }
                // Every region is on screen: the crop at the slider's next two positions
                // before the whole images, which take seconds more.
                if Some(index) == regions_shown {
                    next = prefetch_ahead(&rx, &mut docs, &job, previous_quality, 2, &stale);
                    if next.is_some() {
                        let _ = tx.send(Event::JobFinished { job_id: job.job_id });
                        break;
                    }
                }
                continue;
            }
            let preview = step == Step::Preview;
            let pipeline = match (preview, pipelines.preview.as_mut()) {
                (true, Some(p)) => p,
                _ => &mut pipelines.full,
            };
            let against = baseline.as_ref().filter(|_| method.is_network && !preview).map(|b| &b.output.reconstruction);
            let plan = plan_of(pipeline, method, &job, None);
            let outcome = with_progress(&tx, &ctx, job.job_id, &method.key, plan, || {
                crate::progress::with_cancel(stale.clone(), || run_one(pipeline, method, &job, preview, max_side, against))
            });
            if outcome.is_err() && stale() {
                continue; // stopped between tiles: the newer job is picked up above
            }
            if let (false, Ok(view)) = (preview, &outcome) {
                full_results.push((method, view.clone()));
                if !method.is_network {
                    baseline = Some(view.clone());
                }
            }
            let _ = tx.send(Event::Result(Box::new(ComputeResult {
                job_id: job.job_id,
                doc_id: job.doc_id,
                key: method.key.clone(),
                label: method.label.clone(),
                outcome,
            })));
            ctx.request_repaint();
        }
        if next.is_none() {
            // The perceptual metrics come last, so they never delay PSNR/SSIM, and on their own
            // threads, so that the next job need not wait for them (`perceptual_worker`). The
            // chart's sweep still waits for them (`busy`), as does the work ahead below.
            let passes = docs.get_mut(&job.doc_id).and_then(|p| perceptual_job(&mut p.full, &job, &full_results));
            match passes {
                Some(passes) => {
                    perceptual.submit(passes);
                    next = wait_for(&rx, &mut docs, || perceptual.finished(job.job_id));
                }
                None => {
                    let _ = tx.send(Event::JobFinished { job_id: job.job_id });
                    ctx.request_repaint();
                }
            }
            if next.is_none() {
                busy.store(false, Ordering::Relaxed);
                // Idle now: the rest of the slider's next positions, until a job arrives.
                next = prefetch_ahead(&rx, &mut docs, &job, previous_quality, usize::MAX, &stale);
            }
        }
        if let Some(q) = job.codec.quality() {
            previous_quality = Some(q.get());
        }
    }
}

/// Runs [`super::prefetch::run`] for `count` positions on `job`'s image until a message comes;
/// returns the newest job that came. The image's pipelines are taken out of `docs` meanwhile, so
/// that a Forget can still be applied (of this image: they are then dropped).
fn prefetch_ahead(
    rx: &Receiver<ComputeMsg>,
    docs: &mut HashMap<u64, DocPipelines>,
    job: &ComputeJob,
    previous_quality: Option<u8>,
    count: usize,
    stale: &(impl Fn() -> bool + Clone + 'static),
) -> Option<Box<ComputeJob>> {
    let mut pipelines = docs.remove(&job.doc_id)?;
    let (mut newer, mut forget_this) = (None, false);
    crate::progress::with_cancel(stale.clone(), || {
        super::prefetch::run(&mut pipelines.full, job, previous_quality, count, || {
            let came = drain_messages(rx, |id| {
                if id == job.doc_id {
                    forget_this = true;
                } else {
                    docs.remove(&id);
                }
            });
            newer = came.or(newer.take());
            newer.is_some() || forget_this || stale()
        })
    });
    if !forget_this {
        docs.insert(job.doc_id, pipelines);
    }
    newer
}

/// Takes every queued message, applying forgets, and returns the newest job if there is one.
fn drain_newest(rx: &Receiver<ComputeMsg>, docs: &mut HashMap<u64, DocPipelines>) -> Option<Box<ComputeJob>> {
    drain_messages(rx, |id| drop(docs.remove(&id)))
}

/// Takes every queued message, passing each Forget's image id to `forget`, and returns the
/// newest job if there is one.
fn drain_messages(rx: &Receiver<ComputeMsg>, mut forget: impl FnMut(u64)) -> Option<Box<ComputeJob>> {
    let mut newest = None;
    loop {
        match rx.try_recv() {
            Ok(ComputeMsg::Job(job)) => newest = Some(job),
            Ok(ComputeMsg::Forget(id)) => forget(id),
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return newest,
        }
    }
}

/// The perceptual passes of `job`'s full-resolution results, if it asks for them and has any.
fn perceptual_job(pipeline: &mut Pipeline, job: &ComputeJob, results: &[(&JobMethod, Arc<MethodView>)]) -> Option<PerceptualJob> {
    if !job.perceptual || results.is_empty() {
        return None;
    }
    let mut originals: Vec<(u32, Arc<RgbImage>)> = Vec::new();
    let mut passes = Vec::new();
    for (method, view) in results.iter().filter(|(m, _)| !job.have_perceptual.contains(&m.key)) {
        let scale = view.output.scale;
        let hr = match originals.iter().find(|(s, _)| *s == scale) {
            Some((_, hr)) => hr.clone(),
            None => match pipeline.hr(scale) {
                Ok((hr, _)) => {
                    let hr = Arc::new(hr.clone());
                    originals.push((scale, hr.clone()));
                    hr
                }
                Err(_) => continue, // its result could not have been computed either
            },
        };
        passes.push((method.key.clone(), hr, view.clone()));
    }
    (!passes.is_empty()).then(|| PerceptualJob { job_id: job.job_id, doc_id: job.doc_id, results: passes })
}

/// After this long with nothing to do, the freed memory the allocator keeps for the next pass
/// goes back to the system (`heap::release_freed_memory`).
const RELEASE_MEMORY_AFTER: Duration = Duration::from_secs(3);

/// The next message; once the thread has waited `RELEASE_MEMORY_AFTER` for it, the freed memory
/// of the last passes is handed back while it goes on waiting.
fn recv_releasing_memory(rx: &Receiver<ComputeMsg>) -> Result<ComputeMsg, std::sync::mpsc::RecvError> {
    match rx.recv_timeout(RELEASE_MEMORY_AFTER) {
        Ok(msg) => Ok(msg),
        Err(RecvTimeoutError::Disconnected) => Err(std::sync::mpsc::RecvError),
        Err(RecvTimeoutError::Timeout) => {
            crate::heap::release_freed_memory();
            rx.recv()
        }
    }
}

/// Waits until `done` holds, applying forgets, or until a job comes: returns the newest job.
fn wait_for(rx: &Receiver<ComputeMsg>, docs: &mut HashMap<u64, DocPipelines>, done: impl Fn() -> bool) -> Option<Box<ComputeJob>> {
    while !done() {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(ComputeMsg::Job(job)) => return drain_newest(rx, docs).or(Some(job)),
            Ok(ComputeMsg::Forget(id)) => drop(docs.remove(&id)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
    None
}

/// The vs-Bicubic map's top of scale: half the |error| heatmap's, in whole levels.
pub fn versus_full_scale(diff_full_scale: u8) -> u8 {
    (diff_full_scale / 2).max(1)
}

/// Runs `work` with its start, what it will run and its networks' tile progress sent to the app.
fn with_progress<R>(tx: &Sender<Event>, ctx: &egui::Context, job_id: u64, key: &str, plan: RunPlan, work: impl FnOnce() -> R) -> R {
    let started = Instant::now();
    let send = {
        let (tx, ctx, key) = (tx.clone(), ctx.clone(), key.to_string());
        move |progress: MethodProgress| {
            let _ = tx.send(Event::Progress { job_id, key: key.clone(), progress });
            ctx.request_repaint();
        }
    };
    send(MethodProgress { started, plan, pass: None });
    let mut pass_started = Instant::now();
    crate::progress::with_reporter(
        move |p| {
            if p.done == 0 {
                pass_started = Instant::now();
            }
            send(MethodProgress { started, plan, pass: Some(PassProgress { pass: p.pass, done: p.done, total: p.total, started: pass_started }) });
        },
        work,
    )
}

/// The network passes a step will make, and over how many HR pixels.
fn plan_of(pipeline: &Pipeline, method: &JobMethod, job: &ComputeJob, region: Option<Region>) -> RunPlan {
    let codec = job.target_bpp.is_none().then_some(job.codec);
    let passes = pipeline.passes_to_run(&method.key, method.rescaler.scale(), codec, &job.options);
    let (w, h) = pipeline.original().dimensions();
    let pixels = region.map_or(w as u64 * h as u64, |r| r.pixels());
    RunPlan { downscale: method.is_network && passes.downscale, upscale: method.is_network && passes.upscale, pixels }
}

fn run_one(
    pipeline: &mut Pipeline,
    method: &JobMethod,
    job: &ComputeJob,
    preview: bool,
    max_side: usize,
    baseline: Option<&RgbImage>,
) -> Result<Arc<MethodView>, String> {
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<MethodView, String> {
        let (output, size_match) = output_of(pipeline, method, job)?;
        let (hr, _) = pipeline.hr(output.scale).map_err(|e| e.to_string())?;
        let diff = colormap::diff_heatmap(hr, &output.reconstruction, job.diff_full_scale);
        // The map is extra: if it cannot be made, the result itself still stands.
        let versus = baseline.and_then(|b| crate::versus::error_gain(hr, b, &output.reconstruction).ok()).map(|gain| {
            let hotspot = gain.largest_difference(gain.default_block());
            (shrink_color_image(colormap::gain_map(&gain, versus_full_scale(job.diff_full_scale)), max_side), Versus { hotspot })
        });
        let (versus_map, versus) = versus.unzip();
        let hr_size = [hr.width(), hr.height()];
        let images = DisplayImages {
            recon: display_image(&output.reconstruction, max_side),
            lr: display_image(&output.compressed.decoded, max_side),
            diff: shrink_color_image(diff, max_side),
            versus: versus_map,
        };
        Ok(MethodView {
            images: Mutex::new(Some(images)),
            output,
            preview,
            hr_size,
            size_match,
            versus,
            compute_time: started.elapsed(),
        })
    }));
    match result {
        Ok(Ok(view)) => Ok(Arc::new(view)),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panic_message(&panic)),
    }
}

/// One method's reconstruction of the region, for this job's setting.
fn run_region(pipeline: &mut Pipeline, method: &JobMethod, job: &ComputeJob, region: Region, max_side: usize) -> Result<Arc<RegionView>, String> {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<RegionView, String> {
        let rescaler = method.rescaler.as_ref();
        let codec = match job.target_bpp {
            Some(bpp) => pipeline.size_matched(&method.key, rescaler, job.codec, bpp).map_err(|e| e.to_string())?.0,
            None => job.codec,
        };
        let output = pipeline.run_region(&method.key, rescaler, codec, &job.options, region).map_err(|e| e.to_string())?;
        Ok(RegionView { recon: display_image(&output.reconstruction, max_side), output })
    }));
    match result {
        Ok(Ok(view)) => Ok(Arc::new(view)),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panic_message(&panic)),
    }
}

/// The pipeline's result for this job's setting: at the job's quality, or at its target size.
fn output_of(pipeline: &mut Pipeline, method: &JobMethod, job: &ComputeJob) -> Result<(MethodOutput, Option<SizeMatch>), String> {
    let rescaler = method.rescaler.as_ref();
    match job.target_bpp {
        Some(bpp) => pipeline.run_at_size(&method.key, rescaler, job.codec, bpp, &job.options).map(|(o, m)| (o, Some(m))),
        None => pipeline.run(&method.key, rescaler, job.codec, &job.options).map(|o| (o, None)),
    }
    .map_err(|e| e.to_string())
}

pub(super) fn shrink_color_image(image: ColorImage, max_side: usize) -> ColorImage {
    let [w, h] = image.size;
    if w.max(h) <= max_side || max_side == 0 {
        return image;
    }
    // Nearest sampling: the heatmap is a map of where errors are, not a photo.
    let f = w.max(h) as f64 / max_side as f64;
    let nw = ((w as f64 / f) as usize).max(1);
    let nh = ((h as f64 / f) as usize).max(1);
    let mut pixels = Vec::with_capacity(nw * nh);
    for y in 0..nh {
        let sy = ((y as f64 * f) as usize).min(h - 1);
        for x in 0..nw {
            let sx = ((x as f64 * f) as usize).min(w - 1);
            pixels.push(image.pixels[sy * w + sx]);
        }
    }
    ColorImage::new([nw, nh], pixels)
}

fn rd_loop(rx: Receiver<Option<RdJob>>, tx: Sender<Event>, ctx: egui::Context, busy: Arc<AtomicBool>) {
    let mut pipelines: HashMap<(u64, bool), Pipeline> = HashMap::new();
    let mut next: Option<RdJob> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                Err(_) => return,
            },
        };
        // Keep only the open image's pipeline: the sweep fills its caches quickly.
        pipelines.retain(|(id, _), _| *id == job.doc_id);
        // The chart needs the curves' shapes: with networks on a large image it sweeps a reduced
        // copy (the chart says so), since a dozen full-resolution network runs take minutes.
        let pipeline = pipelines
            .entry((job.doc_id, job.reduced))
            .or_insert_with(|| Pipeline::new(if job.reduced { reduced(&job.image) } else { (*job.image).clone() }));
        let qualities = sweep_qualities(job.family, job.current_quality);
        let mut cancelled = false;
        'sweep: for quality in qualities {
            for method in &job.methods {
                // The chart is the lower priority: wait while the live view computes.
                let mut waited = 0;
                while busy.load(Ordering::Relaxed) && waited < 3000 {
                    std::thread::sleep(Duration::from_millis(10));
                    waited += 1;
                }
                match rx.try_recv() {
                    Ok(newer) => {
                        next = newer;
                        cancelled = true;
                        break 'sweep;
                    }
                    Err(TryRecvError::Disconnected) => return,
                    Err(TryRecvError::Empty) => {}
                }
                let codec = job.family.codec(quality.unwrap_or(100));
                let result = catch_unwind(AssertUnwindSafe(|| {
                    pipeline.run(&method.key, method.rescaler.as_ref(), codec, &job.options)
                }));
                let event = match result {
                    Ok(Ok(out)) => Event::RdPoint {
                        sweep_id: job.sweep_id,
                        key: method.key.clone(),
                        label: method.label.clone(),
                        quality: quality.unwrap_or(100),
                        bpp: out.bits_per_pixel,
                        psnr_y: out.metrics.psnr_y,
                    },
                    Ok(Err(e)) => Event::RdFailed { sweep_id: job.sweep_id, key: method.key.clone(), error: e.to_string() },
                    Err(panic) => {
                        Event::RdFailed { sweep_id: job.sweep_id, key: method.key.clone(), error: panic_message(&panic) }
                    }
                };
                let _ = tx.send(event);
                ctx.request_repaint();
            }
        }
        if !cancelled {
            let _ = tx.send(Event::RdFinished { sweep_id: job.sweep_id });
            ctx.request_repaint();
        }
    }
}
