//! Loading IRN and SAIN weights: official PyTorch `.pth` files (zip `state_dict`, with or without
//! a `module.` prefix) and `.safetensors` (f32, f16 or bf16; always computed in f32).
//!
//! The architecture, scale and block counts are read from the key names, so the paper's models,
//! smaller variants and our own trained ones all load without a config file. Every tensor the
//! network reads is checked against the shape it expects before anything is built, and all the
//! problems found are reported at once in an [`EngineError::Weights`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;

use crate::error::{candle_message, EngineError, Result};
use crate::nets::{Arch, Irn, IrnConfig, Net, Sain, SainConfig};

/// How many problems an error message lists before summarising the rest.
const MAX_LISTED: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum NetConfig {
    Irn(IrnConfig),
    Sain(SainConfig),
}

impl NetConfig {
    pub fn arch(&self) -> Arch {
        match self {
            NetConfig::Irn(_) => Arch::Irn,
            NetConfig::Sain(_) => Arch::Sain,
        }
    }

    pub fn scale(&self) -> u32 {
        match self {
            NetConfig::Irn(cfg) => cfg.scale(),
            NetConfig::Sain(cfg) => cfg.scale(),
        }
    }

    /// One line for logs and the GUI, e.g. "SAIN ×2 (5 E-blocks, 3 V-blocks, 5 GMM components)".
    pub fn describe(&self) -> String {
        match self {
            NetConfig::Irn(cfg) => format!("IRN ×{} (blocks per level {:?})", cfg.scale(), cfg.block_num),
            NetConfig::Sain(cfg) => format!(
                "SAIN ×{} ({} E-blocks, {} V-blocks, {} GMM components)",
                cfg.scale(),
                cfg.e_blocks,
                cfg.v_blocks,
                cfg.gmm_components
            ),
        }
    }
}

/// The tensors of a weight file, on the CPU in their stored dtype, and the configuration read
/// from their names.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    config: NetConfig,
    tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads a `.pth` or `.safetensors` file (recognised by its content, not its extension).
    pub fn read(path: &Path) -> Result<Self> {
        let weights_error = |reason: String| EngineError::Weights { path: path.to_path_buf(), reason };
        let tensors = read_tensors(path).map_err(weights_error)?;
        let config = detect_config(&tensors).map_err(weights_error)?;
        Ok(Self { path: path.to_path_buf(), config, tensors })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    pub fn arch(&self) -> Arch {
        self.config.arch()
    }

    pub fn scale(&self) -> u32 {
        self.config.scale()
    }

    /// Tensor names, `module.` prefix removed, sorted.
    pub fn tensor_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Builds whichever network the file holds, computing in f32.
    pub fn build(&self, device: &Device) -> Result<Net> {
        self.build_with_dtype(device, DType::F32)
    }

    /// Builds with the weights converted to `dtype`; inputs must then be of that dtype too
    /// (f64 serves as a high-precision reference in tests).
    pub fn build_with_dtype(&self, device: &Device, dtype: DType) -> Result<Net> {
        match &self.config {
            NetConfig::Irn(cfg) => self.checked(device, dtype, |vb| Irn::new(cfg, vb)).map(Net::Irn),
            NetConfig::Sain(cfg) => self.checked(device, dtype, |vb| Sain::new(cfg, vb)).map(Net::Sain),
        }
    }

    /// Builds the network, failing with a clear message if the file holds the other one.
    pub fn build_as(&self, arch: Arch, device: &Device) -> Result<Net> {
        if self.arch() != arch {
            return Err(EngineError::Weights {
                path: self.path.clone(),
                reason: format!(
                    "this is a {} checkpoint ({}), but an {arch} model was requested",
                    self.arch(),
                    self.config.describe()
                ),
            });
        }
        self.build(device)
    }

    /// Runs `build` on a var-builder that records every missing, mis-shaped or non-float tensor
    /// instead of stopping at the first, then also reports tensors nobody asked for.
    fn checked<T>(
        &self,
        device: &Device,
        dtype: DType,
        build: impl FnOnce(VarBuilder) -> candle_core::Result<T>,
    ) -> Result<T> {
        let log = Arc::new(Mutex::new(CheckLog::default()));
        let backend = CheckedTensors { tensors: self.tensors.clone(), log: log.clone() };
        let vb = VarBuilder::from_backend(Box::new(backend), dtype, device.clone());
        let built = build(vb);
        let log = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
        let mut problems = log.problems;
        let mut unexpected: Vec<&String> = self
            .tensors
            .keys()
            // The Haar filters are constants the network does not read.
            .filter(|k| !log.used.contains(*k) && !k.ends_with("haar_weights"))
            .collect();
        unexpected.sort();
        problems.extend(unexpected.into_iter().map(|k| format!("unexpected tensor `{k}`")));
        if !problems.is_empty() {
            return Err(EngineError::Weights {
                path: self.path.clone(),
                reason: format!(
                    "does not match the {} its keys describe: {}",
                    self.config.describe(),
                    summarise(&problems)
                ),
            });
        }
        Ok(built?)
    }
}

