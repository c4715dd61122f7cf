//! UI tests of the desktop app, driven through egui_kittest: the same `RescaleApp` as the real
//! window, fed input events, with its worker threads running for real.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::kittest::{by, NodeT, Queryable};
use egui_kittest::Harness;
use image::{Rgb, RgbImage};

use rescale_lab::gui::settings::{CodecFamily, Settings};
use rescale_lab::gui::{GuiOptions, RescaleApp, ViewMode};

/// A file "dropped" on the window: what winit hands egui, so the app's drop path runs as is.
#[derive(Debug)]
struct TestDrop(PathBuf);

impl egui::DroppedFile for TestDrop {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn options() -> GuiOptions {
    GuiOptions {
        start_empty: true,
        fresh_settings: true,
        settings_override: Some(Settings { codec: CodecFamily::Jpeg, quality: 75, ..Settings::default() }),
        // Not the developer's own models folder.
        user_models_dir: Some(PathBuf::from("/nonexistent/rescale-lab-test-models")),
        ..GuiOptions::default()
    }
}

/// [`options`] with SSIMULACRA2/Butteraugli off, for tests about something else.
fn options_without_perceptual() -> GuiOptions {
    GuiOptions { settings_override: Some(Settings { perceptual: false, ..options().settings_override.unwrap() }), ..options() }
}

fn harness(options: GuiOptions) -> Harness<'static, RescaleApp> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| RescaleApp::new(cc, options))
}

/// A small photo-like test image: gradients, edges and texture, so codecs and rescalers differ.
fn write_test_image(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let checker = if (x / 8 + y / 8) % 2 == 0 { 60 } else { 0 };
        let noise = ((x.wrapping_mul(73) ^ y.wrapping_mul(151)) % 41) as u8;
        Rgb([
            ((x * 255 / w) as u8).saturating_add(noise / 2),
            ((y * 255 / h) as u8).saturating_sub(checker),
            (128u8).wrapping_add(checker).wrapping_add(noise),
        ])
    });
    let path = dir.join(name);
    img.save(&path).expect("writing the test image");
    path
}

fn drop_file(h: &mut Harness<'static, RescaleApp>, path: &Path) {
    h.input_mut().dropped_files.push(Arc::new(TestDrop(path.to_path_buf())));
    h.step();
}

/// Steps frames until the app is idle (nothing loading or computing, results current).
fn run_until_idle(h: &mut Harness<'static, RescaleApp>) {
    let start = Instant::now();
    let mut idle_frames = 0;
    while idle_frames < 3 {
        h.step();
        if h.state().is_idle() {
            idle_frames += 1;
        } else {
            idle_frames = 0;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "app did not become idle; errors: {:?}", h.state().errors());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Texts on screen containing `needle`: labels (whose text AccessKit keeps in `value`) and the
/// names of other widgets.
fn labels_containing(h: &Harness<'static, RescaleApp>, needle: &str) -> Vec<String> {
    h.query_all(by().label_contains(needle).include_labels())
        .filter_map(|n| {
            let node = n.accesskit_node();
            if node.role() == egui::accesskit::Role::Label { node.value() } else { node.label() }
        })
        .collect()
}

/// The metric line of the Bicubic panel ("PSNR-Y 31.20 dB · SSIM-Y 0.9012").
fn bicubic_metrics(h: &Harness<'static, RescaleApp>) -> String {
    let app = h.state();
    let key = app.shown_methods().into_iter().find(|m| m.label == "Bicubic").expect("bicubic listed").key;
    let panel = app.panel_descs().into_iter().find(|p| p.id == key).expect("bicubic panel");
    let line = panel.lines[0].clone();
    assert!(line.starts_with("PSNR-Y"), "bicubic panel shows {line:?} (note {:?})", panel.note);
    // The same text must be on screen as a label, not only in the state.
    assert!(labels_containing(h, &line).iter().any(|l| l == &line), "label {line:?} not on screen");
    line
}

#[test]
fn drop_quality_codec_and_scale_update_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "test.png", 160, 120);
    let mut h = harness(options());
    run_until_idle(&mut h);
    assert!(h.state().active_doc().is_none());

    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    assert_eq!(h.state().active_doc().map(|d| d.name.clone()), Some("test".into()));
    assert!(h.state().errors().is_empty(), "errors: {:?}", h.state().errors());
    let q75 = bicubic_metrics(&h);
    assert!(!labels_containing(&h, "JPEG q75").is_empty(), "LR panel names the codec");

    // Quality down by keyboard (−5 per ↓): 75 → 15.
    for _ in 0..12 {
        h.key_press(egui::Key::ArrowDown);
        h.step();
    }
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.quality, 15);
    let q15 = bicubic_metrics(&h);
    assert_ne!(q75, q15, "metrics must follow the quality");
    assert!(!labels_containing(&h, "JPEG q15").is_empty());

    // Codec through its radio button.
    h.get_by_label("WebP").click();
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.codec, CodecFamily::Webp);
    assert!(!labels_containing(&h, "WebP q15").is_empty());
    let webp = bicubic_metrics(&h);
    assert_ne!(webp, q15);

    // Scale through its radio button: the LR becomes 40×30.
    h.get_by_label("×4").click();
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.scale, 4);
    assert!(!labels_containing(&h, "40×30").is_empty(), "LR size label at ×4");
    assert_ne!(bicubic_metrics(&h), webp);
}

#[test]
fn export_writes_every_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    let path = write_test_image(dir.path(), "photo.png", 96, 64);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);

    // The "Export to <folder>" button appears once a folder was used; set it as a past export.
    h.state_mut().settings.export_dir = Some(out.clone());
    h.step();
    h.get_by_label("Export again to export").click();
    run_until_idle(&mut h);
    assert!(h.state().errors().is_empty(), "errors: {:?}", h.state().errors());
    for name in [
        "photo_x2_jpeg-q75_bicubic.png",
        "photo_x2_bicubic_lr.png",
        "photo_x2_jpeg-q75_bicubic_lr.jpg",
        "photo_x2_jpeg-q75_metrics.csv",
        "photo_x2_jpeg-q75_metrics.json",
        "photo_x2_jpeg-q75_montage.png",
    ] {
        assert!(out.join(name).is_file(), "{name} missing; have {:?}", std::fs::read_dir(&out).unwrap().collect::<Vec<_>>());
    }
    let rec = image::open(out.join("photo_x2_jpeg-q75_bicubic.png")).unwrap();
    assert_eq!((rec.width(), rec.height()), (96, 64));
    let lr = image::open(out.join("photo_x2_bicubic_lr.png")).unwrap();
    assert_eq!((lr.width(), lr.height()), (48, 32));
    let csv = std::fs::read_to_string(out.join("photo_x2_jpeg-q75_metrics.csv")).unwrap();
    assert!(csv.starts_with("image,method,scale,codec,quality"));
    assert!(csv.lines().any(|l| l.starts_with("photo,Bicubic,2,jpeg-q75,75,,48,32,")), "{csv}");
    // The perceptual metrics are in the export once computed (the app was idle before exporting).
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "ssimulacra2").unwrap();
    assert!(csv.lines().skip(1).all(|l| !l.split(',').nth(column).unwrap_or("").is_empty()), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("photo_x2_jpeg-q75_metrics.json")).unwrap()).unwrap();
    assert_eq!(json["quality"], 75);
    let first = std::fs::read(out.join("photo_x2_jpeg-q75_bicubic.png")).unwrap();
    // To look at the montage: RESCALE_LAB_KEEP_EXPORT=/some/dir cargo test --release --test gui
    if let Some(keep) = std::env::var_os("RESCALE_LAB_KEEP_EXPORT") {
        std::fs::copy(out.join("photo_x2_jpeg-q75_montage.png"), Path::new(&keep).join("montage.png")).unwrap();
    }

    // Again with the E key: the same result adds no copies, and says so.
    let count = || std::fs::read_dir(&out).unwrap().count();
    let files_before = count();
    h.key_press(egui::Key::E);
    run_until_idle(&mut h);
    assert_eq!(count(), files_before, "{:?}", std::fs::read_dir(&out).unwrap().collect::<Vec<_>>());
    assert_eq!(std::fs::read(out.join("photo_x2_jpeg-q75_bicubic.png")).unwrap(), first);
    let said = labels_containing(&h, "Exported");
    assert!(said.iter().any(|l| l.contains(&format!("{files_before} unchanged"))), "export confirmation: {said:?}");

    // A file the user changed is never overwritten: the export takes a new name beside it.
    std::fs::write(out.join("photo_x2_jpeg-q75_bicubic.png"), b"edited by the user").unwrap();
    h.key_press(egui::Key::E);
    run_until_idle(&mut h);
    assert_eq!(std::fs::read(out.join("photo_x2_jpeg-q75_bicubic.png")).unwrap(), b"edited by the user");
    assert_eq!(std::fs::read(out.join("photo_x2_jpeg-q75_bicubic (1).png")).unwrap(), first);
    assert!(!out.join("photo_x2_jpeg-q75_montage (1).png").exists());
    let said = labels_containing(&h, "Exported");
    let expected = format!("{} unchanged: identical files were there already; 1 renamed", files_before - 1);
    assert!(said.iter().any(|l| l.contains(&expected)), "export confirmation: {said:?}");
}

