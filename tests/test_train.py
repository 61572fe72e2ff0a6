import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import (as_if_at_a_terminal, assert_one_line_error, group_accuracy, planted_corpus,
                      run_cli)
from w2v import TrainConfig, TrainingInterrupted, Vectors, checkpoint, corpus, sgd, steps, train


def _config(tmp_path, corpus, **kw):
    settings = dict(corpus=str(corpus), out=str(tmp_path / "v.bin"), dim=20, min_count=1, sample=0,
                    epochs=3, threads=1, window=2)
    settings.update(kw)
    return TrainConfig(**settings)


@pytest.mark.parametrize("loss", ["neg", "softmax"])
def test_planted_groups_are_nearest_neighbours(tmp_path, loss):
    groups = planted_corpus(tmp_path / "c.txt")
    vectors = train(_config(tmp_path, tmp_path / "c.txt", loss=loss), quiet=True)
    assert group_accuracy(vectors, groups) >= 0.9
    costs = vectors.stats["epoch_costs"]
    assert costs[0] > costs[-1]


def test_per_pair_negatives_learn_the_groups_too(tmp_path):
    groups = planted_corpus(tmp_path / "c.txt")
    vectors = train(_config(tmp_path, tmp_path / "c.txt", shared_negatives=False), quiet=True)
    assert group_accuracy(vectors, groups) >= 0.9


def test_same_seed_one_thread_gives_identical_bytes(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=2000)
    outs = []
    for name in ["a.bin", "b.bin", "c.bin"]:
        seed = 7 if name != "c.bin" else 8
        train(_config(tmp_path, tmp_path / "c.txt", out=str(tmp_path / name), seed=seed), quiet=True)
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_resume_gives_identical_vectors(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    config = _config(tmp_path, tmp_path / "c.txt", epochs=2, chunk_words=2000)
    train(config, quiet=True)
    straight = (tmp_path / "v.bin").read_bytes()
    os.remove(tmp_path / "v.bin")

    ckpt = str(tmp_path / "run.ckpt")
    with pytest.raises(TrainingInterrupted) as stopped:
        train(TrainConfig(**{**config.as_dict(), "checkpoint": ckpt}), quiet=True,
              stop_when=lambda epoch, chunk: epoch == 1)
    assert stopped.value.checkpoint == ckpt and not (tmp_path / "v.bin").exists()
    resumed = train(TrainConfig(resume=ckpt, out=str(tmp_path / "v.bin"), threads=1), quiet=True)
    assert (tmp_path / "v.bin").read_bytes() == straight
    assert len(resumed.stats["epoch_costs"]) == 2


def test_resume_mid_epoch_gives_identical_vectors(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    config = _config(tmp_path, tmp_path / "c.txt", epochs=2, chunk_words=2000)
    straight = train(config, quiet=True).matrix.copy()
    with pytest.raises(TrainingInterrupted):
        train(config, quiet=True, stop_when=lambda epoch, chunk: (epoch, chunk) == (0, 3))
    resumed = train(TrainConfig(resume=str(tmp_path / "v.bin.ckpt"), out=str(tmp_path / "v.bin"),
                                threads=1), quiet=True)
    np.testing.assert_array_equal(resumed.matrix, straight)


def test_sidecar_records_settings_and_figures(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=500)
    train(_config(tmp_path, tmp_path / "c.txt", out=str(tmp_path / "v.txt")), quiet=True)
    meta = json.loads((tmp_path / "v.txt.json").read_text())
    assert meta["settings"]["dim"] == 20 and meta["settings"]["loss"] == "neg"
    assert meta["tokens"] == 500 * 5 and meta["vocab_size"] == 6 * 5 + 6 * 4
    for key in ["train_seconds", "words_per_sec", "final_cost"]:
        assert meta[key] > 0
    assert 0 <= meta["compile_seconds"] < 60
    assert meta["kernels"].startswith("compiled library ")
    assert Vectors.load(str(tmp_path / "v.txt")).dim == 20  # .txt means the text format


def test_vocabulary_files_round_trip(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=500)
    vocab = tmp_path / "vocab.txt"
    first = train(_config(tmp_path, tmp_path / "c.txt", save_vocab=str(vocab), epochs=1), quiet=True)
    lines = vocab.read_text().splitlines()
    assert len(lines) == len(first) and all(len(line.split()) == 2 for line in lines)
    vocab.write_text("\n".join(lines[:10]) + "\n")
    second = train(_config(tmp_path, tmp_path / "c.txt", read_vocab=str(vocab), epochs=1), quiet=True)
    assert second.words == [line.split()[0] for line in lines[:10]]


def test_cli_trains_and_saves_both_files(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=500)
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.bin",
                   "--min-count", 1, "--dim", 10, "--epochs", 1, "--save-outside", tmp_path / "u.bin")
    assert proc.returncode == 0, proc.stderr
    assert "saved" in proc.stderr and proc.stdout == ""
    assert Vectors.load(str(tmp_path / "u.bin")).dim == 10 and (tmp_path / "v.bin.json").exists()


@pytest.fixture
def small_corpus(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=200)
    return tmp_path / "c.txt"


def _bad(tmp_path, corpus, *args):
    before = set(os.listdir(tmp_path))
    proc = run_cli("train", "--corpus", corpus, "--out", tmp_path / "v.bin", "--epochs", 1, *args)
    line = assert_one_line_error(proc)
    assert set(os.listdir(tmp_path)) == before  # no output, no temporary file left
    return line


def test_bad_input_missing_corpus(tmp_path):
    assert "not found" in _bad(tmp_path, tmp_path / "nope.txt")


def test_bad_input_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert "no tokens" in _bad(tmp_path, tmp_path / "empty.txt")


def test_bad_input_no_word_reaches_min_count(tmp_path, small_corpus):
    assert "min-count" in _bad(tmp_path, small_corpus, "--min-count", 1_000_000)


def test_lines_of_one_word_train_nothing_and_say_so(tmp_path):
    (tmp_path / "c.txt").write_text("alpha\nbeta\ngamma\n" * 50)
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.bin",
                   "--epochs", 1, "--min-count", 1)
    assert proc.returncode == 0, proc.stderr
    assert "warning: nothing was trained" in proc.stderr


