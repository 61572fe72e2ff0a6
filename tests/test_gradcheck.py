import json

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
from w2v import W2VError, losses
from w2v.functions import sigmoid
from w2v.gradcheck import MIN_VOCAB, check_gradients, network, run_checks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_analytic_gradient_agrees_with_finite_differences(seed):
    results = run_checks(seed=seed, dim=6, vocab=15)
    names = {r.name for r in results}
    for expected in ["network: W1", "network: b1", "network: W2", "network: b2", "network: x",
                     "skip-gram softmax: v_c", "skip-gram softmax: U", "skip-gram neg: v_c",
                     "skip-gram neg: U", "window softmax: V", "window neg: U", "softmax-CE: theta",
                     "cbow neg: V", "cbow neg: U", "cbow-sum neg: V", "cbow softmax: V",
                     "cbow softmax: U", "hs: input", "hs: inner nodes", "cbow hs: V", "cbow hs: U",
                     "combined neg: V", "combined neg: U"]:
        assert expected in names
    failed = [(r.name, r.max_rel_error) for r in results if not r.passed]
    assert not failed


def test_large_arrays_are_checked_on_every_nonzero_row_then_a_sample():
    results = {r.name: r for r in run_checks(dim=10, vocab=40, max_coords=25)}
    window_V = results["window neg: V"]  # 400 entries, one non-zero row: the centre word's
    assert (window_V.coords, window_V.nonzero, window_V.rows) == (25, 10, 40)
    softmax_U = results["skip-gram softmax: U"]  # 40 non-zero rows: one coordinate of each
    assert (softmax_U.coords, softmax_U.nonzero, softmax_U.rows) == (40, 40, 40)
    assert (results["network: b1"].coords, results["network: b1"].rows) == (5, 0)  # every entry
    assert all(r.passed for r in results.values())


def _window_neg(seed, W=200, d=50, K=5):
    """A skip-gram window's loss on random inputs: its V gradient has one non-zero row."""
    rng = np.random.default_rng(seed)
    params = {"V": rng.normal(0, 0.5, (W, d)), "U": rng.normal(0, 0.5, (W, d))}
    centre, *context = rng.choice(W, size=5, replace=False)
    negatives = rng.integers(0, W, size=(len(context), K))
    return params, centre, np.array(context), negatives


@pytest.mark.parametrize("planted", ["row", "coordinate", "forgotten row"])
@pytest.mark.parametrize("seed", range(10))
def test_a_one_percent_error_in_a_sparse_window_gradient_always_fails(seed, planted):
    params, centre, context, negatives = _window_neg(seed)
    param, row = ("U", context[0]) if planted == "forgotten row" else ("V", centre)

    def f(p):
        cost, dV, dU = losses.window_loss(p["V"], p["U"], centre, context, negatives)
        if planted == "row":
            dV[centre] *= 1.01
        elif planted == "coordinate":  # the row's largest entry, most likely outside the sample
            dV[centre, np.argmax(np.abs(dV[centre]))] *= 1.01
        else:
            dU[context[0]] = 0.0  # an analytic gradient that misses a row the cost depends on
        return cost, {param: {"V": dV, "U": dU}[param]}

    [result] = check_gradients(f, params, max_coords=20, rng=np.random.default_rng(seed))
    assert not result.passed
    assert result.worst.startswith(f"{param}[{row}")


@pytest.mark.parametrize("planted", ["negative row", "repeated word"])
def test_a_one_percent_error_in_the_combined_block_gradient_fails(rng, planted):
    W, d = 12, 5
    params = {"V": rng.normal(0, 0.5, (W, d)), "U": rng.normal(0, 0.5, (W, d))}
    sentence = np.array([1, 2, 3, 1, 4, 2, 5])  # words 1 and 2 at two positions each
    centres, radii, negatives = np.array([1, 2, 3, 4]), np.array([2, 1, 3, 2]), np.array([3, 7, 7])
    param, row = ("U", 7) if planted == "negative row" else ("V", 1)

    def f(p):
        cost, dV, dU, _ = losses.combined_loss(p["V"], p["U"], sentence, centres, radii, negatives)
        {"U": dU, "V": dV}[param][row] *= 1.01
        return cost, {"V": dV, "U": dU}

    results = {r.name: r for r in check_gradients(f, params)}
    assert [name for name, r in results.items() if not r.passed] == [param]
    assert results[param].worst.startswith(f"{param}[{row}")


def _quadratic(planted=None):
    """f = Σ a·x² + Σ b·y, with an optional planted error in the analytic gradient."""
    def f(p):
        cost = float(np.sum(p["a"] * p["x"] ** 2) + np.sum(p["b"] * p["y"]))
        gx, gy = 2 * p["a"] * p["x"], p["b"].copy()
        if planted == "sign":
            gx[1, 2] = -gx[1, 2]
        elif planted == "factor":
            gy[3] *= 2
        elif planted == "missing":
            gx = p["a"] * p["x"]  # the factor 2 of the derivative is forgotten everywhere
        return cost, {"x": gx, "y": gy}
    return f


@pytest.mark.parametrize("planted, param, coord", [("sign", "x", "x[1, 2]"), ("factor", "y", "y[3]"),
                                                   ("missing", "x", None)])
