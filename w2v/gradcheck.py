"""Central-difference gradient checking (MATH.md section 9) and the checks `w2v gradcheck` runs.

`check_gradients` works on any function f(params) -> (cost, grads) over a dict of named float64
arrays. `run_checks` builds every model of the math core on random inputs and checks each one.
"""
from dataclasses import dataclass

import numpy as np

from . import losses, network
from .functions import log_sigmoid, sigmoid, sigmoid_grad, softmax_cross_entropy

STEP = 1e-4
TOLERANCE = 1e-5


@dataclass
class CheckResult:
    name: str
    coords: int  # coordinates compared
    max_rel_error: float
    worst: str  # "param[index]" where the largest error was found

    @property
    def passed(self):
        return self.max_rel_error < TOLERANCE

    def as_dict(self):
        return {"name": self.name, "coords": self.coords, "max_rel_error": self.max_rel_error,
                "worst": self.worst, "passed": self.passed}


def relative_error(a, n):
    return abs(a - n) / max(1.0, abs(a), abs(n))


def check_gradients(f, params, name="", max_coords=200, rng=None, h=STEP):
    """Compare f's analytic gradients with central differences, one result per parameter.

    f(params) -> (cost, grads), grads a dict with an array of the same shape for each parameter
    to check. Arrays with more than max_coords entries are checked on a random sample of them.
    The params are perturbed in place and restored.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    _, grads = f(params)
    results = []
    for key, grad in grads.items():
        x = params[key]
        if grad.shape != x.shape:
            raise ValueError(f"gradient of {key} has shape {grad.shape}, parameter has {x.shape}")
        flat = x.reshape(-1)  # a view: perturbing it perturbs params[key]
        coords = np.arange(flat.size)
        if flat.size > max_coords:
            coords = np.sort(rng.choice(flat.size, size=max_coords, replace=False))
        worst_err, worst_at = 0.0, None
        for i in coords:
            saved = flat[i]
            flat[i] = saved + h
            plus, _ = f(params)
            flat[i] = saved - h
            minus, _ = f(params)
            flat[i] = saved
            numeric = (plus - minus) / (2 * h)
            err = relative_error(float(grad.reshape(-1)[i]), numeric)
            if worst_at is None or err > worst_err:
                worst_err, worst_at = err, i
        index = np.unravel_index(worst_at, x.shape)
        label = f"{name}: {key}" if name else key
        results.append(CheckResult(label, len(coords), worst_err, f"{key}{list(map(int, index))}"))
    return results


def _distinct_negatives(rng, outside, K, W):
    """K negatives per pair, never the pair's outside word, with repeats allowed across slots."""
    negatives = rng.integers(0, W - 1, size=(len(outside), K))
    return negatives + (negatives >= outside[:, None])  # skip over o: uniform on the other W-1


def run_checks(seed=0, dim=8, vocab=20, max_coords=200):
    """Every check of the math core on random float64 inputs; a list of CheckResult."""
    rng = np.random.default_rng(seed)
    d, W, B, K = dim, vocab, 6, 4
    results = []

    def check(name, f, params):
        results.extend(check_gradients(f, params, name, max_coords, rng))

    w = rng.normal(size=(B, d))
    check("sigmoid", lambda p: (float(np.sum(w * sigmoid(p["x"]))),
                                {"x": w * sigmoid_grad(sigmoid(p["x"]))}),
          {"x": rng.normal(0, 3, size=(B, d))})
    check("log-sigmoid", lambda p: (float(np.sum(w * log_sigmoid(p["x"]))),
                                    {"x": w * sigmoid(-p["x"])}),
          {"x": rng.normal(0, 3, size=(B, d))})

    labels = rng.integers(0, W, size=B)
    check("softmax-CE", lambda p: (lambda c, g: (c, {"theta": g}))(*softmax_cross_entropy(p["theta"], labels)),
          {"theta": rng.normal(0, 2, size=(B, W))})

    Dx, H, Dy = d, 5, 7
    net = network.init_params(Dx, H, Dy, rng)
    net["x"] = rng.normal(size=(B, Dx))
    y = rng.integers(0, Dy, size=B)
    check("network", lambda p: network.cost_and_grads(p, p["x"], y), net)

    U = rng.normal(0, 0.5, size=(W, d))
    v_c = rng.normal(0, 0.5, size=(B, d))
    outside = rng.integers(0, W, size=B)
    outside[1] = outside[0]  # the same outside word twice in one batch
    negatives = _distinct_negatives(rng, outside, K, W)
    negatives[0, 1] = negatives[0, 0]  # the same negative drawn twice for one pair

    def pairwise(loss, *extra):
        def f(p):
            cost, grad_v_c, (rows, grad_rows) = loss(p["v_c"], outside, p["U"], *extra)
            return cost, {"v_c": grad_v_c, "U": losses.densify(p["U"].shape, rows, grad_rows)}
        return f

    check("skip-gram softmax", pairwise(losses.softmax_loss), {"v_c": v_c.copy(), "U": U.copy()})
    check("skip-gram neg", pairwise(losses.neg_sampling_loss, negatives),
          {"v_c": v_c.copy(), "U": U.copy()})

    V = rng.normal(0, 0.5, size=(W, d))
    centre, context = 3, np.array([5, 7, 5, 11])
    window_negatives = _distinct_negatives(rng, context, K, W)

    def window(negs):
        def f(p):
            cost, dV, dU = losses.window_loss(p["V"], p["U"], centre, context, negs)
            return cost, {"V": dV, "U": dU}
        return f

    check("window softmax", window(None), {"V": V.copy(), "U": U.copy()})
    check("window neg", window(window_negatives), {"V": V.copy(), "U": U.copy()})
    return results
