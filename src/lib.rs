//! rescale-lab engine: image I/O, MATLAB-style bicubic, JPEG/WebP as Pillow does them, the
//! papers' metrics, the IRN and SAIN networks in candle, and the pipeline that chains them.
//! No GUI code lives here (the `gui` module is the desktop shell and only depends on the rest).

pub mod aligned;
pub mod bench;
pub mod bicubic;
pub mod checkpoint;
pub mod codec;
pub mod device;
pub mod equal_size;
pub mod error;
pub mod fast_conv;
pub mod files;
pub mod fuzzing;
pub mod gui;
pub mod heap;
pub mod image_io;
pub mod methods;
pub mod metrics;
pub mod modcrop;
pub mod models;
pub mod narrow_conv;
pub mod nets;
pub mod parity;
pub mod perceptual;
pub mod pipeline;
pub mod progress;
pub mod pth_check;
pub mod rd;
pub mod region;
pub mod rescaler;
mod simd;
pub mod speed;
pub mod user_models;
pub mod versus;
pub mod winograd;

pub use bicubic::Bicubic;
pub use codec::{Codec, Compressed, Quality};
pub use error::{EngineError, Result};
pub use metrics::Metrics;
pub use rescaler::{Rescaler, UpscaleOptions};
