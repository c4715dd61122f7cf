//! The command line: a thin shell over the engine. Errors are reported with anyhow here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};
use rescale_lab::bench::{self, BenchConfig, Channel};
use rescale_lab::codec::{Codec, Quality};
use rescale_lab::files;
use rescale_lab::image_io::{self, LoadOptions, DEFAULT_MAX_MEGAPIXELS};
use rescale_lab::methods::{self, Method, MethodKind};
use rescale_lab::pipeline::{MethodOutput, Pipeline};
use rescale_lab::rescaler::UpscaleOptions;

#[derive(Parser, Debug)]
#[command(
    name = "rescale-lab",
    version,
    about = "Downscale, compress and upscale images with Bicubic, IRN and SAIN; compare them.",
    long_about = "Without a subcommand, opens the desktop app on a bundled sample image."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Rescale one image with one method and write the LR, the compressed LR and the result.
    Run(RunArgs),
    /// Benchmark folders of images into the papers' tables.
    Bench(BenchArgs),
    /// Time the networks' downscale and upscale at several sizes.
    Speed(SpeedArgs),
    /// Check the networks on a device against reference tensors (e.g. the official code's
    /// fixtures): every NAME_io.safetensors with NAME.pth or NAME.safetensors in DIR.
    Parity(ParityArgs),
    /// List every model the app would offer: shipped ones and those in the user models folder
    /// ($XDG_DATA_HOME/rescale-lab/models), with why any file there was skipped.
    Models(ModelsArgs),
    /// Open the desktop app (the default when no subcommand is given).
    Gui(GuiArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CodecName {
    None,
    Jpeg,
    Webp,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Scale factor.
    #[arg(long, default_value_t = 2, value_parser = parse_scale)]
    pub scale: u32,
    /// Lossy codec applied to the LR image.
    #[arg(long, value_enum, default_value_t = CodecName::Jpeg)]
    pub codec: CodecName,
    /// Latent temperature of IRN/SAIN: multiplies the draw z as the official gaussian_scale (0: z = 0, deterministic).
    #[arg(long, default_value_t = 1.0, value_parser = parse_temperature, allow_negative_numbers = true)]
    pub temperature: f32,
    /// Seed of the latent draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device for the networks: cpu, cuda, cuda:N, metal or auto.
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: String,
    /// Weights for IRN (.pth or .safetensors); default: the shipped model for the scale.
    #[arg(long)]
    pub irn_weights: Option<PathBuf>,
    /// Weights for SAIN (.pth or .safetensors); default: the shipped model for scale and codec.
    #[arg(long)]
    pub sain_weights: Option<PathBuf>,
    /// Largest image accepted, in megapixels.
    #[arg(long, default_value_t = DEFAULT_MAX_MEGAPIXELS, value_parser = parse_megapixels, allow_negative_numbers = true)]
    pub max_megapixels: f64,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The image to rescale.
    pub image: PathBuf,
    /// bicubic, irn or sain.
    #[arg(long, default_value = "bicubic", value_parser = parse_method)]
    pub method: MethodKind,
    /// Weights file for --method irn|sain (overrides --irn-weights/--sain-weights).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Encoder quality 1–100 (ignored with --codec none).
    #[arg(long, default_value_t = 75, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Output folder (created if missing).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Replace output files that already exist.
    #[arg(long)]
    pub force: bool,
    /// Print the metrics as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Skip SSIMULACRA2 and Butteraugli.
    #[arg(long)]
    pub no_perceptual: bool,
    /// Equal size instead of a quality: the target size in bits per HR pixel; the quality is
    /// the one whose file comes closest to it without going over.
    #[arg(long, value_parser = parse_bpp, conflicts_with = "quality")]
    pub bpp: Option<f64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Dataset folders (each one a table block), e.g. ../shared/data/eval/Set5.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Comma-separated methods: bicubic, irn, sain.
    #[arg(long, default_value = "bicubic", value_delimiter = ',', value_parser = parse_method)]
    pub methods: Vec<MethodKind>,
    /// Comma-separated qualities (ignored with --codec none).
    #[arg(long, default_value = "30,50,70,80,90", value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: Vec<u8>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Report RGB metrics instead of Y in the table.
    #[arg(long)]
    pub rgb: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Stop at the first file that cannot be used, instead of skipping it and saying so.
    #[arg(long)]
    pub strict: bool,
    /// Skip SSIMULACRA2 and Butteraugli (they take longer than the rest of a CPU bench of
    /// Bicubic).
    #[arg(long)]
    pub no_perceptual: bool,
    /// Equal size instead of equal quality: comma-separated target sizes in bits per HR pixel;
    /// each method's quality is chosen per image so that its compressed LR comes closest to the
    /// target without going over.
    #[arg(long, value_delimiter = ',', value_parser = parse_bpp, conflicts_with = "quality")]
    pub bpp: Vec<f64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct SpeedArgs {
    /// Comma-separated square sizes (HR side, pixels).
    #[arg(long, default_value = "256,512,1024", value_delimiter = ',')]
    pub sizes: Vec<u32>,
    /// Weights files to time; default: every shipped model.
    #[arg(long, num_args = 1..)]
    pub weights: Vec<PathBuf>,
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: String,
    /// Timed runs per size (median reported); default 3 up to 256 px, 1 above.
    #[arg(long)]
    pub runs: Option<usize>,
    /// One JSON object per line instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Instead of the per-model table: time the GUI's quality-slider round trip (JPEG quality
    /// change → codec → upscale → metrics, Bicubic + IRN + SAIN at --scale) on a 512×512 centre
    /// crop of --image.
    #[arg(long)]
    pub round_trip: bool,
    /// The round trip's image (default: the bundled sample).
    #[arg(long, requires = "round_trip")]
    pub image: Option<PathBuf>,
    /// Scale of the round trip's methods.
    #[arg(long, default_value = "2", value_parser = parse_scale)]
    pub scale: u32,
    /// With --round-trip: keep the whole image and time a centre region of this side only, as
    /// the app computes first when a crop is set (e.g. 256 on the 1024×683 sample).
    #[arg(long, requires = "round_trip")]
    pub region: Option<u32>,
    /// With --round-trip: the whole image instead of the 512×512 centre crop, to compare with
    /// the app's own latency on it (`gui --replay`).
    #[arg(long, requires = "round_trip", conflicts_with = "region")]
    pub whole: bool,
}

#[derive(Args, Debug)]
pub struct ModelsArgs {
    /// One JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ParityArgs {
    /// Folder of fixtures (NAME.pth + NAME_io.safetensors with hr, forward_out, lr, inverse_in,
    /// inverse_out and, for SAIN, inverse_lr).
    pub dir: PathBuf,
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: String,
    /// Absolute tolerance on each tensor's largest difference.
    #[arg(long, default_value_t = rescale_lab::parity::Tolerance::CPU.absolute)]
    pub tolerance: f32,
    /// Relative tolerance (× the reference's largest |value|); the larger bound applies.
    #[arg(long, default_value_t = rescale_lab::parity::Tolerance::CPU.relative)]
    pub relative: f32,
    /// One JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Default)]
pub struct GuiArgs {
    /// Images to open (default: a bundled sample).
    pub images: Vec<PathBuf>,
    /// Render the window once the first results are in, save it as PNG and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Start in this view.
    #[arg(long, value_enum)]
    pub view: Option<ViewName>,
    /// Show the rate–distortion chart from the start.
    #[arg(long)]
    pub chart: bool,
    /// Window size in points, e.g. 1600x1000.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(f32, f32)>,
    /// Neither read nor save the settings of earlier runs.
    #[arg(long)]
    pub fresh: bool,
    /// Start at this scale (2, 4 or 8) instead of the saved one.
    #[arg(long, value_parser = parse_scale)]
    pub scale: Option<u32>,
    /// Start with this codec instead of the saved one.
    #[arg(long, value_enum)]
    pub codec: Option<CodecName>,
    /// Start at this quality instead of the saved one.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100), conflicts_with = "bpp")]
    pub quality: Option<u8>,
    /// Start comparing at equal size, this many bits per HR pixel.
    #[arg(long, value_parser = parse_bpp)]
    pub bpp: Option<f64>,
    /// What the difference view draws.
    #[arg(long, value_enum)]
    pub map: Option<MapName>,
    /// Start in demo mode (large type, controls folded away; F11 or Esc leaves it).
    #[arg(long)]
    pub demo: bool,
    /// Measure the app: once the first results are in, move the quality to each of these in
    /// turn (e.g. 70,65,60), print one JSON line per move (each method's full result, every
    /// panel current, idle again), then close.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=100))]
    pub replay: Vec<u8>,
    /// Reopen a saved comparison (.rlab); a .rlab among the images works too. It sets the
    /// images and settings, so it does not go with them.
    #[arg(long, conflicts_with_all = ["images", "scale", "codec", "quality", "bpp", "view", "chart", "map"])]
    pub session: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MapName {
    Error,
    Butteraugli,
    VsBicubic,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ViewName {
    Grid,
    Split,
    Difference,
    TwoUp,
}

fn parse_size(text: &str) -> std::result::Result<(f32, f32), String> {
    let (w, h) = text.split_once('x').ok_or_else(|| format!("expected WIDTHxHEIGHT, got '{text}'"))?;
    let parse = |v: &str| v.trim().parse::<f32>().ok().filter(|v| (320.0..=16384.0).contains(v));
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!("expected WIDTHxHEIGHT between 320 and 16384, got '{text}'")),
    }
}

pub fn gui(args: GuiArgs) -> Result<()> {
    use rescale_lab::gui::settings::{CodecFamily, Settings};
    use rescale_lab::gui::{GuiOptions, ViewMode};
    // A missing file is reported in the window like any other that cannot be opened, and the
    // others open: one typo must not cost the whole launch. It is said here too.
    for missing in args.images.iter().filter(|p| !p.exists()) {
        eprintln!("warning: {}: no such file or folder", missing.display());
    }
    let overridden = args.scale.is_some() || args.codec.is_some() || args.quality.is_some() || args.bpp.is_some() || args.map.is_some();
    let settings_override = overridden.then(|| {
        let mut settings = Settings::default();
        if let Some(bpp) = args.bpp {
            settings.size_mode = true;
            settings.target_bpp = bpp as f32;
        }
        if let Some(map) = args.map {
            settings.diff_kind = match map {
                MapName::Error => rescale_lab::gui::settings::DiffKind::Error,
                MapName::Butteraugli => rescale_lab::gui::settings::DiffKind::Butteraugli,
                MapName::VsBicubic => rescale_lab::gui::settings::DiffKind::VsBicubic,
            };
        }
        if let Some(scale) = args.scale {
            settings.scale = scale;
        }
        if let Some(quality) = args.quality {
            settings.quality = quality;
        }
        if let Some(codec) = args.codec {
            settings.codec = match codec {
                CodecName::None => CodecFamily::None,
                CodecName::Jpeg => CodecFamily::Jpeg,
                CodecName::Webp => CodecFamily::Webp,
            };
        }
        settings
    });
    rescale_lab::gui::run_app(GuiOptions {
        images: args.images,
        screenshot: args.screenshot,
        view: args.view.map(|v| match v {
            ViewName::Grid => ViewMode::Grid,
            ViewName::Split => ViewMode::Split,
            ViewName::Difference => ViewMode::Difference,
            ViewName::TwoUp => ViewMode::TwoUp,
        }),
        show_chart: args.chart,
        fresh_settings: args.fresh,
        window_size: args.size,
        settings_override,
        demo: args.demo,
        session: args.session,
        replay: args.replay,
        ..Default::default()
    })
}

fn parse_method(text: &str) -> std::result::Result<MethodKind, String> {
    MethodKind::parse(text).map_err(|_| format!("unknown method '{text}' (expected bicubic, irn or sain)"))
}

fn parse_device(text: &str) -> std::result::Result<String, String> {
    rescale_lab::device::check_spec(text).map(|()| text.to_string())
}

fn parse_temperature(text: &str) -> std::result::Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("expected a number ≥ 0 (0 = deterministic), got '{text}'")),
    }
}

