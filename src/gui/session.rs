//! Saved comparisons (`.rlab`, a small JSON file): the images by path, the settings (scale,
//! codec, quality or target size, methods and their weight files, temperature and seed, view)
//! and where the panels look (zoom, crop, maximised panel). Reopening one restores what it
//! can and says what it could not (a moved image, a deleted model).

use std::path::{Path, PathBuf};

use egui::{pos2, Pos2, Rect};
use serde::{Deserialize, Serialize};

use super::settings::Settings;
use super::view::{ViewFit, ViewState};

pub const EXTENSION: &str = "rlab";
/// The format's version, written in every file; a newer one is refused with a message.
pub const VERSION: u32 = 1;
/// How a session names a bundled sample image: "bundled:sunset_pier.png".
const BUNDLED: &str = "bundled:";

/// What a session calls an open image: its path, or the bundled sample's name; `None` for a
/// pasted image, which has neither.
pub fn entry_of(doc: &super::documents::Document) -> Option<PathBuf> {
    match (&doc.path, doc.sample.and_then(|i| super::samples::SAMPLES.get(i))) {
        (Some(path), _) => Some(std::path::absolute(path).unwrap_or_else(|_| path.clone())),
        (None, Some(sample)) => Some(PathBuf::from(format!("{BUNDLED}{}", sample.file_name))),
        (None, None) => None,
    }
}

/// The bundled sample a session entry names, if it names one.
fn bundled_sample(entry: &Path) -> Option<Result<usize, String>> {
    let name = entry.to_str()?.strip_prefix(BUNDLED)?;
    Some(super::samples::SAMPLES.iter().position(|s| s.file_name == name).ok_or_else(|| format!("no bundled sample called {name}")))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub rescale_lab_session: u32,
    /// Absolute when saved; relative paths (a hand-written file) are taken from the file's folder.
    pub images: Vec<PathBuf>,
    /// Index into `images` of the one shown.
    pub active: Option<usize>,
    pub settings: Settings,
    #[serde(default)]
    pub view: SavedView,
}

/// Where the panels look, in image pixels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedView {
    /// x, y, width, height.
    pub crop: Option<[f32; 4]>,
    /// A manual zoom (screen points per image pixel) and the image point at the panels' centre.
    pub zoom: Option<f32>,
    pub center: Option<[f32; 2]>,
    pub split: Option<f32>,
    /// The maximised panel ("original", "lr" or a method key).
    pub focus: Option<String>,
}

impl SavedView {
    pub fn capture(view: &ViewState, focus: Option<&String>) -> Self {
        let (zoom, center) = match view.fit {
            ViewFit::Manual { zoom, center } => (Some(zoom), Some([center.x, center.y])),
            ViewFit::Fit => (None, None),
        };
        Self {
            crop: view.crop.map(|r| [r.min.x, r.min.y, r.width(), r.height()]),
            zoom,
            center,
            split: Some(view.split),
            focus: focus.cloned(),
        }
    }

    pub fn apply(&self, view: &mut ViewState) {
        view.reset();
        view.crop = self.crop.filter(|c| c.iter().all(|v| v.is_finite()) && c[2] > 0.0 && c[3] > 0.0).map(|[x, y, w, h]| Rect::from_min_size(pos2(x, y), egui::vec2(w, h)));
        if let (Some(zoom), Some([x, y])) = (self.zoom, self.center) {
            if zoom.is_finite() && zoom > 0.0 && x.is_finite() && y.is_finite() {
                view.fit = ViewFit::Manual { zoom: zoom.clamp(super::view::MIN_ZOOM, super::view::MAX_ZOOM), center: Pos2::new(x, y) };
            }
        }
        if let Some(split) = self.split.filter(|s| s.is_finite()) {
            view.split = split.clamp(0.0, 1.0);
        }
    }
}

pub fn is_session_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION))
}

/// `name.rlab` for a name typed or picked without the extension (so it opens as a session later).
pub fn with_extension(path: PathBuf) -> PathBuf {
    if is_session_file(&path) {
        return path;
    }
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{EXTENSION}"));
    path.with_file_name(name)
}

impl Session {
    /// The settings worth keeping in a session: not this machine's recent files or export folder.
    pub fn new(images: Vec<PathBuf>, active: Option<usize>, settings: &Settings, view: SavedView) -> Self {
        let settings = Settings { recent: Vec::new(), export_dir: None, ..settings.clone() };
        Self { rescale_lab_session: VERSION, images, active, settings, view }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a session always serialises")
    }

