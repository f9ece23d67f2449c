"""The one softmax, segment sum and seed helper of the package (sklearn_meta/utils)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_meta.utils._math import segment_sum, softmax
from sklearn_meta.utils._seeds import continued_seed, seed_of


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=8), st.integers(1, 3))
def test_segment_sum_matches_a_loop_with_empty_segments(sizes, width):
    starts = np.concatenate([[0], np.cumsum(sizes)])
    values = np.random.default_rng(0).normal(size=(starts[-1], width))
    expected = np.array([values[a:b].sum(axis=0) for a, b in zip(starts[:-1], starts[1:])])
    np.testing.assert_allclose(segment_sum(values, starts), expected.reshape(len(sizes), width))


def test_segment_sum_1d_and_no_rows():
    np.testing.assert_array_equal(segment_sum(np.arange(5.0), [0, 2, 5]), [1.0, 9.0])
    assert segment_sum(np.zeros((0, 3)), [0, 0, 0]).shape == (2, 3)


def test_softmax_is_stable_and_normalised():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), -np.inf]]), axis=1)
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], atol=1e-12)


def test_seed_of_is_the_one_seed_rule():
    assert seed_of(7) == seed_of(np.random.RandomState(7))  # an int seeds a RandomState
    assert seed_of(7, keep_int=True) == 7
    rng = np.random.RandomState(0)
    first, second = seed_of(rng), seed_of(rng)  # a RandomState advances
    assert first != second and 0 <= first < np.iinfo(np.int32).max
    seeds = seed_of(np.random.RandomState(0), size=3)
    assert seeds.shape == (3,) and seeds[0] == seed_of(0)
    assert continued_seed(5, 0) != continued_seed(5, 1)


@pytest.mark.parametrize("random_state", [None, 0, np.random.RandomState(1)])
def test_seed_of_accepts_what_check_random_state_accepts(random_state):
    assert isinstance(seed_of(random_state), int)