fn parse_bpp(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(bpp) if bpp.is_finite() && bpp > 0.0 && bpp <= 24.0 => Ok(bpp),
        _ => Err(format!("expected a size in bits per pixel, above 0 and at most 24, got '{text}'")),
    }
}

fn parse_megapixels(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(mp) if mp.is_finite() && mp > 0.0 => Ok(mp),
        _ => Err(format!("expected a positive number of megapixels, got '{text}'")),
    }
}

/// A mistake in the arguments that clap cannot see on its own (a combination of options);
/// `main` exits with 2 for it, as for clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadArgument(pub String);

fn parse_scale(text: &str) -> std::result::Result<u32, String> {
    match text {
        "2" => Ok(2),
        "4" => Ok(4),
        // The IRN authors publish a ×8 model; Bicubic works at any of these.
        "8" => Ok(8),
        _ => Err(format!("scale must be 2, 4 or 8, got '{text}'")),
    }
}

impl CommonArgs {
    fn codecs(&self, qualities: &[u8]) -> Result<Vec<Codec>> {
        if self.codec == CodecName::None {
            return Ok(vec![Codec::None]);
        }
        if qualities.is_empty() {
            bail!("--quality needs at least one value");
        }
        qualities.iter().map(|&q| self.codec_at(q)).collect()
    }