#[test]
fn a_bad_file_shows_an_error_and_the_app_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.png");
    std::fs::write(&bad, b"this is not a PNG").unwrap();
    let bad_model = dir.path().join("garbage.pth");
    std::fs::write(&bad_model, b"not a checkpoint").unwrap();
    let good = write_test_image(dir.path(), "good.png", 64, 48);
    let mut h = harness(options());

    drop_file(&mut h, &bad);
    run_until_idle(&mut h);
    assert!(h.state().active_doc().is_none());
    let errors = labels_containing(&h, "Could not open");
    assert!(errors.iter().any(|e| e.contains("broken.png")), "error on screen: {errors:?}");

    drop_file(&mut h, &good);
    run_until_idle(&mut h);
    assert_eq!(h.state().active_doc().map(|d| d.name.clone()), Some("good".into()));
    bicubic_metrics(&h);

    // A checkpoint that does not load: reported, listed as disabled, bicubic keeps working.
    drop_file(&mut h, &bad_model);
    run_until_idle(&mut h);
    assert!(labels_containing(&h, "garbage.pth").iter().any(|l| l.contains("failed to load")), "model error shown");
    bicubic_metrics(&h);

    // Dismissing the error works and the window still runs.
    let n = h.state().messages.len();
    h.get_all_by_label("dismiss").next().expect("a dismiss button").click();
    h.step();
    assert!(h.state().messages.len() < n);
}

#[test]
fn views_shortcuts_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "views.png", 80, 64);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);

    h.key_press(egui::Key::S);
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.view, ViewMode::Split);
    h.key_press(egui::Key::D);
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.view, ViewMode::Difference);
    assert!(!labels_containing(&h, "Full scale").is_empty());
    h.key_press(egui::Key::G);
    h.key_press(egui::Key::Num3);
    run_until_idle(&mut h);
    assert_eq!(h.state().focus.as_deref(), Some(h.state().visible_panel_ids()[2].as_str()));
    h.key_press(egui::Key::Escape);
    h.step();
    assert!(h.state().focus.is_none());

    h.key_press(egui::Key::F1);
    h.step();
    assert!(h.state().help_open);
    assert!(!labels_containing(&h, "quality ±5").is_empty());
    h.key_press(egui::Key::Escape);
    h.step();
    assert!(!h.state().help_open);

    // The chart sweeps the quality in the background: one point per quality for bicubic. It
    // says how far it has got while it runs.
    h.key_press(egui::Key::R);
    let start = Instant::now();
    while labels_containing(&h, "sweeping quality: ").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60) && h.state().rd.done_points == 0, "no sweep progress shown");
        h.step();
    }
    let total = h.state().rd.total_points;
    assert_eq!(total, 3 * (rescale_lab::gui::worker::RD_QUALITIES.len() + 1));
    assert!(labels_containing(&h, "sweeping quality: ").iter().any(|l| l.contains(&format!("/{total} points"))));
    // The status bar never says "ready" while the sweep runs.
    assert!(h.query_by_label("ready").is_none(), "status bar says ready during the sweep");
    assert!(h.query_by_label("sweeping the chart…").is_some() || h.query_by_label("computing…").is_some());
    run_until_idle(&mut h);
    assert_eq!(h.state().rd.done_points, total);
    assert!(h.query_by_label("ready").is_some(), "ready once the sweep is done");
    assert!(h.state().settings.show_chart);
    let bicubic = h.state().shown_methods().into_iter().find(|m| m.label == "Bicubic").unwrap().key;
    let points = h.state().rd.curves.get(&bicubic).map(|c| c.points.len()).unwrap_or(0);
    // Every swept quality, plus the current one (75) which the sweep does first.
    assert_eq!(points, rescale_lab::gui::worker::RD_QUALITIES.len() + 1);
}

#[test]
fn zoom_pan_and_crop_are_shared_and_survive_the_slider() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "zoom.png", 200, 150);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let panel = h.state().last_panel_rect.expect("a panel was drawn");

    // Wheel over a panel zooms (all panels share the view).
    h.hover_at(panel.center());
    h.step();
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 120.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    for _ in 0..20 {
        h.step(); // the scroll is smoothed over frames
    }
    assert!(matches!(h.state().view.fit, rescale_lab::gui::view::ViewFit::Manual { .. }), "wheel zoomed");

    // Right-drag draws a crop; every panel then fits that region.
    h.key_press(egui::Key::F); // back to fit first
    h.step();
    let a = panel.center() - egui::vec2(40.0, 30.0);
    let b = panel.center() + egui::vec2(40.0, 30.0);
    h.hover_at(a);
    h.step();
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Secondary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    h.event(button(a, true));
    h.step();
    for t in [0.3, 0.6, 1.0] {
        h.hover_at(a + (b - a) * t);
        h.step();
    }
    h.event(button(b, false));
    h.step();
    let crop = h.state().view.crop().expect("a crop after the right-drag");
    assert!(crop.width() > 10.0 && crop.width() < 200.0, "{crop:?}");

    // The crop stays while the quality changes.
    h.key_press(egui::Key::ArrowUp);
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.quality, 80);
    assert_eq!(h.state().view.crop(), Some(crop));
    // And a montage export covers just that region.
    let region = h.state().view.export_region(Some(panel), egui::vec2(200.0, 150.0)).unwrap();
    assert!(region[2] < 200 && region[3] < 150, "{region:?}");
}

#[test]
fn hostile_files_dropped_on_the_window_are_reported_and_nothing_else_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_test_image(dir.path(), "good.png", 64, 48);
    let tiny = write_test_image(dir.path(), "tiny.png", 12, 12);
    // A JPEG whose middle is overwritten, end marker intact.
    let mut damaged = Vec::new();
    image::DynamicImage::ImageRgb8(image::open(&good).unwrap().to_rgb8())
        .write_to(&mut std::io::Cursor::new(&mut damaged), image::ImageFormat::Jpeg)
        .unwrap();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 40].iter_mut().enumerate().for_each(|(i, b)| *b = (i as u8).wrapping_mul(97) ^ 0x5A);
    let damaged_path = dir.path().join("damaged.jpg");
    std::fs::write(&damaged_path, &damaged).unwrap();
    let fifo = dir.path().join("pipe.png");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // Shipped-layout weights with a NaN.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/irn_x2.safetensors");
    let mut tensors = candle_core::safetensors::load(&shipped, &candle_core::Device::Cpu).unwrap();
    let name = "operations.1.F.conv1.weight";
    let t = &tensors[name];
    let mut values = t.to_dtype(candle_core::DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    values[0] = f32::NAN;
    let poisoned = candle_core::Tensor::from_vec(values, t.shape(), &candle_core::Device::Cpu).unwrap();
    tensors.insert(name.to_string(), poisoned);
    let nan_model = dir.path().join("nan.safetensors");
    candle_core::safetensors::save(&tensors, &nan_model).unwrap();

    let mut h = harness(options());
    drop_file(&mut h, &good);
    run_until_idle(&mut h);
    let before = bicubic_metrics(&h);

    for (path, needle) in [(&damaged_path, "corrupt JPEG"), (&fifo, "not a regular file")] {
        drop_file(&mut h, path);
        run_until_idle(&mut h);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let shown = labels_containing(&h, &name);
        assert!(shown.iter().any(|l| l.contains(needle)), "{name}: {shown:?}");
        assert_eq!(h.state().active_doc().map(|d| d.name.clone()), Some("good".into()), "good image still shown");
        assert_eq!(bicubic_metrics(&h), before, "its results untouched");
    }

    drop_file(&mut h, &nan_model);
    run_until_idle(&mut h);
    let shown = labels_containing(&h, "nan.safetensors");
    assert!(shown.iter().any(|l| l.contains("NaN or infinite")), "{shown:?}");
    assert_eq!(bicubic_metrics(&h), before);

    // An image too small to measure opens, and says why there are no numbers.
    drop_file(&mut h, &tiny);
    run_until_idle(&mut h);
    assert!(!labels_containing(&h, "too small to measure").is_empty(), "errors: {:?}", h.state().errors());
    assert!(h.state().docs.iter().any(|d| d.name == "good"), "the good image is still open");
}

