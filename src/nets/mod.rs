//! The IRN and SAIN networks in candle, and the [`NetworkRescaler`] that puts either behind the
//! [`crate::Rescaler`] trait.

pub mod dense_block;
pub mod gmm;
pub mod haar;
pub mod inv_block;
pub mod irn;
pub mod network;
pub mod sain;
pub mod tiling;

pub use gmm::GaussianMixture;
pub use irn::{Irn, IrnConfig};
pub use network::{Net, NetworkRescaler};
pub use sain::{Sain, SainConfig};
pub use tiling::Tiling;

use std::fmt;
use std::str::FromStr;

/// Which of the two published architectures a checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Irn,
    Sain,
}

impl Arch {
    /// The name shown in tables and panel titles.
    pub fn display_name(self) -> &'static str {
        match self {
            Arch::Irn => "IRN",
            Arch::Sain => "SAIN",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "irn" => Ok(Arch::Irn),
            "sain" => Ok(Arch::Sain),
            other => Err(format!("unknown architecture '{other}' (expected irn or sain)")),
        }
    }
}