def test_bad_input_binary_corpus(tmp_path):
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 40)
    assert "binary" in _bad(tmp_path, tmp_path / "blob.bin")


@pytest.mark.parametrize("args, says", [(["--window", 0], "--window"), (["--dim", 0], "--dim"),
                                        (["--negative", 0], "--negative")])
def test_bad_input_settings(tmp_path, small_corpus, args, says):
    assert says in _bad(tmp_path, small_corpus, *args)


@pytest.mark.parametrize("out", ["missing-dir/v.bin", "/proc/v.bin"])
def test_bad_input_output_not_writable(tmp_path, small_corpus, out):
    before = set(os.listdir(tmp_path))
    proc = run_cli("train", "--corpus", small_corpus, "--out", tmp_path / out if "missing" in out else out)
    assert "cannot write" in assert_one_line_error(proc)
    assert set(os.listdir(tmp_path)) == before


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path, small_corpus, w2v_home):
    ckpt = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "w2v", "train", "--corpus", str(small_corpus),
                             "--out", str(tmp_path / "v.bin"), "--epochs", "100000", "--min-count", "1",
                             "--threads", "1", "--checkpoint", str(ckpt), "--checkpoint-every", "0",
                             "--quiet"], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "W2V_HOME": str(w2v_home)},
                            preexec_fn=as_if_at_a_terminal)
    deadline = time.monotonic() + 120
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert ckpt.exists()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"--resume {ckpt}" in err and "Traceback" not in err
    assert not (tmp_path / "v.bin").exists()