#[test]
fn equal_size_perceptual_metrics_butteraugli_map_and_bd_on_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "photo.png", 96, 80);
    let settings = Settings { codec: CodecFamily::Jpeg, quality: 75, size_mode: true, target_bpp: 1.5, show_chart: true, ..Settings::default() };
    let mut h = harness(GuiOptions { settings_override: Some(settings), ..options() });
    drop_file(&mut h, &path);
    run_until_idle(&mut h);

    let app = h.state();
    let mut qualities = Vec::new();
    for m in app.shown_methods().into_iter().filter(|m| m.runnable.is_ok()) {
        let slot = app.results.slots.get(&m.key).expect("a result per method");
        let ready = slot.outcome.as_ref().expect("computed");
        let matched = ready.view.size_match.as_ref().expect("equal size: the search ran");
        assert!(ready.view.output.bits_per_pixel <= 1.5, "{}: {} bpp", m.label, ready.view.output.bits_per_pixel);
        assert_eq!(ready.view.output.codec.quality().unwrap().get(), matched.quality);
        qualities.push(matched.quality);
        let panel = app.panel_descs().into_iter().find(|p| p.id == m.key).unwrap();
        assert!(panel.lines[0].starts_with(&format!("q{} · PSNR-Y", matched.quality)), "{:?}", panel.lines);
        // The perceptual line, with numbers, on screen.
        let line = panel.lines[2].clone();
        assert!(line.starts_with("SSIMULACRA2 ") && !line.contains("computing"), "{line}");
        assert!(!labels_containing(&h, &line).is_empty(), "{line} not on screen");
    }
    assert!(qualities.len() >= 2, "{qualities:?}");
    // The quality slider does not matter at equal size.
    h.state_mut().settings.quality = 20;
    h.step();
    assert!(h.state().is_idle(), "no recompute for a quality change at equal size");

    // BD deltas under the chart, from the sweep.
    let bd = rescale_lab::gui::chart::bd_lines(h.state());
    assert!(bd.len() >= 2 && bd[1].contains("BD-PSNR") && bd[1].contains("BD-rate"), "{bd:?}");
    assert!(!labels_containing(&h, "BD-PSNR").is_empty());

    // The Butteraugli map in the difference view.
    h.state_mut().settings.view = ViewMode::Difference;
    h.state_mut().settings.diff_kind = rescale_lab::gui::settings::DiffKind::Butteraugli;
    h.step();
    for panel in h.state().panel_descs().into_iter().filter(|p| p.id != "original" && p.id != "lr") {
        assert!(panel.image.is_some() && panel.note.is_none(), "{}: {:?}", panel.id, panel.note);
    }
}

#[test]
fn quick_key_presses_all_count_and_a_missing_file_does_not_stop_the_launch() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_test_image(dir.path(), "good.png", 64, 48);
    let missing = dir.path().join("typo.png");
    let mut h = harness(GuiOptions { images: vec![missing, good], start_empty: false, ..options() });
    run_until_idle(&mut h);
    assert_eq!(h.state().active_doc().map(|d| d.name.clone()), Some("good".into()), "the good file opened");
    assert!(h.state().errors().iter().any(|e| e.contains("typo.png")), "the missing one is reported: {:?}", h.state().errors());

    // Four Up presses arriving in one frame: +20, not +5.
    let before = h.state().settings.quality;
    for _ in 0..4 {
        h.key_press(egui::Key::ArrowUp);
    }
    h.step();
    assert_eq!(h.state().settings.quality, (before + 20).min(100));
    for _ in 0..3 {
        h.key_press(egui::Key::ArrowLeft);
    }
    h.step();
    assert_eq!(h.state().settings.quality, (before + 17).min(100));
}

#[test]
fn the_badge_compares_full_results_and_says_at_what_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "photo.png", 96, 80);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let app = h.state();
    let best: Vec<_> = app.panel_descs().into_iter().filter(|p| p.best).collect();
    assert_eq!(best.len(), 1, "one winner");
    let winner = &app.results.slots[&best[0].id].outcome.as_ref().unwrap().view.output;
    let smallest = app
        .shown_methods()
        .iter()
        .filter_map(|m| app.results.slots.get(&m.key)?.outcome.as_ref().ok().map(|r| r.view.output.bits_per_pixel))
        .fold(f64::INFINITY, f64::min);
    let badge = best[0].badge.clone();
    assert!(badge.starts_with(&format!("best PSNR-Y at {:.3} bpp", winner.bits_per_pixel)), "{badge}");
    assert_eq!(badge.contains("LR +"), winner.bits_per_pixel > smallest * 1.02, "{badge}");
    // A byte figure names what it is compared with.
    assert!(!badge.contains("LR +") || badge.contains("% bytes vs "), "{badge}");
    assert!(!labels_containing(&h, &badge).is_empty(), "{badge} on screen");
}

