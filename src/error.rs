//! Typed errors of the engine. Every variant that concerns a file names it, so the CLI and GUI
//! can show the message as is.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {reason}")]
    Image { path: PathBuf, reason: String },

    #[error("{path}: image is {width}x{height} ({megapixels:.1} MP), above the limit of {limit_mp:.1} MP")]
    ImageTooLarge { path: PathBuf, width: u32, height: u32, megapixels: f64, limit_mp: f64 },

    #[error("{path}: image is {width}x{height}, smaller than the {min}x{min} needed at this scale")]
    ImageTooSmall { path: PathBuf, width: u32, height: u32, min: u32 },

    #[error("{codec} codec failed: {reason}")]
    Codec { codec: String, reason: String },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("{path}: {reason}")]
    Weights { path: PathBuf, reason: String },

    #[error("model error: {0}")]
    Model(String),

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
