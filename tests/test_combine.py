"""Context combining (docs/math.md section 9a): C consecutive centre words share one draw of K
negatives. The compiled block against the plain-numpy reference (losses.combined_loss), the
reference against the math's cost, and --combine as a setting of a run."""
import json

import numpy as np
import pytest

from conftest import assert_one_line_error, group_accuracy, planted_corpus, run_cli
from w2v import TrainConfig, losses, native, train
from w2v.config import DEFAULT_COMBINE
from w2v.errors import SettingError
from w2v.functions import log_sigmoid
from w2v.sampler import NegativeSampler

W, d, WINDOW = 20, 8, 3


def _matrices(rng, d=d):
    V = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    U = rng.normal(0, 0.5, (W, d)).astype(np.float32)
    return V, U


def _block(rng, C):
    """A sentence of C + 4 words out of 20, the centres 2..C+1 with random radii (windows cut at
    both ends of the sentence), and negatives of which one is the first centre's word and one
    is drawn twice. Returns (sentence, first, radii, negatives)."""
    first = 2
    sentence = rng.integers(0, W, C + 4).astype(np.int32)
    sentence[first + C - 1] = sentence[first]  # a word at two positions of the block
    radii = rng.integers(1, WINDOW + 1, C).astype(np.int32)
    negatives = np.array([sentence[first], 3, 17, 3, 9], np.int32)
    return sentence, first, radii, negatives


def _settings(V, alpha, K):
    """A NegSampling struct's fields for calling one block directly."""
    return dict(alias_prob=np.ones(len(V), np.float32), alias_idx=np.arange(len(V), dtype=np.int32),
                window=WINDOW, K=K, shared=1, alpha=alpha)


@pytest.mark.parametrize("C, d", [(1, 8), (3, 8), (16, 8), (64, 8),  # 64: a mask's every bit
                                  (3, 3), (16, 17)])  # the tiles' vector loops' leftovers
