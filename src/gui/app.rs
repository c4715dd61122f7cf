//! The app state and everything that changes it. Panels (under `panels/`) draw from this state
//! and push [`Action`]s; `apply` turns those into jobs for the worker threads, and `handle_event`
//! takes the threads' answers back. Nothing here waits on a thread.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Pos2, Rect, Vec2};

use crate::methods::{Method, MethodKind};
use crate::rescaler::{Rescaler, UpscaleOptions};

use super::documents::{Document, Ready, ResultKey, Results, Slot, IMAGE_TEXTURE};
use super::export::{ExportJob, ExportMethod};
use super::path_prompt::{PathPrompt, PromptPurpose};
use super::settings::{CodecFamily, DeviceChoice, DiffKind, LrDisplay, Settings, ViewMode, STORAGE_KEY};
use super::view::ViewState;
use super::worker::{rd_reduced, ComputeJob, Event, ImageSource, JobMethod, MethodsLoaded, RdJob, Workers};
use super::{device, panels, samples, GuiOptions};

/// A screenshot run gives up waiting for results after this long and shoots what it has.
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(600);
/// Information messages fade after this long; errors stay until dismissed.
const INFO_LIFETIME: Duration = Duration::from_secs(8);

/// Something the user asked for from a panel.
#[derive(Debug, Clone)]
pub enum Action {
    OpenDialog,
    Open(ImageSource),
    OpenSample(usize),
    PasteFromClipboard,
    SelectDoc(u64),
    CloseDoc(u64),
    LoadModelDialog,
    LoadModel(PathBuf),
    RemoveModel(PathBuf),
    ExportDialog,
    ExportTo(PathBuf),
    SetView(ViewMode),
    ToggleFocus(String),
    FitView,
    ClearCrop,
    /// Crop to this region (image pixels), e.g. where a network differs most from Bicubic.
    ZoomTo(Rect),
    ToggleDemo,
    /// Tab: the controls panel (in demo mode, for this demo only).
    ToggleControls,
    ToggleOverlays,
    /// W: zoom to where the networks and Bicubic differ most ("show me where it matters").
    ZoomToLargestDifference,
    ToggleHelp,
    ToggleAbout,
    DismissMessage(usize),
    /// Every message about the image on screen, at once.
    DismissShownMessages,
    /// The folded older messages: shown or folded again.
    ToggleMessages,
    RandomSeed,
    /// Esc: closes the topmost thing (help, focus, demo mode, crop).
    Escape,
    /// Number keys: maximise the n-th panel (0-based), `usize::MAX` for the grid.
    FocusNumber(usize),
    /// M: the maximised panel steps to the next method (the first method from the grid).
    StepFocus,
    PastedImage(Arc<egui::ColorImage>),
    /// Sessions (`.rlab`): save the comparison, or reopen one.
    SaveSessionDialog,
    SaveSession { path: PathBuf, replace: bool },
    OpenSessionDialog,
    OpenSession(PathBuf),
    /// Copy a model loaded by hand into the user models folder.
    KeepModel(PathBuf),
    RescanModels,
    ToggleWeightsHelp,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
    pub at: Instant,
    /// The image it is about (the active one when it was said), or `None` for what concerns
    /// no open image (a file that failed to open): shown only while that image is.
    pub doc: Option<u64>,
}

/// Messages shown at once above the panels; the rest fold into one line.
pub const MESSAGES_SHOWN: usize = 2;
/// A split or two-up side that follows the results: the network with the highest PSNR-Y
/// (`RescaleApp::best_network`).
pub const BEST_NETWORK: &str = "best";

/// What the methods list depends on; a change reloads it on a worker thread.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MethodsKey {
    pub scale: u32,
    pub family: CodecFamily,
    pub device: DeviceChoice,
    pub user_models: Vec<PathBuf>,
    /// Networks whose panel uses a chosen file instead of the shipped weights.
    pub defaults: Vec<(MethodKind, PathBuf)>,
}

pub struct MethodsState {
    pub key: Option<MethodsKey>,
    pub loaded: Option<Arc<MethodsLoaded>>,
    pub loading: Option<(u64, MethodsKey)>,
    cache: HashMap<MethodsKey, Arc<MethodsLoaded>>,
    /// Device errors already reported, so a failing GPU is said once, not at every reload.
    reported: HashSet<String>,
}

/// A method as the panels show it: runnable, or disabled with the reason.
#[derive(Clone)]
pub struct ShownMethod {
    pub key: String,
    pub label: String,
    pub kind: Option<MethodKind>,
    pub runnable: Result<Arc<dyn Rescaler>, String>,
    /// For user models: the file, so the panel can offer "remove".
    pub path: Option<PathBuf>,
}

/// What a compute job is for: settings, methods, and the region of interest.
type JobSignature = (ResultKey, Vec<String>, Option<crate::region::Region>);

#[derive(Debug, Clone, PartialEq)]
struct RdKey {
    doc_id: u64,
    family: CodecFamily,
    scale: u32,
    options_bits: (u32, u64),
    methods: Vec<String>,
}

#[derive(Default)]
pub struct RdCurve {
    pub label: String,
    /// (quality, bpp, PSNR-Y), kept sorted by quality.
    pub points: Vec<(u8, f64, f64)>,
    pub error: Option<String>,
}

#[derive(Default)]
pub struct RdState {
    sweep_id: u64,
    key: Option<RdKey>,
    pub curves: BTreeMap<String, RdCurve>,
    pub running: bool,
    /// Size of the reduced copy the sweep runs on, when it does not use the full image.
    pub reduced: Option<(u32, u32)>,
    /// Points the sweep computes in all, points in so far, and when it started.
    pub total_points: usize,
    pub done_points: usize,
    pub started: Option<Instant>,
}

impl RdState {
    /// "14/36 points · 20 s so far, about 31 s left" while the sweep runs.
    pub fn progress_text(&self, now: Instant) -> Option<String> {
        let started = self.started.filter(|_| self.running)?;
        let (done, total) = (self.done_points.min(self.total_points), self.total_points);
        let elapsed = now.saturating_duration_since(started);
        let mut text = format!("{done}/{total} points · {:.0} s so far", elapsed.as_secs_f64());
        // The sweep yields to the live view, so this is an estimate at the current pace.
        if let Some(left) = super::waits::time_left(elapsed, done, total) {
            text.push_str(&format!(", about {:.0} s left", left.as_secs_f64()));
        }
        Some(text)
    }
}

/// One panel of the comparison, ready to draw.
#[derive(Default)]
pub struct PanelDesc {
    /// "original", "lr" or a method key.
    pub id: String,
    pub title: String,
    pub lines: Vec<String>,
    pub image: Option<PanelImage>,
    /// Why there is no image (disabled, failed, still computing).
    pub note: Option<String>,
    pub is_error: bool,
    /// Shown result is for older settings; a newer one is being computed.
    pub updating: bool,
    /// Computed on the reduced copy of a large image.
    pub preview: bool,
    /// Highest PSNR-Y among the methods, compared like with like (see `best_badge`).
    pub best: bool,
    /// What the badge says: "best PSNR-Y" and at what size.
    pub badge: String,
    /// When `updating`: which setting the shown result is for, and which one is coming.
    pub stale_note: String,
    /// A wait of more than a moment: how long so far, and how long left when known.
    pub wait: Option<String>,
    /// A network against Bicubic, when both are current full-resolution results.
    pub delta: Option<super::versus::Delta>,
    /// The 8-bit pixels behind the image, for the inspector (not for previews or maps).
    pub pixels: Option<super::inspect::PixelSource>,
    /// The region computed first, drawn over `image` until the whole image is current.
    pub overlay: Option<PanelImage>,
    /// The region's metrics ("region 256×256: PSNR-Y …"), when a region is computed.
    pub region_text: Option<String>,
}

#[derive(Clone, Copy)]
pub struct PanelImage {
    pub texture: egui::TextureId,
    /// Where the texture goes, in HR image pixels.
    pub placement: Rect,
}

struct ScreenshotState {
    path: PathBuf,
    /// The size asked for: re-sent in the first frames, since without a window manager (Xvfb)
    /// the first size request is not always honoured.
    size: Option<(f32, f32)>,
    started: Instant,
    idle_frames: u32,
    requested: bool,
}

pub struct RescaleApp {
    pub settings: Settings,
    pub docs: Vec<Document>,
    pub active: Option<u64>,
    pub results: Results,
    pub perceptual: super::perceptual::PerceptualState,
    /// The region the user looks at, computed before the rest of the image.
    pub regions: super::region::RegionState,
    /// Open when a file dialog returned nothing: a typed path instead.
    pub path_prompt: Option<super::path_prompt::PathPrompt>,
    /// Per method key: the job it runs for, how far its latest step has got, and whether that
    /// step is still running (its region, preview or whole image may be in already).
    pub progress: HashMap<String, (u64, super::worker::MethodProgress, bool)>,
    /// Per method key: the job of the result on screen.
    results_jobs: HashMap<String, u64>,
    /// Per method key: how fast its last full-resolution run went, for the time-left estimates.
    paces: super::waits::Paces,
    pub methods: MethodsState,
    pub view: ViewState,
    pub rd: RdState,
    pub messages: Vec<Message>,
    /// Panel maximised with the number keys, or None for the grid.
    pub focus: Option<String>,
    pub demo: bool,
    /// Demo mode folds the controls away; Tab (or the handle drawn in their place) brings them
    /// back for this demo without changing the persisted setting.
    pub demo_controls: bool,
    /// O: the panels' pills and zoom badge hidden, for an audience.
    pub overlays_hidden: bool,
    /// Sizes the window to the screen in the first frames (see `new`).
    fit_to_screen: bool,
    /// The older messages, folded by default into one line.
    pub messages_expanded: bool,
    /// Loads of bundled samples in flight, by request: their documents remember which sample.
    sample_requests: HashMap<u64, usize>,
    /// A session being reopened, until its image has loaded.
    pub session_restore: Option<super::session::Restore>,
    /// Weight files found in the user models folder (at start-up, or read again).
    pub folder_models: Vec<PathBuf>,
    /// The user models folder of this run.
    pub user_models_dir: Option<PathBuf>,
    /// Help ▸ Get the official weights.
    pub weights_help_open: bool,
    /// Space is held: every panel shows the original.
    pub flip_to_original: bool,
    /// Whether the demo-mode UI zoom is applied (tracks `demo` one frame behind).
    pub demo_zoom: bool,
    pub help_open: bool,
    pub about_open: bool,
    pub files_hovering: bool,
    /// Rectangle of the first image panel last frame, for exports of a zoomed view.
    pub last_panel_rect: Option<Rect>,
    pub actions: Vec<Action>,