/// Reads the file and builds whichever network it holds.
pub fn load_net(path: &Path, device: &Device) -> Result<Net> {
    Checkpoint::read(path)?.build(device)
}

pub fn load_irn(path: &Path, device: &Device) -> Result<Irn> {
    match Checkpoint::read(path)?.build_as(Arch::Irn, device)? {
        Net::Irn(irn) => Ok(irn),
        Net::Sain(_) => unreachable!("build_as checked the architecture"),
    }
}

pub fn load_sain(path: &Path, device: &Device) -> Result<Sain> {
    match Checkpoint::read(path)?.build_as(Arch::Sain, device)? {
        Net::Sain(sain) => Ok(sain),
        Net::Irn(_) => unreachable!("build_as checked the architecture"),
    }
}

fn summarise(problems: &[String]) -> String {
    let mut text = problems.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join("; ");
    if problems.len() > MAX_LISTED {
        text.push_str(&format!("; and {} more", problems.len() - MAX_LISTED));
    }
    text
}

#[derive(Debug, Default)]
struct CheckLog {
    problems: Vec<String>,
    used: HashSet<String>,
}

struct CheckedTensors {
    tensors: HashMap<String, Tensor>,
    log: Arc<Mutex<CheckLog>>,
}

impl CheckedTensors {
    /// Zeros stand in for a bad tensor so the build goes on and finds every other problem.
    fn fetch(&self, name: &str, shape: Option<&Shape>, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.used.insert(name.to_string());
        let problem = match self.tensors.get(name) {
            None => match shape {
                Some(s) => format!("missing `{name}` (expected shape {:?})", s.dims()),
                None => format!("missing `{name}`"),
            },
            Some(t) if shape.is_some_and(|s| s != t.shape()) => format!(
                "`{name}` has shape {:?}, expected {:?}",
                t.dims(),
                shape.map(Shape::dims).unwrap_or_default()
            ),
            Some(t) if !t.dtype().is_float() => {
                format!("`{name}` has dtype {:?}, expected a floating-point type", t.dtype())
            }
            Some(t) => match count_non_finite(t)? {
                0 => {
                    drop(log);
                    return t.to_dtype(dtype)?.to_device(dev);
                }
                bad => format!("`{name}` holds {bad} NaN or infinite values of {}", t.elem_count()),
            },
        };
        log.problems.push(problem);
        let shape = shape.cloned().unwrap_or_else(|| Shape::from(()));
        Tensor::zeros(shape, dtype, dev)
    }
}

/// NaN or ±inf weights would run and print a PSNR for a black image; they are refused instead.
fn count_non_finite(tensor: &Tensor) -> candle_core::Result<usize> {
    // In f64, which holds every float dtype exactly: f64 weights beyond f32's range are finite.
    let values = tensor.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    Ok(values.iter().filter(|v| !v.is_finite()).count())
}

