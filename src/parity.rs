//! Network parity against reference tensors: a checkpoint `NAME.pth` (or `.safetensors`) and the
//! reference implementation's inputs and outputs `NAME_io.safetensors` beside it (the layout of
//! `shared/fixtures/nets/`, made by the official IRN/SAIN code). `rescale-lab parity DIR` runs it
//! on any device, so a GPU build can be checked against the official numbers where it runs.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::error::{EngineError, Result};
use crate::nets::Net;

/// How close a tensor must be: `max(absolute, relative × peak |reference|)`. The relative part
/// matters for the inverse outputs of random-weight fixtures, which reach several hundred.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tolerance {
    pub absolute: f32,
    pub relative: f32,
}

impl Tolerance {
    /// What the CPU path is held to in the tests (the reference is itself f32).
    pub const CPU: Tolerance = Tolerance { absolute: 1e-4, relative: 1e-5 };

    pub fn bound(&self, peak: f32) -> f32 {
        self.absolute.max(self.relative * peak)
    }
}

/// One compared tensor.
#[derive(Debug, Clone, Serialize)]
pub struct TensorParity {
    pub fixture: String,
    pub tensor: String,
    pub max_abs_err: f32,
    pub peak: f32,
    pub tolerance: f32,
    pub ok: bool,
}

/// The fixtures in `dir`: every `NAME_io.safetensors` with a `NAME.pth` or `NAME.safetensors`.
pub fn fixtures(dir: &Path) -> Result<Vec<(String, PathBuf, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), error: source })?;
    let mut found = Vec::new();
    for entry in entries {
        let io = entry.map_err(|source| EngineError::Io { path: dir.to_path_buf(), error: source })?.path();
        let Some(name) = io.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix("_io.safetensors")) else {
            continue;
        };
        let weights = ["pth", "safetensors"].iter().map(|ext| dir.join(format!("{name}.{ext}"))).find(|p| p.is_file());
        match weights {
            Some(weights) => found.push((name.to_string(), weights, io)),
            None => {
                return Err(EngineError::Weights {
                    path: io.clone(),
                    reason: format!("no {name}.pth or {name}.safetensors beside it"),
                })
            }
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(EngineError::InvalidArgument(format!("{}: no NAME_io.safetensors fixtures", dir.display())));
    }
    Ok(found)
}

fn compare(io_path: &Path, fixture: &str, tensor: &str, got: &Tensor, want: &Tensor, tolerance: Tolerance) -> Result<TensorParity> {
    let got = got.to_device(&Device::Cpu)?;
    if got.dims() != want.dims() {
        return Err(EngineError::Weights {
            path: io_path.to_path_buf(),
            reason: format!("{tensor}: the network gives shape {:?}, the reference has {:?}", got.dims(), want.dims()),
        });
    }
    let max_abs_err = (&got - want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
    let peak = want.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
    let bound = tolerance.bound(peak);
    Ok(TensorParity {
        fixture: fixture.to_string(),
        tensor: tensor.to_string(),
        max_abs_err,
        peak,
        tolerance: bound,
        // NaN compares false, so a NaN output fails
        ok: max_abs_err <= bound,
    })
}

fn reference(io: &std::collections::HashMap<String, Tensor>, path: &Path, key: &str) -> Result<Tensor> {
    io.get(key)
        .cloned()
        .ok_or_else(|| EngineError::Weights { path: path.to_path_buf(), reason: format!("no tensor '{key}'") })
}

/// Runs one fixture's forward and inverse passes on `device` and compares every output.
pub fn check_fixture(name: &str, weights: &Path, io_path: &Path, device: &Device, tolerance: Tolerance) -> Result<Vec<TensorParity>> {
    let io = candle_core::safetensors::load(io_path, &Device::Cpu)
        .map_err(|e| EngineError::Weights { path: io_path.to_path_buf(), reason: e.to_string() })?;
    let input = |key: &str| -> Result<Tensor> { Ok(reference(&io, io_path, key)?.to_device(device)?) };
    let want = |key: &str| reference(&io, io_path, key);
    let net = Checkpoint::read(weights)?.build(device)?;
    let mut out = Vec::new();
    match net {
        Net::Irn(irn) => {
            let fwd = irn.forward(&input("hr")?)?;
            out.push(compare(io_path, name, "forward_out", &fwd, &want("forward_out")?, tolerance)?);
            out.push(compare(io_path, name, "lr", &fwd.narrow(1, 0, 3)?, &want("lr")?, tolerance)?);
            let inv = irn.inverse(&input("inverse_in")?)?;
            out.push(compare(io_path, name, "inverse_out", &inv, &want("inverse_out")?, tolerance)?);
        }
        Net::Sain(sain) => {
            let (fwd, lr) = sain.forward(&input("hr")?)?;
            out.push(compare(io_path, name, "forward_out", &fwd, &want("forward_out")?, tolerance)?);
            out.push(compare(io_path, name, "lr", &lr, &want("lr")?, tolerance)?);
            let (inv, inv_lr) = sain.inverse(&input("inverse_in")?)?;
            out.push(compare(io_path, name, "inverse_out", &inv, &want("inverse_out")?, tolerance)?);
            out.push(compare(io_path, name, "inverse_lr", &inv_lr, &want("inverse_lr")?, tolerance)?);
        }
    }
    Ok(out)
}

/// Every fixture in `dir` on `device`.
pub fn check_dir(dir: &Path, device: &Device, tolerance: Tolerance) -> Result<Vec<TensorParity>> {
    let mut all = Vec::new();
    for (name, weights, io) in fixtures(dir)? {
        all.extend(check_fixture(&name, &weights, &io, device, tolerance)?);
    }
    Ok(all)
}
