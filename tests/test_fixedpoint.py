import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim.model import fixedpoint


def test_round_shift_rounds_half_up_for_both_signs():
    acc = np.array([5, 6, 7, -5, -6, -7])  # /4: 1.25 1.5 1.75 -1.25 -1.5 -1.75
    assert fixedpoint.round_shift(acc, 2).tolist() == [1, 2, 2, -1, -1, -2]


def test_round_shift_left_for_negative_shift():
    assert fixedpoint.round_shift(np.array([3, -3]), -2).tolist() == [12, -12]


def test_saturate_to_16_bits():
    assert fixedpoint.saturate(np.array([40000, -40000, 7]), 16).tolist() == [32767, -32768, 7]


def test_to_fixed_ties_to_even_and_saturates():
    assert fixedpoint.to_fixed(np.array([0.5, 1.5, 2.5, 1e9]), 0, 16).tolist() == [0, 2, 2, 32767]


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_frac_bits_hold_the_maximum_without_saturation(max_abs):
    frac = fixedpoint.frac_bits_for(max_abs, 16)
    assert max_abs * 2.0**frac <= 32767
    assert frac == 15 or max_abs * 2.0 ** (frac + 1) > 32767


def test_finish_applies_relu_after_saturation():
    acc = np.array([-(1 << 30), 1 << 30, 12])
    assert fixedpoint.finish(acc, 2, 16, relu=True).tolist() == [0, 32767, 3]
    assert fixedpoint.finish(acc, 2, 16, relu=False).tolist() == [-32768, 32767, 3]


@pytest.mark.parametrize("total,count,expected", [(7, 2, 4), (-7, 2, -3), (10, 4, 3), (9, 4, 2)])
def test_average_rounds_half_up(total, count, expected):
    assert int(fixedpoint.average(np.array(total), count)) == expected
