"""The training crops: the on-device path (tensors, used on a GPU) draws exactly the CPU path's
crops, flips and rotations, and the crops are aligned with their bicubic LR reference."""
import numpy as np
import torch

from training.data import DEFAULT_SHARED, TrainSet

TRAIN = [str(DEFAULT_SHARED / "data" / "train" / "part1")]


def test_tensor_path_draws_the_numpy_path_batches():
    a = TrainSet(TRAIN, 2, 64, max_images=3, log=lambda *_: None)
    b = TrainSet(TRAIN, 2, 64, max_images=3, log=lambda *_: None).to("cpu")
    assert not a.on_torch and b.on_torch
    ra, rb = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(4):  # enough draws to hit every flip / rotation combination in 8 crops
        ha, la = a.batch(ra, 8, 64)
        hb, lb = b.batch(rb, 8, 64)
        assert ha.shape == (8, 3, 64, 64) and la.shape == (8, 3, 32, 32)
        assert torch.equal(ha, hb) and torch.equal(la, lb)


def test_crops_are_aligned_with_the_lr_reference():
    s = TrainSet(TRAIN, 2, 64, max_images=2, log=lambda *_: None)
    hr, lr = s.batch(np.random.default_rng(0), 6, 64, flip=True, rot=True)
    # a 2x2 box average of the HR crop is close to the bicubic LR of the same area (an
    # unaligned or differently flipped crop would be far)
    box = torch.nn.functional.avg_pool2d(hr, 2)
    assert (box - lr).abs().mean() < 0.02
    assert (box - lr.flip(-1)).abs().mean() > 2 * (box - lr).abs().mean()
