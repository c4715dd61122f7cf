//! Bad weight files give an `EngineError::Weights` naming the file and saying what is wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use rescale_lab::checkpoint::Checkpoint;
use rescale_lab::nets::{Arch, NetworkRescaler};
use rescale_lab::EngineError;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nets").join(name)
}

/// The reason of a `Weights` error for `path`; fails the test on any other outcome.
fn weights_reason(result: rescale_lab::Result<NetworkRescaler>, path: &Path) -> String {
    match result {
        Err(EngineError::Weights { path: p, reason }) => {
            assert_eq!(p, path, "the error names the file");
            reason
        }
        Err(other) => panic!("expected a Weights error, got {other:?}"),
        Ok(_) => panic!("loading {} should have failed", path.display()),
    }
}

fn load(path: &Path) -> String {
    let reason = weights_reason(NetworkRescaler::load(path, &Device::Cpu), path);
    println!("{}: {reason}", path.file_name().unwrap().to_string_lossy());
    reason
}

fn irn_tensors() -> HashMap<String, Tensor> {
    candle_core::pickle::read_all(fixture("irn_x2.pth")).unwrap().into_iter().collect()
}

fn save(dir: &Path, name: &str, tensors: &HashMap<String, Tensor>) -> PathBuf {
    let path = dir.join(name);
    candle_core::safetensors::save(tensors, &path).unwrap();
    path
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.pth");
    let reason = load(&path);
    assert!(reason.contains("not found"), "{reason}");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.safetensors");
    std::fs::write(&path, b"").unwrap();
    let reason = load(&path);
    assert!(reason.contains("empty"), "{reason}");
}

#[test]
fn truncated_pth() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("irn_x2.pth")).unwrap();
    for keep in [bytes.len() / 2, bytes.len() - 100] {
        let path = dir.path().join(format!("truncated_{keep}.pth"));
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let reason = load(&path);
        assert!(reason.contains("corrupt or truncated PyTorch checkpoint"), "{reason}");
    }
}

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed xorshift stream: deterministic "random" content.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    for name in ["random.pth", "random.safetensors", "random.bin"] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let reason = load(&path);
        assert!(reason.contains("neither a PyTorch checkpoint"), "{name}: {reason}");
    }
}

#[test]
fn corrupt_safetensors_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = 64u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}");
    let path = dir.path().join("bad.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    let reason = load(&path);
    assert!(reason.contains("corrupt safetensors"), "{reason}");
}

#[test]
fn sain_file_where_irn_was_requested() {
    let path = fixture("sain_x2.pth");
    let reason = weights_reason(NetworkRescaler::load_as(&path, Arch::Irn, &Device::Cpu), &path);
    assert!(reason.contains("SAIN checkpoint") && reason.contains("IRN model was requested"), "{reason}");
    let path = fixture("irn_x4_small.pth");
    let reason = weights_reason(NetworkRescaler::load_as(&path, Arch::Sain, &Device::Cpu), &path);
    assert!(reason.contains("IRN checkpoint") && reason.contains("SAIN model was requested"), "{reason}");
}

#[test]
fn unrelated_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = HashMap::new();
    tensors.insert("encoder.weight".to_string(), Tensor::zeros((4, 4), DType::F32, &Device::Cpu).unwrap());
    let path = save(dir.path(), "other.safetensors", &tensors);
    let reason = load(&path);
    assert!(reason.contains("not an IRN or SAIN checkpoint") && reason.contains("encoder.weight"), "{reason}");
}

#[test]
fn mis_shaped_tensor_names_key_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = irn_tensors();
    let key = "operations.3.G.conv2.weight";
    assert_eq!(tensors[key].dims(), &[32, 35, 3, 3]);
    tensors.insert(key.to_string(), Tensor::zeros((32, 36, 3, 3), DType::F32, &Device::Cpu).unwrap());
    let path = save(dir.path(), "misshaped.safetensors", &tensors);
    let reason = load(&path);
    assert!(
        reason.contains(&format!("`{key}` has shape [32, 36, 3, 3], expected [32, 35, 3, 3]")),
        "{reason}"
    );
}

