//! The desktop app: a side-by-side comparison of bicubic, IRN and SAIN under JPEG/WebP, with a
//! live quality slider, metrics, synchronised zoom and export.
//!
//! Layout follows the eframe template: all app state lives in [`app::RescaleApp`], each panel is a
//! small module under `panels/` that reads that state and returns what the user asked for, and
//! everything slow (decoding, networks, metrics, export) runs on the threads in `worker.rs`.

pub mod app;
pub mod busy;
pub mod chart;
pub mod colormap;
pub mod device;
pub mod documents;
pub mod export;
pub mod font;
pub mod inspect;
pub mod panels;
pub mod path_prompt;
pub mod perceptual;
pub mod perceptual_worker;
pub mod prefetch;
pub mod region;
pub mod replay;
pub mod samples;
pub mod session;
pub mod settings;
pub mod user_folder;
pub mod versus;
pub mod view;
pub mod waits;
pub mod worker;

use std::path::PathBuf;

pub use app::RescaleApp;
pub use settings::{Settings, ViewMode};

/// What the caller (the CLI's `main`) asks of the window.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// Images to open; when empty the first bundled sample is opened so a newcomer sees a result.
    pub images: Vec<PathBuf>,
    /// Render the window once the first results are in, save it as PNG here, and exit.
    pub screenshot: Option<PathBuf>,
    /// Start in this view (the screenshots of the split, difference and chart views use it).
    pub view: Option<ViewMode>,
    /// Show the rate–distortion chart from the start.
    pub show_chart: bool,
    /// Ignore and do not write saved settings (reproducible screenshots and tests).
    pub fresh_settings: bool,
    /// Initial window size in points; default 1500×920.
    pub window_size: Option<(f32, f32)>,
    /// Open nothing at start, not even the bundled sample (tests).
    pub start_empty: bool,
    /// Overrides of the saved settings (scale, codec, quality…) applied at start.
    pub settings_override: Option<Settings>,
    /// Start in demo mode (large type, images first).
    pub demo: bool,
    /// The user models folder; `None`: the platform's (`user_models::user_models_dir`).
    pub user_models_dir: Option<PathBuf>,
    /// Qualities to move the slider to in turn, timing each move (`replay`), then exit.
    pub replay: Vec<u8>,
    /// A saved comparison (`.rlab`) to reopen instead of `images`.
    pub session: Option<PathBuf>,
}

/// Opens the window and runs until it is closed.
pub fn run_app(options: GuiOptions) -> anyhow::Result<()> {
    let (w, h) = options.window_size.unwrap_or((1500.0, 920.0));
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("rescale-lab — bicubic vs IRN vs SAIN under compression")
        .with_inner_size([w, h])
        .with_min_inner_size([640.0, 420.0])
        .with_drag_and_drop(true);
    if options.screenshot.is_some() {
        // A screenshot run must not depend on the window manager placing or resizing the window.
        viewport = viewport.with_resizable(false);
    }
    let native = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        // Screenshot runs must look the same every time, so they neither read nor write settings.
        persist_window: options.screenshot.is_none() && !options.fresh_settings,
        ..Default::default()
    };
    eframe::run_native(
        "rescale-lab",
        native,
        Box::new(move |cc| Ok(Box::new(RescaleApp::new(cc, options)))),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