    /// Writes the file; an existing file is replaced only when `replace` (the save dialog asked).
    pub fn save(&self, path: &Path, replace: bool) -> Result<(), String> {
        if !replace && path.exists() {
            return Err(format!("{}: already exists; choose another name", path.display()));
        }
        let tmp = path.with_extension("rlab.tmp");
        std::fs::write(&tmp, self.to_json())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("{}: {}", path.display(), crate::error::describe_io(&e))
            })
    }

    /// Reads a session file; relative image and model paths are resolved against its folder.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {}", path.display(), crate::error::describe_io(&e)))?;
        let mut session: Session =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a rescale-lab session ({e})", path.display()))?;
        if session.rescale_lab_session > VERSION {
            return Err(format!(
                "{}: a session of format {} (this version reads up to {VERSION}); update rescale-lab",
                path.display(),
                session.rescale_lab_session
            ));
        }
        // Absolute, so restored entries compare equal to the open images' (always absolute).
        let base = std::path::absolute(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))).unwrap_or_else(|_| PathBuf::from("."));
        let resolve = |p: &PathBuf| if p.is_relative() { base.join(p) } else { p.clone() };
        session.images = session.images.iter().map(|p| if bundled_sample(p).is_some() { p.clone() } else { resolve(p) }).collect();
        session.settings.user_models = session.settings.user_models.iter().map(resolve).collect();
        for p in session.settings.default_models.values_mut() {
            *p = resolve(p);
        }
        session.settings.sanitize();
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { quality: 31, recent: vec!["/x/y.png".into()], user_models: vec!["m.pth".into()], ..Settings::default() };
        let view = SavedView { crop: Some([1.0, 2.0, 30.0, 40.0]), zoom: Some(3.0), center: Some([5.0, 6.0]), split: Some(0.25), focus: Some("lr".into()) };
        let session = Session::new(vec!["a.png".into()], Some(0), &settings, view.clone());
        assert!(session.settings.recent.is_empty(), "recent files stay on this machine");
        let path = dir.path().join("s.rlab");
        session.save(&path, false).unwrap();
        assert!(session.save(&path, false).unwrap_err().contains("already exists"));
        let back = Session::load(&path).unwrap();
        assert_eq!(back.images, vec![dir.path().join("a.png")]);
        assert_eq!(back.settings.user_models, vec![dir.path().join("m.pth")]);
        assert_eq!((back.settings.quality, back.view.clone()), (31, view));
        let mut v = ViewState::default();
        back.view.apply(&mut v);
        assert_eq!(v.crop, Some(Rect::from_min_size(pos2(1.0, 2.0), egui::vec2(30.0, 40.0))));
        assert_eq!(v.fit, ViewFit::Manual { zoom: 3.0, center: pos2(5.0, 6.0) });
        assert_eq!(SavedView::capture(&v, Some(&"lr".to_string())), back.view);
        // A name given without the extension gets it, so the file opens as a session later.
        assert_eq!(with_extension(PathBuf::from("/d/demo")), PathBuf::from("/d/demo.rlab"));
        assert_eq!(with_extension(PathBuf::from("/d/demo.v2")), PathBuf::from("/d/demo.v2.rlab"));
        assert_eq!(with_extension(PathBuf::from("/d/demo.RLAB")), PathBuf::from("/d/demo.RLAB"));
    }

    #[test]
    fn newer_or_foreign_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.rlab");
        std::fs::write(&path, "{\"hello\": 1}").unwrap();
        assert!(Session::load(&path).unwrap_err().contains("not a rescale-lab session"));
        let newer = Session { rescale_lab_session: VERSION + 1, ..Session::new(vec![], None, &Settings::default(), SavedView::default()) };
        std::fs::write(&path, newer.to_json()).unwrap();
        assert!(Session::load(&path).unwrap_err().contains("update rescale-lab"));
    }
}

/// A session being reopened: the image to show once it has loaded, and the view to put back.
#[derive(Debug, Clone)]
pub struct Restore {
    pub active: Option<PathBuf>,
    pub view: SavedView,
}

use super::app::{Action, MessageKind, RescaleApp};
use super::worker::ImageSource;