#[test]
fn missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = irn_tensors();
    tensors.remove("operations.5.H.conv5.bias").unwrap();
    let path = save(dir.path(), "missing.safetensors", &tensors);
    let reason = load(&path);
    assert!(reason.contains("missing `operations.5.H.conv5.bias` (expected shape [9])"), "{reason}");
}

#[test]
fn integer_tensor_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = irn_tensors();
    let key = "operations.2.F.conv1.bias";
    tensors.insert(key.to_string(), Tensor::zeros(32, DType::I64, &Device::Cpu).unwrap());
    let path = save(dir.path(), "int.safetensors", &tensors);
    let reason = load(&path);
    assert!(reason.contains(&format!("`{key}` has dtype I64")), "{reason}");
}

#[test]
fn sain_without_gmm() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors: HashMap<String, Tensor> =
        candle_core::pickle::read_all(fixture("sain_x2.pth")).unwrap().into_iter().collect();
    tensors.remove("gmm.gmm_para").unwrap();
    let path = save(dir.path(), "nogmm.safetensors", &tensors);
    let reason = load(&path);
    assert!(reason.contains("gmm.gmm_para"), "{reason}");
}

/// The same weights as safetensors, with a DataParallel `module.` prefix, and in f16/bf16: all
/// load, the f32 copy exactly like the .pth and the half-precision ones to within their rounding.
#[test]
fn safetensors_variants_load() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = irn_tensors();
    let hr = Tensor::rand(0f32, 1f32, (1, 3, 32, 48), &Device::Cpu).unwrap();
    let reference = NetworkRescaler::load(&fixture("irn_x2.pth"), &Device::Cpu).unwrap().downscale_tensor(&hr).unwrap();
    let prefixed: HashMap<String, Tensor> = tensors.iter().map(|(k, v)| (format!("module.{k}"), v.clone())).collect();
    for (name, set, dtype, tolerance) in [
        ("f32.safetensors", &tensors, DType::F32, 0.0),
        ("module.safetensors", &prefixed, DType::F32, 0.0),
        ("f16.safetensors", &tensors, DType::F16, 1e-2),
        ("bf16.safetensors", &tensors, DType::BF16, 1e-1),
    ] {
        let converted: HashMap<String, Tensor> =
            set.iter().map(|(k, v)| (k.clone(), v.to_dtype(dtype).unwrap())).collect();
        let path = save(dir.path(), name, &converted);
        let ckpt = Checkpoint::read(&path).unwrap();
        assert_eq!(ckpt.arch(), Arch::Irn);
        assert_eq!(ckpt.scale(), 2);
        let lr = NetworkRescaler::load(&path, &Device::Cpu).unwrap().downscale_tensor(&hr).unwrap();
        let err = (lr - &reference).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap();
        let err = err.to_scalar::<f32>().unwrap();
        println!("{name}: max abs err vs .pth {err:e}");
        assert!(err <= tolerance, "{name}: {err}");
    }
}

/// Without the (constant) Haar filters the scale and level layout come from the gaps in the
/// numbering and from the block widths.
#[test]
fn haar_filters_are_optional() {
    let dir = tempfile::tempdir().unwrap();
    for (file, scale) in [("irn_x4_small.pth", 4), ("sain_x4_small.pth", 4), ("sain_x2.pth", 2)] {
        let tensors: HashMap<String, Tensor> = candle_core::pickle::read_all(fixture(file))
            .unwrap()
            .into_iter()
            .filter(|(k, _)| !k.ends_with("haar_weights"))
            .collect();
        let path = save(dir.path(), &format!("{file}.safetensors"), &tensors);
        let with = Checkpoint::read(&fixture(file)).unwrap();
        let without = Checkpoint::read(&path).unwrap();
        assert_eq!(with.config(), without.config(), "{file}");
        assert_eq!(without.scale(), scale);
    }
}