#[test]
fn a_preview_fills_its_panel_and_wins_no_badge() {
    let dir = tempfile::tempdir().unwrap();
    // Above the networks' preview threshold (1 MP): they show a reduced-copy result first.
    let path = write_test_image(dir.path(), "large.png", 1200, 900);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    let start = Instant::now();
    loop {
        h.step();
        let app = h.state();
        let preview = app.panel_descs().into_iter().find(|p| p.preview && p.image.is_some() && p.id != "lr");
        if let Some(panel) = preview {
            let placement = panel.image.unwrap().placement;
            assert_eq!((placement.width(), placement.height()), (1200.0, 900.0), "{}: drawn over the whole image", panel.id);
            assert!(app.best_badge().is_none(), "no badge while a panel shows a preview");
            // Its numbers are marked approximate wherever they appear: the header says what
            // they were measured on, the table's row and every figure carry "≈".
            assert!(panel.lines[0].starts_with("≈ PSNR-Y") && panel.lines[0].contains("(approximate)"), "{:?}", panel.lines);
            assert!(panel.lines[1].starts_with("preview of a 0.25 MP copy"), "{:?}", panel.lines);
            assert!(!labels_containing(&h, &panel.lines[0]).is_empty(), "the marked line is on screen");
            assert!(!labels_containing(&h, "(preview ≈)").is_empty(), "the table's row says preview");
            let psnr = app.results.slots.get(&panel.id).and_then(|s| s.outcome.as_ref().ok()).unwrap().view.output.metrics.psnr_y;
            for text in labels_containing(&h, &format!("{psnr:.2} dB")) {
                assert!(text.starts_with('≈'), "a preview's PSNR shown unmarked: {text:?}");
            }
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no preview appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn without_a_file_dialog_a_typed_path_opens_the_image() {
    // What Open… falls back to when the system dialog returns nothing (no portal here).
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "typed.png", 64, 48);
    let mut h = harness(options());
    h.state_mut().path_prompt = Some(rescale_lab::gui::path_prompt::PathPrompt::new(rescale_lab::gui::path_prompt::PromptPurpose::OpenImage, None));
    // A new window is measured in its first frame and shown from the next.
    for _ in 0..3 {
        h.step();
    }
    assert!(!labels_containing(&h, "No file dialog answered").is_empty(), "the prompt says what happened");
    // The text field has focus: typing "s" must not switch to the split view.
    h.get_by_role(egui::accesskit::Role::TextInput).type_text(&format!("{}", path.display()));
    h.step();
    assert_eq!(h.state().settings.view, ViewMode::Grid, "single-key shortcuts stay out of the text field");
    h.get_by_label("Open").click();
    run_until_idle(&mut h);
    assert_eq!(h.state().active_doc().map(|d| d.name.clone()), Some("typed".into()));
    assert!(h.state().path_prompt.is_none());

    // A path that does not exist is reported and the prompt stays.
    h.state_mut().path_prompt = Some(rescale_lab::gui::path_prompt::PathPrompt::new(rescale_lab::gui::path_prompt::PromptPurpose::OpenImage, Some(dir.path().join("nope.png"))));
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("Open").click();
    h.step();
    h.step();
    assert!(h.state().errors().iter().any(|e| e.contains("nope.png: no such file")), "{:?}", h.state().errors());
    assert!(h.state().path_prompt.is_some());
}

#[test]
fn a_prefilled_path_prompt_takes_every_key_and_tab_always_toggles_the_controls() {
    // The second Open… opens the prompt pre-filled: its field must still take the focus, and no
    // key typed there may act as a shortcut (S split view, D difference, ↓ quality, E export).
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "keys.png", 64, 48);
    let mut h = harness(options_without_perceptual());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    h.state_mut().path_prompt = Some(rescale_lab::gui::path_prompt::PathPrompt::new(rescale_lab::gui::path_prompt::PromptPurpose::OpenImage, Some(dir.path().join("other.png"))));
    for _ in 0..3 {
        h.step();
    }
    assert!(h.ctx.text_edit_focused(), "the pre-filled field has the focus");
    for key in [egui::Key::S, egui::Key::D, egui::Key::ArrowDown, egui::Key::E, egui::Key::X, egui::Key::Num2, egui::Key::Tab] {
        h.key_press(key);
        h.step();
    }
    // The field loses the focus (a click elsewhere would do that): the window is still open, so
    // the keys still stay out of the app.
    h.ctx.memory_mut(|m| m.stop_text_input());
    h.step();
    for key in [egui::Key::S, egui::Key::ArrowDown, egui::Key::E] {
        h.key_press(key);
        h.step();
    }
    let app = h.state();
    assert_eq!((app.settings.view, app.settings.quality, app.settings.scale), (ViewMode::Grid, 75, 2), "a key acted behind the prompt");
    assert!(app.focus.is_none() && app.settings.controls_visible && app.exports_in_flight() == 0);
    // Still the same prompt: E did not replace it with the export folder's.
    assert_eq!(app.path_prompt.as_ref().map(|p| p.purpose), Some(rescale_lab::gui::path_prompt::PromptPurpose::OpenImage));
    // Escape leaves the prompt; then the keys are the app's again.
    h.key_press(egui::Key::Escape);
    h.step();
    assert!(h.state().path_prompt.is_none());
    h.key_press(egui::Key::S);
    h.step();
    assert_eq!(h.state().settings.view, ViewMode::Split);

    // Tab toggles the controls every time, although egui would move its focus with it.
    for expected in [false, true, false, true] {
        h.key_press(egui::Key::Tab);
        h.step();
        h.step();
        assert_eq!(h.state().settings.controls_visible, expected, "Tab toggles the controls each time");
    }
    // A button that has the keyboard focus does not swallow the app's keys either.
    h.get_by_label("Open…").focus();
    h.step();
    h.key_press(egui::Key::G);
    h.step();
    assert_eq!(h.state().settings.view, ViewMode::Grid);
}

#[test]
fn messages_stack_newest_first_fold_belong_to_their_image_and_go_together() {
    use rescale_lab::gui::app::{Action, MessageKind};
    let dir = tempfile::tempdir().unwrap();
    let a = write_test_image(dir.path(), "first.png", 64, 48);
    let b = write_test_image(dir.path(), "second.png", 48, 64);
    let mut h = harness(options_without_perceptual());
    drop_file(&mut h, &a);
    run_until_idle(&mut h);
    let first = h.state().active.unwrap();
    for n in 0..5 {
        h.state_mut().push_image_message(MessageKind::Error, format!("problem {n} with the first"));
    }
    h.step();
    // One stack, newest first: two in full, the older three folded into one line.
    assert_eq!(labels_containing(&h, "with the first"), ["Error: problem 4 with the first", "Error: problem 3 with the first"]);
    h.get_by_label("3 older messages…").click();
    h.step();
    h.step();
    assert_eq!(labels_containing(&h, "with the first").len(), 5);
    h.get_by_label("fold the older messages").click();
    h.step();
    h.step();
    assert_eq!(labels_containing(&h, "with the first").len(), 2);

    // Another image: the first one's messages are not shown over it, and come back with it.
    drop_file(&mut h, &b);
    run_until_idle(&mut h);
    assert!(labels_containing(&h, "with the first").is_empty(), "another image's messages over this one");
    h.state_mut().actions.push(Action::SelectDoc(first));
    h.step();
    h.step();
    assert_eq!(labels_containing(&h, "with the first").len(), 2);
    h.get_by_label("dismiss all 5").click();
    h.step();
    h.step();
    assert!(labels_containing(&h, "with the first").is_empty());
    assert!(h.state().messages.is_empty(), "{:?}", h.state().errors());
}

#[test]
fn the_two_up_demo_layout_has_one_headline_a_side_hides_its_overlays_and_goes_where_it_matters() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "demo.png", 160, 120);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .build_eframe(move |cc| RescaleApp::new(cc, GuiOptions { demo: true, ..options_without_perceptual() }));
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    h.key_press(egui::Key::T);
    h.step();
    h.step();
    assert_eq!(h.state().settings.view, ViewMode::TwoUp);
    let (left, right) = h.state().split_ids();
    let descs = h.state().panel_descs();
    let bicubic = h.state().shown_methods().into_iter().find(|m| m.label == "Bicubic").unwrap().key;
    assert_eq!(left, bicubic, "Bicubic on the left by default");
    // The right side is the network with the highest PSNR-Y of the results in.
    let psnr = |key: &str| h.state().results.slots[key].outcome.as_ref().unwrap().view.output.metrics.psnr_y;
    let networks: Vec<_> = h.state().shown_methods().into_iter().filter(|m| m.key != bicubic).collect();
    assert!(networks.len() >= 2, "IRN and SAIN are shown");
    let best = networks.iter().max_by(|a, b| psnr(&a.key).total_cmp(&psnr(&b.key))).unwrap();
    assert_eq!(right, best.key, "the best network on the right by default");
    let network = descs.iter().find(|d| d.id == right).expect("the right side's panel");
    let delta = network.delta.as_ref().expect("both results are current");
    // One headline per side: the network's figure against Bicubic, what it is at, what it costs.
    let (big, small) = rescale_lab::gui::panels::two_up::headline_text(h.state(), network);
    let name = best.label.split(" (").next().unwrap();
    assert!(big.starts_with(name) && big.contains(&delta.headline()), "{big}");
    assert!(small.starts_with("at equal quality: JPEG q75") && small.contains("Bicubic's"), "{small}");
    assert!(!labels_containing(&h, &big).is_empty() && !labels_containing(&h, &small).is_empty(), "both lines on screen");
    let bicubic_line = &descs.iter().find(|d| d.id == left).unwrap().lines[0];
    assert!(!labels_containing(&h, bicubic_line).is_empty(), "Bicubic's side reads its own PSNR");
    // Only the two sides are drawn, large: nothing of the other methods' panels.
    let other = networks.iter().find(|m| m.key != best.key).unwrap().label.split(" (").next().unwrap().to_string();
    assert!(labels_containing(&h, &other).iter().all(|l| !l.contains("vs Bicubic")), "a third method's headline in two-up");

    // O hides the pills and the zoom badge; again shows them.
    assert!(!labels_containing(&h, "best PSNR-Y").is_empty() || h.state().best_badge().is_none());
    h.key_press(egui::Key::O);
    h.step();
    h.step();
    assert!(h.state().overlays_hidden && labels_containing(&h, "best PSNR-Y").is_empty());
    h.key_press(egui::Key::O);
    h.step();
    assert!(!h.state().overlays_hidden);

    // W goes to where the network and Bicubic differ most: the hotspot the summary offers.
    let spot = delta.hotspot.expect("a hotspot between two current results");
    h.key_press(egui::Key::W);
    h.step();
    let crop = h.state().view.crop().expect("W zoomed to a region");
    let expected = rescale_lab::gui::versus::hotspot_region(&spot, egui::vec2(160.0, 120.0));
    assert_eq!(crop, expected);
}

#[test]
fn a_panel_behind_the_slider_says_which_setting_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough that the networks take a while at the new quality.
    let path = write_test_image(dir.path(), "photo.png", 320, 256);
    let mut h = harness(options_without_perceptual());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    h.state_mut().settings.quality = 30;
    h.step();
    let stale: Vec<_> = h.state().panel_descs().into_iter().filter(|p| p.updating).collect();
    assert!(!stale.is_empty(), "some panel is still on the old quality");
    for panel in &stale {
        assert_eq!(panel.stale_note, "shows JPEG q75, computing JPEG q30", "{}", panel.id);
    }
    assert!(!labels_containing(&h, "updating: shows JPEG q75, computing JPEG q30").is_empty());
    run_until_idle(&mut h);
    assert!(h.state().panel_descs().iter().all(|p| !p.updating && p.stale_note.is_empty()));
}

/// Rectangles of the labels on screen, with their text.
fn label_rects(h: &Harness<'static, RescaleApp>) -> Vec<(String, egui::Rect)> {
    h.query_all(by().role(egui::accesskit::Role::Label))
        .filter_map(|n| {
            let text = n.accesskit_node().value()?;
            Some((text, n.rect()))
        })
        .collect()
}

#[test]
fn at_1280x720_headers_never_overlap_and_the_controls_fit() {
    let (mut h, _dir) = at_1280x720(1.0);
    // The side panel fits: Export and the chart toggle are on screen without scrolling.
    for name in ["Export…", "Chart", "Open…", "Grid"] {
        let r = h.get_by_label(name).rect();
        assert!(r.max.y <= 720.0 && r.min.y >= 0.0, "{name} at {r:?}, below the fold");
    }
    // Choosing the split view neither widens the side panel nor moves the controls below it.
    let below = "Latent (IRN, SAIN)";
    let before = (h.get_by_label("Load model…").rect(), h.get_by_label_contains(below).rect());
    h.get_by_label("Split").click();
    for _ in 0..4 {
        h.step();
    }
    let after = (h.get_by_label("Load model…").rect(), h.get_by_label_contains(below).rect());
    assert_eq!(before, after, "controls moved when the view changed");
}