def test_combined_block_is_one_step_of_the_reference(rng, kernels, C, d):
    V, U = _matrices(rng, d)
    sentence, first, radii, negatives = _block(rng, C)
    centres = np.arange(first, first + C)
    V64, U64 = V.astype(np.float64), U.astype(np.float64)
    cost_ref, dV, dU, pairs_ref = losses.combined_loss(V64, U64, sentence, centres, radii, negatives)
    cost = np.zeros(1)
    pairs = kernels.call("combined_block", V=V, U=U, **_settings(V, 0.1, len(negatives)),
                         sen=sentence, first=first, C=C, radii=radii, negatives=negatives,
                         cost=cost)
    n = len(sentence)
    assert pairs == pairs_ref == sum(min(t + b, n - 1) - max(t - b, 0) for t, b in zip(centres, radii))
    assert cost[0] == pytest.approx(cost_ref, rel=1e-5)
    tol = 1e-6 * max(1, C // 8)  # a row's step is a float32 sum of terms from up to C windows
    np.testing.assert_allclose(V, V64 - 0.1 * dV, atol=tol)
    np.testing.assert_allclose(U, U64 - 0.1 * dU, atol=tol)


def test_a_block_of_one_window_is_a_hogbatch_window(rng, kernels):
    V, U = _matrices(rng)
    sentence, first, radii, negatives = _block(rng, 1)
    V1, U1 = V.copy(), U.copy()
    kernels.call("combined_block", V=V1, U=U1, **_settings(V, 0.1, len(negatives)), sen=sentence,
                 first=first, C=1, radii=radii, negatives=negatives, cost=np.zeros(1))
    lo, hi = max(0, first - radii[0]), first + radii[0] + 1
    inputs = np.delete(sentence[lo:hi], first - lo)
    c = sentence[first]
    targets = np.concatenate([[c], negatives[negatives != c]]).astype(np.int32)
    kernels.call("window_update", V=V, U=U, **_settings(V, 0.1, 0), inputs=inputs, targets=targets,
                 grad_in=np.zeros((len(inputs), d), np.float32),
                 G=np.zeros((len(inputs), len(targets)), np.float32))
    np.testing.assert_array_equal(V1, V)
    np.testing.assert_array_equal(U1, U)


def test_the_reference_is_the_cost_over_positions_weighted_by_m(rng):
    # docs/math.md 9a: Σ_{(p, j): p in window j} -log σ(u_{c_j}·v_p) + Σ_{p,k} m_{p,k} -log σ(-u_{n_k}·v_p)
    V, U = (M.astype(np.float64) for M in _matrices(rng))
    sentence, first, radii, negatives = _block(rng, 5)
    centres = np.arange(first, first + 5)
    windows = [{p for p in range(t - b, t + b + 1) if p != t and 0 <= p < len(sentence)}
               for t, b in zip(centres, radii)]
    cost = 0.0
    for p in set().union(*windows):
        v = V[sentence[p]]
        for j, t in enumerate(centres):
            if p in windows[j]:
                cost -= log_sigmoid(U[sentence[t]] @ v)
        for n in negatives:
            m = sum(p in windows[j] and sentence[t] != n for j, t in enumerate(centres))
            cost -= m * log_sigmoid(-U[n] @ v)
    assert losses.combined_loss(V, U, sentence, centres, radii, negatives)[0] == pytest.approx(cost)


def _chunk(rng, sentences=200, length=(1, 30)):
    """Random sentences of random lengths, SENTENCE_BREAK between them."""
    parts = []
    for _ in range(sentences):
        parts.extend(rng.integers(0, W, rng.integers(*length)).tolist() + [-1])
    return np.array(parts[:-1], np.int32)


def test_every_block_size_trains_the_same_pairs(rng, kernels):
    # window 1: every radius is 1, so the pairs are each word's neighbours in its sentence
    sen = _chunk(rng)
    lengths = np.diff(np.flatnonzero(np.concatenate([[-1], sen, [-1]]) == -1)) - 1
    expected = int(np.sum(2 * (lengths - 1)))
    sampler = NegativeSampler(np.ones(W))
    for C in (1, 2, 7, 16, 64):
        V, U = _matrices(rng)
        _, pairs, _ = native.neg_chunk(sen, V, U, sampler.prob, sampler.alias, 1, 5, True, 0.05, 3,
                                       combine=C)
        assert pairs == expected


@pytest.mark.parametrize("C", [4, 16, 64])
def test_a_combined_chunk_depends_only_on_its_seed_and_lowers_the_cost(rng, kernels, C):
    sampler = NegativeSampler(np.arange(W, 0, -1))
    sen = np.tile(np.array([0, 1, 2, 3, -1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, -1], np.int32), 100)
    V, U = _matrices(rng)
    V *= 0.1
    U[:] = 0
    results = []
    for seed in (11, 11, 12):
        V1, U1 = V.copy(), U.copy()
        costs = [native.neg_chunk(sen, V1, U1, sampler.prob, sampler.alias, WINDOW, 4, True,
                                  np.float32(0.05), seed, combine=C) for _ in range(3)]
        assert costs[0][0] > costs[1][0] > costs[2][0]
        results.append((costs, V1.tobytes(), U1.tobytes()))
    assert results[0] == results[1]
    assert results[0][1] != results[2][1]


def test_the_kernel_refuses_blocks_beyond_64_or_combined_per_pair_draws(kernels):
    V = np.zeros((4, 2), np.float32)
    prob, alias = native.build_alias(np.full(4, 0.25))
    sen = np.array([0, 1, 2, 3], np.int32)
    for C, shared in ((0, True), (65, True), (2, False)):
        with pytest.raises(ValueError, match="combined"):
            native.neg_chunk(sen, V, V.copy(), prob, alias, 2, 5, shared, 0.1, 1, combine=C)


def test_one_block_refuses_an_id_outside_the_vocabulary(rng, kernels):
    V, U = _matrices(rng)
    sentence, first, radii, negatives = _block(rng, 3)
    negative_id = sentence.copy()
    negative_id[0] = -1
    for sen, drawn in ((sentence, np.array([0, W], np.int32)), (negative_id, negatives)):
        with pytest.raises(IndexError, match="outside the vocabulary"):
            kernels.call("combined_block", V=V, U=U, **_settings(V, 0.1, len(drawn)), sen=sen,
                         first=first, C=3, radii=radii, negatives=drawn, cost=np.zeros(1))


def test_combine_defaults_to_the_measured_value_only_where_negatives_are_shared():
    assert TrainConfig().validate().combine == DEFAULT_COMBINE
    assert TrainConfig(shared_negatives=False).validate().combine == 1
    assert TrainConfig(loss="hs").validate().combine == 1
    assert TrainConfig(model="cbow").validate().combine == 1
    assert TrainConfig(combine=1, shared_negatives=False).validate().combine == 1


@pytest.mark.parametrize("settings, says", [
    (dict(combine=4, shared_negatives=False), "--combine 4 needs"),
    (dict(combine=2, loss="hs"), "--combine 2 needs"),
    (dict(combine=8, model="cbow"), "--combine 8 needs"),
    (dict(combine=65), "--combine must be at most 64"),
    (dict(combine=0), "--combine must be at least 1"),
])
def test_combine_outside_skipgram_with_shared_negatives_is_a_setting_error(settings, says):
    with pytest.raises(SettingError, match=says):
        TrainConfig(**settings).validate()


def test_combine_with_per_pair_negatives_is_one_line_exit_2(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=50)
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.bin",
                   "--min-count", 1, "--combine", 4, "--no-shared-negatives")
    assert "--combine 4 needs" in assert_one_line_error(proc, 2)
    assert not (tmp_path / "v.bin").exists()


