"""The compiled kernels (w2v/kernels.c) against the plain-numpy reference (w2v/losses.py), on
identical inputs; and how w2v/native.py builds, checks and calls them."""
import os

import numpy as np
import pytest

from conftest import assert_one_line_error, planted_corpus, run_cli
from w2v import W2VError, losses, native
from w2v.functions import log_sigmoid, sigmoid
from w2v.sampler import NegativeSampler
from w2v.steps import softmax_batch_



def _matrices(rng, W=20, d=8):
    V = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    U = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    return V, U


def _settings(V, alpha):
    """A NegSampling struct's fields for calling one window or pair update directly."""
    W = len(V)
    return dict(alias_prob=np.ones(W, np.float32), alias_idx=np.arange(W, dtype=np.int32),
                window=1, K=0, shared=1, alpha=alpha)


def _reference_step(V, U, inputs, output, negatives, alpha):
    """One SGD step of neg_sampling_loss on the pairs (V[inputs[a]], output), in float64."""
    V64, U64 = V.astype(np.float64), U.astype(np.float64)
    n = len(inputs)
    cost, grad_v, (rows, grad_rows) = losses.neg_sampling_loss(
        V64[inputs], np.full(n, output), U64, np.tile(negatives, (n, 1)))
    np.add.at(V64, inputs, -alpha * grad_v)
    U64[rows] -= alpha * grad_rows
    return cost, V64, U64


@pytest.mark.parametrize("inputs, targets", [
    ([3, 5, 7, 9], [2, 11, 12, 13, 14]),
    ([3, 5, 3, 7], [2, 9, 11, 9]),  # a context word twice, a negative drawn twice
    ([3, 5, 7], [2, 11, 9, 9, 9]),  # a negative drawn thrice in a row: one 2 x 4 tile of the
                                    # block updates the same row of U as its two outputs
    ([4], [0, 1]),
])
@pytest.mark.parametrize("d", [8, 3, 17])  # the tiles' vector loops and their leftovers
def test_window_update_is_one_step_of_the_reference_loss(rng, kernels, inputs, targets, d):
    V, U = _matrices(rng, d=d)
    inputs, targets = np.array(inputs, np.int32), np.array(targets, np.int32)
    cost_ref, V_ref, U_ref = _reference_step(V, U, inputs, targets[0], targets[1:], 0.1)
    cost = kernels.call("window_update", V=V, U=U, **_settings(V, 0.1), inputs=inputs,
                        targets=targets, grad_in=np.zeros((len(inputs), V.shape[1]), np.float32),
                        G=np.zeros((len(inputs), len(targets)), np.float32))
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V_ref, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, atol=1e-6)


def test_pair_update_is_one_step_of_the_reference_loss(rng, kernels):
    V, U = _matrices(rng)
    targets = np.array([6, 1, 2, 3, 4, 5], np.int32)
    cost_ref, V_ref, U_ref = _reference_step(V, U, np.array([9]), targets[0], targets[1:], 0.05)
    cost = kernels.call("pair_update", V=V, U=U, **_settings(V, 0.05), c=9, targets=targets,
                        grad_v=np.zeros(V.shape[1], np.float32))
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V_ref, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, atol=1e-6)


def test_sigmoid_tables_match_the_exact_functions(kernels):
    # d = 1, v_c = x, u_o = 1: one pair's cost is -log σ(x), and v_c moves by α(1 - σ(x))
    x = np.concatenate([np.linspace(-30, 30, 4001), [-1e4, -16.0, 16.0, 1e4]]).astype(np.float32)
    alpha = 1e4  # large, so that σ is read back from v_c's step to float32 precision
    s, nls = np.empty_like(x), np.empty_like(x)
    for i, xi in enumerate(x):
        V, U = np.array([[xi], [0.0]], np.float32), np.array([[0.0], [1.0]], np.float32)
        nls[i] = kernels.call("pair_update", V=V, U=U, **_settings(V, alpha), c=0,
                              targets=np.array([1], np.int32), grad_v=np.zeros(1, np.float32))
        s[i] = 1 - (V[0, 0] - np.float64(xi)) / alpha
    exact = x.astype(np.float64)
    np.testing.assert_allclose(s, sigmoid(exact), atol=5e-7)
    np.testing.assert_allclose(nls, -log_sigmoid(exact), atol=1e-6, rtol=1e-6)


def test_softmax_batch_is_one_step_of_the_reference_loss(rng, kernels):
    V, U = _matrices(rng, W=15)
    inputs, outputs = np.array([1, 4, 1, 7], np.int32), np.array([3, 3, 0, 14], np.int32)
    V64, U64 = V.astype(np.float64), U.astype(np.float64)
    cost_ref, grad_v, (rows, grad_U) = losses.softmax_loss(V64[inputs], outputs, U64)
    np.add.at(V64, inputs, -0.2 * grad_v)
    U64[rows] -= 0.2 * grad_U
    cost = softmax_batch_(V, U, inputs, outputs, 0.2)
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V64, atol=1e-6)
    np.testing.assert_allclose(U, U64, atol=1e-6)


