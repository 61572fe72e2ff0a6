"""The compiled kernels against the plain-numpy reference (w2v/losses.py), on identical inputs."""
import numpy as np
import pytest
from numba import njit

from w2v import kernels, losses, native
from w2v.functions import log_sigmoid, sigmoid
from w2v.sampler import NegativeSampler
from w2v.steps import softmax_batch_


def _matrices(rng, W=20, d=8):
    V = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    U = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    return V, U


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
    ([4], [0, 1]),
])
def test_window_update_is_one_step_of_the_reference_loss(rng, inputs, targets):
    V, U = _matrices(rng)
    alpha = 0.1
    inputs, targets = np.array(inputs, np.int32), np.array(targets, np.int32)
    cost_ref, V_ref, U_ref = _reference_step(V, U, inputs, targets[0], targets[1:], alpha)
    grad_in, G = np.zeros((10, V.shape[1]), np.float32), np.zeros((10, 6), np.float32)
    cost = kernels.window_update(V, U, V[:0], U[:0], inputs, len(inputs), targets, len(targets),
                                 np.float32(alpha), grad_in, G)
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V_ref, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, atol=1e-6)


def test_pair_update_is_one_step_of_the_reference_loss(rng):
    V, U = _matrices(rng)
    targets = np.array([6, 1, 2, 3, 4, 5], np.int32)
    cost_ref, V_ref, U_ref = _reference_step(V, U, np.array([9]), targets[0], targets[1:], 0.05)
    cost = kernels.pair_update(V, U, V[:0], U[:0], 9, targets, len(targets), np.float32(0.05),
                               np.zeros((1, V.shape[1]), np.float32))
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V_ref, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, atol=1e-6)


@njit
def _table_values(x):
    s = np.empty_like(x)
    nls = np.empty_like(x)
    for i in range(x.shape[0]):
        s[i], nls[i] = kernels._sigmoid_and_cost(x[i])
    return s, nls


def test_sigmoid_tables_match_the_exact_functions():
    x = np.concatenate([np.linspace(-30, 30, 100_001), [-1e4, -16.0, 16.0, 1e4]]).astype(np.float32)
    s, nls = _table_values(x)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(s, sigmoid(exact), atol=5e-7)
    np.testing.assert_allclose(nls, -log_sigmoid(exact), atol=1e-6, rtol=1e-6)


def test_softmax_batch_is_one_step_of_the_reference_loss(rng):
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


def test_prepare_chunk_drops_unknown_words_and_marks_sentences():
    raw = np.array([0, 5, 1, END, END, 2, END, 5, END], np.uint32)
    remap = np.array([0, 1, 2, -1, -1, -1], np.int32)  # ids 3.. are not in the vocabulary
    sen, _ = native.prepare_chunk(raw, remap, np.ones(3, np.float32), np.uint64(1))
    assert sen.tolist() == [0, 1, -1, 2, -1]


def test_prepare_chunk_subsamples_at_the_keep_probability():
    raw = np.tile(np.array([0, 1, 2], np.uint32), 100_000)
    keep = np.array([0.25, 1.0, 0.0], np.float32)
    sen, _ = native.prepare_chunk(raw, np.arange(3, dtype=np.int32), keep, np.uint64(7))
    counts = np.bincount(sen, minlength=3)
    assert counts[1] == 100_000 and counts[2] == 0
    assert counts[0] / 100_000 == pytest.approx(0.25, abs=0.01)


def test_skipgram_pairs_stay_inside_sentences():
    sen = np.array([0, 1, 2, -1, 3, 4], np.int32)
    inputs, outputs, _ = native.skipgram_pairs(sen, 1, np.uint64(3))
    assert sorted(zip(outputs.tolist(), inputs.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1), (3, 4),
                                                              (4, 3)]
    inputs, outputs, _ = native.skipgram_pairs(sen, 5, np.uint64(3))
    for i, o in zip(inputs, outputs):
        assert (i <= 2) == (o <= 2)  # never across the sentence break


def test_dynamic_window_radius_is_uniform():
    sen = np.zeros(100_003, np.int32)  # one long sentence: each centre has 2b pairs
    inputs, _, _ = native.skipgram_pairs(sen, 4, np.uint64(11))
    assert len(inputs) / len(sen) == pytest.approx(2 * 2.5, rel=0.01)  # E[2b] = 2 · (1+4)/2


def test_negative_sampler_draws_count_to_the_three_quarters():
    counts = np.array([1000, 300, 50, 10, 1, 1])
    sampler = NegativeSampler(counts)
    expected = counts ** 0.75 / np.sum(counts ** 0.75)
    np.testing.assert_allclose(sampler.p, expected)
    freq = np.bincount(sampler.draw(400_000, seed=5), minlength=len(counts)) / 400_000
    np.testing.assert_allclose(freq, expected, atol=0.004)


def test_neg_chunk_trains_every_pair_and_lowers_the_cost(rng):
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


@pytest.fixture(scope="module")
def built_library(tmp_path_factory):
    """The compiled library, built from scratch as a first run builds it (not the cached one)."""
    path = str(tmp_path_factory.mktemp("kernels") / "w2v_kernels.so")
    assert native._build_in_subprocess(path) is None
    return native.Library(path)