    workers: Workers,
    persist: bool,
    next_request: u64,
    loads_in_flight: HashSet<u64>,
    next_doc_id: u64,
    next_job_id: u64,
    submitted: Option<JobSignature>,
    /// Settings of each job still in flight, to label its results.
    job_keys: Vec<(u64, ResultKey)>,
    latest_job: u64,
    finished_job: u64,
    exports_in_flight: usize,
    screenshot: Option<ScreenshotState>,
    /// `gui --replay`: slider moves timed in the real app.
    pub replay: Option<super::replay::Replay>,
    frame: u64,
    /// RESCALE_LAB_GUI_DEBUG=1: log worker events and jobs to stderr.
    debug: bool,
}

impl RescaleApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: GuiOptions) -> Self {
        let persist = !options.fresh_settings && options.screenshot.is_none();
        let mut settings: Settings = if persist {
            cc.storage.and_then(|s| eframe::get_value(s, STORAGE_KEY)).unwrap_or_default()
        } else {
            Settings::default()
        };
        if let Some(over) = options.settings_override.clone() {
            settings = over;
        }
        if let Some(view) = options.view {
            settings.view = view;
        }
        if options.show_chart {
            settings.show_chart = true;
        }
        settings.sanitize();
        // A first start (no window remembered, no size asked for) fills the screen's work area:
        // the 1500×920 default leaves most of a 1920×1080 screen unused when no window manager
        // sizes the window, and cuts the table on a 1366×768 one.
        let fit_to_screen = options.window_size.is_none()
            && options.screenshot.is_none()
            && cc.storage.is_none_or(|s| s.get_string("window").is_none() || options.fresh_settings);
        legible_style(&cc.egui_ctx);
        let user_models_dir = options.user_models_dir.clone().or_else(crate::user_models::user_models_dir);
        // Capped so a huge photo does not take gigabytes of GPU memory across all panels.
        let max_side = cc.egui_ctx.input(|i| i.max_texture_side).clamp(2048, 8192);
        let workers = Workers::start(cc.egui_ctx.clone(), max_side);
        let mut app = Self {
            settings,
            docs: Vec::new(),
            active: None,
            results: Results::default(),
            perceptual: Default::default(),
            regions: Default::default(),
            path_prompt: None,
            progress: HashMap::new(),
            results_jobs: HashMap::new(),
            paces: Default::default(),
            methods: MethodsState {
                key: None,
                loaded: None,
                loading: None,
                cache: HashMap::new(),
                reported: HashSet::new(),
            },
            view: ViewState::default(),
            rd: RdState::default(),
            messages: Vec::new(),
            focus: None,
            demo: options.demo,
            demo_controls: false,
            overlays_hidden: false,
            fit_to_screen,
            messages_expanded: false,
            flip_to_original: false,
            session_restore: None,
            sample_requests: HashMap::new(),
            folder_models: user_models_dir.as_deref().map(crate::user_models::model_files).unwrap_or_default(),
            user_models_dir,
            weights_help_open: false,
            demo_zoom: false,
            help_open: false,
            about_open: false,
            files_hovering: false,
            last_panel_rect: None,
            actions: Vec::new(),
            workers,
            persist,
            next_request: 0,
            loads_in_flight: HashSet::new(),
            next_doc_id: 0,
            next_job_id: 0,
            submitted: None,
            job_keys: Vec::new(),
            latest_job: 0,
            finished_job: 0,
            exports_in_flight: 0,
            replay: (!options.replay.is_empty()).then(|| super::replay::Replay::new(options.replay.clone())),
            screenshot: options
                .screenshot
                .clone()
                .map(|path| ScreenshotState { path, size: options.window_size, started: Instant::now(), idle_frames: 0, requested: false }),
            frame: 0,
            debug: std::env::var_os("RESCALE_LAB_GUI_DEBUG").is_some(),
        };
        if let Some(session) = options.session.clone() {
            app.actions.push(Action::OpenSession(session));
        } else if options.images.is_empty() {
            if !options.start_empty {
                app.actions.push(Action::OpenSample(0));
            }
        } else {
            for path in options.images {
                if super::session::is_session_file(&path) {
                    app.actions.push(Action::OpenSession(path));
                } else {
                    app.actions.push(Action::Open(ImageSource::Path(path)));
                }
            }
        }
        app.apply_actions(&cc.egui_ctx);
        app
    }

    // ----- queries the panels and tests use -----

    pub fn active_doc(&self) -> Option<&Document> {
        self.active.and_then(|id| self.docs.iter().find(|d| d.id == id))
    }

    /// True when nothing is loading or computing and the shown results match the settings.
    pub fn is_idle(&self) -> bool {
        self.loads_in_flight.is_empty()
            && self.methods.loading.is_none()
            && self.exports_in_flight == 0
            && !self.is_computing()
            && (!self.settings.show_chart || !self.rd.running)
            && self.pending_submit().is_none()
    }

    pub fn is_computing(&self) -> bool {
        self.finished_job < self.latest_job
    }

    /// What the app is busy with, for the status bar; `None` only when nothing runs at all.
    pub fn activity(&self) -> Option<&'static str> {
        if self.is_loading() {
            Some("loading…")
        } else if self.is_computing() || self.pending_submit().is_some() {
            Some("computing…")
        } else if self.rd.running {
            Some("sweeping the chart…")
        } else if self.exports_in_flight > 0 {
            Some("exporting…")
        } else {
            None
        }
    }

    pub fn is_loading(&self) -> bool {
        !self.loads_in_flight.is_empty() || self.methods.loading.is_some()
    }

    pub fn exports_in_flight(&self) -> usize {
        self.exports_in_flight
    }

    pub fn errors(&self) -> Vec<String> {
        self.messages.iter().filter(|m| m.kind == MessageKind::Error).map(|m| m.text.clone()).collect()
    }

    pub fn device_label(&self) -> String {
        self.methods.loaded.as_ref().map(|l| device::describe(&l.device)).unwrap_or_else(|| "…".into())
    }

    pub fn current_key(&self) -> Option<ResultKey> {
        let doc_id = self.active?;
        Some(ResultKey {
            doc_id,
            scale: self.settings.scale,
            codec: self.settings.result_codec(),
            target_bpp_bits: self.settings.target_bpp().map(f64::to_bits),
            perceptual: self.settings.perceptual,
            temperature_bits: self.settings.temperature.to_bits(),
            seed: self.settings.seed,
            diff_full_scale: self.settings.diff_full_scale,
        })
    }

    fn methods_key(&self) -> MethodsKey {
        let defaults = self.chosen_defaults();
        // The folder's models first, then those loaded by hand (each file once); a file chosen
        // as a panel's default is that panel, not a second one.
        let mut user_models = self.folder_models.clone();
        user_models.extend(self.settings.user_models.iter().filter(|p| !self.folder_models.contains(p)).cloned());
        user_models.retain(|p| !defaults.iter().any(|(_, d)| d == p));
        MethodsKey {
            scale: self.settings.scale,
            family: self.settings.codec,
            device: self.settings.device,
            user_models,
            defaults,
        }
    }

    /// The chosen default models of the current scale.
    fn chosen_defaults(&self) -> Vec<(MethodKind, PathBuf)> {
        [MethodKind::Irn, MethodKind::Sain]
            .into_iter()
            .filter_map(|k| self.settings.default_model(k, self.settings.scale).map(|p| (k, p.clone())))
            .collect()
    }

    /// Files that can be `kind`'s default at the current scale: loaded models of that kind and
    /// scale, and the one chosen now, with their labels.
    pub fn default_candidates(&self, kind: MethodKind) -> Vec<(PathBuf, String)> {
        let scale = self.settings.scale;
        let mut out: Vec<(PathBuf, String)> = Vec::new();
        if let Some(loaded) = &self.methods.loaded {
            for (path, result) in &loaded.user_models {
                if let Ok(m) = result {
                    if m.kind == kind && m.rescaler.as_ref().is_ok_and(|r| r.scale() == scale) {
                        out.push((path.clone(), crate::user_models::label_for(kind.label(), scale, path)));
                    }
                }
            }
        }
        if let Some(current) = self.settings.default_model(kind, scale) {
            if !out.iter().any(|(p, _)| p == current) {
                out.insert(0, (current.clone(), crate::user_models::label_for(kind.label(), scale, current)));
            }
        }
        out
    }

    pub fn is_folder_model(&self, path: &Path) -> bool {
        self.folder_models.iter().any(|p| p == path)
    }

    /// The methods list, whether or not the user chose to show each (the controls need all).
    pub fn all_methods(&self) -> Vec<(ShownMethod, bool)> {
        let Some(loaded) = &self.methods.loaded else { return Vec::new() };
        let mut out = Vec::new();
        for m in &loaded.methods {
            out.push((shown_from(m, None, self.settings.scale), self.settings.shows_kind(m.kind)));
        }
        for (path, result) in &loaded.user_models {
            let shown = match result {
                Ok(m) if self.is_folder_model(path) => {
                    // "SAIN ×2 · SAINx2_JPEG.pth (official, JPEG-trained)"
                    let mut shown = shown_from(m, Some(path.clone()), self.settings.scale);
                    let scale = m.rescaler.as_ref().map(|r| r.scale()).unwrap_or(self.settings.scale);
                    shown.label = crate::user_models::label_for(m.kind.label(), scale, path);
                    shown
                }
                Ok(m) => shown_from(m, Some(path.clone()), self.settings.scale),
                Err(e) => ShownMethod {
                    key: format!("user:{}", path.display()),
                    label: path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                    kind: None,
                    runnable: Err(e.clone()),
                    path: Some(path.clone()),
                },
            };
            let visible = !self.settings.hidden_models.contains(&shown.key);
            out.push((shown, visible));
        }
        out
    }

    pub fn shown_methods(&self) -> Vec<ShownMethod> {
        self.all_methods().into_iter().filter(|(_, v)| *v).map(|(m, _)| m).collect()
    }

    pub(crate) fn runnable_methods(&self) -> Vec<JobMethod> {
        self.shown_methods()
            .into_iter()
            .filter_map(|m| {
                let is_network = m.kind != Some(MethodKind::Bicubic);
                m.runnable.ok().map(|rescaler| JobMethod { key: m.key, label: m.label, rescaler, is_network })
            })
            .collect()
    }

    /// The job the settings and the view call for, if it differs from the last one sent.
    fn pending_submit(&self) -> Option<JobSignature> {
        let key = self.current_key()?;
        if self.methods.key.as_ref() != Some(&self.methods_key()) {
            return None; // methods still loading; the job follows them
        }
        let keys: Vec<String> = self.runnable_methods().into_iter().map(|m| m.key).collect();
        let sig = (key, keys, self.job_region());
        (self.submitted.as_ref() != Some(&sig)).then_some(sig)
    }

    /// What the user is looking at, `[x, y, w, h]` in image pixels: the crop, or the part of
    /// the image the panels show when zoomed in; `None` when the whole image is in view.
    pub fn region_of_interest(&self) -> Option<[u32; 4]> {
        let size = self.active_doc()?.size();
        self.view.export_region(self.last_panel_rect, size)
    }

    /// Whether a method's whole-image result for the current settings is on screen with
    /// everything that follows it (perceptual metrics, when they are on).
    fn whole_result_complete(&self, key: &str) -> bool {
        self.current_full_result(key).is_some()
            && (!self.settings.perceptual || self.perceptual.current(key, self.current_key().as_ref()).is_some())
    }

    /// The region a job computes first (`super::region::job_region`).
    pub fn job_region(&self) -> Option<crate::region::Region> {
        let doc = self.active_doc()?;
        super::region::job_region(self.region_of_interest()?, self.settings.scale, doc.rgb.width(), doc.rgb.height())
    }

    /// A method's region result for the current settings and the current region.
    pub fn current_region(&self, key: &str) -> Option<&super::region::RegionSlot> {
        self.regions.current(key, self.current_key().as_ref(), self.job_region())
    }

    /// Resolves a split/LR choice ("original", "lr", a kind name or a key) to a panel id.
    pub fn resolve_panel_id(&self, choice: &str) -> Option<String> {
        if choice == "original" || choice == "lr" {
            return Some(choice.to_string());
        }
        if choice == BEST_NETWORK {
            return self.best_network();
        }
        let shown = self.shown_methods();
        shown
            .iter()
            .find(|m| m.key == choice)
            .or_else(|| shown.iter().find(|m| m.kind.map(|k| k.label().eq_ignore_ascii_case(choice)).unwrap_or(false)))
            .map(|m| m.key.clone())
    }

    /// The network with the highest PSNR-Y among the full-resolution results on screen (stale
    /// ones included, so that the choice changes when results land, not while they compute);
    /// SAIN, then the first network, before any is in.
    pub fn best_network(&self) -> Option<String> {
        let networks: Vec<ShownMethod> = self.shown_methods().into_iter().filter(|m| m.kind != Some(MethodKind::Bicubic) && m.runnable.is_ok()).collect();
        let psnr = |m: &ShownMethod| match self.results.slots.get(&m.key) {
            Some(Slot { outcome: Ok(r), .. }) if !r.view.preview => Some(r.view.output.metrics.psnr_y),
            _ => None,
        };
        networks
            .iter()
            .filter_map(|m| psnr(m).map(|p| (m, p)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(m, _)| m)
            .or_else(|| networks.iter().find(|m| m.kind == Some(MethodKind::Sain)))
            .or(networks.first())
            .map(|m| m.key.clone())
    }

    /// The two panels the split view compares: the chosen ones when they can be shown, else the
    /// first method against the original (a method with no weights cannot be a side).
    pub fn split_ids(&self) -> (String, String) {
        let available: Vec<String> = self
            .panel_descs()
            .into_iter()
            .filter(|d| d.image.is_some() || d.note.as_deref() == Some("computing…"))
            .map(|d| d.id)
            .collect();
        let pick = |choice: &str| self.resolve_panel_id(choice).filter(|id| available.contains(id));
        let first_method = available.iter().find(|id| *id != "original" && *id != "lr").cloned();
        let left = pick(&self.settings.split_left).or(first_method).unwrap_or_else(|| "lr".into());
        let right = pick(&self.settings.split_right)
            .filter(|id| id != &left)
            .unwrap_or_else(|| if left == "original" { "lr".into() } else { "original".into() });
        (left, right)
    }

    /// Whose LR the LR panel shows.
    pub fn lr_source_key(&self) -> Option<String> {
        if self.settings.lr_source != "auto" {
            if let Some(key) = self.resolve_panel_id(&self.settings.lr_source) {
                if self.results.slots.contains_key(&key) {
                    return Some(key);
                }
            }
        }
        // The networks' LR is the interesting one (it hides information); bicubic's otherwise.
        let shown = self.shown_methods();
        let ready = |m: &&ShownMethod| matches!(self.results.slots.get(&m.key), Some(Slot { outcome: Ok(_), .. }));
        shown
            .iter()
            .filter(ready)
            .find(|m| m.kind != Some(MethodKind::Bicubic))
            .or_else(|| shown.iter().find(ready))
            .map(|m| m.key.clone())
    }

    pub fn slot_is_stale(&self, slot: &Slot) -> bool {
        self.current_key().as_ref() != Some(&slot.key)
    }

    /// The panels of the grid, in order: Original, compressed LR, then each shown method.
    pub fn panel_descs(&self) -> Vec<PanelDesc> {
        let Some(doc) = self.active_doc() else { return Vec::new() };
        let size = doc.size();
        let mut panels = Vec::new();
        panels.push(PanelDesc {
            id: "original".into(),
            title: "Original".into(),
            lines: vec![
                format!("{} · {}×{}", doc.name, doc.rgb.width(), doc.rgb.height()),
                "reference for the metrics".into(),
            ],
            image: Some(PanelImage { texture: doc.texture.id(), placement: Rect::from_min_size(Pos2::ZERO, size) }),
            pixels: Some(super::inspect::PixelSource::Image(doc.rgb.clone())),
            ..Default::default()
        });

        let lr_slot = self.lr_source_key().and_then(|k| self.results.slots.get(&k).map(|s| (k, s)));
        let mut lr_panel = PanelDesc {
            id: "lr".into(),
            title: "Compressed LR".into(),
            lines: vec![String::new(), String::new()],
            note: Some(if self.is_computing() || self.is_loading() { "computing…".into() } else { "no method ready".into() }),
            ..Default::default()
        };
        if let Some((_, slot)) = lr_slot {
            if let Ok(ready) = &slot.outcome {
                let o = &ready.view.output;
                let hr = self.result_extent(&ready.view);
                let lr_size = hr / o.scale as f32;
                let placement = match self.settings.lr_display {
                    LrDisplay::UpscaledNearest => Rect::from_min_size(Pos2::ZERO, hr),
                    LrDisplay::OwnSize => Rect::from_center_size((hr / 2.0).to_pos2(), lr_size),
                };
                lr_panel.title = format!("Compressed LR ({}, {})", slot.label, codec_text(&o.codec));
                lr_panel.lines = vec![
                    format!(
                        "{}×{} · {} · {:.3} bpp",
                        o.lr.width(),
                        o.lr.height(),
                        bytes_text(o.compressed_bytes()),
                        o.bits_per_pixel
                    ),
                    format!(
                        "downscale {} · codec {}",
                        ms_text(o.timings.downscale),
                        ms_text(o.timings.codec)
                    ),
                ];
                if ready.view.preview {
                    // The reduced copy's LR: its size and bytes are not the image's.
                    lr_panel.lines = vec![
                        format!("≈ LR of a {} preview copy: {}×{} · {:.2} bpp", preview_size_text(&ready.view), o.lr.width(), o.lr.height(), o.bits_per_pixel),
                        "the full image's LR follows".into(),
                    ];
                }
                lr_panel.image = Some(PanelImage { texture: ready.lr.id(), placement });
                lr_panel.note = None;
                lr_panel.updating = self.slot_is_stale(slot);
                lr_panel.stale_note = self.stale_note(slot);
                lr_panel.preview = ready.view.preview;
                if !ready.view.preview && self.settings.lr_display == LrDisplay::UpscaledNearest {
                    lr_panel.pixels = Some(super::inspect::PixelSource::Lr(ready.view.clone()));
                }
            }
        }
        panels.push(lr_panel);

        let best = self.best_badge();
        for m in self.shown_methods() {
            let mut desc = PanelDesc {
                id: m.key.clone(),
                title: m.label.clone(),
                lines: vec![String::new(), String::new()],
                wait: self.wait_of(&m.key),
                delta: super::versus::delta(self, &m.key),
                ..Default::default()
            };
            match (&m.runnable, self.results.slots.get(&m.key)) {
                // Unavailable methods get a line above the grid, not a panel of empty space.
                (Err(_), _) => continue,
                (Ok(_), None) => desc.note = Some("computing…".into()),
                (Ok(_), Some(slot)) => {
                    desc.updating = self.slot_is_stale(slot);
                    desc.stale_note = self.stale_note(slot);
                    match &slot.outcome {
                        Ok(ready) => {
                            let hr = self.result_extent(&ready.view);
                            let current = self.current_key();
                            let butteraugli = self.perceptual.current(&m.key, current.as_ref()).and_then(|p| p.outcome.as_ref().ok());
                            let texture = match (self.settings.view, self.settings.diff_kind) {
                                (ViewMode::Difference, DiffKind::Butteraugli) => butteraugli.map(|(_, map)| map),
                                (ViewMode::Difference, DiffKind::Error) => Some(&ready.diff),
                                (ViewMode::Difference, DiffKind::VsBicubic) => ready.versus.as_ref(),
                                _ => Some(&ready.recon),
                            };
                            match texture {
                                Some(t) => desc.image = Some(PanelImage { texture: t.id(), placement: Rect::from_min_size(Pos2::ZERO, hr) }),
                                None => desc.note = Some(match self.settings.diff_kind {
                                    DiffKind::VsBicubic if m.kind == Some(MethodKind::Bicubic) => "the reference of this map".into(),
                                    DiffKind::VsBicubic if ready.view.preview => "vs-Bicubic map: after the full-resolution result".into(),
                                    DiffKind::VsBicubic => "vs-Bicubic map: needs Bicubic shown".into(),
                                    _ => "Butteraugli map: computing…".into(),
                                }),
                            }
                            desc.lines = metric_lines(&ready.view);
                            desc.lines.push(self.perceptual.line(&m.key, current.as_ref(), self.settings.perceptual));
                            desc.preview = ready.view.preview;
                            if !ready.view.preview && self.settings.view != ViewMode::Difference {
                                desc.pixels = Some(super::inspect::PixelSource::Reconstruction(ready.view.clone()));
                            }
                            if let Some((key, badge)) = &best {
                                desc.best = key == &m.key && !desc.updating;
                                desc.badge = badge.clone();
                            }
                        }
                        Err(e) => {
                            desc.note = Some(format!("failed: {e}"));
                            desc.lines = vec!["failed".into(), String::new()];
                            desc.is_error = true;
                        }
                    }
                }
            }
            if let (Ok(_), Some(region)) = (&m.runnable, self.current_region(&m.key)) {
                desc.region_text = Some(region.metrics_text());
                // Until the whole image is current, the fresh region is drawn over what is shown;
                // not over a whole image that failed (its note must stay visible).
                let failed = matches!(self.results.slots.get(&m.key), Some(slot @ Slot { outcome: Err(_), .. }) if !self.slot_is_stale(slot));
                if self.current_full_result(&m.key).is_none() && !failed && self.settings.view != ViewMode::Difference {
                    desc.overlay = Some(PanelImage { texture: region.texture.id(), placement: region.placement() });
                    desc.region_text = Some(format!("{} · rest of the image computing", region.metrics_text()));
                    desc.pixels = None; // the inspector would read the older image under the region
                }
            }
            panels.push(desc);
        }
        if self.flip_to_original {
            // Held Space: every panel shows the original, in place, to flip against.
            let original = (panels[0].image, panels[0].pixels.clone());
            for panel in panels.iter_mut().skip(1) {
                panel.title = format!("Original (Space held) · {}", panel.title);
                (panel.image, panel.pixels) = original.clone();
                panel.note = None;
                // Nothing of the method's stays over the original's picture.
                panel.lines = vec!["the original, while Space is held".into()];
                (panel.delta, panel.best, panel.preview, panel.updating, panel.wait) = (None, false, false, false, None);
                (panel.overlay, panel.region_text) = (None, None);
            }
        }
        panels
    }

    /// For a result that lags the settings (a fast drag): which setting it shows and which one
    /// is coming. Empty when it is current.
    pub fn stale_note(&self, slot: &Slot) -> String {
        match self.current_key() {
            Some(current) if self.slot_is_stale(slot) => {
                let (shown, coming) = (setting_text(&slot.key), setting_text(&current));
                if shown != coming {
                    format!("shows {shown}, computing {coming}")
                } else if slot.key.scale != current.scale {
                    format!("shows ×{}, computing ×{}", slot.key.scale, current.scale)
                } else {
                    "shows the previous settings, computing the new ones".to_string()
                }
            }
            _ => String::new(),
        }
    }

    /// Where a result is drawn, in original-image pixels: a preview (computed on a reduced copy)
    /// is stretched over the whole modcropped image, so it fills the panel at the panel's zoom
    /// like the full result will, instead of sitting as a thumbnail in a corner.
    pub fn result_extent(&self, view: &super::worker::MethodView) -> Vec2 {
        match (view.preview, self.active_doc()) {
            (true, Some(doc)) => {
                let scale = view.output.scale.max(1);
                let (w, h) = (doc.rgb.width(), doc.rgb.height());
                Vec2::new((w - w % scale) as f32, (h - h % scale) as f32)
            }
            _ => Vec2::new(view.hr_size[0] as f32, view.hr_size[1] as f32),
        }
    }

    /// A method's result when it is for the current settings and at full resolution: the only
    /// results whose numbers may be compared with each other.
    pub fn current_full_result(&self, key: &str) -> Option<&Ready> {
        match self.results.slots.get(key) {
            Some(slot @ Slot { outcome: Ok(r), .. }) if !self.slot_is_stale(slot) && !r.view.preview => Some(r),
            _ => None,
        }
    }

    /// The method with the highest PSNR-Y and the badge's text, only when every shown method has
    /// a current, full-resolution result: a preview's numbers are not comparable with a full
    /// result's. The text says at what size, and how much more the winner's LR costs than the
    /// smallest when that is more than 2 %.
    pub fn best_badge(&self) -> Option<(String, String)> {
        let mut results = Vec::new();
        for m in self.shown_methods().into_iter().filter(|m| m.runnable.is_ok()) {
            let r = self.current_full_result(&m.key)?;
            results.push((m.key.clone(), r.view.output.metrics.psnr_y, r.view.output.bits_per_pixel, m.label.clone()));
        }
        if results.len() < 2 {
            return None;
        }
        let (key, _, bpp, _) = results.iter().cloned().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let (_, _, smallest, smallest_label) = results.iter().cloned().min_by(|a, b| a.2.total_cmp(&b.2))?;
        let extra = (bpp / smallest - 1.0) * 100.0;
        let mut badge = format!("best PSNR-Y at {bpp:.3} bpp");
        if extra > 2.0 {
            // Named: the vs-Bicubic summary compares with Bicubic, this with the smallest LR.
            badge.push_str(&format!(", LR +{extra:.0} % bytes vs {smallest_label}'s"));
        }
        Some((key, badge))
    }

    /// How long the method's current run has taken and has left, once that is worth saying.
    /// A method of the newest job that has not started yet says which one it waits for, so
    /// that a panel still showing an older result is not taken for a hang.
    fn wait_of(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        if let Some((_, progress, _)) = self.progress.get(key).filter(|(job, _, running)| *running && *job > self.results_job_of(key)) {
            return super::waits::wait_text(progress, &self.paces.get(key), now);
        }
        // Only shown methods have panels, so `key` is one of them.
        if !self.is_computing() || self.current_full_result(key).is_some() {
            return None;
        }
        let (running, progress) = self
            .progress
            .iter()
            .filter(|(other, (job, p, running))| {
                other.as_str() != key && *running && *job == self.latest_job && now.saturating_duration_since(p.started) >= super::waits::QUIET_FOR
            })
            .map(|(other, (_, p, _))| (other, p))
            .next()?;
        let label = self.shown_methods().into_iter().find(|m| &m.key == running).map(|m| m.label)?;
        Some(match super::waits::method_time_left(progress, &self.paces.get(running), now) {
            Some(left) => format!("queued: {label} runs first, about {} left", super::waits::seconds(left)),
            None => format!("queued: {label} runs first"),
        })
    }

    /// A step of a method's job is in (its region, its preview or its whole image): its progress
    /// no longer describes what the method does next.
    fn step_done(&mut self, key: &str, job_id: u64) {
        if let Some((job, _, running)) = self.progress.get_mut(key) {
            if *job == job_id {
                *running = false;
            }
        }
    }

    /// The job whose result a method's panel shows (0 when none).
    fn results_job_of(&self, key: &str) -> u64 {
        self.results_jobs.get(key).copied().unwrap_or(0)
    }

    /// "IRN ×2: reason; SAIN ×2: reason" for the methods the user asked for that cannot run.
    pub fn unavailable_notice(&self) -> Option<String> {
        let reasons: Vec<String> = self
            .shown_methods()
            .into_iter()
            .filter_map(|m| m.runnable.err().map(|e| format!("{}: {e}", m.label)))
            .collect();
        (!reasons.is_empty()).then(|| format!("Unavailable: {}", reasons.join("; ")))
    }

    /// Panel ids in the order the number keys address them.
    pub fn visible_panel_ids(&self) -> Vec<String> {
        self.panel_descs().into_iter().map(|p| p.id).collect()
    }

    // ----- changing the state -----

    /// A message about no image in particular (a model, the device, a file that did not open).
    pub fn push_message(&mut self, kind: MessageKind, text: impl Into<String>) {
        self.push_message_about(None, kind, text);
    }

    /// A message about the image on screen (its export, its results): shown with it only.
    pub fn push_image_message(&mut self, kind: MessageKind, text: impl Into<String>) {
        self.push_message_about(self.active, kind, text);
    }

    /// A message about image `doc` (`None`: about no open image).
    pub fn push_message_about(&mut self, doc: Option<u64>, kind: MessageKind, text: impl Into<String>) {
        let text = text.into();
        // The same error from every method or every reload is said once.
        if let Some(i) = self.messages.iter().position(|m| m.text == text) {
            self.messages.remove(i);
        }
        self.messages.push(Message { kind, text, at: Instant::now(), doc });
        if self.messages.len() > 16 {
            self.messages.remove(0);
        }
    }

    /// Indices into `messages` of those about the image on screen (or about none), newest first.
    pub fn visible_messages(&self) -> Vec<usize> {
        (0..self.messages.len()).rev().filter(|&i| self.messages[i].doc.is_none() || self.messages[i].doc == self.active).collect()
    }

    /// Opens an image from any source; the drop, paste, dialog and CLI paths all end here.
    pub fn open(&mut self, source: ImageSource) {
        self.next_request += 1;
        self.loads_in_flight.insert(self.next_request);
        self.workers.spawn_load(self.next_request, source);
    }

    /// Files dropped on the window (or pushed into the input by a test): images are opened,
    /// checkpoints (.pth, .safetensors) are loaded as models.
    pub fn handle_dropped_files(&mut self, files: Vec<egui::DroppedFileHandle>) {
        for file in files {
            let path = file.path().to_path_buf();
            if crate::user_models::is_weight_file(&path) {
                self.actions.push(Action::LoadModel(path));
            } else if super::session::is_session_file(&path) {
                self.actions.push(Action::OpenSession(path));
            } else if !path.as_os_str().is_empty() && path.exists() {
                self.open(ImageSource::Path(path));
            } else {
                match file.bytes() {
                    Ok(bytes) => {
                        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "dropped image".into());
                        self.open(ImageSource::Bytes { name, bytes: bytes.into() });
                    }
                    Err(e) => self.push_message(MessageKind::Error, format!("Could not read the dropped file: {e}")),
                }
            }
        }
    }

    fn paste_clipboard(&mut self) {
        // arboard talks to the display server; it is quick, but a failure must not stop the UI.
        let result = arboard::Clipboard::new().and_then(|mut c| c.get_image());
        match result {
            Ok(img) => {
                let (w, h) = (img.width as u32, img.height as u32);
                let expected = img.width * img.height * 4;
                if img.bytes.len() != expected || w == 0 || h == 0 {
                    self.push_message(MessageKind::Error, "The clipboard image has an unexpected layout");
                    return;
                }
                let color = egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.bytes);
                self.open_pasted(&color);
            }
            Err(e) => {
                // A copied file path is as good as an image.
                let text = arboard::Clipboard::new().and_then(|mut c| c.get_text()).unwrap_or_default();
                if let Some(path) = path_from_text(&text) {
                    self.open(ImageSource::Path(path));
                } else {
                    self.push_message(MessageKind::Error, format!("No image on the clipboard ({e})"));
                }
            }
        }
    }

    fn open_pasted(&mut self, image: &egui::ColorImage) {
        let rgb = super::colormap::color_image_to_rgb(image);
        let n = self.docs.iter().filter(|d| d.name.starts_with("pasted")).count() + 1;
        self.open(ImageSource::Pixels { name: format!("pasted-{n}"), rgb: Arc::new(rgb) });
    }

    fn export_job(&self, dir: PathBuf) -> Result<ExportJob, String> {
        let doc = self.active_doc().ok_or("Open an image first")?;
        let key = self.current_key().ok_or("Open an image first")?;
        let mut methods = Vec::new();
        let mut lr_source = None;
        let lr_key = self.lr_source_key();
        for m in self.shown_methods() {
            if let Some(Slot { outcome: Ok(ready), key: slot_key, label }) = self.results.slots.get(&m.key) {
                if slot_key != &key {
                    return Err("Results are still updating; export when they are current".into());
                }
                if ready.view.preview {
                    return Err("Full-resolution results are still being computed; export when they are in".into());
                }
                if lr_key.as_deref() == Some(m.key.as_str()) {
                    lr_source = Some(methods.len());
                }
                let perceptual = self.perceptual.current(&m.key, Some(&key)).and_then(|p| p.outcome.as_ref().ok()).map(|(p, _)| *p);
                methods.push(ExportMethod { label: label.clone(), view: ready.view.clone(), perceptual });
            }
        }
        if methods.is_empty() {
            return Err("No results to export yet".into());
        }
        let hr = methods[0].view.hr_size;
        Ok(ExportJob {
            dir,
            image_name: doc.name.clone(),
            original: doc.rgb.clone(),
            scale: self.settings.scale,
            codec: self.settings.result_codec(),
            target_bpp: self.settings.target_bpp(),
            options: self.upscale_options(),
            device: self.device_label(),
            methods,
            lr_source,
            region: self.view.export_region(self.last_panel_rect, Vec2::new(hr[0] as f32, hr[1] as f32)),
        })
    }

    pub fn upscale_options(&self) -> UpscaleOptions {
        UpscaleOptions { temperature: self.settings.temperature, seed: self.settings.seed }
    }

    pub fn export_to(&mut self, dir: PathBuf) {
        // A typed relative folder is made absolute now: the summary, "Export again" and the
        // next session all name the folder it really went to, whatever the working directory.
        let dir = super::export::absolute(dir);
        match self.export_job(dir.clone()) {
            Ok(job) => {
                self.settings.export_dir = Some(dir);
                self.exports_in_flight += 1;
                self.workers.spawn_export(job);
            }
            Err(e) => self.push_image_message(MessageKind::Error, format!("Export: {e}")),
        }
    }

    pub fn apply_actions(&mut self, ctx: &egui::Context) {
        let actions = std::mem::take(&mut self.actions);
        for action in actions {
            self.apply(ctx, action);
        }
    }

    fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::OpenDialog => {
                let mut dialog = rfd::FileDialog::new()
                    .set_title("Open images")
                    .add_filter("Images", &["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"])
                    .add_filter("All files", &["*"]);
                if let Some(dir) = self.settings.recent.first().and_then(|p| p.parent()) {
                    dialog = dialog.set_directory(dir);
                }
                let picked = dialog.pick_files().unwrap_or_default();
                if picked.is_empty() {
                    let near = self.settings.recent.first().and_then(|p| p.parent()).map(|p| p.join(""));
                    self.path_prompt = Some(PathPrompt::new(PromptPurpose::OpenImage, near));
                }
                for path in picked {
                    self.open(ImageSource::Path(path));
                }
            }
            Action::Open(source) => self.open(source),
            Action::OpenSample(i) => {
                if let Some(sample) = samples::SAMPLES.get(i) {
                    self.open(ImageSource::Bytes { name: sample.file_name.into(), bytes: Arc::from(sample.bytes) });
                    self.sample_requests.insert(self.next_request, i);
                }
            }
            Action::PasteFromClipboard => self.paste_clipboard(),
            Action::SelectDoc(id) => {
                if self.docs.iter().any(|d| d.id == id) {
                    self.active = Some(id);
                    self.view.reset();
                }
            }
            Action::CloseDoc(id) => {
                self.docs.retain(|d| d.id != id);
                self.messages.retain(|m| m.doc != Some(id));
                self.workers.forget_doc(id);
                if self.active == Some(id) {
                    self.active = self.docs.last().map(|d| d.id);
                    self.view.reset();
                }
            }
            Action::LoadModelDialog => {
                match rfd::FileDialog::new()
                    .set_title("Load an IRN or SAIN checkpoint")
                    .add_filter("Checkpoints", &["pth", "pt", "safetensors"])
                    .pick_file()
                {
                    Some(path) => self.apply(ctx, Action::LoadModel(path)),
                    None => self.path_prompt = Some(PathPrompt::new(PromptPurpose::LoadModel, None)),
                }
            }
            Action::LoadModel(path) => {
                if !self.settings.user_models.contains(&path) {
                    self.settings.user_models.push(path);
                }
            }
            Action::RemoveModel(path) => self.settings.user_models.retain(|p| p != &path),
            Action::ExportDialog => {
                let mut dialog = rfd::FileDialog::new().set_title("Export to folder");
                if let Some(dir) = &self.settings.export_dir {
                    dialog = dialog.set_directory(dir);
                }
                match dialog.pick_folder() {
                    Some(dir) => self.export_to(dir),
                    None => {
                        // A default to accept with Enter: the last folder, else a named one in
                        // the user's pictures (never relative to an unstated working directory).
                        let default = self.settings.export_dir.clone().unwrap_or_else(super::export::default_dir);
                        self.path_prompt = Some(PathPrompt::new(PromptPurpose::ExportFolder, Some(default)));
                    }
                }
            }
            Action::ExportTo(dir) => self.export_to(dir),
            Action::SaveSessionDialog => {
                let dialog = rfd::FileDialog::new().set_title("Save the session").add_filter("rescale-lab session", &[super::session::EXTENSION]).set_file_name("comparison.rlab");
                match dialog.save_file() {
                    // The system dialog has asked before replacing a file.
                    Some(path) => self.apply(ctx, Action::SaveSession { path, replace: true }),
                    None => self.path_prompt = Some(PathPrompt::new(PromptPurpose::SaveSession, Some(PathBuf::from("comparison.rlab")))),
                }
            }
            Action::SaveSession { path, replace } => {
                // The dialog asked about the name as given: with the extension added, it is a
                // new name that nobody was asked about.
                let named = super::session::with_extension(path.clone());
                super::session::save(self, &named, replace && named == path)
            }
            Action::OpenSessionDialog => {
                match rfd::FileDialog::new().set_title("Open a session").add_filter("rescale-lab session", &[super::session::EXTENSION]).pick_file() {
                    Some(path) => self.apply(ctx, Action::OpenSession(path)),
                    None => self.path_prompt = Some(PathPrompt::new(PromptPurpose::OpenSession, None)),
                }
            }
            Action::OpenSession(path) => super::session::open(self, &path),
            Action::KeepModel(path) => super::user_folder::keep(self, &path),
            Action::RescanModels => super::user_folder::rescan(self),
            Action::ToggleWeightsHelp => self.weights_help_open = !self.weights_help_open,
            Action::SetView(mode) => self.settings.view = mode,
            Action::ToggleFocus(id) => {
                self.focus = if self.focus.as_deref() == Some(id.as_str()) { None } else { Some(id) };
            }
            Action::FitView => self.view.fit(),
            Action::ClearCrop => self.view.reset(),
            Action::ZoomTo(region) => {
                self.view.crop = Some(region);
                self.view.fit();
            }
            Action::ToggleDemo => {
                self.demo = !self.demo;
                self.demo_controls = false;
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.demo));
            }
            Action::ToggleOverlays => self.overlays_hidden = !self.overlays_hidden,
            Action::ZoomToLargestDifference => match super::versus::largest_difference(self) {
                Some(region) => self.apply(ctx, Action::ZoomTo(region)),
                None => self.push_image_message(MessageKind::Info, "Where it matters: needs Bicubic and a network, both with current full-resolution results"),
            },
            Action::ToggleControls if self.demo => self.demo_controls = !self.demo_controls,
            Action::ToggleControls => self.settings.controls_visible = !self.settings.controls_visible,
            Action::ToggleHelp => self.help_open = !self.help_open,
            Action::ToggleAbout => self.about_open = !self.about_open,
            Action::DismissShownMessages => {
                // Newest first, so each removal leaves the indices still to remove in place.
                for i in self.visible_messages() {
                    self.messages.remove(i);
                }
                self.messages_expanded = false;
            }
            Action::ToggleMessages => self.messages_expanded = !self.messages_expanded,
            Action::DismissMessage(i) => {
                if i < self.messages.len() {
                    self.messages.remove(i);
                }
            }
            Action::RandomSeed => {
                self.settings.seed = rand::random::<u32>() as u64;
            }
            Action::Escape => {
                if self.help_open {
                    self.help_open = false;
                } else if self.about_open {
                    self.about_open = false;
                } else if self.focus.is_some() {
                    self.focus = None;
                } else if self.demo {
                    self.apply(ctx, Action::ToggleDemo);
                } else {
                    self.view.reset();
                }
            }
            Action::StepFocus => {
                let methods: Vec<String> = self.shown_methods().into_iter().filter(|m| m.runnable.is_ok()).map(|m| m.key).collect();
                if !methods.is_empty() {
                    let next = match self.focus.as_ref().and_then(|f| methods.iter().position(|k| k == f)) {
                        Some(i) => (i + 1) % methods.len(),
                        None => 0,
                    };
                    self.focus = Some(methods[next].clone());
                }
            }
            Action::FocusNumber(n) => {
                if n == usize::MAX {
                    self.focus = None;
                } else if let Some(id) = self.visible_panel_ids().get(n).cloned() {
                    self.apply(ctx, Action::ToggleFocus(id));
                }
            }
            Action::PastedImage(image) => self.open_pasted(&image),
            Action::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    /// Takes the worker threads' answers.
    pub fn handle_events(&mut self, ctx: &egui::Context) {
        while let Ok(event) = self.workers.events.try_recv() {
            self.handle_event(ctx, event);
        }
    }

    fn handle_event(&mut self, ctx: &egui::Context, event: Event) {
        if self.debug {
            debug_event(&event, self.frame);
        }
        match event {
            Event::ImageLoaded { request, doc } => {
                self.loads_in_flight.remove(&request);
                self.next_doc_id += 1;
                let id = self.next_doc_id;
                let texture = ctx.load_texture(format!("original-{id}"), doc.display, IMAGE_TEXTURE);
                for w in &doc.warnings {
                    self.push_message_about(Some(id), MessageKind::Warning, format!("{}: {w}", doc.name));
                }
                if let Some(path) = &doc.path {
                    self.settings.add_recent(path.clone());
                }
                let sample = self.sample_requests.remove(&request);
                self.docs.push(Document { id, name: doc.name, path: doc.path, rgb: doc.rgb, texture, warnings: doc.warnings, sample });
                self.active = Some(id);
                self.view.reset();
                super::session::image_loaded(self, !self.loads_in_flight.is_empty());
            }
            Event::ImageFailed { request, source, error } => {
                self.loads_in_flight.remove(&request);
                super::session::image_loaded(self, !self.loads_in_flight.is_empty());
                let text = if error.contains(&source) { format!("Could not open: {error}") } else { format!("Could not open {source}: {error}") };
                self.push_message(MessageKind::Error, text);
            }
            Event::Result(result) => {
                let result = *result;
                if Some(result.doc_id) != self.active {
                    return;
                }
                self.results.clear_for(self.active);
                let Some(key) = self.job_key_of(result.job_id) else { return };
                self.step_done(&result.key, result.job_id);
                let is_preview = matches!(&result.outcome, Ok(view) if view.preview);
                let outcome = match result.outcome {
                    Ok(view) => {
                        let name = &result.key;
                        if !view.preview {
                            let pixels = view.hr_size[0] as u64 * view.hr_size[1] as u64;
                            self.paces.learn(name, pixels, view.compute_time, view.output.stages_run, view.output.timings);
                        }
                        match view.take_images() {
                            Some(images) => Ok(Ready {
                                recon: ctx.load_texture(format!("recon-{name}"), images.recon, IMAGE_TEXTURE),
                                lr: ctx.load_texture(format!("lr-{name}"), images.lr, IMAGE_TEXTURE),
                                diff: ctx.load_texture(format!("diff-{name}"), images.diff, IMAGE_TEXTURE),
                                versus: images.versus.map(|map| ctx.load_texture(format!("versus-{name}"), map, IMAGE_TEXTURE)),
                                view,
                            }),
                            None => Err(format!("{name}: its images were already taken")),
                        }
                    }
                    Err(e) => Err(e),
                };
                // A preview does not end the wait: the full pass of the same job follows it.
                if !is_preview {
                    self.results_jobs.insert(result.key.clone(), result.job_id);
                }
                self.results.slots.insert(result.key, Slot { label: result.label, key, outcome });
            }
            Event::Region(result) => {
                self.regions.clear_for(self.active);
                self.step_done(&result.key, result.job_id);
                if let Some(key) = self.job_key_of(result.job_id) {
                    self.regions.accept(ctx, *result, key);
                }
            }
            Event::Perceptual(result) => {
                self.perceptual.clear_for(self.active);
                if let Some(key) = self.job_key_of(result.job_id) {
                    self.perceptual.accept(ctx, *result, key);
                }
            }
            Event::Progress { job_id, key, progress } => {
                if self.job_key_of(job_id).is_some() {
                    self.progress.insert(key, (job_id, progress, true));
                }
            }
            Event::JobFinished { job_id } => {
                self.progress.retain(|_, (id, _, _)| *id > job_id);
                self.finished_job = self.finished_job.max(job_id);
                self.job_keys.retain(|(id, _)| *id >= job_id);
            }
            Event::MethodsLoaded(loaded) => {
                let Some((request, key)) = self.methods.loading.clone() else { return };
                if request != loaded.request {
                    return;
                }
                self.methods.loading = None;
                if let Some(e) = &loaded.device_error {
                    if self.methods.reported.insert(e.clone()) {
                        self.push_message(MessageKind::Error, e.clone());
                    }
                }
                for (path, result) in &loaded.user_models {
                    if let Err(e) = result {
                        let text = format!("Model {} failed to load: {e}", path.display());
                        if self.methods.reported.insert(text.clone()) {
                            self.push_message(MessageKind::Error, text);
                        }
                    }
                }
                let loaded: Arc<MethodsLoaded> = Arc::from(loaded);
                self.methods.cache.insert(key.clone(), loaded.clone());
                self.methods.key = Some(key);
                self.methods.loaded = Some(loaded);
            }
            Event::RdPoint { sweep_id, key, label, quality, bpp, psnr_y } => {
                if sweep_id != self.rd.sweep_id {
                    return;
                }
                self.rd.done_points += 1;
                let curve = self.rd.curves.entry(key).or_default();
                curve.label = label;
                curve.points.retain(|p| p.0 != quality);
                curve.points.push((quality, bpp, psnr_y));
                curve.points.sort_by_key(|p| p.0);
            }
            Event::RdFailed { sweep_id, key, error } => {
                if sweep_id == self.rd.sweep_id {
                    self.rd.done_points += 1;
                    self.rd.curves.entry(key).or_default().error = Some(error);
                }
            }
            Event::RdFinished { sweep_id } => {
                if sweep_id == self.rd.sweep_id {
                    self.rd.running = false;
                }
            }
            Event::ExportDone { result, dir } => {
                self.exports_in_flight = self.exports_in_flight.saturating_sub(1);
                match result {
                    Ok(files) => self.push_image_message(MessageKind::Info, super::export::summary(&files, &dir)),
                    Err(e) => self.push_image_message(MessageKind::Error, format!("Export failed: {e}")),
                }
            }
            Event::Screenshot(image) => self.save_screenshot(ctx, &image),
        }
    }

    fn job_key_of(&self, job_id: u64) -> Option<ResultKey> {
        self.job_keys.iter().find(|(id, _)| *id == job_id).map(|(_, k)| k.clone())
    }

    /// Sends the jobs the settings call for: methods list, comparison, chart sweep.
    pub fn schedule(&mut self) {
        let mkey = self.methods_key();
        if self.methods.key.as_ref() != Some(&mkey) {
            if let Some(cached) = self.methods.cache.get(&mkey).cloned() {
                self.methods.key = Some(mkey.clone());
                self.methods.loaded = Some(cached);
            } else if self.methods.loading.as_ref().map(|(_, k)| k) != Some(&mkey) {
                self.next_request += 1;
                self.methods.loading = Some((self.next_request, mkey.clone()));
                self.workers.spawn_methods(
                    self.next_request,
                    mkey.scale,
                    mkey.family,
                    mkey.device,
                    mkey.user_models.clone(),
                    mkey.defaults.clone(),
                );
            }
        }

        self.results.clear_for(self.active);
        self.perceptual.clear_for(self.active);
        self.regions.clear_for(self.active);
        if let Some((key, keys, region)) = self.pending_submit() {
            let (doc_id, image) = {
                let doc = self.active_doc().expect("current_key implies an active doc");
                (doc.id, doc.rgb.clone())
            };
            self.next_job_id += 1;
            let job = ComputeJob {
                job_id: self.next_job_id,
                doc_id,
                image,
                methods: self.runnable_methods(),
                codec: key.codec,
                target_bpp: self.settings.target_bpp(),
                perceptual: self.settings.perceptual,
                compute_ahead: self.settings.compute_ahead,
                options: self.upscale_options(),
                diff_full_scale: self.settings.diff_full_scale,
                region,
                // Every whole image (and its perceptual metrics) is on screen and current: a new
                // region needs only the region. Otherwise all run, served from the pipeline's
                // caches where they can, so that Bicubic's result is there for the networks'
                // vs-Bicubic map and every perceptual pass is made.
                have_full: if keys.iter().all(|k| self.whole_result_complete(k)) { keys.clone() } else { Vec::new() },
                have_perceptual: keys.iter().filter(|k| self.perceptual.current(k, Some(&key)).is_some()).cloned().collect(),
            };
            if self.debug {
                let names: Vec<&str> = job.methods.iter().map(|m| m.key.as_str()).collect();
                eprintln!("[gui {:.3}] job {} {:?} methods {names:?} region {:?} have {:?}", debug_clock(), job.job_id, key, job.region, job.have_full);
            }
            self.job_keys.push((self.next_job_id, key.clone()));
            self.latest_job = self.next_job_id;
            self.workers.submit(job);
            self.submitted = Some((key, keys, region));
        }

        self.schedule_rd();
    }

    fn schedule_rd(&mut self) {
        let wanted = if self.settings.show_chart { self.rd_key() } else { None };
        if wanted.is_none() {
            if self.rd.running {
                self.workers.sweep(None);
                self.rd.running = false;
                self.rd.key = None;
            }
            return;
        }
        if self.rd.key == wanted {
            return;
        }
        let key = wanted.expect("checked above");
        let (doc_id, image) = {
            let doc = self.active_doc().expect("rd_key implies an active doc");
            (doc.id, doc.rgb.clone())
        };
        let methods = self.runnable_methods();
        self.rd.sweep_id += 1;
        self.rd.curves.clear();
        self.rd.running = true;
        self.rd.reduced = rd_reduced(&methods, image.width(), image.height());
        self.rd.total_points = super::worker::sweep_qualities(key.family, self.settings.quality).len() * methods.len();
        self.rd.done_points = 0;
        self.rd.started = Some(Instant::now());
        self.workers.sweep(Some(RdJob {
            sweep_id: self.rd.sweep_id,
            doc_id,
            reduced: self.rd.reduced.is_some(),
            image,
            methods,
            family: key.family,
            current_quality: self.settings.quality,
            options: self.upscale_options(),
        }));
        self.rd.key = Some(key);
    }

    fn rd_key(&self) -> Option<RdKey> {
        let doc_id = self.active?;
        if self.methods.key.as_ref() != Some(&self.methods_key()) {
            return None;
        }
        Some(RdKey {
            doc_id,
            family: self.settings.codec,
            scale: self.settings.scale,
            options_bits: (self.settings.temperature.to_bits(), self.settings.seed),
            methods: self.runnable_methods().into_iter().map(|m| m.key).collect(),
        })
    }

    fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        // A text field takes every key, and so does the window that holds one even when its
        // field has lost the focus: a typed path must never switch views or start an export.
        if self.path_prompt.is_some() || ctx.text_edit_focused() {
            self.flip_to_original = false;
            return;
        }
        // Any other widget with the keyboard focus (a button reached with Tab, a slider) gives
        // it back: egui would walk its focus with Tab and the arrows, and the app's keys would
        // stop working after the first Tab. This pass runs before the widgets, so the walk that
        // this frame's Tab asked for is cancelled too.
        if ctx.egui_wants_keyboard_input() {
            ctx.memory_mut(|m| {
                m.stop_text_input();
                m.move_focus(egui::FocusDirection::None);
            });
        }
        self.flip_to_original = ctx.input(|i| i.key_down(egui::Key::Space));
        use egui::{Key, Modifiers};
        let mut actions = Vec::new();
        let s = &mut self.settings;
        ctx.input_mut(|i| {
            if i.consume_key(Modifiers::COMMAND, Key::O) {
                actions.push(Action::OpenDialog);
            }
            if i.consume_key(Modifiers::COMMAND, Key::E) {
                actions.push(Action::ExportDialog);
            }
            if i.consume_key(Modifiers::NONE, Key::F1) {
                actions.push(Action::ToggleHelp);
            }
            if i.consume_key(Modifiers::NONE, Key::F11) {
                actions.push(Action::ToggleDemo);
            }
            // Every press counts: quick presses can arrive several in one frame.
            let presses = |i: &mut egui::InputState, keys: &[(Modifiers, Key)]| -> i32 {
                keys.iter().map(|&(m, k)| i.count_and_consume_key(m, k) as i32).sum()
            };
            let up = presses(i, &[(Modifiers::NONE, Key::ArrowUp), (Modifiers::SHIFT, Key::ArrowUp), (Modifiers::NONE, Key::Plus), (Modifiers::NONE, Key::Equals)]);
            let down = presses(i, &[(Modifiers::NONE, Key::ArrowDown), (Modifiers::SHIFT, Key::ArrowDown), (Modifiers::NONE, Key::Minus)]);
            let right = presses(i, &[(Modifiers::NONE, Key::ArrowRight)]);
            let left = presses(i, &[(Modifiers::NONE, Key::ArrowLeft)]);
            let steps = 5 * (up - down) + (right - left);
            if steps != 0 {
                s.quality = (s.quality as i32 + steps).clamp(1, 100) as u8;
            }
            if i.consume_key(Modifiers::NONE, Key::X) {
                s.scale = match s.scale {
                    2 => 4,
                    4 => 8,
                    _ => 2,
                };
            }
            if i.consume_key(Modifiers::NONE, Key::C) {
                s.codec = s.codec.next();
            }
            if i.consume_key(Modifiers::NONE, Key::G) {
                s.view = ViewMode::Grid;
            }
            if i.consume_key(Modifiers::NONE, Key::S) {
                s.view = ViewMode::Split;
            }
            if i.consume_key(Modifiers::NONE, Key::D) {
                s.view = ViewMode::Difference;
            }
            if i.consume_key(Modifiers::NONE, Key::T) {
                s.view = ViewMode::TwoUp;
            }
            if i.consume_key(Modifiers::NONE, Key::O) {
                actions.push(Action::ToggleOverlays);
            }
            if i.consume_key(Modifiers::NONE, Key::W) {
                actions.push(Action::ZoomToLargestDifference);
            }
            if i.consume_key(Modifiers::NONE, Key::R) {
                s.show_chart = !s.show_chart;
            }
            if i.consume_key(Modifiers::NONE, Key::Tab) {
                actions.push(Action::ToggleControls);
            }
            if i.consume_key(Modifiers::NONE, Key::F) {
                actions.push(Action::FitView);
            }
            if i.consume_key(Modifiers::NONE, Key::E) {
                match s.export_dir.clone() {
                    Some(dir) => actions.push(Action::ExportTo(dir)),
                    None => actions.push(Action::ExportDialog),
                }
            }
            if i.consume_key(Modifiers::NONE, Key::Escape) {
                actions.push(Action::Escape);
            }
            let digits = [Key::Num1, Key::Num2, Key::Num3, Key::Num4, Key::Num5, Key::Num6, Key::Num7, Key::Num8, Key::Num9];
            for (n, key) in digits.iter().enumerate() {
                if i.consume_key(Modifiers::NONE, *key) {
                    actions.push(Action::FocusNumber(n));
                }
            }
            if i.consume_key(Modifiers::NONE, Key::Num0) {
                actions.push(Action::FocusNumber(usize::MAX));
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::M) {
                actions.push(Action::StepFocus);
            }
            for event in &i.events {
                match event {
                    egui::Event::Text(t) if t == "?" => actions.push(Action::ToggleHelp),
                    egui::Event::PasteImage(image) => actions.push(Action::PastedImage(image.clone())),
                    egui::Event::Paste(text) => {
                        if let Some(path) = path_from_text(text) {
                            actions.push(Action::Open(ImageSource::Path(path)));
                        }
                    }
                    _ => {}
                }
            }
        });
        self.actions.extend(actions);
    }

    /// Once the monitor's size is known: maximised where a window manager knows the work area,
    /// and sized to the whole screen where none does (then there are no panels to leave room for).
    fn fit_window_to_screen(&mut self, ctx: &egui::Context) {
        if !self.fit_to_screen || self.frame < 2 {
            return;
        }
        let Some(monitor) = ctx.input(|i| i.viewport().monitor_size).filter(|m| m.x > 0.0 && m.y > 0.0) else {
            // No monitor reported yet (or ever, as in tests): try again for a few frames.
            self.fit_to_screen = self.frame < 30;
            return;
        };
        self.fit_to_screen = false;
        ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(Pos2::ZERO));
        ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(monitor));
        ctx.send_viewport_cmd(egui::ViewportCommand::Maximized(true));
    }

    fn update_screenshot(&mut self, ctx: &egui::Context) {
        // Nothing to show but an error (a file or session that failed to open) is final too:
        // a scripted run must end, with the error in the picture and on stderr.
        let idle = self.is_idle() && (self.active.is_some() || !self.errors().is_empty());
        let Some(shot) = &mut self.screenshot else { return };
        if shot.requested {
            return;
        }
        if let (Some((w, h)), true) = (shot.size, self.frame <= 3) {
            // The size is meant in screen points before the app's own zoom (demo mode's 1.5×),
            // which the viewport command would otherwise multiply in.
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(w, h) / ctx.zoom_factor()));
        }
        shot.idle_frames = if idle { shot.idle_frames + 1 } else { 0 };
        // A few idle frames so freshly uploaded textures and the layout have settled.
        if shot.idle_frames >= 5 || shot.started.elapsed() > SCREENSHOT_TIMEOUT {
            shot.requested = true;
            let tx = self.workers.sender();
            let repaint = ctx.clone();
            ctx.request_screenshot(move |image| {
                let _ = tx.send(Event::Screenshot(image));
                repaint.request_repaint();
            });
        }
        ctx.request_repaint();
    }

    fn save_screenshot(&mut self, ctx: &egui::Context, image: &egui::ColorImage) {
        let Some(shot) = &self.screenshot else { return };
        let [w, h] = image.size;
        let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_srgba_unmultiplied()).collect();
        let result = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
            .ok_or_else(|| "screenshot has an unexpected size".to_string())
            .and_then(|img| {
                let rgb = image::DynamicImage::ImageRgba8(img).to_rgb8();
                rgb.save(&shot.path).map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => eprintln!("screenshot saved to {}", shot.path.display()),
            Err(e) => eprintln!("could not save the screenshot to {}: {e}", shot.path.display()),
        }
        if self.active.is_none() {
            for error in self.errors() {
                eprintln!("error: {error}");
            }
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    fn expire_messages(&mut self) {
        self.messages.retain(|m| m.kind == MessageKind::Error || m.at.elapsed() < INFO_LIFETIME);
    }
}

impl eframe::App for RescaleApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.frame += 1;
        self.handle_events(ctx);
        let (hovering, dropped) = ctx.input(|i| (!i.raw.hovered_files.is_empty(), i.raw.dropped_files.clone()));
        self.files_hovering = hovering;
        if !dropped.is_empty() {
            self.handle_dropped_files(dropped);
        }
        self.handle_shortcuts(ctx);
        self.apply_actions(ctx);
        self.schedule();
        self.expire_messages();
        self.update_screenshot(ctx);
        self.fit_window_to_screen(ctx);
        if super::replay::step(self) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else if self.replay.is_some() && self.is_idle() {
            // An idle app draws no frames; the replay needs them to make its next move. Only
            // then: frames cost ~40 ms of CPU each under software rendering, and more of them
            // while the passes run would slow what is measured.
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        // Spinners and "updating" marks need frames while threads work (a few a second: see
        // `busy`); idle costs nothing.
        if !self.is_idle() || self.messages.iter().any(|m| m.kind != MessageKind::Error) {
            ctx.request_repaint_after(crate::gui::busy::FRAME_INTERVAL);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        panels::show(self, ui);
        let ctx = ui.ctx().clone();
        self.apply_actions(&ctx);
        self.schedule();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, STORAGE_KEY, &self.settings);
        }
    }
}