impl SimpleBackend for CheckedTensors {
    fn get(&self, s: Shape, name: &str, _: candle_nn::Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.fetch(name, Some(&s), dtype, dev)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.fetch(name, None, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

enum Format {
    Pth,
    Safetensors,
}

/// Tells the format from the first bytes; a `.pth` is a zip archive, a safetensors file starts
/// with the little-endian length of its JSON header.
fn sniff(path: &Path) -> std::result::Result<Format, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("weights file not found".to_string()),
        Err(e) => return Err(format!("cannot open weights file: {}", crate::error::describe_io(&e))),
        Ok(m) if !m.is_file() => {
            // Opening a FIFO would block until someone writes to it.
            return Err(crate::files::require_regular_file(path).err().map(|e| match e {
                EngineError::Image { reason, .. } => reason,
                other => other.to_string(),
            }).unwrap_or_else(|| "not a regular file".to_string()));
        }
        Ok(_) => {}
    }
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "weights file not found".to_string(),
        _ => format!("cannot open weights file: {}", crate::error::describe_io(&e)),
    })?;
    let mut head = [0u8; 9];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(format!("cannot read weights file: {}", crate::error::describe_io(&e))),
        }
    }
    let head = &head[..filled];
    if head.is_empty() {
        return Err("weights file is empty".to_string());
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Format::Pth);
    }
    if head.len() == 9 && head[8] == b'{' {
        return Ok(Format::Safetensors);
    }
    if head.starts_with(&[0x80]) {
        return Err("legacy (pre-1.6, non-zip) PyTorch file; re-save it with a recent torch.save \
                    or convert it to .safetensors"
            .to_string());
    }
    Err("neither a PyTorch checkpoint (.pth, zip) nor a safetensors file".to_string())
}

fn read_tensors(path: &Path) -> std::result::Result<HashMap<String, Tensor>, String> {
    let raw = match sniff(path)? {
        Format::Pth => read_pth(path)?,
        Format::Safetensors => candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| format!("corrupt safetensors file: {}", candle_message(&e)))?,
    };
    if raw.is_empty() {
        return Err("holds no tensors (expected a state_dict of IRN or SAIN weights)".to_string());
    }
    // DataParallel checkpoints prefix every key with `module.`.
    Ok(raw
        .into_iter()
        .map(|(k, t)| match k.strip_prefix("module.") {
            Some(stripped) => (stripped.to_string(), t),
            None => (k, t),
        })
        .collect())
}

fn read_pth(path: &Path) -> std::result::Result<HashMap<String, Tensor>, String> {
    let corrupt = |e: candle_core::Error| format!("corrupt or truncated PyTorch checkpoint: {}", candle_message(&e));
    let entries = crate::pth_check::check(path).map_err(|e| format!("corrupt or truncated PyTorch checkpoint: {e}"))?;
    // A bare state_dict first, then the wrappers training scripts commonly save.
    let mut pth = candle_core::pickle::PthTensors::new(path, None).map_err(corrupt)?;
    for key in ["state_dict", "params", "params_ema", "model"] {
        if !pth.tensor_infos().is_empty() {
            break;
        }
        if let Ok(wrapped) = candle_core::pickle::PthTensors::new(path, Some(key)) {
            pth = wrapped;
        }
    }
    let mut names: Vec<String> = pth.tensor_infos().keys().cloned().collect();
    names.sort();
    let mut tensors = HashMap::with_capacity(names.len());
    for name in names {
        let info = &pth.tensor_infos()[&name];
        // Multiplied in u64 with saturation: a crafted shape must not overflow into a small number.
        let needed = info
            .layout
            .shape()
            .dims()
            .iter()
            .fold(info.dtype.size_in_bytes() as u64, |bytes, &d| bytes.saturating_mul(d as u64))
            .saturating_add(info.layout.start_offset() as u64);
        if !entries.holds(&info.path, needed) {
            return Err(format!(
                "corrupt or truncated PyTorch checkpoint: tensor `{name}` of shape {:?} needs {needed} bytes, more than its storage `{}` holds",
                info.layout.shape().dims(),
                info.path
            ));
        }
        let tensor = pth
            .get(&name)
            .map_err(|e| format!("cannot read tensor `{name}`: {}", candle_message(&e)))?
            .ok_or_else(|| format!("tensor `{name}` vanished while reading"))?;
        tensors.insert(name, tensor);
    }
    Ok(tensors)
}

/// Parses `{prefix}{index}.{field}…` keys into index → set of fields.
fn indexed(tensors: &HashMap<String, Tensor>, prefix: &str) -> BTreeMap<usize, BTreeSet<String>> {
    let mut out: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for key in tensors.keys() {
        if let Some(rest) = key.strip_prefix(prefix) {
            let mut parts = rest.splitn(2, '.');
            if let (Some(idx), Some(field)) = (parts.next(), parts.next()) {
                if let Ok(i) = idx.parse::<usize>() {
                    let field = field.split('.').next().unwrap_or(field).to_string();
                    out.entry(i).or_default().insert(field);
                }
            }
        }
    }
    out
}