def test_checker_catches_a_planted_error_and_names_where(rng, planted, param, coord):
    params = {"x": rng.normal(1, 1, (3, 4)), "y": rng.normal(size=5)}
    params["a"], params["b"] = rng.uniform(1, 2, (3, 4)), rng.uniform(1, 2, 5)
    clean = check_gradients(_quadratic(), params)
    assert all(r.passed for r in clean)
    results = {r.name: r for r in check_gradients(_quadratic(planted), params)}
    failing = [name for name, r in results.items() if not r.passed]
    assert failing == [param]
    if coord:
        assert results[param].worst == coord


def test_checker_restores_the_parameters(rng):
    x = rng.normal(size=(4, 3))
    params = {"x": x.copy()}
    check_gradients(lambda p: (float(np.sum(p["x"] ** 3)), {"x": 3 * p["x"] ** 2}), params)
    np.testing.assert_array_equal(params["x"], x)


def test_network_parameter_count_matches_its_arrays(rng):
    for Dx, H, Dy in [(10, 5, 3), (1, 1, 1), (7, 20, 2)]:
        params = network.init_params(Dx, H, Dy, rng)
        assert sum(a.size for a in params.values()) == network.param_count(Dx, H, Dy)


def test_neg_sampling_loss_matches_a_per_pair_loop(rng):
    W, d, B = 9, 4, 5
    U, v_c = rng.normal(size=(W, d)), rng.normal(size=(B, d))
    outside = np.array([1, 1, 4, 0, 8])
    negatives = np.array([[2, 3, 2], [5, 6, 7], [0, 1, 2], [3, 3, 3], [1, 2, 3]])
    cost, grad_v_c, (rows, grad_rows) = losses.neg_sampling_loss(v_c, outside, U, negatives)
    exp_cost, exp_gv, exp_gU = 0.0, np.zeros_like(v_c), np.zeros_like(U)
    for b in range(B):
        s = sigmoid(U[outside[b]] @ v_c[b])
        exp_cost -= np.log(s)
        exp_gv[b] += (s - 1) * U[outside[b]]
        exp_gU[outside[b]] += (s - 1) * v_c[b]
        for k in negatives[b]:
            s = sigmoid(U[k] @ v_c[b])
            exp_cost -= np.log(1 - s)
            exp_gv[b] += s * U[k]
            exp_gU[k] += s * v_c[b]
    assert np.isclose(cost, exp_cost)
    np.testing.assert_allclose(grad_v_c, exp_gv)
    np.testing.assert_allclose(losses.densify(U.shape, rows, grad_rows), exp_gU)
    assert list(rows) == sorted(set(outside) | set(negatives.ravel()))


def test_softmax_loss_is_the_cross_entropy_of_the_scores(rng):
    U, v_c, outside = rng.normal(size=(7, 3)), rng.normal(size=(4, 3)), np.array([0, 6, 6, 2])
    scores = v_c @ U.T
    expected = -np.sum(np.log(np.exp(scores[np.arange(4), outside]) / np.exp(scores).sum(axis=1)))
    cost, _, (rows, _) = losses.softmax_loss(v_c, outside, U)
    assert np.isclose(cost, expected)
    assert list(rows) == list(range(7))


def test_cli_gradcheck_prints_an_all_pass_table_with_the_nonzero_count():
    proc = run_cli("gradcheck", "--dim", "8")
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.strip().splitlines()
    assert header.split() == ["check", "coords", "nonzero", "max", "rel", "err", "result"]
    assert len(rows) >= 14 and all(row.endswith("PASS") for row in rows)
    window_V = next(row for row in rows if row.startswith("window neg: V")).split()
    assert window_V[3:5] == ["160", "8"]  # W x d = 20 x 8 coordinates, the centre row's 8 non-zero


@pytest.mark.parametrize("vocab", [MIN_VOCAB, 10, 11])
def test_cli_gradcheck_works_down_to_its_smallest_vocabulary(vocab):
    proc = run_cli("gradcheck", "--vocab", vocab, "--dim", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    assert all(c["passed"] for c in json.loads(proc.stdout)["checks"])


def test_cli_gradcheck_below_the_smallest_vocabulary_is_a_usage_error():
    line = assert_one_line_error(run_cli("gradcheck", "--vocab", MIN_VOCAB - 1), code=2)
    assert "--vocab" in line


def test_run_checks_refuses_a_vocabulary_too_small_for_a_window():
    with pytest.raises(W2VError, match=f"at least {MIN_VOCAB}"):
        run_checks(vocab=MIN_VOCAB - 1)


def test_cli_gradcheck_json():
    proc = run_cli("gradcheck", "--json", "--seed", "3", "--dim", "4", "--vocab", "12")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["checks"] and all(c["passed"] for c in data["checks"])


@pytest.mark.parametrize("args", [["gradcheck", "--bogus"], ["gradcheck", "--dim", "0"],
                                  ["gradcheck", "--seed", "-1"], ["nonsense"],
                                  ["gradcheck", "--dim", "1000000000"],
                                  ["gradcheck", "--vocab", "1000000000"]])
def test_cli_bad_input_is_one_line_and_exit_2(args):
    line = assert_one_line_error(run_cli(*args), code=2)
    assert line.startswith("w2v: error:")
