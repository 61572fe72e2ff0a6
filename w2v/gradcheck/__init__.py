"""Central-difference gradient checking (docs/math.md section 14) and the checks `w2v gradcheck` runs.

`check_gradients` works on any function f(params) -> (cost, grads) over a dict of named float64
arrays. `run_checks` builds every model of the math core on random inputs and checks each one;
`network.py` beside it is a model that exists only to be checked, never trained.
"""
from dataclasses import dataclass

import numpy as np

from .. import huffman, losses
from ..errors import W2VError
from ..functions import log_sigmoid, sigmoid, sigmoid_grad, softmax_cross_entropy
from . import network

STEP = 1e-4
TOLERANCE = 1e-5
MIN_VOCAB = 4  # the window check needs a centre word and three distinct context words


@dataclass
class CheckResult:
    name: str
    coords: int  # coordinates compared one by one
    nonzero: int  # of those, how many had a non-zero analytic or numeric derivative
    rows: int  # rows also compared along a random direction (0: every coordinate was compared)
    max_rel_error: float
    worst: str  # where the largest error was: "param[i, j]", or "param[i, :]" for a row's direction

    @property
    def passed(self):
        return self.max_rel_error < TOLERANCE

    def as_dict(self):
        return {"name": self.name, "coords": self.coords, "nonzero": self.nonzero, "rows": self.rows,
                "max_rel_error": self.max_rel_error, "worst": self.worst, "passed": self.passed}


def relative_error(a, n):
    return abs(a - n) / max(1.0, abs(a), abs(n))


def check_gradients(f, params, name="", max_coords=200, rng=None, h=STEP):
    """Compare f's analytic gradients with central differences, one result per parameter.

    f(params) -> (cost, grads), grads a dict with an array of the same shape for each parameter
    to check. An array of at most max_coords entries is compared on every coordinate. A larger
    one is first scanned row by row (its first axis): one central difference along a random ±1
    direction per row, compared with the analytic gradient's row times that direction. That
    finds every row where the numeric gradient is non-zero (f changes at all) and checks each
    row as a whole. Then every coordinate of the rows where the analytic or the numeric gradient
    is non-zero is compared, or, if they hold more than max_coords entries, an even share of each
    such row (at least one coordinate); what is left of max_coords goes to random other entries.
    A gradient whose few non-zero rows a uniform sample would miss is so never checked on zeros
    alone. The params are perturbed in place and restored.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    _, grads = f(params)
    results = []
    for key, grad in grads.items():
        x = params[key]
        if grad.shape != x.shape:
            raise ValueError(f"gradient of {key} has shape {grad.shape}, parameter has {x.shape}")
        label = f"{name}: {key}" if name else key
        results.append(_check_array(f, params, key, grad, label, max_coords, rng, h))
    return results


def _central_difference(f, params, view, direction, h):
    """(f(x + h·direction) − f(x − h·direction)) / 2h, with view (a view into a parameter)
    perturbed and restored; also whether f changed at all."""
    saved = view.copy()
    view[...] = saved + h * direction
    plus, _ = f(params)
    view[...] = saved - h * direction
    minus, _ = f(params)
    view[...] = saved
    return (plus - minus) / (2 * h), plus != minus


def _check_array(f, params, key, grad, label, max_coords, rng, h):
    x = params[key]
    rows = x.reshape(x.shape[0] if x.ndim > 1 else 1, -1)  # a view: perturbing it perturbs x
    grad_rows = grad.reshape(rows.shape)
    worst_err, worst_at = 0.0, None
    scanned = 0
    if x.size <= max_coords:
        coords = np.arange(x.size)
    else:
        nonzero_rows = []
        for i in range(rows.shape[0]):
            direction = rng.choice([-1.0, 1.0], size=rows.shape[1])
            numeric, changed = _central_difference(f, params, rows[i], direction, h)
            err = relative_error(float(grad_rows[i] @ direction), numeric)
            if worst_at is None or err > worst_err:
                worst_err, worst_at = err, f"{key}[{i}, :]"
            if changed or np.any(grad_rows[i]):
                nonzero_rows.append(i)
        scanned = rows.shape[0]
        coords = _coordinates(rows.shape, nonzero_rows, max_coords, rng)
    flat, flat_grad = rows.reshape(-1), grad_rows.reshape(-1)  # views, as rows is
    nonzero = 0
    for i in coords:
        numeric, changed = _central_difference(f, params, flat[i:i + 1], 1.0, h)
        analytic = float(flat_grad[i])
        nonzero += bool(changed or analytic != 0.0)
        err = relative_error(analytic, numeric)
        if worst_at is None or err > worst_err:
            worst_err, worst_at = err, f"{key}{list(map(int, np.unravel_index(i, x.shape)))}"
    return CheckResult(label, len(coords), nonzero, scanned, worst_err, worst_at)


def _coordinates(shape, nonzero_rows, max_coords, rng):
    """Flat indices into an array of `shape` (rows, width): the non-zero rows' entries first, as
    many as max_coords allows but at least one a row, then random others up to max_coords."""
    n_rows, width = shape
    per_row = min(width, max(1, max_coords // max(1, len(nonzero_rows))))
    chosen = [r * width + rng.choice(width, size=per_row, replace=False) for r in nonzero_rows]
    chosen = np.concatenate(chosen) if chosen else np.array([], dtype=np.int64)
    others = np.setdiff1d(np.arange(n_rows * width), chosen)
    fill = min(len(others), max(0, max_coords - len(chosen)))
    return np.sort(np.concatenate([chosen, rng.choice(others, size=fill, replace=False)]))


def _distinct_negatives(rng, outside, K, W):
    """K negatives per pair, never the pair's outside word, with repeats allowed across slots."""
    negatives = rng.integers(0, W - 1, size=(len(outside), K))
    return negatives + (negatives >= outside[:, None])  # skip over o: uniform on the other W-1