/// Hints and footnotes must read on a projector too: egui's small text (9 pt) and dimmed grey
/// are raised to 11 pt and a lighter grey.
fn legible_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        if let Some(small) = style.text_styles.get_mut(&egui::TextStyle::Small) {
            small.size = small.size.max(11.0);
        }
        if style.visuals.dark_mode {
            style.visuals.weak_text_color = Some(egui::Color32::from_gray(165));
        }
    });
}

/// Seconds since the epoch, to 0.001 s: the debug log's clock.
fn debug_clock() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn debug_event(event: &Event, frame: u64) {
    let t = debug_clock();
    match event {
        Event::Region(r) => eprintln!(
            "[gui {t:.3}] region job {} {}: {}",
            r.job_id,
            r.key,
            match &r.outcome {
                Ok(v) => format!(
                    "{:?} psnr_y {:?} upscale {:?} from_whole {} from_cache {}",
                    v.output.region,
                    v.output.metrics.map(|m| m.psnr_y),
                    v.output.upscale,
                    v.output.from_whole,
                    v.output.from_cache
                ),
                Err(e) => format!("error {e}"),
            }
        ),
        Event::ImageLoaded { request, doc } => eprintln!("[gui {t:.3}] loaded #{request} {}", doc.name),
        Event::ImageFailed { request, error, .. } => eprintln!("[gui {t:.3}] load #{request} failed: {error}"),
        Event::Result(r) => eprintln!(
            "[gui {t:.3}] result job {} {}: {}",
            r.job_id,
            r.key,
            match &r.outcome {
                Ok(v) => format!("psnr_y {:.2} preview {} timings {:?}", v.output.metrics.psnr_y, v.preview, v.output.timings),
                Err(e) => format!("error {e}"),
            }
        ),
        Event::Perceptual(p) => eprintln!(
            "[gui {t:.3}] job {} {} perceptual {:?}",
            p.job_id,
            p.key,
            p.outcome.as_ref().map(|(m, _)| (m.ssimulacra2, m.butteraugli))
        ),
        Event::JobFinished { job_id } => eprintln!("[gui {t:.3}] job {job_id} finished (frame {frame})"),
        Event::Progress { job_id, key, progress } => eprintln!("[gui {t:.3}] job {job_id} {key} progress {:?}", progress.pass),
        Event::MethodsLoaded(m) => eprintln!(
            "[gui {t:.3}] methods: {:?}",
            m.methods.iter().map(|m| (m.key.clone(), m.rescaler.as_ref().err().cloned())).collect::<Vec<_>>()
        ),
        Event::RdPoint { key, quality, .. } => eprintln!("[gui {t:.3}] rd {key} q{quality}"),
        Event::RdFinished { sweep_id } => eprintln!("[gui {t:.3}] rd sweep {sweep_id} done"),
        Event::RdFailed { key, error, .. } => eprintln!("[gui {t:.3}] rd {key} failed: {error}"),
        Event::ExportDone { result, .. } => eprintln!("[gui {t:.3}] export: {:?}", result.as_ref().map(|f| f.len())),
        Event::Screenshot(_) => eprintln!("[gui {t:.3}] screenshot"),
    }
}

