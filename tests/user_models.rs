//! The user models folder: what a scan finds and skips, and `rescale-lab models` over it.

use std::path::Path;
use std::process::Command;

use rescale_lab::checkpoint::NetConfig;
use rescale_lab::user_models::{official_name, scan};

fn folder_with_models(root: &Path) -> std::path::PathBuf {
    let dir = root.join("rescale-lab").join("models");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("../shared/fixtures/nets/irn_x2.pth", dir.join("IRN_x2.pth")).unwrap();
    std::fs::copy("../shared/fixtures/nets/sain_x2.pth", dir.join("SAINx2_WebP.pth")).unwrap();
    std::fs::copy("../shared/fixtures/nets/sain_x4_small.pth", dir.join("my_sain.pth")).unwrap();
    std::fs::write(dir.join("broken.pth"), b"not a checkpoint").unwrap();
    std::fs::write(dir.join("notes.txt"), b"where I got them").unwrap();
    dir
}

#[test]
fn a_scan_reads_each_file_by_its_keys_and_says_why_others_are_skipped() {
    let root = tempfile::tempdir().unwrap();
    let dir = folder_with_models(root.path());
    let found = scan(&dir);
    let labels: Vec<String> = found.models.iter().map(|m| m.label()).collect();
    assert_eq!(labels, ["IRN ×2 · IRN_x2.pth (official)", "SAIN ×2 · SAINx2_WebP.pth (official, WebP-trained)", "SAIN ×4 · my_sain.pth"]);
    assert!(matches!(found.models[0].config, NetConfig::Irn(_)));
    assert_eq!(found.models[2].config.scale(), 4, "the scale comes from the keys, not the name");
    let skipped: Vec<(String, &str)> =
        found.skipped.iter().map(|(p, r)| (p.file_name().unwrap().to_string_lossy().into_owned(), r.as_str())).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "broken.pth");
    assert!(skipped[0].1.contains("neither a PyTorch checkpoint"), "{}", skipped[0].1);
    assert!(!skipped[0].1.contains("broken.pth"), "the path is not repeated: {}", skipped[0].1);
    assert_eq!(skipped[1], ("notes.txt".to_string(), "not a .pth, .pt or .safetensors file"));
    // A folder nobody created is simply empty.
    let none = scan(&root.path().join("missing"));
    assert!(none.models.is_empty() && none.skipped.is_empty());
    assert_eq!(official_name(Path::new("x/sainx4_jpeg.PTH")).map(|o| o.file), Some("SAINx4_JPEG.pth"));
    assert_eq!(official_name(Path::new("IRN_x3.pth")), None);
}

#[test]
fn the_models_command_lists_shipped_and_user_models_with_skip_reasons() {
    let root = tempfile::tempdir().unwrap();
    folder_with_models(root.path());
    let out = Command::new(env!("CARGO_BIN_EXE_rescale-lab"))
        .args(["models", "--json"])
        .env("XDG_DATA_HOME", root.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["models"].as_array().unwrap();
    let shipped = rows.iter().filter(|r| r["source"] == "shipped").count();
    assert_eq!(shipped, rescale_lab::models::discover(&rescale_lab::models::models_dir()).unwrap().len());
    let official: Vec<&serde_json::Value> = rows.iter().filter(|r| r["source"] == "user, official").collect();
    assert_eq!(official.len(), 2);
    assert_eq!(official[1]["codec"], "webp");
    assert!(rows.iter().any(|r| r["source"] == "user" && r["scale"] == 4 && r["arch"] == "SAIN"));
    assert_eq!(doc["skipped"].as_array().unwrap().len(), 2);
    assert!(doc["user_dir"].as_str().unwrap().ends_with("rescale-lab/models"));

    // The table says the same, with the folder and the skipped files.
    let out = Command::new(env!("CARGO_BIN_EXE_rescale-lab")).arg("models").env("XDG_DATA_HOME", root.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("user, official  IRN   x2"), "{text}");
    assert!(text.contains("(3 models)"), "{text}");
    assert!(text.contains("broken.pth: neither a PyTorch checkpoint"), "{text}");
}