def test_two_threads_learn_the_planted_groups(tmp_path):
    groups = planted_corpus(tmp_path / "c.txt", sentences=12000)
    vectors = train(_config(tmp_path, tmp_path / "c.txt", threads=2, chunk_words=3000), quiet=True)
    assert group_accuracy(vectors, groups) >= 0.9


def test_mean_cost_is_the_same_at_one_and_two_threads(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=12000)
    costs = [train(_config(tmp_path, tmp_path / "c.txt", threads=t, chunk_words=3000, epochs=2),
                   quiet=True).stats["epoch_costs"] for t in (1, 2)]
    # Hogwild changes the path very little (measured: under 0.1%). The bookkeeping itself is
    # checked exactly by test_every_chunk_tally_is_summed_exactly_once.
    np.testing.assert_allclose(costs[0], costs[1], rtol=0.01)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_default_threads_are_the_cores_the_process_may_use():
    # pinned to one core, as a batch scheduler would: the default is 1 thread, not every core
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from w2v import TrainConfig; print(TrainConfig().threads)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    assert TrainConfig().threads == len(os.sched_getaffinity(0))


class _Ids:
    """Ids in memory, with the two methods of corpus.TokenStream that chunk_bounds uses."""

    def __init__(self, ids):
        self.ids = ids

    def __len__(self):
        return len(self.ids)

    def blocks(self):
        yield 0, self.ids


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_every_chunk_tally_is_summed_exactly_once(threads):
    """The loop's own bookkeeping, with a step whose cost is known: chunks finish out of order
    on several threads, and the epoch means must still be exactly the sums over all chunks."""
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 50, 20000).astype(np.uint32)
    raw[rng.random(raw.size) < 0.1] = 0xFFFFFFFF  # sentence ends
    raw[-1] = 0xFFFFFFFF
    chunks = corpus.chunk_bounds(_Ids(raw), 700)
    remap, keep = np.arange(50, dtype=np.int32), np.ones(50)

    def step(sen, V, U, alpha, state):
        time.sleep(rng.random() * 0.002)  # shuffle the order in which chunks finish
        ids = sen[sen >= 0]
        return float(ids.sum() + 1), len(ids), state  # integer-valued: float64 sums are exact

    config = TrainConfig(threads=threads, epochs=3, sample=0).validate()  # alpha from the model
    progress = checkpoint.Progress()
    V = U = np.zeros((50, 2), np.float32)
    trained = sgd.run_(lambda a, b: raw[a:b], chunks, remap, keep, step, V, U, config, progress)
    ids = raw[raw != 0xFFFFFFFF]
    expected = (float(ids.sum()) + len(chunks[0])) / len(ids)
    assert progress.epoch_costs == [expected] * 3
    assert trained == 3 * len(ids)


def test_training_on_a_local_file_loads_only_what_it_needs(tmp_path):
    """The compiled library trains; requests (15 MB of memory), mpi4py and numba stay out."""
    planted_corpus(tmp_path / "c.txt", sentences=500)
    script = ("import sys; from w2v import TrainConfig, train, native; "
              f"train(TrainConfig(corpus={str(tmp_path / 'c.txt')!r}, out={str(tmp_path / 'v.bin')!r}, "
              "epochs=1, min_count=1, threads=2), quiet=True); "
              "print(type(native.backend()).__name__, "
              "*(m in sys.modules for m in ('requests', 'mpi4py', 'numba')))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["Library", "False", "False", "False"]


def test_v_starts_uniform_on_plus_or_minus_one_over_d_and_u_at_zero():
    # as gensim 4 initialises (docs/math.md section 1); word2vec.c's start is half as wide
    d = 50
    V, U, _ = sys.modules["w2v.train"]._start(TrainConfig(dim=d, seed=3), 2000, None)
    assert 0.999 / d < np.abs(V).max() < 1 / d
    assert abs(V.mean()) < 0.01 / d
    assert np.std(V) == pytest.approx(1 / d / np.sqrt(3), rel=0.02)  # uniform's spread
    assert not U.any()