fn shown_from(m: &Method, path: Option<PathBuf>, scale: u32) -> ShownMethod {
    let runnable = match &m.rescaler {
        Ok(r) if r.scale() != scale => Err(format!("trained for ×{}; switch the scale to ×{}", r.scale(), r.scale())),
        Ok(r) => Ok(r.clone()),
        Err(e) => Err(e.clone()),
    };
    ShownMethod { key: m.key.clone(), label: m.label.clone(), kind: Some(m.kind), runnable, path }
}


/// A path pasted as text ("/home/me/a.png" or "file:///home/me/a.png"), if it names a file.
fn path_from_text(text: &str) -> Option<PathBuf> {
    let line = text.lines().next()?.trim();
    let line = line.strip_prefix("file://").unwrap_or(line);
    let path = PathBuf::from(line);
    path.is_file().then_some(path)
}

/// The compression setting a result was computed for: "JPEG q62" or "JPEG ≤0.500 bpp".
pub fn setting_text(key: &ResultKey) -> String {
    match (key.target_bpp_bits.map(f64::from_bits), key.codec) {
        (Some(bpp), crate::codec::Codec::Jpeg { .. }) => format!("JPEG ≤{bpp:.3} bpp"),
        (Some(bpp), crate::codec::Codec::Webp { .. }) => format!("WebP ≤{bpp:.3} bpp"),
        _ => codec_text(&key.codec),
    }
}