/// Saves what the window shows. Pasted or dropped-as-bytes images have no path and are left
/// out, with a note.
pub fn save(app: &mut RescaleApp, path: &Path, replace: bool) {
    let saved: Vec<&super::documents::Document> = app.docs.iter().filter(|d| entry_of(d).is_some()).collect();
    let unsaved = app.docs.len() - saved.len();
    let images: Vec<PathBuf> = saved.iter().filter_map(|d| entry_of(d)).collect();
    let active = app.active.and_then(|id| saved.iter().position(|d| d.id == id));
    let mut settings = app.settings.clone();
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    settings.user_models = settings.user_models.iter().map(absolute).collect();
    for p in settings.default_models.values_mut() {
        *p = absolute(p);
    }
    let session = Session::new(images, active, &settings, SavedView::capture(&app.view, app.focus.as_ref()));
    match session.save(path, replace) {
        Ok(()) => {
            let mut text = format!("Session saved to {}", path.display());
            if unsaved > 0 {
                text.push_str(&format!(" ({unsaved} pasted image(s) left out: they have no file)"));
            }
            app.push_message(MessageKind::Info, text);
        }
        Err(e) => app.push_message(MessageKind::Error, format!("Could not save the session: {e}")),
    }
}

/// Replaces the open images and the settings with the session's; what is missing is reported
/// and the rest restored.
pub fn open(app: &mut RescaleApp, path: &Path) {
    let session = match Session::load(path) {
        Ok(s) => s,
        Err(e) => {
            app.push_message(MessageKind::Error, format!("Could not open the session: {e}"));
            return;
        }
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut missing_models: Vec<PathBuf> = session.settings.user_models.iter().filter(|p| !p.is_file()).cloned().collect();
    missing_models.extend(session.settings.default_models.values().filter(|p| !p.is_file()).cloned());
    let available = |p: &PathBuf| match bundled_sample(p) {
        Some(found) => found.is_ok(),
        None => p.is_file(),
    };
    let missing_images: Vec<PathBuf> = session.images.iter().filter(|p| !available(p)).cloned().collect();
    // This machine's own things stay (recent files, export folder, device, panel layout); the
    // session's models and panel defaults are added to the user's, not put in their place.
    let mine = app.settings.clone();
    let mut user_models = mine.user_models.clone();
    user_models.extend(session.settings.user_models.iter().filter(|p| p.is_file() && !mine.user_models.contains(p)).cloned());
    let mut default_models = mine.default_models.clone();
    default_models.extend(session.settings.default_models.iter().filter(|(_, p)| p.is_file()).map(|(k, p)| (k.clone(), p.clone())));
    app.settings = Settings {
        recent: mine.recent,
        export_dir: mine.export_dir,
        controls_visible: mine.controls_visible,
        device: mine.device,
        user_models,
        default_models,
        ..session.settings.clone()
    };
    for id in app.docs.iter().map(|d| d.id).collect::<Vec<_>>() {
        app.actions.push(Action::CloseDoc(id));
    }
    let active = session.active.and_then(|i| session.images.get(i)).filter(|p| available(p)).cloned();
    for image in session.images.iter().filter(|p| available(p)) {
        match bundled_sample(image) {
            Some(Ok(index)) => app.actions.push(Action::OpenSample(index)),
            _ => app.actions.push(Action::Open(ImageSource::Path(image.clone()))),
        }
    }
    app.focus = None;
    app.session_restore = Some(Restore { active, view: session.view.clone() });
    // `push_message`: about the session, not about an image it replaces (whose messages go with it).
    for p in &missing_images {
        app.push_message(MessageKind::Error, format!("Session {name}: image {} not found; the rest is restored", p.display()));
    }
    for p in &missing_models {
        app.push_message(MessageKind::Error, format!("Session {name}: model {} not found; the rest is restored", p.display()));
    }
    // Nothing to wait for: the view must not land on the next image the user opens.
    if missing_images.len() == session.images.len() {
        app.session_restore = None;
    }
}

/// After an image of a session loaded: show the session's image and put its view back, once
/// that image is in (the loads finish in any order).
pub fn image_loaded(app: &mut RescaleApp, loads_pending: bool) {
    let Some(restore) = app.session_restore.clone() else { return };
    let target = match &restore.active {
        Some(entry) => app.docs.iter().find(|d| entry_of(d).as_ref() == Some(entry)).map(|d| d.id),
        None => app.docs.last().map(|d| d.id),
    };
    if let Some(id) = target {
        app.active = Some(id);
        restore.view.apply(&mut app.view);
        app.focus = restore.view.focus.clone();
    }
    if !loads_pending {
        app.session_restore = None;
    }
}