def run_checks(seed=0, dim=8, vocab=20, max_coords=200):
    """Every check of the math core on random float64 inputs; a list of CheckResult."""
    if vocab < MIN_VOCAB:
        raise W2VError(f"the gradient check needs a vocabulary of at least {MIN_VOCAB} words, got {vocab}")
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
    centre, a, b, c = rng.choice(W, size=MIN_VOCAB, replace=False)
    context = np.array([a, b, a, c])  # a context word twice in one window
    window_negatives = _distinct_negatives(rng, context, K, W)

    def window(negs):
        def f(p):
            cost, dV, dU = losses.window_loss(p["V"], p["U"], centre, context, negs)
            return cost, {"V": dV, "U": dU}
        return f

    check("window softmax", window(None), {"V": V.copy(), "U": U.copy()})
    check("window neg", window(window_negatives), {"V": V.copy(), "U": U.copy()})

    sentence = np.array([a, b, centre, a, c, b, centre])  # words at several positions
    centres, radii = np.array([1, 2, 3, 4]), np.array([2, 1, 3, 2])  # overlapping windows
    shared = np.array([centre, c, rng.integers(W), centre])  # a centre word drawn as a negative

    def combined(p):
        cost, dV, dU, _ = losses.combined_loss(p["V"], p["U"], sentence, centres, radii, shared)
        return cost, {"V": dV, "U": dU}

    check("combined neg", combined, {"V": V.copy(), "U": U.copy()})

    def cbow(loss, *extra, mean=True):
        def f(p):
            cost, dV, dU, _ = losses.cbow_loss(p["V"], p["U"], context, centre, loss, *extra,
                                               mean=mean)
            return cost, {"V": dV, "U": dU}
        return f

    cbow_negatives = _distinct_negatives(rng, np.array([centre]), K, W)
    check("cbow neg", cbow(losses.neg_sampling_loss, cbow_negatives), {"V": V.copy(), "U": U.copy()})
    check("cbow-sum neg", cbow(losses.neg_sampling_loss, cbow_negatives, mean=False),
          {"V": V.copy(), "U": U.copy()})
    check("cbow softmax", cbow(losses.softmax_loss), {"V": V.copy(), "U": U.copy()})

    tree = huffman.build(rng.integers(1, 1000, size=W))
    nodes = rng.normal(0, 0.5, size=(W - 1, d))  # the inner nodes' rows
    deepest = int(np.argmax(tree.lengths))
    sibling = sharing_path(tree, deepest)
    hs_outside = np.array([deepest, sibling, deepest, *outside[3:]])  # paths that share nodes

    def hs(p):
        cost, grad_v_c, (rows, grad_rows) = losses.hs_loss(p["input"], hs_outside,
                                                           p["inner nodes"], tree)
        return cost, {"input": grad_v_c,
                      "inner nodes": losses.densify(p["inner nodes"].shape, rows, grad_rows)}

    check("hs", hs, {"input": v_c.copy(), "inner nodes": nodes.copy()})
    check("cbow hs", cbow(losses.hs_loss, tree), {"V": V.copy(), "U": nodes.copy()})
    return results


def sharing_path(tree, w):
    """Another word whose path shares more than the root with w's, if there is one."""
    shared = [(np.sum(tree.points[x, :2] == tree.points[w, :2]) if tree.lengths[x] > 1 else 0, x)
              for x in range(len(tree.lengths)) if x != w]
    return max(shared)[1]