/// 1280×720 pixels at 150 % (a 1080p laptop's default, and what Xvfb reports): 853×480 points.
/// There, the figures vs Bicubic printed over the titles, and the chart took all but a sliver
/// of the width from the panels (its summary lines did not wrap).
#[test]
fn at_1280x720_pixels_at_150_percent_headers_never_overlap_and_the_chart_leaves_the_panels_half() {
    let (h, _dir) = at_1280x720(1.5);
    let chart_left = h.get_by_label_contains("Rate–distortion").rect().min.x;
    let panels_left = h.get_by_label("Original").rect().min.x;
    assert!(chart_left - panels_left >= 0.4 * (1280.0 / 1.5 - panels_left), "the panels keep {:.0} of {:.0} points", chart_left - panels_left, 1280.0 / 1.5 - panels_left);
}

/// The window at 1280×720 pixels with the chart open, a result in, and the panels' header
/// labels checked pairwise apart.
fn at_1280x720(pixels_per_point: f32) -> (Harness<'static, RescaleApp>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "wide.png", 300, 200);
    let settings = Settings { show_chart: true, ..options().settings_override.unwrap() };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0) / pixels_per_point)
        .with_pixels_per_point(pixels_per_point)
        .build_eframe(move |cc| RescaleApp::new(cc, GuiOptions { settings_override: Some(settings), ..options() }));
    drop_file(&mut h, &path);
    // While the chart sweeps, its long progress line wraps: a row that did not wrap pushed the
    // chart, capped at half the width, past the window's edge.
    let start = Instant::now();
    while labels_containing(&h, "sweeping quality: ").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "no sweep progress shown");
        h.step();
    }
    // (Above the metrics table, whose columns scroll sideways.)
    let (right, table_top) = (1280.0 / pixels_per_point + 1.0, h.get_by_label("Method").rect().min.y);
    for (text, r) in label_rects(&h).into_iter().filter(|(_, r)| r.max.y < table_top) {
        assert!(r.max.x <= right, "{text:?} at {r:?} ends past the window's right edge ({right})");
    }
    run_until_idle(&mut h);
    // The panels' headers: every label of the comparison area (left of the chart, above the
    // table), pairwise apart. Before, the titles of panels 2 and 3 printed over each other here.
    let descs = h.state().panel_descs();
    assert!(descs.iter().filter(|d| d.delta.is_some()).count() >= 1, "networks show a figure vs Bicubic");
    let chart_left = h.get_by_label_contains("Rate–distortion").rect().min.x;
    // Left of the first title is its number button; the side panel ends further left.
    let panels_left = h.get_by_label("Original").rect().min.x - 40.0;
    let area_top = h.state().last_panel_rect.unwrap().min.y - 100.0;
    let table_top = h.get_by_label("Method").rect().min.y;
    let labels: Vec<_> = label_rects(&h)
        .into_iter()
        .filter(|(_, r)| r.min.x > panels_left && r.max.x <= chart_left + 1.0 && r.min.y > area_top && r.max.y < table_top && r.width() > 0.0)
        .collect();
    for title in descs.iter().map(|d| &d.title) {
        assert!(labels.iter().any(|(t, _)| t == title), "{title} is on screen as a label: {labels:?}");
    }
    // Each figure vs Bicubic too, whole (it is what the audience reads), with its panel's
    // PSNR-Y line.
    for (d, delta) in descs.iter().filter_map(|d| Some((d, d.delta.as_ref()?))) {
        let (short, full) = (delta.short(), delta.headline());
        assert!(labels.iter().any(|(t, _)| *t == short || *t == full), "{}'s figure {short:?} is on screen: {labels:?}", d.title);
        assert!(labels.iter().any(|(t, _)| t.starts_with("PSNR-Y") && d.lines.iter().any(|l| l == t)), "{}'s PSNR-Y line is on screen", d.title);
    }
    for (i, (ta, a)) in labels.iter().enumerate() {
        for (tb, b) in &labels[i + 1..] {
            let overlap = a.intersect(*b);
            assert!(overlap.width() <= 0.5 || overlap.height() <= 0.5, "{ta:?} {a:?} overlaps {tb:?} {b:?}");
        }
    }
    (h, dir)
}


#[test]
fn panning_the_split_view_keeps_the_crop() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "split.png", 200, 150);
    let settings = Settings { view: ViewMode::Split, ..options().settings_override.unwrap() };
    let mut h = harness(GuiOptions { settings_override: Some(settings), ..options() });
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let crop = egui::Rect::from_min_size(egui::pos2(40.0, 30.0), egui::vec2(60.0, 40.0));
    h.state_mut().view.crop = Some(crop);
    h.step();
    let panel = h.state().last_panel_rect.unwrap();
    let (a, b) = (panel.center() + egui::vec2(-150.0, 0.0), panel.center() + egui::vec2(-100.0, 20.0));
    h.hover_at(a);
    h.step();
    let button = |pos, pressed| egui::Event::PointerButton { pos, button: egui::PointerButton::Primary, pressed, modifiers: egui::Modifiers::NONE };
    h.event(button(a, true));
    h.step();
    for t in [0.3, 0.6, 1.0] {
        h.hover_at(a + (b - a) * t);
        h.step();
    }
    h.event(button(b, false));
    h.step();
    assert!(matches!(h.state().view.fit, rescale_lab::gui::view::ViewFit::Manual { .. }), "the drag panned");
    assert_eq!(h.state().view.crop(), Some(crop), "panning kept the crop");
    h.key_press(egui::Key::F);
    h.step();
    assert_eq!(h.state().view.crop(), Some(crop), "fit returns to the crop");
}

#[test]
fn networks_against_bicubic_figures_summary_map_and_zoom_to_the_largest_difference() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "photo.png", 160, 120);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let app = h.state();
    let bicubic = rescale_lab::gui::versus::bicubic_key(app).expect("bicubic shown");
    let psnr = |key: &str| app.results.slots[key].outcome.as_ref().unwrap().view.output.metrics.psnr_y;
    let networks: Vec<_> = app.panel_descs().into_iter().filter(|d| d.delta.is_some()).collect();
    assert_eq!(networks.len(), 2, "IRN and SAIN each have a figure");
    for d in &networks {
        let delta = d.delta.as_ref().unwrap();
        assert!((delta.psnr_y_db - (psnr(&d.id) - psnr(&bicubic))).abs() < 1e-9);
        assert!(!labels_containing(&h, &delta.short()).is_empty(), "{} on screen", delta.short());
        let ready = app.results.slots[&d.id].outcome.as_ref().unwrap();
        assert!(ready.versus.is_some(), "{}: the vs-Bicubic map is made", d.id);
    }
    assert!(app.panel_descs().iter().find(|d| d.id == bicubic).unwrap().delta.is_none());
    // Five panels on a 3×2 grid: the spare cell is the summary.
    assert!(labels_containing(&h, "vs Bicubic").iter().any(|l| l == "vs Bicubic"), "the summary's heading");
    assert!(!labels_containing(&h, "at equal quality: JPEG q75").is_empty());
    let spot = networks[0].delta.as_ref().unwrap().hotspot.expect("the two differ somewhere");
    let short = networks[0].title.split(" (").next().unwrap().to_string();
    h.get_by_label(&format!("zoom to where {short} gains or loses most vs Bicubic")).click();
    h.step();
    h.step();
    let crop = h.state().view.crop().expect("zoomed to a region");
    assert!(crop.contains(egui::pos2(spot.x as f32 + 1.0, spot.y as f32 + 1.0)), "{crop:?} vs {spot:?}");
    // The map is a mode of the difference view; Bicubic's panel says it is the reference.
    h.state_mut().settings.view = ViewMode::Difference;
    h.state_mut().settings.diff_kind = rescale_lab::gui::settings::DiffKind::VsBicubic;
    h.step();
    let descs = h.state().panel_descs();
    assert!(descs.iter().filter(|d| d.delta.is_some()).all(|d| d.image.is_some()));
    assert_eq!(descs.iter().find(|d| d.id == bicubic).unwrap().note.as_deref(), Some("the reference of this map"));
}