    fn codec_at(&self, quality: u8) -> Result<Codec> {
        let quality = Quality::new(quality)?;
        Ok(match self.codec {
            CodecName::None => Codec::None,
            CodecName::Jpeg => Codec::Jpeg { quality },
            CodecName::Webp => Codec::Webp { quality },
        })
    }

    fn codec_family(&self) -> &'static str {
        // Any valid quality: the family does not depend on it.
        bench::codec_family(&self.codec_at(75).expect("75 is a valid quality"))
    }

    // The values were checked by their parsers (`parse_temperature`, `parse_megapixels`).
    fn upscale_options(&self) -> UpscaleOptions {
        UpscaleOptions { temperature: self.temperature, seed: self.seed }
    }

    fn load_options(&self) -> LoadOptions {
        LoadOptions { max_megapixels: self.max_megapixels }
    }

    fn device(&self) -> Device {
        select_device(&self.device)
    }

    /// Resolves a method name to a runnable method, or an error saying why it can't run.
    fn method(&self, kind: MethodKind, weights: Option<&Path>, device: &Device) -> Result<Method> {
        let weights = weights.or(match kind {
            MethodKind::Irn => self.irn_weights.as_deref(),
            MethodKind::Sain => self.sain_weights.as_deref(),
            MethodKind::Bicubic => None,
        });
        let method = match (kind, weights) {
            (MethodKind::Bicubic, _) => Method::bicubic(self.scale),
            (_, Some(path)) => {
                let method = methods::load_network(path, device)?;
                if method.kind != kind {
                    bail!("{}: this is a {} checkpoint, not {}", path.display(), method.kind.label(), kind.label());
                }
                method
            }
            (_, None) => {
                let method = methods::default_method(kind, self.scale, self.codec_family(), device);
                self.note_codec_mismatch(&method);
                method
            }
        };
        if let Err(why) = &method.rescaler {
            bail!("{} is not available: {why}", method.label);
        }
        let scale = method.rescaler.as_ref().map(|r| r.scale()).unwrap_or(self.scale);
        if scale != self.scale {
            bail!("{} is a ×{scale} model but --scale is {}", method.label, self.scale);
        }
        Ok(method)
    }
}