def _long_lines(path, sentences):
    """The planted corpus with 100 sentences a line: blocks of C centres span sentences' words."""
    groups = planted_corpus(path, sentences=sentences)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(" ".join(lines[i:i + 100]) for i in range(0, len(lines), 100)) + "\n")
    return groups


def _config(tmp_path, **kw):
    settings = dict(corpus=str(tmp_path / "c.txt"), out=str(tmp_path / "v.txt"), dim=20,
                    min_count=1, sample=0, epochs=2, window=2, threads=1, chunk_words=2000, seed=3)
    return TrainConfig(**{**settings, **kw})


@pytest.mark.parametrize("threads", [1, 4])
def test_the_default_combine_learns_the_planted_groups(tmp_path, kernels, threads):
    groups = _long_lines(tmp_path / "c.txt", 6000)
    vectors = train(_config(tmp_path, threads=threads), quiet=True)
    assert group_accuracy(vectors, groups) >= 0.9
    meta = json.loads((tmp_path / "v.txt.json").read_text())
    assert meta["settings"]["combine"] == DEFAULT_COMBINE


def test_same_seed_one_thread_gives_identical_bytes_with_combining(tmp_path, kernels):
    _long_lines(tmp_path / "c.txt", 2000)
    outs = []
    for name, combine in (("a.bin", 16), ("b.bin", 16), ("c.bin", 1)):
        train(_config(tmp_path, out=str(tmp_path / name), combine=combine), quiet=True)
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_resume_refuses_a_change_of_combine(tmp_path, kernels):
    _long_lines(tmp_path / "c.txt", 500)
    train(_config(tmp_path, checkpoint=str(tmp_path / "run.ckpt")), quiet=True)
    proc = run_cli("train", "--resume", tmp_path / "run.ckpt", "--combine", 4, cwd=tmp_path)
    assert "--combine cannot change when resuming" in assert_one_line_error(proc, 2)