#[test]
fn a_stale_result_gets_no_figure_and_demo_mode_reads_from_afar() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "photo.png", 320, 256);
    let settings = Settings { perceptual: false, ..options().settings_override.unwrap() };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_eframe(move |cc| RescaleApp::new(cc, GuiOptions { settings_override: Some(settings), demo: true, ..options() }));
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    assert_eq!(h.ctx.zoom_factor(), rescale_lab::gui::panels::DEMO_ZOOM);
    assert!(h.query_by_label("Open…").is_none(), "the controls fold away in demo mode");
    // A visible handle and Tab bring them back for this demo, and fold them again.
    h.get_by_label("Controls (Tab)").click();
    h.step();
    h.step();
    assert!(h.query_by_label("Open…").is_some(), "the handle shows the controls in demo mode");
    h.key_press(egui::Key::Tab);
    h.step();
    h.step();
    assert!(h.query_by_label("Open…").is_none() && h.query_by_label("Controls (Tab)").is_some());
    assert!(h.state().panel_descs().iter().any(|d| d.delta.is_some()));
    // A slider move: until both results are in again, no figure compares old with new.
    h.state_mut().settings.quality = 30;
    h.step();
    let descs = h.state().panel_descs();
    assert!(descs.iter().any(|d| d.updating), "some panel is behind the slider");
    for d in &descs {
        assert!(d.delta.is_none(), "{}: a figure while a result is stale", d.id);
    }
    // Each method reports its start (and, on tiled images, its tiles) to the app.
    let start = Instant::now();
    while h.state().progress.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress reported");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    run_until_idle(&mut h);
    assert!(h.state().panel_descs().iter().any(|d| d.delta.is_some()));
}

#[test]
fn space_flips_to_the_original_m_steps_methods_and_the_inspector_reads_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "photo.png", 96, 80);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let original_texture = h.state().panel_descs()[0].image.unwrap().texture;
    // Held Space: every panel draws the original's texture; released: their own again.
    h.event(egui::Event::Key { key: egui::Key::Space, physical_key: None, pressed: true, repeat: false, modifiers: egui::Modifiers::NONE });
    h.step();
    assert!(h.state().flip_to_original);
    assert!(h.state().panel_descs().iter().all(|d| d.image.map(|i| i.texture) == Some(original_texture)));
    h.event(egui::Event::Key { key: egui::Key::Space, physical_key: None, pressed: false, repeat: false, modifiers: egui::Modifiers::NONE });
    h.step();
    assert!(!h.state().flip_to_original);
    assert!(h.state().panel_descs().iter().skip(1).all(|d| d.image.map(|i| i.texture) != Some(original_texture)));

    // M steps the maximised panel through the methods, wrapping around.
    let methods: Vec<String> = h.state().shown_methods().into_iter().map(|m| m.key).collect();
    for expected in methods.iter().chain(methods.iter().take(1)) {
        h.key_press(egui::Key::M);
        h.step();
        assert_eq!(h.state().focus.as_ref(), Some(expected));
    }
    h.key_press(egui::Key::Num0);
    h.step();

    // The inspector reads the 8-bit values the metrics use, at the same image point in every panel.
    let app = h.state();
    let p = egui::pos2(10.5, 7.5);
    for d in app.panel_descs() {
        let Some(source) = &d.pixels else { continue };
        let want = match d.id.as_str() {
            "original" => app.active_doc().unwrap().rgb.get_pixel(10, 7).0,
            "lr" => continue,
            key => app.results.slots[key].outcome.as_ref().unwrap().view.output.reconstruction.get_pixel(10, 7).0,
        };
        assert_eq!(source.at(p), Some(want), "{}", d.id);
    }
    let lr = app.panel_descs().into_iter().find(|d| d.id == "lr").unwrap().pixels.expect("the LR panel is inspectable");
    let lr_view = app.results.slots.values().find_map(|s| s.outcome.as_ref().ok().filter(|r| lr_is(&lr, r))).map(|r| r.view.output.compressed.decoded.get_pixel(5, 3).0);
    assert_eq!(lr.at(p), lr_view, "the LR value is the decoded LR pixel at half the position");

    // Space typed into a text field is text: no flip.
    h.state_mut().path_prompt = Some(rescale_lab::gui::path_prompt::PathPrompt::new(rescale_lab::gui::path_prompt::PromptPurpose::OpenImage, None));
    for _ in 0..3 {
        h.step();
    }
    h.get_by_role(egui::accesskit::Role::TextInput).focus();
    h.step();
    h.event(egui::Event::Key { key: egui::Key::Space, physical_key: None, pressed: true, repeat: false, modifiers: egui::Modifiers::NONE });
    h.step();
    assert!(!h.state().flip_to_original, "Space in a text field does not flip");
}

fn lr_is(source: &rescale_lab::gui::inspect::PixelSource, ready: &rescale_lab::gui::documents::Ready) -> bool {
    matches!(source, rescale_lab::gui::inspect::PixelSource::Lr(v) if std::sync::Arc::ptr_eq(v, &ready.view))
}

/// A user models folder under `root` holding random weights with the official keys, under the
/// name the IRN authors publish (`IRN_x2.pth`).
fn models_folder_with_official_irn(root: &Path) -> PathBuf {
    let folder = root.join("models");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy("../shared/fixtures/nets/irn_x2.pth", folder.join("IRN_x2.pth")).unwrap();
    folder
}

#[test]
fn a_model_in_the_user_folder_is_a_method_labelled_official() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_folder_with_official_irn(dir.path());
    let path = write_test_image(dir.path(), "photo.png", 64, 48);
    let mut h = harness(GuiOptions { user_models_dir: Some(models.clone()), ..options() });
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let app = h.state();
    let method = app.shown_methods().into_iter().find(|m| m.label == "IRN ×2 · IRN_x2.pth (official)").expect("the folder's model is listed");
    assert!(method.runnable.is_ok());
    let slot = app.results.slots.get(&method.key).expect("it ran");
    assert!(slot.outcome.as_ref().unwrap().view.output.metrics.psnr_y.is_finite());
    assert!(!labels_containing(&h, "IRN ×2 · IRN_x2.pth (official)").is_empty());
    // A folder model is not removed from a list it was never added to: no "remove" button.
    assert!(h.query_by_label("remove").is_none());
}

#[test]
fn a_saved_session_reopens_the_same_comparison_and_reports_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_test_image(dir.path(), "first.png", 96, 72);
    let second = write_test_image(dir.path(), "second.png", 80, 64);
    let settings = Settings { quality: 40, show_irn: false, perceptual: false, ..options().settings_override.unwrap() };
    let mut h = harness(GuiOptions { settings_override: Some(settings), ..options() });
    drop_file(&mut h, &first);
    run_until_idle(&mut h);
    drop_file(&mut h, &second);
    run_until_idle(&mut h);
    // The first image is the one shown when saved (not the last opened, which a restore that
    // did nothing would show anyway).
    let first_id = h.state().docs.iter().find(|d| d.name == "first").unwrap().id;
    h.state_mut().actions.push(rescale_lab::gui::app::Action::SelectDoc(first_id));
    run_until_idle(&mut h);
    let crop = egui::Rect::from_min_size(egui::pos2(10.0, 8.0), egui::vec2(40.0, 30.0));
    h.state_mut().view.crop = Some(crop);
    h.step();
    let psnr_of = |h: &Harness<'static, RescaleApp>| -> Vec<(String, f64)> {
        let app = h.state();
        let mut v: Vec<(String, f64)> = app
            .shown_methods()
            .into_iter()
            .map(|m| (m.label.clone(), app.results.slots[&m.key].outcome.as_ref().unwrap().view.output.metrics.psnr_y))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let before = psnr_of(&h);
    let session = dir.path().join("demo.rlab");
    h.state_mut().actions.push(rescale_lab::gui::app::Action::SaveSession { path: session.clone(), replace: false });
    h.step();
    assert!(session.is_file(), "{:?}", h.state().errors());
    // Saving again under a typed name does not replace it.
    h.state_mut().actions.push(rescale_lab::gui::app::Action::SaveSession { path: session.clone(), replace: false });
    h.step();
    assert!(h.state().errors().iter().any(|e| e.contains("already exists")));

    // A fresh window from the session: same images, active image, settings, crop and numbers.
    let mut h = harness(GuiOptions { session: Some(session.clone()), ..options() });
    run_until_idle(&mut h);
    let app = h.state();
    assert_eq!(app.docs.len(), 2);
    assert_eq!(app.active_doc().unwrap().path.as_deref(), Some(first.as_path()));
    assert_eq!((app.settings.quality, app.settings.show_irn, app.settings.perceptual), (40, false, false));
    assert_eq!(app.view.crop(), Some(crop));
    assert_eq!(psnr_of(&h), before, "the same results");

    // A session whose first image moved and whose model is gone: said, and the rest restored.
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&session).unwrap()).unwrap();
    doc["images"][0] = serde_json::json!(dir.path().join("moved.png"));
    doc["settings"]["user_models"] = serde_json::json!([dir.path().join("gone.pth")]);
    let broken = dir.path().join("broken.rlab");
    std::fs::write(&broken, serde_json::to_string(&doc).unwrap()).unwrap();
    drop_file(&mut h, &broken);
    run_until_idle(&mut h);
    let errors = h.state().errors();
    assert!(errors.iter().any(|e| e.contains("moved.png not found; the rest is restored")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("gone.pth not found")), "{errors:?}");
    assert_eq!(h.state().docs.len(), 1, "the old images were replaced by the session's one");
    assert_eq!(h.state().active_doc().unwrap().name, "second");
    // A model the session names but this machine lacks is not added to the user's list.
    assert!(h.state().settings.user_models.is_empty());
}

