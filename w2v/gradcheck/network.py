"""A one-hidden-layer network: sigmoid hidden layer, softmax output, cross-entropy cost.

docs/math.md section 5. It is not used to train word vectors, which is why it lives inside the
gradient checker: it gives the checker a multi-layer model whose every gradient (W1, b1, W2, b2
and the input x) is checked, as a student checking the backpropagation algebra would want.
"""
import numpy as np

from ..functions import sigmoid, softmax_cross_entropy


def param_count(Dx, H, Dy):
    """Number of weights and biases: (Dx + 1)·H + (H + 1)·Dy."""
    return (Dx + 1) * H + (H + 1) * Dy


def init_params(Dx, H, Dy, rng, dtype=np.float64):
    """Small random weights and zero biases, as a dict of named arrays."""
    return {
        "W1": rng.normal(0.0, 1.0 / np.sqrt(Dx), (Dx, H)).astype(dtype),
        "b1": np.zeros(H, dtype),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(H), (H, Dy)).astype(dtype),
        "b2": np.zeros(Dy, dtype),
    }


def forward(params, x, labels):
    """Cost summed over the batch, and the cache that backward needs.

    x: (B, Dx); labels: (B,) integer classes in [0, Dy).
    """
    h = sigmoid(x @ params["W1"] + params["b1"])  # (B, Dx) @ (Dx, H) -> (B, H)
    theta = h @ params["W2"] + params["b2"]  # (B, H) @ (H, Dy) -> (B, Dy)
    cost, delta2 = softmax_cross_entropy(theta, labels)  # delta2 = ŷ - y, (B, Dy)
    return cost, (x, h, delta2)


def backward(params, cache):
    """Gradients of the summed cost wrt W1, b1, W2, b2 and the input x."""
    x, h, delta2 = cache
    delta1 = (delta2 @ params["W2"].T) * h * (1.0 - h)  # (B, Dy) @ (Dy, H) -> (B, H)
    return {
        "W1": x.T @ delta1,  # (Dx, B) @ (B, H) -> (Dx, H)
        "b1": delta1.sum(axis=0),
        "W2": h.T @ delta2,  # (H, B) @ (B, Dy) -> (H, Dy)
        "b2": delta2.sum(axis=0),
        "x": delta1 @ params["W1"].T,  # (B, H) @ (H, Dx) -> (B, Dx)
    }


def cost_and_grads(params, x, labels):
    """(cost, grads) in one call: the form the gradient checker takes."""
    cost, cache = forward(params, x, labels)
    return cost, backward(params, cache)
