//! The fast CPU DenseBlock/conv path against candle's own `conv2d` (+ cat + leaky relu).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig};
use rescale_lab::winograd;
use rescale_lab::fast_conv::{
    conv3x3, conv3x3_nhwc, dense_block_forward, Activation, PackedConv3x3, PackedDenseBlock, GROWTH,
};

fn rand_t(shape: &[usize], scale: f64, dev: &Device) -> Result<Tensor> {
    Tensor::randn(0f32, 1f32, shape, dev)? .affine(scale, 0.0)
}

/// conv1..conv5 `(weight, bias)` with PyTorch-like init scale (uniform ±1/sqrt(fan_in) ≈ randn/sqrt(3·fan_in)).
fn dense_weights(cin: usize, cout: usize, dev: &Device) -> Result<[(Tensor, Tensor); 5]> {
    let mk = |k: usize| -> Result<(Tensor, Tensor)> {
        let i = cin + k * GROWTH;
        let o = if k < 4 { GROWTH } else { cout };
        let s = 1.0 / ((i * 9) as f64).sqrt();
        Ok((rand_t(&[o, i, 3, 3], s, dev)?, rand_t(&[o], s, dev)?))
    };
    Ok([mk(0)?, mk(1)?, mk(2)?, mk(3)?, mk(4)?])
}

fn candle_dense(x: &Tensor, convs: &[(Tensor, Tensor); 5]) -> Result<Tensor> {
    let cfg = Conv2dConfig { padding: 1, ..Default::default() };
    let layers: Vec<Conv2d> =
        convs.iter().map(|(w, b)| Conv2d::new(w.clone(), Some(b.clone()), cfg)).collect();
    let mut f = x.clone();
    for conv in &layers[..4] {
        let g = candle_nn::ops::leaky_relu(&conv.forward(&f)?, 0.2)?;
        f = Tensor::cat(&[&f, &g], 1)?;
    }
    layers[4].forward(&f)
}