pub fn codec_text(codec: &crate::codec::Codec) -> String {
    match codec {
        crate::codec::Codec::None => "no codec".into(),
        crate::codec::Codec::Jpeg { quality } => format!("JPEG q{}", quality.get()),
        crate::codec::Codec::Webp { quality } => format!("WebP q{}", quality.get()),
    }
}

pub fn bytes_text(bytes: usize) -> String {
    if bytes >= 10_000 {
        format!("{:.1} kB", bytes as f64 / 1000.0)
    } else {
        format!("{bytes} B")
    }
}

pub fn ms_text(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// "0.25 MP": the size of the reduced copy a preview was computed on.
pub fn preview_size_text(view: &super::worker::MethodView) -> String {
    format!("{:.2} MP", view.hr_size[0] as f64 * view.hr_size[1] as f64 / 1e6)
}

pub fn metric_lines(view: &super::worker::MethodView) -> Vec<String> {
    let o = &view.output;
    if view.preview {
        // A reduced copy's numbers are not the method's: marked approximate, to one decimal, with
        // what they were measured on, so they are never read beside a full result as its equal.
        return vec![
            format!("≈ PSNR-Y {:.1} dB · SSIM-Y {:.3} (approximate)", o.metrics.psnr_y, o.metrics.ssim_y),
            format!("preview of a {} copy · full-resolution numbers follow", preview_size_text(view)),
        ];
    }
    // At equal size the quality is each method's own: it leads the line.
    let quality = match &view.size_match {
        Some(m) if !m.within_target => "q1 (over the target) · ".to_string(),
        Some(m) => format!("q{} · ", m.quality),
        None => String::new(),
    };
    vec![
        format!("{quality}PSNR-Y {:.2} dB · SSIM-Y {:.4}", o.metrics.psnr_y, o.metrics.ssim_y),
        format!(
            "RGB {:.2} dB / {:.4} · {} · {:.3} bpp · {}",
            o.metrics.psnr_rgb,
            o.metrics.ssim_rgb,
            bytes_text(o.compressed_bytes()),
            o.bits_per_pixel,
            ms_text(o.timings.total())
        ),
    ]
}
