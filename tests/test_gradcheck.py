import json

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
from w2v import losses, network
from w2v.functions import sigmoid
from w2v.gradcheck import check_gradients, run_checks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_analytic_gradient_agrees_with_finite_differences(seed):
    results = run_checks(seed=seed, dim=6, vocab=15)
    names = {r.name for r in results}
    for expected in ["network: W1", "network: b1", "network: W2", "network: b2", "network: x",
                     "skip-gram softmax: v_c", "skip-gram softmax: U", "skip-gram neg: v_c",
                     "skip-gram neg: U", "window softmax: V", "window neg: U", "softmax-CE: theta"]:
        assert expected in names
    failed = [(r.name, r.max_rel_error) for r in results if not r.passed]
    assert not failed


def test_large_arrays_are_checked_on_a_sample_of_coordinates():
    results = {r.name: r for r in run_checks(dim=10, vocab=40, max_coords=25)}
    assert results["skip-gram softmax: U"].coords == 25  # 400 entries, 25 sampled
    assert results["network: b1"].coords == 5  # small arrays: every entry
    assert all(r.passed for r in results.values())


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


def test_cli_gradcheck_prints_an_all_pass_table():
    proc = run_cli("gradcheck")
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.strip().splitlines()[1:]
    assert len(rows) >= 14 and all(row.endswith("PASS") for row in rows)


def test_cli_gradcheck_json():
    proc = run_cli("gradcheck", "--json", "--seed", "3", "--dim", "4", "--vocab", "12")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["checks"] and all(c["passed"] for c in data["checks"])


@pytest.mark.parametrize("args", [["gradcheck", "--bogus"], ["gradcheck", "--dim", "0"],
                                  ["gradcheck", "--seed", "-1"], ["nonsense"]])
def test_cli_bad_input_is_one_line_and_exit_2(args):
    line = assert_one_line_error(run_cli(*args), code=2)
    assert line.startswith("w2v: error:")