def _exercise_every_kernel(rng_seed):
    """Run each Python-facing kernel once on fixed data; returns all outputs, V and U included."""
    rng = np.random.default_rng(rng_seed)
    W, d = 300, 24
    prob, alias = native.build_alias(rng.random(W) / W * 2)
    raw = rng.integers(0, W + 20, 5000).astype(np.uint32)  # ids >= W are not in the vocabulary
    raw[::17] = END
    remap = np.concatenate([np.arange(W), np.full(20, -1)]).astype(np.int32)
    sen, state = native.prepare_chunk(raw, remap, rng.random(W).astype(np.float32), 5)
    V, U = rng.random((W, d), dtype=np.float32), np.zeros((W, d), np.float32)
    out = [prob, alias, native.draw_many(prob, alias, 50, 3), sen, state]
    for shared in (True, False):
        out.append(native.neg_chunk(sen, V, U, prob, alias, 4, 5, shared, 0.025, 7))
    inputs, outputs, state = native.skipgram_pairs(sen, 3, 9)
    native.scatter_add_rows(U, inputs[:200], rng.random((200, d), dtype=np.float32), -0.5)
    return out + [inputs, outputs, state, V, U]


def test_the_compiled_library_gives_the_jit_kernels_bytes(built_library, monkeypatch):
    monkeypatch.setattr(native, "_BACKEND", built_library)
    from_library = _exercise_every_kernel(0)
    monkeypatch.setattr(native, "_BACKEND", kernels)
    from_jit = _exercise_every_kernel(0)
    assert len(from_library) == len(from_jit)
    for a, b in zip(from_library, from_jit):
        assert repr(a) == repr(b) if not isinstance(a, np.ndarray) else np.array_equal(a, b)
    assert from_library[-1].any() and from_library[-5][1] > 0  # U trained, pairs counted


def test_the_library_refuses_arrays_it_would_write_through_a_copy(built_library):
    V = np.zeros((10, 4), np.float32)
    sen = np.array([1, 2, 3], np.int64)  # read only: converted to int32
    prob, alias = np.ones(10, np.float32), np.arange(10, dtype=np.int32)
    args = (sen, 1, 1, False, np.float32(0.1), np.uint64(1), np.empty(2, np.int32),
            np.empty(2, np.int32), np.empty((2, 1), np.int32), np.zeros((2, 4), np.float32),
            np.zeros((2, 2), np.float32))
    with pytest.raises(TypeError, match="C-contiguous"):
        built_library.neg_chunk(sen, V.astype(np.float64), V, V[:0], V[:0], prob, alias, *args[1:])
    with pytest.raises(TypeError, match="C-contiguous"):
        built_library.neg_chunk(sen, V[:, :2], V[:, :2], V[:0, :2], V[:0, :2], prob, alias, *args[1:])
    cost, pairs, _ = built_library.neg_chunk(sen, V, V.copy(), V[:0], V[:0], prob, alias, *args[1:])
    assert pairs == 4 and cost > 0


def test_training_without_a_compiler_falls_back_to_the_jit(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", "false")  # the link step fails
    monkeypatch.setattr(native, "library_path", lambda: str(tmp_path / "w2v_kernels.so"))
    messages = []
    assert native._load(messages.append) is kernels
    assert "compiling" in messages[0] and "using numba's JIT" in messages[-1]
    assert not (tmp_path / "w2v_kernels.so").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial library left behind


@pytest.mark.parametrize("shared", [True, False])
def test_hot_row_copies_get_exactly_the_updates_the_shared_rows_would(rng, shared):
    V, U = _matrices(rng, W=40, d=16)
    sampler = NegativeSampler(np.arange(40, 0, -1))
    sen = rng.integers(0, 40, 3000).astype(np.int32)
    sen[::25] = -1
    V_direct, U_direct = V.copy(), U.copy()
    direct = native.neg_chunk(sen, V_direct, U_direct, sampler.prob, sampler.alias, 3, 4, shared,
                              0.05, 11)
    V_hot, U_hot = V[:10].copy(), U[:12].copy()  # the ten and twelve most frequent words
    via_copies = native.neg_chunk(sen, V, U, sampler.prob, sampler.alias, 3, 4, shared, 0.05, 11,
                                  V_hot, U_hot)
    assert via_copies == direct
    assert not np.array_equal(V_hot, V[:10]) and not np.array_equal(U_hot, U[:12])  # trained there
    V[:10], U[:12] = V_hot, U_hot
    assert np.array_equal(V, V_direct) and np.array_equal(U, U_direct)


def test_threaded_neg_step_adds_its_hot_row_changes_to_the_shared_rows(rng):
    from w2v import TrainConfig, steps
    from w2v.vocab import Vocab

    vocab = Vocab([f"w{i}" for i in range(80)], np.arange(80, 0, -1) * 10)
    V, U = _matrices(rng, W=80, d=16)
    sen = rng.integers(0, 80, 4000).astype(np.int32)
    one, two = (steps.make_neg_step(TrainConfig(threads=t, window=3, negative=4), vocab) for t in (1, 2))
    V1, U1, U0 = V.copy(), U.copy(), U.copy()
    assert one(sen, V1, U1, 0.05, np.uint64(5)) == two(sen, V, U, 0.05, np.uint64(5))
    np.testing.assert_allclose(V, V1, atol=1e-6)  # V + (copy - start) against the copy itself
    np.testing.assert_allclose(U, U1, atol=1e-6)
    assert (np.abs(U[:10] - U0[:10]).sum(axis=1) > 0.01).all()  # the hot rows' changes arrived


def test_a_damaged_library_is_built_again(tmp_path, monkeypatch):
    path = tmp_path / "w2v_kernels.so"
    path.write_bytes(b"not a shared library")
    monkeypatch.setattr(native, "library_path", lambda: str(path))
    messages = []
    loaded = native._load(messages.append)
    assert isinstance(loaded, native.Library) and loaded.path == str(path)
    assert len(messages) == 1 and "compiling" in messages[0]
    prob, alias = native.build_alias(np.full(4, 0.25))
    assert loaded.draw_many(prob, alias, np.uint64(1), np.empty(3, np.int32)) > 0