END = 0xFFFFFFFF


def test_prepare_chunk_drops_unknown_words_and_marks_sentences(kernels):
    raw = np.array([0, 5, 1, END, END, 2, END, 5, END], np.uint32)
    remap = np.array([0, 1, 2, -1, -1, -1], np.int32)  # ids 3.. are not in the vocabulary
    sen, _ = native.prepare_chunk(raw, remap, np.ones(3, np.float32), np.uint64(1))
    assert sen.tolist() == [0, 1, -1, 2, -1]


def test_prepare_chunk_subsamples_at_the_keep_probability(kernels):
    raw = np.tile(np.array([0, 1, 2], np.uint32), 100_000)
    keep = np.array([0.25, 1.0, 0.0], np.float32)
    sen, _ = native.prepare_chunk(raw, np.arange(3, dtype=np.int32), keep, np.uint64(7))
    counts = np.bincount(sen, minlength=3)
    assert counts[1] == 100_000 and counts[2] == 0
    assert counts[0] / 100_000 == pytest.approx(0.25, abs=0.01)


def test_prepare_chunk_refuses_ids_beyond_the_vocabulary(kernels):
    # what a damaged token-id cache would hand it: one line for the user, never a crash
    raw = np.array([0, 1, 7], np.uint32)
    with pytest.raises(W2VError, match="id cache is damaged"):
        native.prepare_chunk(raw, np.arange(3, dtype=np.int32), np.ones(3, np.float32), 1)


def test_skipgram_pairs_stay_inside_sentences(kernels):
    sen = np.array([0, 1, 2, -1, 3, 4], np.int32)
    inputs, outputs, _ = native.skipgram_pairs(sen, 1, np.uint64(3))
    assert sorted(zip(outputs.tolist(), inputs.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1), (3, 4),
                                                              (4, 3)]
    inputs, outputs, _ = native.skipgram_pairs(sen, 5, np.uint64(3))
    for i, o in zip(inputs, outputs):
        assert (i <= 2) == (o <= 2)  # never across the sentence break


def test_dynamic_window_radius_is_uniform(kernels):
    sen = np.zeros(100_003, np.int32)  # one long sentence: each centre has 2b pairs
    inputs, _, _ = native.skipgram_pairs(sen, 4, np.uint64(11))
    assert len(inputs) / len(sen) == pytest.approx(2 * 2.5, rel=0.01)  # E[2b] = 2 · (1+4)/2


def test_alias_tables_give_exactly_count_to_the_three_quarters(kernels):
    counts = np.array([1000, 300, 50, 10, 1, 1])
    sampler = NegativeSampler(counts)
    expected = counts ** 0.75 / np.sum(counts ** 0.75)
    np.testing.assert_allclose(sampler.p, expected)
    # a draw picks bucket i uniformly, then keeps i with probability prob[i], else takes alias[i]
    W = len(counts)
    drawn = (sampler.prob + np.bincount(sampler.alias, weights=1 - sampler.prob, minlength=W)) / W
    np.testing.assert_allclose(drawn, expected, atol=1e-6)


def test_neg_chunk_draws_negatives_at_count_to_the_three_quarters(kernels):
    # every pair: centre word 6 (never drawn) against K negatives. With a tiny α and U = 0, each
    # draw of k moves u_k by -α σ(u_k·v) v ≈ -α/2 v, so -2 U[k] / α counts the draws of k.
    counts = np.array([1000, 300, 50, 10, 1, 1, 0])
    sampler = NegativeSampler(counts)
    V, U = np.ones((7, 1), np.float32), np.zeros((7, 1), np.float32)
    sen = np.tile(np.array([6, 6, -1], np.int32), 20_000)  # 40,000 pairs with window 1
    _, pairs, _ = native.neg_chunk(sen, V, U, sampler.prob, sampler.alias, 1, 5, False, 1e-7, 3)
    draws = -2 * U[:6, 0].astype(np.float64) / 1e-7
    assert pairs == 40_000 and draws.sum() == pytest.approx(5 * pairs, rel=0.002)
    np.testing.assert_allclose(draws / draws.sum(), sampler.p[:6], atol=0.004)


def test_neg_chunk_trains_every_pair_and_lowers_the_cost(rng, kernels):
    V, U = _matrices(rng, W=6, d=4)
    V *= 0.1
    U[:] = 0
    sampler = NegativeSampler(np.ones(6))
    sen = np.tile(np.array([0, 1, 2, -1, 3, 4, 5, -1], np.int32), 200)
    for shared in (True, False):
        costs = []
        for _ in range(3):
            cost, pairs, _ = native.neg_chunk(sen, V, U, sampler.prob, sampler.alias, 1, 3, shared,
                                               np.float32(0.05), np.uint64(2))
            costs.append(cost / pairs)
        assert pairs == 200 * 8  # window 1: each 3-word sentence has 4 pairs
        assert costs[0] > costs[1] > costs[2]


