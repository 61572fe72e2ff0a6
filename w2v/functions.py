"""Elementwise and row-wise building blocks: sigmoid, softmax, softmax cross-entropy.

Pure numpy, vectorised over the rows of a batch, exact in float64. These are the reference
definitions of docs/math.md sections 2-4; the compiled kernels are tested against them.
Nothing here knows about words, files or training.
"""
import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e^-x), without overflow or warnings for any finite x."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def sigmoid_grad(s):
    """σ'(x) written in terms of the value s = σ(x)."""
    return s * (1.0 - s)


def log_sigmoid(x):
    """log σ(x) = -log(1 + e^-x), finite for very negative x (never log 0)."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def softmax(x):
    """Row-wise softmax of x (..., n), shifted by the row maximum so it never overflows."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    e = np.exp(x - x.max(axis=-1, keepdims=True))  # largest entry is exp(0) = 1
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(theta, k):
    """Cross-entropy of softmax(theta) against one-hot labels k, summed over rows.

    theta: (B, n) scores; k: (B,) integer labels.
    Returns (cost, dtheta) with dtheta = softmax(theta) - y, shape (B, n).
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=np.result_type(theta, np.float32)))
    k = np.atleast_1d(np.asarray(k))
    rows = np.arange(theta.shape[0])
    shifted = theta - theta.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))  # (B,)
    cost = float(np.sum(log_z - shifted[rows, k]))  # CE = -θ_k + log Σ_j exp θ_j
    dtheta = softmax(theta)
    dtheta[rows, k] -= 1.0  # ŷ - y
    return cost, dtheta
