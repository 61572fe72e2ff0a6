"""CBOW and hierarchical softmax (issue 14): each compiled step against one float64 SGD step of
the numpy reference (w2v/losses.py), training on data whose answer is known, resuming, the
sidecar, --save-outside, and the peers' option names."""
import json

import numpy as np
import pytest

from conftest import assert_one_line_error, planted_corpus, run_cli
from w2v import TrainConfig, TrainingInterrupted, Vectors, huffman, losses, train
from w2v.gradcheck import check_gradients, sharing_path
from w2v.steps import cbow_softmax_batch_

pytestmark = pytest.mark.usefixtures("kernels")  # skipped without a C compiler


def _matrices(rng, W=20, d=8, out_rows=None):
    V = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    U = rng.normal(0, 0.5, (out_rows or W, d)).astype(np.float32)
    return V, U


def _tree(rng, W=20):
    return huffman.build(np.sort(rng.integers(1, 500, W))[::-1])


# ---- each kernel's step against the reference ----

def test_skipgram_hs_window_is_one_step_of_the_reference_loss(rng, kernels):
    tree = _tree(rng)
    V, U = _matrices(rng, out_rows=tree.nodes)
    inputs = np.array([3, 5, 3, 8], np.int32)  # a context word twice
    word = int(np.argmax(tree.lengths))
    L = tree.lengths[word]
    path, signs = tree.points[word, :L].copy(), tree.signs[word, :L].copy()
    V64, U64 = V.astype(np.float64), U.astype(np.float64)
    cost_ref, grad_v, (rows, grad_rows) = losses.hs_loss(V64[inputs], np.full(4, word), U64, tree)
    np.add.at(V64, inputs, -0.1 * grad_v)
    U64[rows] -= 0.1 * grad_rows
    cost = kernels.call("path_window_update", V=V, U=U, inputs=inputs, targets=path, signs=signs,
                        alpha=0.1, grad_in=np.zeros((4, V.shape[1]), np.float32),
                        G=np.zeros((4, L), np.float32))
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V64, atol=1e-6)
    np.testing.assert_allclose(U, U64, atol=1e-6)


def _tool_step(V, U, context, centre, alpha, loss, *extra, mean=True):
    """The tool's CBOW step in float64: U one SGD step of the reference at h, every context
    position's row moved by the whole -alpha dJ/dh (docs/math.md section 16)."""
    V64, U64 = V.astype(np.float64), U.astype(np.float64)
    cost, _, dU, grad_h = losses.cbow_loss(V64, U64, context, centre, loss, *extra, mean=mean)
    np.add.at(V64, context, -alpha * grad_h)
    return cost, V64, U64 - alpha * dU


def _cbow_update(kernels, V, U, context, targets, signs, alpha, mean):
    d = V.shape[1]
    return kernels.call("cbow_update", V=V, U=U, inputs=np.array(context, np.int32), mean=mean,
                        targets=np.array(targets, np.int32), signs=np.array(signs, np.float32),
                        alpha=alpha, h=np.zeros(d, np.float32), grad_h=np.zeros(d, np.float32))


@pytest.mark.parametrize("mean", [1, 0])
def test_cbow_neg_update_is_the_tools_step_of_the_reference_loss(rng, kernels, mean):
    V, U = _matrices(rng)
    context, centre, negatives = [3, 5, 3, 8], 2, [11, 12, 13, 14, 15]  # a context word twice
    cost_ref, V_ref, U_ref = _tool_step(V, U, context, centre, 0.1, losses.neg_sampling_loss,
                                        np.array([negatives]), mean=bool(mean))
    cost = _cbow_update(kernels, V, U, context, [centre, *negatives], [1] + [-1] * 5, 0.1, mean)
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V_ref, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, atol=1e-6)


def test_cbow_hs_update_is_the_tools_step_of_the_reference_loss(rng, kernels):
    tree = _tree(rng)
    V, U = _matrices(rng, out_rows=tree.nodes)
    context, centre = [1, 6, 6, 9, 0], int(np.argmax(tree.lengths))
    L = tree.lengths[centre]
    cost_ref, V_ref, U_ref = _tool_step(V, U, context, centre, 0.2, losses.hs_loss, tree)
    cost = _cbow_update(kernels, V, U, context, tree.points[centre, :L], tree.signs[centre, :L],
                        0.2, 1)
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V_ref, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, atol=1e-6)


def test_cbow_softmax_batch_is_the_tools_step_of_the_reference_loss(rng):
    V, U = _matrices(rng, W=15)
    windows = [([1, 4, 1], 3), ([7, 2], 3), ([0, 9, 10, 11], 14)]
    V64, U64 = V.astype(np.float64), U.astype(np.float64)
    cost_ref, dV, dU = 0.0, np.zeros_like(V64), np.zeros_like(U64)
    for context, centre in windows:  # all windows' gradients at the same V and U (a minibatch)
        cost, _, dU_w, grad_h = losses.cbow_loss(V64, U64, context, centre, losses.softmax_loss)
        cost_ref += cost
        dU += dU_w
        np.add.at(dV, context, grad_h)
    contexts = np.array([w for context, _ in windows for w in context], np.int32)
    sizes = np.array([len(c) for c, _ in windows], np.int32)
    centres = np.array([c for _, c in windows], np.int32)
    cost = cbow_softmax_batch_(V, U, contexts, sizes, centres, 0.2, mean=True)
    assert cost == pytest.approx(cost_ref, rel=1e-5)
    np.testing.assert_allclose(V, V64 - 0.2 * dV, atol=1e-6)
    np.testing.assert_allclose(U, U64 - 0.2 * dU, atol=1e-6)