@pytest.mark.parametrize("shared, combine", [(True, 1), (True, 16), (False, 1)])
def test_neg_chunk_result_depends_only_on_its_seed(rng, shared, combine, kernels):
    V, U = _matrices(rng, W=40, d=16)
    sampler = NegativeSampler(np.arange(40, 0, -1))
    sen = rng.integers(0, 40, 3000).astype(np.int32)
    sen[::25] = -1
    results = []
    for seed in (11, 11, 12):
        V1, U1 = V.copy(), U.copy()
        cost, pairs, state = native.neg_chunk(sen, V1, U1, sampler.prob, sampler.alias, 3, 4, shared,
                                              0.05, seed, combine)
        results.append((cost, pairs, int(state), V1.tobytes(), U1.tobytes()))
    assert results[0] == results[1]
    assert results[0][0] != results[2][0] and results[0][3] != results[2][3]


def _padded(M, ld):
    """M's values in rows ld floats apart (pads of NaN that no kernel may read or write)."""
    storage = np.full((M.shape[0], ld), np.nan, np.float32)
    storage[:, :M.shape[1]] = M
    return storage[:, :M.shape[1]]


@pytest.mark.parametrize("shared, combine", [(True, 1), (True, 16), (False, 1)])
def test_neg_chunk_on_padded_rows_gives_the_same_bytes(rng, shared, combine, kernels):
    V, U = _matrices(rng, W=40, d=12)
    sampler = NegativeSampler(np.arange(40, 0, -1))
    sen = rng.integers(0, 40, 3000).astype(np.int32)
    V_pad, U_pad = _padded(V, 16), _padded(U, 16)
    for M, N in ((V, U), (V_pad, U_pad)):
        native.neg_chunk(sen, M, N, sampler.prob, sampler.alias, 3, 4, shared, 0.05, 11, combine)
    assert np.array_equal(V_pad, V) and np.array_equal(U_pad, U)
    assert np.isnan(V_pad.base[:, 12:]).all() and np.isnan(U_pad.base[:, 12:]).all()


def test_padded_zeros_start_every_row_on_a_cache_line():
    V = native.padded_zeros(5, 20)
    assert V.shape == (5, 20) and not V.any() and V.strides == (32 * 4, 4)
    assert [V[w].ctypes.data % 64 for w in range(5)] == [0] * 5


def test_scatter_add_rows_on_padded_rows(rng, kernels):
    M, G = rng.random((6, 3), dtype=np.float32), rng.random((4, 3), dtype=np.float32)
    rows = np.array([1, 4, 1, 0], np.int32)
    M_pad, expected = _padded(M, 8), M.copy()
    np.add.at(expected, rows, -0.5 * G)
    native.scatter_add_rows(M_pad, rows, G, -0.5)
    np.testing.assert_allclose(M_pad, expected, atol=1e-6)
    assert np.isnan(M_pad.base[:, 3:]).all()


def test_neg_chunk_refuses_ids_outside_the_vocabulary_before_training(rng, kernels):
    V, U = _matrices(rng, W=10, d=4)
    V0, U0 = V.copy(), U.copy()
    sampler = NegativeSampler(np.ones(10))
    for bad in (10, -2):
        with pytest.raises(IndexError):
            native.neg_chunk(np.array([1, 2, bad, 3], np.int32), V, U, sampler.prob, sampler.alias,
                             2, 3, True, 0.1, 1)
    assert np.array_equal(V, V0) and np.array_equal(U, U0)


def test_kernels_refuse_a_window_that_would_overrun_their_scratch_space(kernels):
    V = np.zeros((4, 2), np.float32)
    prob, alias = native.build_alias(np.full(4, 0.25))
    sen = np.array([0, 1, 2, 3], np.int32)
    with pytest.raises(ValueError, match="window"):
        native.neg_chunk(sen, V, V.copy(), prob, alias, 0, 5, True, 0.1, 1)
    with pytest.raises(ValueError, match="window"):
        native.skipgram_pairs(sen, 0, 1)