#[test]
fn keep_copies_a_loaded_model_into_the_folder_and_the_weights_page_reads_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = dir.path().join("downloads");
    std::fs::create_dir(&loaded).unwrap();
    std::fs::copy("../shared/fixtures/nets/irn_x2.pth", loaded.join("my_irn.pth")).unwrap();
    let folder = dir.path().join("data").join("models");
    let path = write_test_image(dir.path(), "photo.png", 64, 48);
    let mut h = harness(GuiOptions { user_models_dir: Some(folder.clone()), ..options() });
    drop_file(&mut h, &path);
    drop_file(&mut h, &loaded.join("my_irn.pth"));
    run_until_idle(&mut h);
    assert_eq!(h.state().settings.user_models, vec![loaded.join("my_irn.pth")]);
    h.get_by_label("keep").click();
    run_until_idle(&mut h);
    assert!(folder.join("my_irn.pth").is_file(), "{:?}", h.state().errors());
    assert!(h.state().settings.user_models.is_empty(), "listed from the folder now");
    assert!(h.state().shown_methods().iter().any(|m| m.label == "IRN ×2 · my_irn.pth" && m.runnable.is_ok()));
    assert!(h.query_by_label("keep").is_none(), "a folder model has nothing to keep");

    // The same name again is refused, not overwritten.
    h.state_mut().actions.push(rescale_lab::gui::app::Action::KeepModel(loaded.join("my_irn.pth")));
    h.step();
    assert!(h.state().errors().iter().any(|e| e.contains("already in")), "{:?}", h.state().errors());

    // Help ▸ Get the official weights: where to get them, where to put them, what is there.
    h.state_mut().actions.push(rescale_lab::gui::app::Action::ToggleWeightsHelp);
    for _ in 0..3 {
        h.step();
    }
    assert!(!labels_containing(&h, &folder.display().to_string()).is_empty());
    assert!(!labels_containing(&h, "IRN_x2.pth: not yet").is_empty());
    std::fs::copy("../shared/fixtures/nets/irn_x2.pth", folder.join("IRN_x2.pth")).unwrap();
    h.get_by_label("Read the folder again").click();
    run_until_idle(&mut h);
    assert!(!labels_containing(&h, "IRN_x2.pth: in the folder").is_empty());
    assert!(h.state().shown_methods().iter().any(|m| m.label == "IRN ×2 · IRN_x2.pth (official)"));
}

#[test]
fn a_panels_default_model_is_a_visible_persisted_choice() {
    let dir = tempfile::tempdir().unwrap();
    let folder = models_folder_with_official_irn(dir.path());
    let path = write_test_image(dir.path(), "photo.png", 64, 48);
    let mut h = harness(GuiOptions { user_models_dir: Some(folder.clone()), ..options() });
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let official = "IRN ×2 · IRN_x2.pth (official)";
    let count = |h: &Harness<'static, RescaleApp>, label: &str| h.state().shown_methods().iter().filter(|m| m.label == label).count();
    assert_eq!(count(&h, official), 1, "listed as its own method first");
    assert!(!labels_containing(&h, "IRN ×2 panel runs").is_empty(), "the choice is visible");
    // Chosen in the combo box as the IRN panel's weights: the IRN panel runs it, and it is not
    // listed twice.
    let combo = h
        .query_all(by().role(egui::accesskit::Role::ComboBox))
        .find(|n| n.accesskit_node().label().is_some_and(|l| l.contains("IRN ×2 panel runs")))
        .expect("the IRN default's combo box");
    combo.click();
    for _ in 0..3 {
        h.step();
    }
    let roles: Vec<_> = h.query_all(by().label(official)).map(|n| n.accesskit_node().role()).collect();
    h.query_all(by().label(official))
        .find(|n| !matches!(n.accesskit_node().role(), egui::accesskit::Role::CheckBox | egui::accesskit::Role::Label))
        .unwrap_or_else(|| panic!("the folder model offered in the list: {roles:?}"))
        .click();
    for _ in 0..2 {
        h.step();
    }
    assert_eq!(h.state().settings.default_model(rescale_lab::methods::MethodKind::Irn, 2), Some(&folder.join("IRN_x2.pth")));
    run_until_idle(&mut h);
    let app = h.state();
    let irn: Vec<_> = app.shown_methods().into_iter().filter(|m| m.kind == Some(rescale_lab::methods::MethodKind::Irn)).collect();
    assert_eq!(irn.len(), 1, "{:?}", irn.iter().map(|m| m.label.clone()).collect::<Vec<_>>());
    assert_eq!(irn[0].label, official);
    assert!(app.results.slots[&irn[0].key].outcome.is_ok());
    // Persisted with the settings (what eframe stores between runs).
    let saved: Settings = serde_json::from_str(&serde_json::to_string(&app.settings).unwrap()).unwrap();
    assert_eq!(saved.default_model(rescale_lab::methods::MethodKind::Irn, 2), Some(&folder.join("IRN_x2.pth")));
    assert_eq!(saved.default_model(rescale_lab::methods::MethodKind::Irn, 4), None, "per scale");
}

#[test]
fn a_session_names_a_bundled_sample_and_reopens_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { show_irn: false, show_sain: false, perceptual: false, ..options().settings_override.unwrap() };
    // The first start of a new user: the bundled sample, opened from memory (no path).
    let mut h = harness(GuiOptions { start_empty: false, settings_override: Some(settings), ..options() });
    run_until_idle(&mut h);
    assert_eq!(h.state().active_doc().map(|d| (d.path.clone(), d.sample)), Some((None, Some(0))));
    let session = dir.path().join("first.rlab");
    h.state_mut().actions.push(rescale_lab::gui::app::Action::SaveSession { path: session.clone(), replace: false });
    h.step();
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&session).unwrap()).unwrap();
    assert_eq!(doc["images"], serde_json::json!(["bundled:sunset_pier.png"]));
    assert!(h.state().errors().is_empty(), "{:?}", h.state().errors());
    assert!(!h.state().messages.iter().any(|m| m.text.contains("left out")), "the bundled sample is not left out of the session");

    let mut h = harness(GuiOptions { session: Some(session), ..options() });
    run_until_idle(&mut h);
    let app = h.state();
    assert_eq!(app.active_doc().map(|d| (d.name.clone(), d.sample)), Some(("sunset_pier".to_string(), Some(0))));
    assert!(!app.settings.show_irn && !app.settings.show_sain);
}