/// max |a − b| / max(1, max |b|)
fn rel_err(a: &Tensor, b: &Tensor) -> Result<f32> {
    assert_eq!(a.dims(), b.dims());
    let diff = (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
    let scale = b.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?.max(1.0);
    Ok(diff / scale)
}

const SIZES: &[(usize, usize)] = &[(1, 1), (1, 4), (3, 1), (2, 2), (7, 5), (5, 7), (16, 16), (33, 17), (64, 48)];

#[test]
fn dense_block_matches_candle() -> Result<()> {
    let dev = Device::Cpu;
    for &(cin, cout) in &[(3usize, 9usize), (9, 3), (45, 3), (3, 45), (12, 1)] {
        let convs = dense_weights(cin, cout, &dev)?;
        let packed = PackedDenseBlock::new(&convs)?;
        assert_eq!((packed.cin(), packed.cout()), (cin, cout));
        // The direct path and both Winograd variants, whatever the default is.
        for variant in [None, Some(winograd::F2X3), Some(winograd::F4X3)] {
            let packed = packed.clone().with_winograd(variant);
            for &(h, w) in SIZES {
                let x = rand_t(&[1, cin, h, w], 1.0, &dev)?;
                let want = candle_dense(&x, &convs)?;
                let got = packed.forward(&x)?;
                let err = rel_err(&got, &want)?;
                let name = variant.map_or("direct", |v| v.name);
                assert!(err <= 1e-4, "{name}: cin {cin} cout {cout} {h}×{w}: rel err {err}");
            }
        }
    }
    Ok(())
}

/// Winograd's error against an f64 evaluation, next to the direct path's: both variants stay
/// within a few times the direct path's rounding (measured 0.9–1.0× for F(2x2), 1.5–1.7× for
/// F(4x4) on the points 0, ±3/2, ±2/3; the textbook points gave 5–6×).
#[test]
fn winograd_rounding_error_against_f64() -> Result<()> {
    let dev = Device::Cpu;
    for &(cin, cout) in &[(9usize, 3usize), (45, 3)] {
        let convs = dense_weights(cin, cout, &dev)?;
        let convs64: Vec<(Tensor, Tensor)> = convs.iter().map(|(w, b)| Ok((w.to_dtype(DType::F64)?, b.to_dtype(DType::F64)?))).collect::<Result<_>>()?;
        let convs64: [(Tensor, Tensor); 5] = convs64.try_into().unwrap();
        let x = rand_t(&[1, cin, 37, 29], 1.0, &dev)?;
        let exact = candle_dense(&x.to_dtype(DType::F64)?, &convs64)?;
        let packed = PackedDenseBlock::new(&convs)?;
        let err = |variant| -> Result<f64> {
            let got = packed.clone().with_winograd(variant).forward(&x)?.to_dtype(DType::F64)?;
            Ok((got - &exact)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>()?)
        };
        let direct = err(None)?;
        let (f2, f4) = (err(Some(winograd::F2X3))?, err(Some(winograd::F4X3))?);
        println!("cin {cin}: max abs error direct {direct:.2e}, F(2x2) {f2:.2e}, F(4x4) {f4:.2e}");
        assert!(f2 <= 4.0 * direct.max(1e-7), "F(2x2) {f2:e} vs direct {direct:e}");
        assert!(f4 <= 4.0 * direct.max(1e-7), "F(4x4) {f4:e} vs direct {direct:e}");
    }
    Ok(())
}

#[test]
fn one_shot_and_batch() -> Result<()> {
    let dev = Device::Cpu;
    let convs = dense_weights(9, 3, &dev)?;
    let x = rand_t(&[3, 9, 11, 13], 1.0, &dev)?;
    let want = candle_dense(&x, &convs)?;
    let got = dense_block_forward(&x, &convs)?;
    let err = rel_err(&got, &want)?;
    assert!(err <= 1e-4, "batch of 3: rel err {err}");
    // Non-contiguous input (a narrowed view) and F64 input.
    let big = rand_t(&[1, 12, 10, 9], 1.0, &dev)?;
    let view = big.narrow(1, 3, 9)?;
    let err = rel_err(&dense_block_forward(&view, &convs)?, &candle_dense(&view.contiguous()?, &convs)?)?;
    assert!(err <= 1e-4, "narrowed view: rel err {err}");
    let got64 = dense_block_forward(&view.to_dtype(DType::F64)?, &convs)?;
    assert_eq!(got64.dtype(), DType::F64);
    Ok(())
}

#[test]
fn from_slices_equals_from_tensors() -> Result<()> {
    let dev = Device::Cpu;
    let convs = dense_weights(3, 9, &dev)?;
    let flat: Vec<(Vec<f32>, Vec<f32>)> = convs
        .iter()
        .map(|(w, b)| Ok((w.flatten_all()?.to_vec1()?, b.to_vec1()?)))
        .collect::<Result<_>>()?;
    let slices = [0, 1, 2, 3, 4].map(|i| (flat[i].0.as_slice(), flat[i].1.as_slice()));
    let a = PackedDenseBlock::from_slices(3, 9, slices)?;
    let b = PackedDenseBlock::new(&convs)?;
    let x = rand_t(&[1, 3, 9, 8], 1.0, &dev)?;
    let d = (a.forward(&x)? - b.forward(&x)?)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
    assert_eq!(d, 0.0);
    // Wrong shapes are refused.
    assert!(PackedDenseBlock::from_slices(4, 9, slices).is_err());
    Ok(())
}

#[test]
fn single_conv_matches_candle() -> Result<()> {
    let dev = Device::Cpu;
    let cfg = Conv2dConfig { padding: 1, ..Default::default() };
    for &(cin, cout) in &[(3usize, 32usize), (9, 32), (45, 32), (173, 32), (173, 3), (131, 9), (1, 1)] {
        let s = 1.0 / ((cin * 9) as f64).sqrt();
        let w = rand_t(&[cout, cin, 3, 3], s, &dev)?;
        let b = rand_t(&[cout], s, &dev)?;
        let conv = Conv2d::new(w.clone(), Some(b.clone()), cfg);
        for &(h, wd) in &[(1usize, 1usize), (7, 5), (33, 17)] {
            let x = rand_t(&[2, cin, h, wd], 1.0, &dev)?;
            let want = conv.forward(&x)?;
            let got = conv3x3(&x, &w, &b, Activation::None)?;
            let err = rel_err(&got, &want)?;
            assert!(err <= 1e-4, "conv {cin}→{cout} {h}×{wd}: rel err {err}");
            let want = candle_nn::ops::leaky_relu(&want, 0.2)?;
            let got = conv3x3(&x, &w, &b, Activation::LeakyRelu(0.2))?;
            let err = rel_err(&got, &want)?;
            assert!(err <= 1e-4, "conv+lrelu {cin}→{cout} {h}×{wd}: rel err {err}");
        }
    }
    Ok(())
}

#[test]
fn nhwc_slices_with_strides() -> Result<()> {
    let dev = Device::Cpu;
    let cfg = Conv2dConfig { padding: 1, ..Default::default() };
    let (cin, cout, h, w) = (5usize, 4usize, 6usize, 7usize);
    let wt = rand_t(&[cout, cin, 3, 3], 0.2, &dev)?;
    let b = rand_t(&[cout], 0.2, &dev)?;
    let x = rand_t(&[1, cin, h, w], 1.0, &dev)?;
    let want = Conv2d::new(wt.clone(), Some(b.clone()), cfg).forward(&x)?;
    // NHWC with 3 spare channels per pixel in the source, 2 in the destination.
    let (ss, ds) = (cin + 3, cout + 2);
    let xv = x.flatten_all()?.to_vec1::<f32>()?;
    let mut src = vec![f32::NAN; h * w * ss];
    for c in 0..cin {
        for p in 0..h * w {
            src[p * ss + c] = xv[c * h * w + p];
        }
    }
    let mut dst = vec![-7f32; h * w * ds];
    let packed = PackedConv3x3::from_tensors(&wt, &b)?;
    conv3x3_nhwc(h, w, &src, ss, &packed, &mut dst, ds, Activation::None);
    let wv = want.flatten_all()?.to_vec1::<f32>()?;
    for p in 0..h * w {
        for o in 0..cout {
            let (g, e) = (dst[p * ds + o], wv[o * h * w + p]);
            assert!((g - e).abs() <= 1e-5, "pixel {p} channel {o}: {g} vs {e}");
        }
        assert_eq!(&dst[p * ds + cout..p * ds + ds], &[-7.0, -7.0], "spare channels untouched");
    }
    Ok(())
}

#[test]
fn large_image_many_bands() -> Result<()> {
    // Enough pixels for several bands per thread, with a band boundary inside a row.
    let dev = Device::Cpu;
    let convs = dense_weights(45, 3, &dev)?;
    let x = rand_t(&[1, 45, 97, 131], 1.0, &dev)?;
    let err = rel_err(&PackedDenseBlock::new(&convs)?.forward(&x)?, &candle_dense(&x, &convs)?)?;
    assert!(err <= 1e-4, "97×131: rel err {err}");
    Ok(())
}