impl CommonArgs {
    /// SAIN's weights are codec-specific: running a JPEG-trained model under WebP is allowed
    /// (the app does it too) but the user is told.
    fn note_codec_mismatch(&self, method: &Method) {
        let family = self.codec_family();
        if method.kind != MethodKind::Sain || family == "none" {
            return;
        }
        let shipped = rescale_lab::models::discover(&rescale_lab::models::models_dir()).unwrap_or_default();
        let trained = shipped.iter().find(|m| Some(&m.weights) == method.weights.as_ref()).map(|m| m.manifest.codec.as_str());
        if trained.is_some_and(|t| t != family) {
            let name = |f: &str| rescale_lab::models::TrainedCodec::parse(f).map_or_else(|| f.to_string(), |c| c.display_name().to_string());
            eprintln!(
                "note: no SAIN x{} model for {} is shipped; {} runs on {} as it is",
                self.scale,
                name(family),
                method.label,
                name(family)
            );
        }
    }
}

fn select_device(spec: &str) -> Device {
    let (device, message) = rescale_lab::device::select_device(spec);
    if let Some(message) = message {
        eprintln!("warning: {message}");
    }
    device
}

pub fn run(args: RunArgs) -> Result<()> {
    let common = &args.common;
    let kind = args.method;
    // Everything that can be checked is checked before the expensive work.
    if kind == MethodKind::Bicubic {
        if let Some(weights) = &args.weights {
            return Err(BadArgument(format!(
                "--weights {}: Bicubic has no weights; add --method irn or --method sain",
                weights.display()
            ))
            .into());
        }
        for (flag, path) in [("--irn-weights", &common.irn_weights), ("--sain-weights", &common.sain_weights)] {
            if let Some(path) = path {
                eprintln!("warning: {flag} {} is not used by --method bicubic", path.display());
            }
        }
    }
    let codec = common.codec_at(args.quality)?;
    let options = common.upscale_options();
    let load = common.load_options();
    if args.bpp.is_some() && common.codec == CodecName::None {
        return Err(BadArgument("--bpp needs a lossy codec: add --codec jpeg or --codec webp".into()).into());
    }
    // File names carry the setting the user asked for: the quality, or the target size (the
    // quality it leads to is only known after the work, and names are checked before it).
    let setting = match args.bpp {
        Some(bpp) => format!("{}-{bpp}bpp", common.codec_family()),
        None => codec.label(),
    };
    if args.common.codec == CodecName::None && args.quality != 75 {
        eprintln!("warning: --quality {} is not used with --codec none", args.quality);
    }

    let stem = args.image.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    let base = format!("{stem}_x{}_{}", common.scale, kind.label().to_ascii_lowercase());
    let lr_path = args.out.join(format!("{base}_lr.png"));
    let compressed_path = args.out.join(format!("{base}_lr_{setting}.{}", codec.extension()));
    let sr_path = args.out.join(format!("{base}_{setting}_sr.png"));
    // The LR does not depend on the codec setting: an earlier run's identical LR is kept as it
    // is, so only a different one (other weights) is refused, when it is known.
    files::require_regular_file(&args.image)?;
    files::check_outputs(&args.out, &[compressed_path.clone(), sr_path.clone()], args.force)?;

    let device = common.device();
    let method = common.method(kind, args.weights.as_deref(), &device)?;
    let rescaler = method.rescaler.clone().map_err(anyhow::Error::msg)?;
    let loaded = image_io::load_image(&args.image, &load)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {}: {warning}", args.image.display());
    }
    let mut pipeline = Pipeline::new(loaded.rgb);
    let (_, crop) = pipeline.hr(common.scale).with_context(|| args.image.display().to_string())?;
    if crop.changed() {
        eprintln!(
            "note: cropped {}x{} to {}x{} (a multiple of the scale, as the papers do)",
            crop.original.0, crop.original.1, crop.cropped.0, crop.cropped.1
        );
    }
    let (output, size_match) = with_tile_progress(|| match args.bpp {
        Some(bpp) => pipeline.run_at_size(&method.key, rescaler.as_ref(), codec, bpp, &options).map(|(o, m)| (o, Some(m))),
        None => pipeline.run(&method.key, rescaler.as_ref(), codec, &options).map(|o| (o, None)),
    })
    .with_context(|| args.image.display().to_string())?;
    if let Some(note) = size_match.as_ref().and_then(|m| m.note.as_ref()) {
        eprintln!("note: {note}");
    }
    let perceptual = if args.no_perceptual {
        None
    } else {
        let (hr, _) = pipeline.hr(common.scale)?;
        Some(rescale_lab::perceptual::evaluate(hr, &output.reconstruction).with_context(|| args.image.display().to_string())?)
    };

    let files = [
        (lr_path, png_bytes(&output.lr)?),
        (compressed_path, output.compressed.bytes.clone()),
        (sr_path, png_bytes(&output.reconstruction)?),
    ];
    let written = files::write_outputs(&files, args.force)?;
    let written: Vec<(&Path, files::Written)> = files.iter().map(|(p, _)| p.as_path()).zip(written).collect();

    if args.json {
        // Paths go out lossily: JSON strings are UTF-8, file names need not be.
        let lossy = |p: &Path| p.to_string_lossy().into_owned();
        let report = serde_json::json!({
            "image": lossy(&args.image),
            "method": output.method,
            // Which weights ran: for SAIN they are codec-specific, picked by --codec.
            "model": method.weights.as_ref().map(|_| method.label.clone()),
            "weights": method.weights.as_deref().map(lossy),
            "scale": output.scale,
            "codec": output.codec.label(),
            "quality": output.codec.quality().map(|q| q.get()),
            "target_bpp": args.bpp,
            "size_match": size_match,
            "lr_bytes": output.compressed_bytes(),
            "bpp": output.bits_per_pixel,
            "metrics": output.metrics,
            "ssimulacra2": perceptual.map(|p| p.ssimulacra2),
            "butteraugli": perceptual.map(|p| p.butteraugli),
            "butteraugli_3norm": perceptual.map(|p| p.butteraugli_3norm),
            "timings_ms": timings_ms(&output),
            "files": written.iter().map(|(p, _)| lossy(p)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if let Some(m) = &size_match {
            println!(
                "size        target {} bpp = {} bytes: quality {} chosen, {} bytes{}",
                args.bpp.unwrap_or_default(),
                m.target_bytes,
                m.quality,
                m.bytes,
                if m.within_target { "" } else { " (over the target: even quality 1 is larger)" }
            );
        }
        print_run_report(&output, &method, perceptual.as_ref(), &written);
    }
    Ok(())
}

/// Runs `work` with a progress bar of the networks' tiles that appears only once the work has
/// taken more than a moment, so fast runs print nothing extra.
fn with_tile_progress<R>(work: impl FnOnce() -> R) -> R {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    const SHOW_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{msg:>9} {bar:30} {pos}/{len} tiles  {elapsed} so far, about {eta} left")
            .expect("static template"),
    );
    let (shown, start) = (bar.clone(), Instant::now());
    let result = rescale_lab::progress::with_reporter(
        move |p| {
            if p.done == 0 {
                shown.reset();
                shown.set_length(p.total as u64);
                shown.set_message(match p.pass {
                    rescale_lab::progress::Pass::Downscale => "downscale",
                    rescale_lab::progress::Pass::Upscale => "upscale",
                });
            }
            shown.set_position(p.done as u64);
            if shown.is_hidden() && start.elapsed() > SHOW_AFTER {
                shown.set_draw_target(ProgressDrawTarget::stderr());
            }
        },
        work,
    );
    bar.finish_and_clear();
    result
}

fn png_bytes(image: &image::RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    Ok(bytes)
}

fn timings_ms(output: &MethodOutput) -> serde_json::Value {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    serde_json::json!({
        "downscale": ms(output.timings.downscale),
        "codec": ms(output.timings.codec),
        "upscale": ms(output.timings.upscale),
        "metrics": ms(output.timings.metrics),
    })
}

fn print_run_report(
    output: &MethodOutput,
    method: &Method,
    perceptual: Option<&rescale_lab::perceptual::PerceptualMetrics>,
    files: &[(&Path, files::Written)],
) {
    let m = &output.metrics;
    println!("method      {} x{}", output.method, output.scale);
    if let Some(weights) = &method.weights {
        println!("weights     {} — {}", method.label, weights.display());
    }
    println!("codec       {} ({} bytes, {:.4} bpp)", output.codec.label(), output.compressed_bytes(), output.bits_per_pixel);
    println!("PSNR-Y      {:.3} dB", m.psnr_y);
    println!("SSIM-Y      {:.4}", m.ssim_y);
    println!("PSNR-RGB    {:.3} dB", m.psnr_rgb);
    println!("SSIM-RGB    {:.4}", m.ssim_rgb);
    if let Some(p) = perceptual {
        println!("SSIMULACRA2 {:.2}  (0–100, higher is better)", p.ssimulacra2);
        println!("Butteraugli {:.3} max, {:.3} 3-norm  (lower is better; < 1 invisible to most)", p.butteraugli, p.butteraugli_3norm);
    }
    let t = &output.timings;
    println!(
        "time        downscale {:.0} ms, codec {:.0} ms, upscale {:.0} ms, metrics {:.0} ms",
        t.downscale.as_secs_f64() * 1e3,
        t.codec.as_secs_f64() * 1e3,
        t.upscale.as_secs_f64() * 1e3,
        t.metrics.as_secs_f64() * 1e3
    );
    for (file, written) in files {
        let verb = match written {
            files::Written::Created => "wrote      ",
            files::Written::Replaced => "replaced   ",
            files::Written::Unchanged => "unchanged  ",
        };
        println!("{verb} {}", file.display());
    }
}

pub fn bench(args: BenchArgs) -> Result<()> {
    let common = &args.common;
    let device = common.device();
    let methods = args.methods.iter().map(|&kind| common.method(kind, None, &device)).collect::<Result<Vec<_>>>()?;
    let config = BenchConfig {
        datasets: args.data.clone(),
        // At equal size the quality is searched for: one codec of the family stands for it.
        codecs: if args.bpp.is_empty() { common.codecs(&args.quality)? } else { vec![common.codec_at(75)?] },
        methods,
        options: common.upscale_options(),
        load: common.load_options(),
        strict: args.strict,
        perceptual: !args.no_perceptual,
        target_bpp: args.bpp.clone(),
    };
    if !args.bpp.is_empty() && common.codec == CodecName::None {
        return Err(BadArgument("--bpp needs a lossy codec: add --codec jpeg or --codec webp".into()).into());
    }
    let bar = (!args.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images  {elapsed_precise}  {msg}")
                .expect("static template"),
        );
        bar
    });
    let start = Instant::now();
    let report = bench::run_bench(&config, |p| {
        if let Some(bar) = &bar {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            bar.set_message(p.current.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
        eprintln!("benchmarked in {:.1} s", start.elapsed().as_secs_f64());
    }
    for skip in &report.skipped {
        eprintln!("skipped: {}", skip.reason);
    }
    if report.rows.is_empty() {
        bail!("no image could be used ({} skipped, reasons above)", report.skipped.len());
    }
    if !report.skipped.is_empty() {
        eprintln!(
            "note: {} file{} skipped and left out of the averages (--strict makes this an error)",
            report.skipped.len(),
            if report.skipped.len() == 1 { "" } else { "s" }
        );
    }
    let rows = report.rows;
    match args.format {
        OutputFormat::Table => print!("{}", bench::format_table(&rows, if args.rgb { Channel::Rgb } else { Channel::Y })),
        OutputFormat::Csv => print!("{}", bench::format_csv(&rows)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    Ok(())
}

pub fn speed(args: SpeedArgs) -> Result<()> {
    let device = select_device(&args.device);
    if args.round_trip {
        return round_trip(&args, args.image.as_deref(), &device);
    }
    let models: Vec<(String, PathBuf)> = if args.weights.is_empty() {
        rescale_lab::models::discover(&rescale_lab::models::models_dir())?
            .into_iter()
            .map(|m| (m.manifest.name.clone(), m.weights))
            .collect()
    } else {
        args.weights
            .iter()
            .map(|p| (p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), p.clone()))
            .collect()
    };
    if models.is_empty() {
        bail!("no models to time: pass --weights FILE…, or ship models in {}", rescale_lab::models::models_dir().display());
    }
    if let Some(bad) = args.sizes.iter().find(|&&s| s < 16 || s > 8192) {
        bail!("--sizes: {bad} is outside 16–8192");
    }
    if !args.json {
        println!("{}", rescale_lab::speed::SpeedRow::header());
    }
    // Rows are printed as they come: the large sizes take a while on a CPU.
    for (name, path) in &models {
        let rows = rescale_lab::speed::speed_report(&[(name.clone(), path.clone())], &args.sizes, args.runs, &device)?;
        for row in rows {
            if args.json {
                println!("{}", serde_json::to_string(&row)?);
            } else {
                println!("{row}");
            }
        }
    }
    Ok(())
}

pub fn parity(args: ParityArgs) -> Result<()> {
    let device = select_device(&args.device);
    let tolerance = rescale_lab::parity::Tolerance { absolute: args.tolerance, relative: args.relative };
    let checks = rescale_lab::parity::check_dir(&args.dir, &device, tolerance)?;
    let failed = checks.iter().filter(|c| !c.ok).count();
    if args.json {
        let doc = serde_json::json!({
            "device": rescale_lab::device::device_name(&device),
            "tolerance": tolerance,
            "checks": checks,
            "failed": failed,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("device: {}", rescale_lab::device::device_name(&device));
        println!("{:<16} {:<12} {:>12} {:>12} {:>10}", "fixture", "tensor", "max abs err", "max |ref|", "tolerance");
        for c in &checks {
            println!(
                "{:<16} {:<12} {:>12.3e} {:>12.3e} {:>10.1e}{}",
                c.fixture, c.tensor, c.max_abs_err, c.peak, c.tolerance, if c.ok { "" } else { "  FAILED" }
            );
        }
    }
    if failed > 0 {
        bail!("{failed} of {} tensors differ from the references in {} beyond the tolerance", checks.len(), args.dir.display());
    }
    Ok(())
}

/// Side of the round trip's test crop: the 512×512.
const ROUND_TRIP_SIDE: u32 = 512;
/// The slider moves: the first quality only warms the caches (it includes the downscale).
const ROUND_TRIP_QUALITIES: [u8; 6] = [75, 70, 65, 60, 55, 50];

fn round_trip(args: &SpeedArgs, image_path: Option<&Path>, device: &Device) -> Result<()> {
    let image = match image_path {
        Some(path) => image_io::load_image(path, &LoadOptions::default())?.rgb,
        None => {
            let sample = &rescale_lab::gui::samples::SAMPLES[0];
            image_io::load_image_from_bytes(sample.bytes, Path::new(sample.file_name), &LoadOptions::default())?.rgb
        }
    };
    let (crop, region) = match args.region {
        None if args.whole => (image, None),
        None => {
            let side = ROUND_TRIP_SIDE.min(image.width()).min(image.height());
            let (x, y) = ((image.width() - side) / 2, (image.height() - side) / 2);
            (image::imageops::crop_imm(&image, x, y, side, side).to_image(), None)
        }
        Some(side) => {
            let (w, h) = (image.width() - image.width() % args.scale, image.height() - image.height() % args.scale);
            let rect = [w.saturating_sub(side) / 2, h.saturating_sub(side) / 2, side, side];
            let region = rescale_lab::region::Region::snap(rect, args.scale, w, h)
                .with_context(|| format!("--region {side}: no region of that side fits the {w}×{h} image"))?;
            (image, Some(region))
        }
    };
    let methods: Vec<Method> = [MethodKind::Bicubic, MethodKind::Irn, MethodKind::Sain]
        .into_iter()
        .map(|kind| methods::default_method(kind, args.scale, "jpeg", device))
        .collect();
    let mut rescalers = Vec::new();
    for method in &methods {
        match &method.rescaler {
            Ok(r) => rescalers.push((method.label.clone(), r.as_ref())),
            Err(why) => eprintln!("warning: {} left out: {why}", method.label),
        }
    }
    let result = rescale_lab::speed::slider_round_trip(
        &crop,
        &rescalers,
        |q| Ok(Codec::Jpeg { quality: Quality::new(q)? }),
        &ROUND_TRIP_QUALITIES,
        region,
    )
    .with_context(|| image_path.map(|p| p.display().to_string()).unwrap_or_else(|| "the bundled sample".into()))?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    let fast = rescale_lab::nets::dense_block::fast_conv_enabled();
    let what = match result.region {
        Some(r) => format!("region {}×{} at ({}, {}) of {}×{}", r.width, r.height, r.x, r.y, result.width, result.height),
        None => format!("{}×{}", result.width, result.height),
    };
    println!(
        "quality-slider round trip, {what}, JPEG q{:?}, {} (median of {} moves; CPU conv path: {})",
        result.qualities,
        rescale_lab::device::device_name(device),
        result.qualities.len(),
        if fast { "fast_conv" } else { "candle conv2d" }
    );
    for (label, ms) in &result.per_method_ms {
        println!("  {label:<40} {ms:>10.1} ms");
    }
    let all = if result.region.is_some() { "all panels' region updated" } else { "all panels updated" };
    println!("  {:<40} {:>10.1} ms", all, result.total_ms);
    Ok(())
}

pub fn models(args: ModelsArgs) -> Result<()> {
    use rescale_lab::user_models;
    let shipped_dir = rescale_lab::models::models_dir();
    let shipped = rescale_lab::models::discover(&shipped_dir).unwrap_or_default();
    let user_dir = user_models::user_models_dir();
    let scan = user_dir.as_deref().map(user_models::scan).unwrap_or_default();
    let codec_of = |c: rescale_lab::models::TrainedCodec| match c.as_str() {
        "none" => "-".to_string(),
        other => other.to_string(),
    };
    let mut rows: Vec<serde_json::Value> = shipped
        .iter()
        .map(|m| {
            serde_json::json!({
                "source": "shipped",
                "label": m.label(),
                "arch": m.manifest.arch.to_string(),
                "scale": m.manifest.scale,
                "codec": codec_of(m.manifest.codec),
                "path": m.weights.display().to_string(),
            })
        })
        .collect();
    rows.extend(scan.models.iter().map(|m| {
        serde_json::json!({
            "source": if m.official.is_some() { "user, official" } else { "user" },
            "label": m.label(),
            "arch": if matches!(m.config, rescale_lab::checkpoint::NetConfig::Irn(_)) { "IRN" } else { "SAIN" },
            "scale": m.config.scale(),
            "codec": m.official.and_then(|o| o.codec).unwrap_or("-"),
            "layout": m.config.describe(),
            "path": m.path.display().to_string(),
        })
    }));
    let skipped: Vec<serde_json::Value> =
        scan.skipped.iter().map(|(p, reason)| serde_json::json!({ "path": p.display().to_string(), "reason": reason })).collect();
    if args.json {
        let doc = serde_json::json!({
            "shipped_dir": shipped_dir.display().to_string(),
            "user_dir": user_dir.as_ref().map(|d| d.display().to_string()),
            "models": rows,
            "skipped": skipped,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("{:<15} {:<5} {:<6} {:<6} path", "source", "arch", "scale", "codec");
    for r in &rows {
        println!(
            "{:<15} {:<5} {:<6} {:<6} {}",
            r["source"].as_str().unwrap_or(""),
            r["arch"].as_str().unwrap_or(""),
            format!("x{}", r["scale"]),
            r["codec"].as_str().unwrap_or(""),
            r["path"].as_str().unwrap_or("")
        );
    }
    match &user_dir {
        Some(dir) => println!(
            "\nUser models folder: {} ({} models{})",
            dir.display(),
            scan.models.len(),
            if dir.is_dir() { "" } else { ", the folder does not exist yet" }
        ),
        None => println!("\nNo user models folder: neither XDG_DATA_HOME nor HOME is set."),
    }
    for (path, reason) in &scan.skipped {
        println!("skipped {}: {reason}", path.display());
    }
    Ok(())
}