fn some_keys(tensors: &HashMap<String, Tensor>) -> String {
    let mut keys: Vec<&String> = tensors.keys().collect();
    keys.sort();
    let shown: Vec<&str> = keys.iter().take(5).map(|k| k.as_str()).collect();
    format!("{}{}", shown.join(", "), if keys.len() > 5 { ", …" } else { "" })
}

fn detect_config(tensors: &HashMap<String, Tensor>) -> std::result::Result<NetConfig, String> {
    let irn_ops = indexed(tensors, "operations.");
    let sain_down = indexed(tensors, "down_operations.");
    match (irn_ops.is_empty(), sain_down.is_empty()) {
        (false, true) => detect_irn(&irn_ops),
        (true, false) => detect_sain(tensors, &sain_down),
        (false, false) => Err("has both IRN (`operations.*`) and SAIN (`down_operations.*`) keys".to_string()),
        (true, true) => Err(format!(
            "not an IRN or SAIN checkpoint: no `operations.*` (IRN) or `down_operations.*` (SAIN) \
             keys; found {}",
            some_keys(tensors)
        )),
    }
}

fn detect_irn(ops: &BTreeMap<usize, BTreeSet<String>>) -> std::result::Result<NetConfig, String> {
    let is_block = |fields: &BTreeSet<String>| ["F", "G", "H"].iter().any(|s| fields.contains(*s));
    // Haar levels are recognised by their stored filter if the file keeps them, otherwise by the
    // gaps in the numbering that they leave.
    let has_haar_keys = ops.values().any(|f| f.contains("haar_weights"));
    let last = *ops.keys().next_back().unwrap_or(&0);
    let mut block_num: Vec<usize> = Vec::new();
    for i in 0..=last {
        match ops.get(&i) {
            Some(fields) if is_block(fields) => match block_num.last_mut() {
                Some(count) => *count += 1,
                None => return Err(format!("`operations.{i}` is a coupling block before any Haar level")),
            },
            Some(fields) if fields.contains("haar_weights") => block_num.push(0),
            None if !has_haar_keys => block_num.push(0),
            None => return Err(format!("no tensors for `operations.{i}`")),
            Some(fields) => {
                return Err(format!(
                    "`operations.{i}` has neither subnets nor Haar filter (found {:?})",
                    fields
                ))
            }
        }
    }
    if let Some(level) = block_num.iter().position(|&n| n == 0) {
        return Err(format!("Haar level {} has no coupling blocks after it", level + 1));
    }
    Ok(NetConfig::Irn(IrnConfig { block_num }))
}

fn contiguous_count(ops: &BTreeMap<usize, BTreeSet<String>>, prefix: &str) -> std::result::Result<usize, String> {
    for (expected, &found) in ops.keys().enumerate() {
        if expected != found {
            return Err(format!("no tensors for `{prefix}{expected}`"));
        }
    }
    Ok(ops.len())
}

fn detect_sain(
    tensors: &HashMap<String, Tensor>,
    down: &BTreeMap<usize, BTreeSet<String>>,
) -> std::result::Result<NetConfig, String> {
    let e_blocks = contiguous_count(down, "down_operations.")?;
    let v_blocks = contiguous_count(&indexed(tensors, "comp_operations."), "comp_operations.")?;
    let haar_levels = contiguous_count(&indexed(tensors, "haar_operations."), "haar_operations.")?;
    let down_num = if haar_levels > 0 {
        haar_levels
    } else {
        // Files without the constant Haar filters: the block width 3·4^levels tells the scale.
        let key = "down_operations.0.F.conv1.weight";
        let width = tensors
            .get(key)
            .and_then(|t| t.dims().get(1).copied())
            .ok_or_else(|| format!("no Haar filters and no `{key}` to infer the scale from"))?
            + 3;
        (1..=4)
            .find(|&l| 3 << (2 * l) == width)
            .ok_or_else(|| format!("`{key}` implies {width} channels, which is not 3·4^levels"))?
    };
    let gmm_components = tensors
        .get("gmm.gmm_para")
        .ok_or_else(|| "missing `gmm.gmm_para` (the latent's Gaussian mixture)".to_string())?
        .dims()
        .get(1)
        .copied()
        .ok_or_else(|| "`gmm.gmm_para` must be 3 × K".to_string())?;
    Ok(NetConfig::Sain(SainConfig { down_num, e_blocks, v_blocks, gmm_components }))
}
