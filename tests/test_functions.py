import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from w2v.functions import log_sigmoid, sigmoid, softmax, softmax_cross_entropy

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 8)), elements=finite),
       st.floats(-1e3, 1e3, allow_nan=False))
def test_softmax_is_invariant_to_a_constant_offset(x, c):
    np.testing.assert_allclose(softmax(x + c), softmax(x), rtol=1e-9, atol=1e-12)


def test_softmax_known_values():
    np.testing.assert_allclose(softmax(np.array([1.0, 2.0])), [0.26894142, 0.73105858], atol=1e-7)
    np.testing.assert_allclose(softmax(np.array([[1.0, 2.0], [3.0, 3.0]])), [[0.26894142, 0.73105858],
                                                                            [0.5, 0.5]], atol=1e-7)


def test_sigmoid_known_values():
    assert sigmoid(0.0) == 0.5
    np.testing.assert_allclose(sigmoid(np.array([-1.0, 1.0])), [0.26894142, 0.73105858], atol=1e-7)
    np.testing.assert_allclose(log_sigmoid(np.array([0.0, -3.0])), np.log([0.5, 1 / (1 + np.exp(3))]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_give_finite_values_and_no_warnings(dtype):
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, ls, p = sigmoid(x), log_sigmoid(x), softmax(x)
        cost, grad = softmax_cross_entropy(np.stack([x, -x]), np.array([0, 0]))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    assert np.isclose(ls[0], -1e4) and ls[-1] == 0.0  # log σ(-1e4) = -1e4, not log 0
    assert np.all(np.isfinite(p)) and np.isclose(p.sum(), 1.0) and p[-1] == 1.0
    assert np.isfinite(cost) and np.all(np.isfinite(grad))
    assert np.isclose(cost, 2e4, rtol=1e-6)  # -θ_0 + log Σ exp θ, per row: 2e4 + 0


def test_softmax_cross_entropy_matches_its_definition(rng):
    theta = rng.normal(size=(4, 6))
    k = np.array([0, 5, 2, 2])
    cost, grad = softmax_cross_entropy(theta, k)
    p = softmax(theta)
    assert np.isclose(cost, -np.log(p[np.arange(4), k]).sum())
    y = np.eye(6)[k]
    np.testing.assert_allclose(grad, p - y)
