"""Bjøntegaard deltas against cases whose answer is known in closed form."""
import numpy as np
import pytest

from training.rd import bd_psnr, bd_rate

RATES = np.array([0.25, 0.4, 0.7, 1.1, 1.6])


def curve(rates):
    # a concave RD curve, exactly cubic in log10(rate) so the fit is exact
    x = np.log10(rates)
    return 30 + 6 * x - 1.5 * x ** 2 + 0.3 * x ** 3


def test_identical_curves_are_zero():
    p = curve(RATES)
    assert bd_psnr(RATES, p, RATES, p) == pytest.approx(0, abs=1e-12)
    assert bd_rate(RATES, p, RATES, p) == pytest.approx(0, abs=1e-9)


def test_psnr_shift_is_the_shift():
    p = curve(RATES)
    assert bd_psnr(RATES, p, RATES, p + 1.0) == pytest.approx(1.0, abs=1e-9)
    assert bd_psnr(RATES, p + 1.0, RATES, p) == pytest.approx(-1.0, abs=1e-9)


def test_rates_times_090_is_minus_ten_percent():
    # the same curve reached with 10 % fewer bits, sampled at other rates
    r2 = RATES * 0.9
    assert bd_rate(RATES, curve(RATES), r2, curve(RATES)) == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate(RATES, curve(RATES), RATES * 1.25, curve(RATES)) == pytest.approx(25.0, abs=1e-6)


def test_bd_psnr_of_a_rate_shift_matches_the_integral():
    # test curve = reference curve moved left by log10(0.9): its PSNR at rate r is curve(r / 0.9)
    r2 = RATES * 0.9
    p2 = curve(RATES)
    lo, hi = np.log10(RATES[0]), np.log10(r2[-1])
    xs = np.linspace(lo, hi, 200001)
    gap = curve(10 ** (xs - np.log10(0.9))) - curve(10 ** xs)
    want = np.trapezoid(gap, xs) / (hi - lo)
    assert bd_psnr(RATES, curve(RATES), r2, p2) == pytest.approx(want, abs=1e-6)
    assert want > 0


def test_refuses_too_few_points_and_disjoint_curves():
    with pytest.raises(ValueError, match="four"):
        bd_psnr(RATES[:3], curve(RATES[:3]), RATES[:3], curve(RATES[:3]))
    with pytest.raises(ValueError, match="overlap"):
        bd_psnr(RATES, curve(RATES), RATES * 100, curve(RATES * 100))
    with pytest.raises(ValueError, match="finite"):
        bd_rate(RATES, np.append(curve(RATES)[:-1], np.nan), RATES, curve(RATES))
