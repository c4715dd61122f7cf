//! Equal-size comparisons: the quality search against trying every quality, and the pipeline's
//! results at a target size.

use std::path::{Path, PathBuf};

use rescale_lab::codec::{Codec, Quality};
use rescale_lab::equal_size::target_bytes;
use rescale_lab::methods::{default_method, MethodKind};
use rescale_lab::pipeline::Pipeline;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel)
}

/// The rule, by brute force: the largest size not over the target, the higher quality on ties.
fn exhaustive(lr: &image::RgbImage, codec: Codec, target: usize) -> Option<(u8, usize)> {
    (1..=100u8)
        .map(|q| (q, codec.with_quality(Quality::new(q).unwrap()).compress(lr).unwrap().bytes.len()))
        .filter(|&(_, bytes)| bytes <= target)
        .max_by_key(|&(q, bytes)| (bytes, q))
}

#[test]
fn the_search_finds_what_trying_every_quality_finds() {
    let q = Quality::new(50).unwrap();
    let bicubic = default_method(MethodKind::Bicubic, 2, "jpeg", &candle_core::Device::Cpu);
    let rescaler = bicubic.rescaler.clone().unwrap();
    let mut checked = 0;
    for name in ["baby", "bird", "butterfly", "head", "woman"] {
        let image = image::open(shared(&format!("data/eval/Set5/{name}.png"))).unwrap().to_rgb8();
        let mut pipeline = Pipeline::new(image);
        for codec in [Codec::Jpeg { quality: q }, Codec::Webp { quality: q }] {
            for bpp in [0.15, 0.3, 0.6, 1.2] {
                let (output, matched) = pipeline.run_at_size(&bicubic.key, rescaler.as_ref(), codec, bpp, &Default::default()).unwrap();
                let (w, h) = output.reconstruction.dimensions();
                let target = target_bytes(bpp, w, h);
                match exhaustive(&output.lr, codec, target) {
                    Some((quality, bytes)) => {
                        assert_eq!((matched.quality, matched.bytes), (quality, bytes), "{name} {codec:?} {bpp} bpp");
                        assert!(matched.within_target && output.compressed_bytes() <= target);
                        assert_eq!(output.codec.quality().unwrap().get(), quality, "the output is the chosen quality's");
                    }
                    None => assert!(!matched.within_target && matched.quality == 1, "{name} {codec:?} {bpp}"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 40);
}

#[test]
fn at_equal_size_each_method_gets_its_own_quality() {
    let image = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    let mut pipeline = Pipeline::new(image);
    let codec = Codec::Jpeg { quality: Quality::new(75).unwrap() };
    let mut qualities = Vec::new();
    for kind in [MethodKind::Bicubic, MethodKind::Sain] {
        let method = default_method(kind, 2, "jpeg", &candle_core::Device::Cpu);
        let rescaler = method.rescaler.clone().unwrap();
        let (output, matched) = pipeline.run_at_size(&method.key, rescaler.as_ref(), codec, 0.5, &Default::default()).unwrap();
        assert!(output.bits_per_pixel <= 0.5, "{}: {} bpp", method.label, output.bits_per_pixel);
        // Closest without going over: one quality step up would be over the target.
        if matched.quality < 100 {
            let next = Codec::Jpeg { quality: Quality::new(matched.quality + 1).unwrap() }.compress(&output.lr).unwrap();
            assert!(next.bytes.len() > matched.target_bytes || next.bytes.len() <= matched.bytes, "{matched:?}");
        }
        qualities.push(matched.quality);
    }
    // SAIN's LR holds more detail, so the same budget buys it a lower quality than bicubic's.
    assert!(qualities[1] < qualities[0], "{qualities:?}");

    let none = pipeline.run_at_size("bicubic-x2", default_method(MethodKind::Bicubic, 2, "none", &candle_core::Device::Cpu).rescaler.unwrap().as_ref(), Codec::None, 0.5, &Default::default());
    assert!(none.unwrap_err().to_string().contains("lossy codec"));
}