def test_cbow_windows_are_the_skipgram_pairs_grouped_by_centre(rng, kernels):
    sen = np.array([4, 1, 7, -1, 2, 9, 9, 3, -1, 5], np.int32)
    contexts = np.empty(2 * 3 * len(sen), np.int32)
    sizes, centres = np.empty(len(sen), np.int32), np.empty(len(sen), np.int32)
    m = kernels.call("cbow_windows", sen=sen, window=3, state=np.array([7], np.uint64),
                     contexts=contexts, sizes=sizes, centres=centres)
    inputs, outputs = np.empty_like(contexts), np.empty_like(contexts)
    n = kernels.call("skipgram_pairs", sen=sen, window=3, state=np.array([7], np.uint64),
                     inputs=inputs, outputs=outputs)
    assert m == 7  # the lone word 5 has no context
    assert sizes[:m].sum() == n
    np.testing.assert_array_equal(contexts[:n], inputs[:n])
    np.testing.assert_array_equal(np.repeat(centres[:m], sizes[:m]), outputs[:n])


@pytest.mark.parametrize("cbow", [0, 1])
def test_hs_chunk_trains_the_busiest_nodes_in_copies_without_losing_a_step(rng, kernels, cbow):
    """With several threads a chunk trains the nodes near the root in copies of its own and adds
    its changes to the shared rows every few windows; on one thread that must give the same
    vectors as training the shared rows directly, up to rounding."""
    W = 300
    tree = huffman.build(np.sort(rng.integers(1, 5000, W))[::-1])
    V, U = _matrices(rng, W=W, d=8, out_rows=tree.nodes)
    V *= 0.1
    sentences = [rng.integers(0, W, rng.integers(5, 40)) for _ in range(60)]
    sen = np.concatenate([np.append(s, -1) for s in sentences])[:-1].astype(np.int32)
    trained = []
    for hot in (0, 1):
        V1, U1 = V.copy(), U.copy()
        cost = np.zeros(1)
        kernels.call("hs_chunk", V=V1, U=U1, points=tree.points, signs=tree.signs,
                     lengths=tree.lengths, window=3, cbow=cbow, mean=1, alpha=0.05, hot=hot,
                     sen=sen, state=np.array([7], np.uint64), cost=cost)
        trained.append((V1, U1, cost[0]))
    (V0, U0, cost0), (V1, U1, cost1) = trained
    root = tree.nodes - 1
    assert np.abs(U0[root] - U[root]).max() > 1e-2  # the root moved: there was a step to lose
    np.testing.assert_allclose(U1, U0, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(V1, V0, rtol=1e-4, atol=1e-6)
    assert cost1 == pytest.approx(cost0, rel=1e-6)


# ---- what gradcheck checks ----

def test_gradcheck_fails_the_tools_cbow_step_as_a_gradient(rng):
    V, U = rng.normal(0, 0.5, (12, 6)), rng.normal(0, 0.5, (12, 6))
    context, centre = np.array([1, 2, 1, 5]), 7

    def tools_step(p):  # the whole dJ/dh to every position: n times the exact V gradient
        cost, _, dU, grad_h = losses.cbow_loss(p["V"], p["U"], context, centre, losses.softmax_loss)
        dV = np.zeros_like(p["V"])
        np.add.at(dV, context, grad_h)
        return cost, {"V": dV, "U": dU}

    results = {r.name: r for r in check_gradients(tools_step, {"V": V, "U": U})}
    assert not results["V"].passed and results["U"].passed


@pytest.mark.parametrize("W", [4, 30, 200])
def test_the_hs_check_takes_two_words_whose_paths_share_nodes_below_the_root(rng, W):
    tree = huffman.build(rng.integers(1, 1000, size=W))
    deepest = int(np.argmax(tree.lengths))
    other = sharing_path(tree, deepest)
    assert other != deepest and tree.lengths[other] > 1
    np.testing.assert_array_equal(tree.points[other, :2], tree.points[deepest, :2])


# ---- training on data whose answer is known ----

def _nearest_in_group(vectors, groups):
    pairs = [(w, group) for group in groups for w in group]
    return sum(vectors.most_similar([w], topn=1)[0][0] in group for w, group in pairs) / len(pairs)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "planted.txt"
    return path, planted_corpus(path, sentences=4000)


@pytest.mark.parametrize("model, loss, threads", [
    ("cbow", "neg", 1), ("cbow", "neg", 2), ("cbow", "hs", 1), ("cbow", "hs", 2),
    ("skipgram", "hs", 1), ("skipgram", "hs", 2), ("cbow", "hs", 4), ("cbow", "softmax", 1)])
def test_planted_groups_are_nearest_neighbours(tmp_path, planted, model, loss, threads):
    path, groups = planted
    vectors = train(TrainConfig(corpus=str(path), out=str(tmp_path / "v.bin"), model=model,
                                loss=loss, dim=20, min_count=1, sample=0, epochs=3, window=2,
                                threads=threads, chunk_words=2000, seed=3), quiet=True)
    assert _nearest_in_group(vectors, groups) >= 0.9


# ---- runs: settings, files, resume ----

def _config(tmp_path, **kw):
    return TrainConfig(**{**dict(corpus=str(tmp_path / "c.txt"), out=str(tmp_path / "v.bin"),
                                 dim=10, min_count=1, sample=0, epochs=2, threads=1, window=2,
                                 chunk_words=300), **kw})


@pytest.fixture
def corpus(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=300)
    return tmp_path / "c.txt"


def test_cbow_hs_resumes_byte_for_byte(tmp_path, corpus):
    straight = _config(tmp_path, model="cbow", loss="hs", out=str(tmp_path / "straight.bin"))
    train(straight, quiet=True)
    config = _config(tmp_path, model="cbow", loss="hs", checkpoint=str(tmp_path / "ck"))
    with pytest.raises(TrainingInterrupted) as stopped:
        train(config, quiet=True, stop_when=lambda e, c: (e, c) == (1, 2))
    train(TrainConfig(resume=stopped.value.checkpoint), quiet=True)
    assert (tmp_path / "v.bin").read_bytes() == (tmp_path / "straight.bin").read_bytes()


def test_the_sidecar_records_the_model_the_loss_and_cbows_default_alpha(tmp_path, corpus):
    train(_config(tmp_path, model="cbow", loss="neg"), quiet=True)
    settings = json.loads((tmp_path / "v.bin.json").read_text())["settings"]
    assert (settings["model"], settings["loss"], settings["alpha"]) == ("cbow", "neg", 0.05)


def test_a_given_alpha_is_kept_for_cbow(tmp_path, corpus):
    train(_config(tmp_path, model="cbow", alpha=0.01), quiet=True)
    assert json.loads((tmp_path / "v.bin.json").read_text())["settings"]["alpha"] == 0.01


def test_save_outside_with_hs_names_the_inner_nodes(tmp_path, corpus):
    vectors = train(_config(tmp_path, loss="hs", save_outside=str(tmp_path / "u.txt")), quiet=True)
    outside = Vectors.load(str(tmp_path / "u.txt"))
    W = len(vectors.words)
    assert outside.words == [f"node{a}" for a in range(W - 1)]
    assert "inner nodes" in json.loads((tmp_path / "v.bin.json").read_text())["outside_rows"]


def test_resume_rebuilds_the_same_tree_from_the_checkpoint_counts(tmp_path, corpus):
    from w2v import checkpoint
    config = _config(tmp_path, loss="hs", checkpoint=str(tmp_path / "ck"))
    train(config, quiet=True)
    saved = checkpoint.load(str(tmp_path / "ck"))
    assert saved.U.shape == (len(saved.words) - 1, 10)
    first, again = huffman.build(saved.counts), huffman.build(saved.counts.copy())
    np.testing.assert_array_equal(first.points, again.points)
    np.testing.assert_array_equal(first.signs, again.signs)


# ---- the peers' option names ----

@pytest.mark.parametrize("args, model, loss", [
    (["-cbow", "1"], "cbow", "neg"), (["--sg", "0"], "cbow", "neg"), (["-cbow", "0"], "skipgram", "neg"),
    (["-hs", "1", "-negative", "0"], "skipgram", "hs"), (["--hs", "1", "--sg", "0"], "cbow", "hs"),
    (["--cbow_mean", "0", "--sg", "0"], "cbow", "neg")])
def test_peer_names_choose_the_model_and_loss(tmp_path, corpus, args, model, loss):
    proc = run_cli("train", "--corpus", corpus, "--out", tmp_path / "v.bin", "--min-count", 1,
                   "--dim", 8, "--epochs", 1, "--quiet", *args)
    assert proc.returncode == 0, proc.stderr
    settings = json.loads((tmp_path / "v.bin.json").read_text())["settings"]
    assert (settings["model"], settings["loss"]) == (model, loss)


def test_cbow_mean_zero_means_the_sum(tmp_path, corpus):
    proc = run_cli("train", "--corpus", corpus, "--out", tmp_path / "v.bin", "--min-count", 1,
                   "--dim", 8, "--epochs", 1, "--quiet", "--sg", "0", "--cbow_mean", "0")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "v.bin.json").read_text())["settings"]["cbow_sum"] is True


def test_hs_with_negatives_is_one_line(tmp_path, corpus):
    proc = run_cli("train", "--corpus", corpus, "--out", tmp_path / "v.bin", "-hs", "1",
                   "-negative", "5")
    assert "hierarchical softmax" in assert_one_line_error(proc, 2)
