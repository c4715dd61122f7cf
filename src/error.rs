//! Typed errors of the engine. Every variant that concerns a file names it, so the CLI and GUI
//! can show the message as is.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {reason}")]
    Image { path: PathBuf, reason: String },

    #[error("{path}: image is {width}x{height} ({megapixels:.1} MP), above the limit of {limit_mp:.1} MP")]
    ImageTooLarge { path: PathBuf, width: u32, height: u32, megapixels: f64, limit_mp: f64 },

    #[error(
        "image is {width}x{height}, too small to measure at x{scale}: PSNR/SSIM need at least \
         {min}x{min} pixels (an 11x11 SSIM window inside the {scale}-pixel border the papers crop)"
    )]
    TooSmallToMeasure { width: u32, height: u32, scale: u32, min: u32 },

    #[error("{stage} produced {count} NaN or infinite values; its weights or input are broken")]
    NonFinite { stage: String, count: usize },

    #[error("{codec} codec failed: {reason}")]
    Codec { codec: String, reason: String },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("{path}: {reason}")]
    Weights { path: PathBuf, reason: String },

    #[error("model error: {0}")]
    Model(String),

    #[error("{0}")]
    Metric(String),

    /// The OS's reason is in the message and deliberately not a `source()`: reports that print
    /// the chain would say it twice.
    #[error("{path}: {}", describe_io(error))]
    Io { path: PathBuf, error: std::io::Error },

    #[error("{}", candle_message(.0))]
    Candle(candle_core::Error),

    /// Newer settings arrived while a network pass ran: its result would be stale.
    #[error("stopped: newer settings arrived")]
    Cancelled,
}

impl From<candle_core::Error> for EngineError {
    fn from(error: candle_core::Error) -> Self {
        Self::Candle(error)
    }
}

impl EngineError {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io { path: path.into(), error }
    }
}

/// The usual I/O failures in the user's words; anything else as the OS says it.
pub fn describe_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or folder".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => "is a folder, not a file".to_string(),
        ErrorKind::NotADirectory => "a part of this path is a file, not a folder".to_string(),
        ErrorKind::StorageFull => "no space left on the disk".to_string(),
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_string(),
        ErrorKind::UnexpectedEof => "the file ends too early".to_string(),
        _ => error.to_string(),
    }
}

/// A candle error as one line for users: candle appends a backtrace to its message when
/// RUST_BACKTRACE is set, which belongs in a bug report, not in an error dialog.
pub fn candle_message(error: &candle_core::Error) -> String {
    use candle_core::Error;
    match error {
        Error::WithBacktrace { inner, .. } => candle_message(inner),
        Error::Context { inner, context } => format!("{context}: {}", candle_message(inner)),
        Error::WithPath { inner, path } => format!("{}: {}", path.display(), candle_message(inner)),
        other => other.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; "),
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
