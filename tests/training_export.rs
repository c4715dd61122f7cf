//! Cross-language check of the training side's export format: a 1-block IRN ×2 and a
//! 1-E-block SAIN ×2 with random non-zero weights, written by `python -m training.make_fixture`
//! exactly as `training.export` writes the shipped models (official key names, fp16), with the
//! PyTorch outputs computed from those fp16 weights in f32. The candle networks must load the
//! files unchanged and reproduce the outputs.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use rescale_lab::checkpoint::{load_irn, load_sain, Checkpoint, NetConfig};
use rescale_lab::nets::{Arch, IrnConfig, NetworkRescaler, SainConfig};

const TOLERANCE: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn io(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(&format!("{name}_io.safetensors")), &Device::Cpu).unwrap()
}

fn check(label: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.dims(), want.dims(), "{label}: shape");
    let err = (got - want).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    let err = err.to_scalar::<f32>().unwrap();
    let peak = want.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    println!("{label}: max abs err {err:.3e} (peak {peak:.3})");
    assert!(err <= TOLERANCE * peak.max(1.0), "{label}: max abs err {err:e}");
}

#[test]
fn exported_weights_are_fp16_with_official_keys() {
    for name in ["training_irn_x2_tiny", "training_sain_x2_tiny"] {
        let tensors =
            candle_core::safetensors::load(fixture(&format!("{name}.safetensors")), &Device::Cpu).unwrap();
        assert!(tensors.values().all(|t| t.dtype() == DType::F16), "{name}: fp16 export");
        let prefix = if name.contains("irn") { "operations.1.F.conv1.weight" } else { "down_operations.0.E.conv1.weight" };
        assert!(tensors.contains_key(prefix), "{name}: official key {prefix}");
    }
}

#[test]
fn training_irn_export_matches_pytorch() {
    let name = "training_irn_x2_tiny";
    let path = fixture(&format!("{name}.safetensors"));
    let ckpt = Checkpoint::read(&path).unwrap();
    assert_eq!(ckpt.config(), &NetConfig::Irn(IrnConfig { block_num: vec![1] }));
    let irn = load_irn(&path, &Device::Cpu).unwrap();
    let t = io(name);
    let out = irn.forward(&t["hr"]).unwrap();
    check("irn forward_out", &out, &t["forward_out"]);
    check("irn lr", &out.narrow(1, 0, 3).unwrap(), &t["lr"]);
    let inv = irn.inverse(&t["inverse_in"]).unwrap();
    check("irn inverse_out", &inv, &t["inverse_out"]);
    let rescaler = NetworkRescaler::load(&path, &Device::Cpu).unwrap();
    assert_eq!(rescaler.arch(), Arch::Irn);
}

#[test]
fn training_sain_export_matches_pytorch() {
    let name = "training_sain_x2_tiny";
    let path = fixture(&format!("{name}.safetensors"));
    let ckpt = Checkpoint::read(&path).unwrap();
    assert_eq!(
        ckpt.config(),
        &NetConfig::Sain(SainConfig { down_num: 1, e_blocks: 1, v_blocks: 0, gmm_components: 5 })
    );
    let sain = load_sain(&path, &Device::Cpu).unwrap();
    let t = io(name);
    let (out, lr) = sain.forward(&t["hr"]).unwrap();
    check("sain forward_out", &out, &t["forward_out"]);
    check("sain lr", &lr, &t["lr"]);
    let (inv, inv_lr) = sain.inverse(&t["inverse_in"]).unwrap();
    check("sain inverse_out", &inv, &t["inverse_out"]);
    check("sain inverse_lr", &inv_lr, &t["inverse_lr"]);
    let rescaler = NetworkRescaler::load(&path, &Device::Cpu).unwrap();
    assert_eq!(rescaler.arch(), Arch::Sain);
}