def test_the_binding_checks_dtype_layout_and_shape_before_passing_a_pointer(rng, kernels):
    V, U = _matrices(rng, W=10, d=4)
    prob, alias = native.build_alias(np.full(10, 0.1))
    sen = np.array([1, 2, 3], np.int32)

    def train(**changes):
        args = dict(sen=sen, V=V, U=U, alias_prob=prob, alias_idx=alias, window=1, K=1,
                    shared=True, alpha=0.1, state=1)
        args.update(changes)
        return native.neg_chunk(**args)

    with pytest.raises(TypeError, match="C-contiguous float32"):
        train(V=V.astype(np.float64))
    with pytest.raises(TypeError, match="C-contiguous"):
        train(V=np.asfortranarray(V))
    with pytest.raises(TypeError, match="C-contiguous"):
        train(V=V[:, ::2], U=U[:, ::2])
    with pytest.raises(TypeError, match="int32"):
        train(sen=sen.astype(np.int64))
    with pytest.raises(ValueError, match="shape"):
        train(U=U[:, :3].copy())  # V and U must both be (W, d)
    with pytest.raises(ValueError, match="apart"):
        train(U=_padded(U, 8))  # ... with rows as far apart
    with pytest.raises(ValueError, match="shape"):
        train(alias_prob=prob[:5].copy())
    read_only = U.copy()
    read_only.flags.writeable = False
    with pytest.raises(TypeError, match="writeable"):
        train(U=read_only)
    cost, pairs, _ = train()
    assert pairs == 4 and cost > 0


def test_kernel_parameters_are_read_from_the_c_definitions():
    source = ("/* Sums x into out.\n   x (n, d); out (d,). */\n"
              "int64_t column_sums(const float *x, int64_t n, int64_t d, double *out) {")
    functions, _ = native.read_interface(source)
    restype, params = functions["column_sums"]
    assert restype == "int64_t"
    assert [(p.name, p.type, p.array, p.writes, p.shape) for p in params] == [
        ("x", "float", True, False, ("n", "d")), ("n", "int64_t", False, True, None),
        ("d", "int64_t", False, True, None), ("out", "double", True, True, ("d",))]


def test_every_kernel_array_has_a_declared_shape(kernels):
    for name, (_, params) in kernels.functions.items():
        for p in params:
            assert not p.array or p.shape or p.type in kernels.structs, (name, p.name)
    assert {"prepare_chunk", "neg_chunk", "combined_block", "skipgram_pairs", "scatter_add_rows",
            "build_alias"} <= set(kernels.functions)


def test_a_damaged_library_is_built_again(tmp_path, monkeypatch, kernels):
    monkeypatch.setenv("W2V_KERNELS_DIR", str(tmp_path))
    path = native.library_path()
    assert os.path.dirname(path) == str(tmp_path)
    with open(path, "wb") as f:
        f.write(b"not a shared library")
    messages = []
    loaded = native._load(messages.append)
    assert loaded.path == path and len(messages) == 1 and "compiling" in messages[0]
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no partial file left
    prob, alias = np.empty(4, np.float32), np.empty(4, np.int32)
    loaded.call("build_alias", scaled=np.ones(4), prob=prob, alias=alias)
    assert prob.tolist() == [1.0] * 4


def test_a_compiler_that_refuses_march_native_builds_without_it(tmp_path, monkeypatch, kernels):
    cc = tmp_path / "cc"
    cc.write_text('#!/bin/sh\ncase "$*" in *-march=native*) echo "unknown option" >&2; exit 1;; esac\n'
                  'exec cc "$@"\n')
    cc.chmod(0o755)
    monkeypatch.setenv("CC", str(cc))
    monkeypatch.setenv("W2V_KERNELS_DIR", str(tmp_path / "kernels"))
    loaded = native._load(lambda message: None)
    prob, alias = np.empty(2, np.float32), np.empty(2, np.int32)
    loaded.call("build_alias", scaled=np.array([1.5, 0.5]), prob=prob, alias=alias)
    assert prob.tolist() == [1.0, 0.5] and alias.tolist() == [0, 0]


def test_a_failing_compiler_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_KERNELS_DIR", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # runs, and fails
    with pytest.raises(W2VError, match="could not compile its training kernels with false"):
        native._load(lambda message: None)
    assert os.listdir(tmp_path) == []


def test_training_without_a_c_compiler_says_what_to_install(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=100)
    env = dict(os.environ, CC="/nonexistent/cc", W2V_KERNELS_DIR=str(tmp_path / "kernels"))
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.bin",
                   "--min-count", "1", "--epochs", "1", env=env)
    line = assert_one_line_error(proc, 1)
    assert line.endswith(native.NO_COMPILER)
    assert not (tmp_path / "v.bin").exists()


def test_a_compile_error_names_the_first_error_not_the_caret_line(tmp_path):
    broken = tmp_path / "kernels.c"
    broken.write_text(open(native.SOURCE).read().replace("int64_t init_tables(void) {",
                                                         "int64_t init_tables(void) { int x = ;"))
    with pytest.raises(W2VError, match="error: expected expression") as caught:
        native.build(str(tmp_path / "k.so"), str(broken))
    assert "^" not in str(caught.value)
    assert not (tmp_path / "k.so").exists()
