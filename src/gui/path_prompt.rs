//! A typed path when no file dialog can appear: on a machine without a desktop portal (a
//! minimal window manager, a remote session) the system dialog returns nothing, and Open…,
//! Load model… and Export… would silently do nothing. After any dialog that returned nothing,
//! this small window says so and takes a path instead.

use std::path::PathBuf;

use super::app::{Action, RescaleApp};
use super::worker::ImageSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptPurpose {
    OpenImage,
    LoadModel,
    ExportFolder,
    SaveSession,
    OpenSession,
}

impl PromptPurpose {
    fn title(self) -> &'static str {
        match self {
            PromptPurpose::OpenImage => "Open an image",
            PromptPurpose::LoadModel => "Load a model",
            PromptPurpose::ExportFolder => "Export to a folder",
            PromptPurpose::SaveSession => "Save the session",
            PromptPurpose::OpenSession => "Open a session",
        }
    }

    fn button(self) -> &'static str {
        match self {
            PromptPurpose::OpenImage => "Open",
            PromptPurpose::LoadModel => "Load",
            PromptPurpose::ExportFolder => "Export",
            PromptPurpose::SaveSession => "Save",
            PromptPurpose::OpenSession => "Open",
        }
    }
}

pub struct PathPrompt {
    pub purpose: PromptPurpose,
    pub text: String,
    /// Whether the field has been given the focus once: a pre-filled field needs it as much as
    /// an empty one, or the letters typed become the app's single-key shortcuts.
    focus_given: bool,
}

impl PathPrompt {
    pub fn new(purpose: PromptPurpose, initial: Option<PathBuf>) -> Self {
        Self { purpose, text: initial.map(|p| p.display().to_string()).unwrap_or_default(), focus_given: false }
    }

    /// What submitting `text` does, or why it cannot.
    pub fn submit(&self) -> Result<Action, String> {
        let path = PathBuf::from(self.text.trim());
        if path.as_os_str().is_empty() {
            return Err("type a path first".into());
        }
        match self.purpose {
            PromptPurpose::OpenImage if !path.exists() => Err(format!("{}: no such file", path.display())),
            PromptPurpose::OpenImage => Ok(Action::Open(ImageSource::Path(path))),
            PromptPurpose::LoadModel if !path.exists() => Err(format!("{}: no such file", path.display())),
            PromptPurpose::LoadModel => Ok(Action::LoadModel(path)),
            // A folder that does not exist yet is created by the export.
            PromptPurpose::ExportFolder => Ok(Action::ExportTo(path)),
            // A typed name never replaces a file without asking: `save` refuses existing ones.
            PromptPurpose::SaveSession => Ok(Action::SaveSession { path, replace: false }),
            PromptPurpose::OpenSession if !path.exists() => Err(format!("{}: no such file", path.display())),
            PromptPurpose::OpenSession => Ok(Action::OpenSession(path)),
        }
    }
}

/// Draws the prompt when one is open.
pub fn show(app: &mut RescaleApp, ctx: &egui::Context) {
    let Some(prompt) = app.path_prompt.as_mut() else { return };
    let mut open = true;
    let mut submitted = false;
    let mut cancelled = false;
    egui::Window::new(prompt.purpose.title()).collapsible(false).open(&mut open).show(ctx, |ui| {
        ui.label("No file dialog answered (cancelled, or none can appear here). Type a path:");
        let field = ui.add(egui::TextEdit::singleline(&mut prompt.text).desired_width(420.0).hint_text("/path/to/file"));
        if !prompt.focus_given {
            field.request_focus();
            prompt.focus_given = true;
        }
        submitted |= field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        // Escape leaves the prompt (the app's shortcuts are off while it is open).
        cancelled |= ui.input(|i| i.key_pressed(egui::Key::Escape));
        ui.horizontal(|ui| {
            submitted |= ui.button(prompt.purpose.button()).clicked();
            cancelled |= ui.button("Cancel").clicked();
        });
    });
    if submitted {
        match prompt.submit() {
            Ok(action) => {
                app.actions.push(action);
                app.path_prompt = None;
            }
            Err(why) => app.push_message(super::app::MessageKind::Error, why),
        }
    } else if cancelled || !open {
        app.path_prompt = None;
    }
}