#[test]
fn a_panel_showing_a_preview_says_how_long_its_full_result_is_taking() {
    let dir = tempfile::tempdir().unwrap();
    // Above the networks' preview threshold: a reduced-copy result first, then the full pass.
    let path = write_test_image(dir.path(), "large.png", 1200, 900);
    let mut h = harness(options_without_perceptual());
    drop_file(&mut h, &path);
    let start = Instant::now();
    loop {
        h.step();
        let descs = h.state().panel_descs();
        if let Some(panel) = descs.iter().find(|d| d.preview && d.wait.is_some()) {
            let wait = panel.wait.clone().unwrap();
            // Its own full pass under way, or the other network's before it.
            assert!(wait.contains("so far") || (wait.starts_with("queued: ") && wait.contains(" runs first")), "{wait}");
            // The text counts seconds, so it is checked in the state, not matched on screen.
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300) && !(h.state().is_idle() && h.state().active_doc().is_some()),
            "no panel said how long its full result was taking while it showed a preview"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Right-drags a crop from `a` to `b` (screen points), as a user draws one.
fn right_drag(h: &mut Harness<'static, RescaleApp>, a: egui::Pos2, b: egui::Pos2) {
    let button = |pos, pressed| egui::Event::PointerButton { pos, button: egui::PointerButton::Secondary, pressed, modifiers: egui::Modifiers::NONE };
    h.hover_at(a);
    h.step();
    h.event(button(a, true));
    h.step();
    for t in [0.3, 0.6, 1.0] {
        h.hover_at(a + (b - a) * t);
        h.step();
    }
    h.event(button(b, false));
    h.step();
}

/// Opens a `w × h` test image with `options`, waits for it and the three methods, and right-drags a crop of
/// about a sixth of it around the panel's centre (while the networks' whole images compute).
/// Returns the harness, the image's folder and path, and when the image was dropped.
fn open_and_crop(options: GuiOptions, name: &str, w: u32, h: u32) -> (Harness<'static, RescaleApp>, tempfile::TempDir, PathBuf, Instant) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), name, w, h);
    let mut hn = harness(options);
    drop_file(&mut hn, &path);
    let start = Instant::now();
    while hn.state().active_doc().is_none() || hn.state().last_panel_rect.is_none() || hn.state().shown_methods().iter().filter(|m| m.runnable.is_ok()).count() < 3 {
        hn.step();
        assert!(start.elapsed() < Duration::from_secs(60), "the image and the methods did not load");
        std::thread::sleep(Duration::from_millis(5));
    }
    let panel = hn.state().last_panel_rect.unwrap();
    right_drag(&mut hn, panel.center() - egui::vec2(30.0, 25.0), panel.center() + egui::vec2(30.0, 25.0));
    assert!(hn.state().view.crop().is_some(), "the right-drag drew a crop");
    (hn, dir, path, start)
}

#[test]
fn a_crop_is_computed_first_shown_over_the_panel_and_measured_beside_the_whole_image() {
    let (mut h, _dir, path, start) = open_and_crop(options_without_perceptual(), "region.png", 640, 480);
    let networks: Vec<String> = h.state().shown_methods().into_iter().filter(|m| m.label != "Bicubic").map(|m| m.key).collect();
    assert_eq!(networks.len(), 2, "IRN and SAIN shown");

    // Each network's region arrives, and is drawn over its panel, before its whole image.
    let mut seen_first: Vec<String> = Vec::new();
    let mut seen_pill = false;
    while !h.state().is_idle() {
        h.step();
        let app = h.state();
        for d in app.panel_descs().iter().filter(|d| networks.contains(&d.id)) {
            if d.overlay.is_some() && app.current_full_result(&d.id).is_none() && !seen_first.contains(&d.id) {
                assert!(d.region_text.as_deref().unwrap_or("").contains("rest of the image computing"), "{:?}", d.region_text);
                seen_first.push(d.id.clone());
            }
        }
        seen_pill |= !labels_containing(&h, "rest of the image computing").is_empty();
        assert!(start.elapsed() < Duration::from_secs(300), "the comparison did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    run_until_idle(&mut h);
    assert_eq!(seen_first.len(), 2, "regions shown before their whole images: {seen_first:?}");
    assert!(seen_pill, "the region's pill was on screen while the rest computed");
    assert!(h.state().errors().is_empty(), "a pass stopped for the crop was reported: {:?}", h.state().errors());

    // Once the whole images are in, the region's metrics are those of the whole image's region.
    let app = h.state();
    let crop = app.region_of_interest().expect("the crop is the region of interest");
    for m in app.shown_methods() {
        let ready = app.current_full_result(&m.key).expect("whole image current");
        let slot = app.current_region(&m.key).expect("region current");
        let region = slot.region();
        assert!(region.x <= crop[0] && region.x + region.width >= crop[0] + crop[2], "{region:?} covers {crop:?}");
        let hr = rescale_lab::modcrop::modcrop(&image::open(&path).unwrap().to_rgb8(), 2).0;
        let expected = region.metrics(&hr, &region.crop(&ready.view.output.reconstruction), 2).unwrap();
        assert_eq!(slot.view.output.metrics.unwrap().psnr_y, expected.psnr_y, "{}", m.label);
        let d = app.panel_descs().into_iter().find(|d| d.id == m.key).unwrap();
        assert!(d.overlay.is_none(), "{}: the region is no longer drawn over a current whole image", m.label);
        let text = d.region_text.expect("region metrics beside the whole image's");
        assert!(text.starts_with(&format!("region {}×{}: PSNR-Y {:.2} dB", region.width, region.height, expected.psnr_y)), "{text}");
        assert!(!labels_containing(&h, &text).is_empty(), "{text} not on screen");
    }
}

/// Moves the quality one step down once the app is idle and returns, per network, whether its
/// first region at the new quality came from the pipeline's cache.
fn regions_after_one_step(h: &mut Harness<'static, RescaleApp>, start: Instant) -> Vec<(String, bool)> {
    run_until_idle(h);
    let networks: Vec<String> = h.state().shown_methods().into_iter().filter(|m| m.label != "Bicubic").map(|m| m.key).collect();
    let quality = h.state().settings.quality;
    h.state_mut().settings.quality = quality - 1;
    let mut first: Vec<(String, bool)> = Vec::new();
    while first.len() < networks.len() {
        h.step();
        let app = h.state();
        for key in &networks {
            if let (Some(slot), false) = (app.current_region(key), first.iter().any(|(k, _)| k == key)) {
                first.push((key.clone(), slot.view.output.from_cache));
            }
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the regions did not arrive");
        std::thread::sleep(Duration::from_millis(5));
    }
    run_until_idle(h);
    assert!(h.state().errors().is_empty(), "{:?}", h.state().errors());
    first
}

#[test]
fn the_crop_at_the_next_quality_is_computed_ahead_and_shown_from_the_cache() {
    // The job computes the crop's neighbours at quality ± 1 right after its own regions, before
    // its whole images, on the same thread: once it is done they are in the cache.
    let (mut h, _dir, _path, start) = open_and_crop(options_without_perceptual(), "ahead.png", 480, 320);
    let first = regions_after_one_step(&mut h, start);
    assert_eq!(first.len(), 2, "IRN and SAIN");
    assert!(first.iter().all(|(_, cached)| *cached), "regions one step down: {first:?}");

    // With "Crop ahead of the slider" off, nothing is computed ahead.
    let mut options = options_without_perceptual();
    options.settings_override.as_mut().unwrap().compute_ahead = false;
    let (mut h, _dir, _path, start) = open_and_crop(options, "not-ahead.png", 480, 320);
    let first = regions_after_one_step(&mut h, start);
    assert!(first.iter().all(|(_, cached)| !*cached), "regions one step down, nothing ahead: {first:?}");
}

#[test]
fn zoomed_in_without_a_crop_the_visible_part_is_the_region_and_is_cut_from_current_whole_images() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "zoom_region.png", 320, 240);
    let mut h = harness(options_without_perceptual());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    assert_eq!(h.state().region_of_interest(), None, "the whole image is in view: no region");
    let panel = h.state().last_panel_rect.expect("a panel was drawn");
    // Zoom in on the panel's centre until it shows well under half of the image.
    h.hover_at(panel.center());
    h.step();
    for _ in 0..6 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 200.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        for _ in 0..10 {
            h.step();
        }
    }
    let roi = h.state().region_of_interest().expect("zoomed in: the visible part is the region");
    assert!(h.state().view.crop().is_none());
    assert!((roi[2] * roi[3]) as f64 <= 0.5 * 320.0 * 240.0, "{roi:?}");
    run_until_idle(&mut h);
    let app = h.state();
    let hr = image::open(&path).unwrap().to_rgb8();
    for m in app.shown_methods() {
        let ready = app.current_full_result(&m.key).expect("the whole image is still current");
        let slot = app.current_region(&m.key).unwrap_or_else(|| panic!("{}: no region for the zoomed-in view", m.label));
        // The whole images were current, so the region was cut from them, not recomputed.
        assert!(slot.view.output.from_whole, "{}", m.label);
        let region = slot.region();
        let expected = region.metrics(&hr, &region.crop(&ready.view.output.reconstruction), 2).unwrap();
        assert_eq!(slot.view.output.metrics.unwrap().psnr_y, expected.psnr_y, "{}", m.label);
    }
}

#[test]
fn going_back_to_a_setting_shows_its_perceptual_metrics_at_once_without_a_new_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_test_image(dir.path(), "photo.png", 96, 80);
    let mut h = harness(options());
    drop_file(&mut h, &path);
    run_until_idle(&mut h);
    let keys: Vec<String> = h.state().shown_methods().into_iter().map(|m| m.key).collect();
    let seen = |h: &Harness<'static, RescaleApp>| -> Vec<(String, Option<egui::TextureId>)> {
        let current = h.state().current_key();
        keys.iter()
            .map(|k| {
                let slot = h.state().perceptual.current(k, current.as_ref());
                (h.state().perceptual.line(k, current.as_ref(), true), slot.and_then(|s| s.outcome.as_ref().ok()).map(|(_, map)| map.id()))
            })
            .collect()
    };
    let first = seen(&h);
    assert!(first.iter().all(|(line, map)| line.starts_with("SSIMULACRA2 ") && map.is_some()), "{first:?}");
    h.state_mut().settings.quality = 40;
    run_until_idle(&mut h);
    assert!(keys.iter().all(|k| h.state().perceptual.kept(k) == 2));
    assert_ne!(seen(&h), first, "q40 has its own numbers");
    // Back at q75: its numbers and maps on the first frame, before the worker has said a thing…
    h.state_mut().settings.quality = 75;
    h.step();
    assert_eq!(seen(&h), first);
    // …and no pass made again: the same maps (a new pass would bring new textures).
    run_until_idle(&mut h);
    assert_eq!(seen(&h), first);
    assert!(keys.iter().all(|k| h.state().perceptual.kept(k) == 2));
}
