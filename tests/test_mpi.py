"""Several processes under mpiexec (w2v/mpi.py): the same vocabulary, one output, the planted
groups learnt, one process byte-identical to none, a job that ends, never hangs, and epochs' ends
that wait for no one, with the costs and the learning rate still the whole run's."""
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import (as_if_at_a_terminal, assert_one_line_error, group_accuracy,
                      planted_corpus, run_cli)
from w2v import Vectors, checkpoint, corpus, mpi
from w2v.errors import W2VError

BIN = os.path.dirname(sys.executable)
MPIEXEC = shutil.which("mpiexec", path=BIN) or shutil.which("mpiexec")
TIMEOUT = 120  # a hang fails the test instead of stalling the suite


def _have_mpi4py():
    try:
        import importlib.util
        return importlib.util.find_spec("mpi4py") is not None
    except ImportError:
        return False


needs_mpi = pytest.mark.skipif(MPIEXEC is None or not _have_mpi4py(),
                               reason="mpiexec or mpi4py is not installed (pip install '.[mpi]')")


def mpiexec(n, *args, env=None, timeout=TIMEOUT):
    """`mpiexec -n n python ARGS`, as a user would start it."""
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _train_args(corpus_path, out, *extra):
    return ["-m", "w2v", "train", "--corpus", corpus_path, "--out", out, "--threads", "1",
            "--dim", "20", "--window", "2", "--min-count", "1", "--sample", "0", "--epochs", "3",
            *extra]


def test_the_launch_is_told_from_the_environment():
    assert mpi.launched_size({}) == 1
    assert mpi.launched_size({"PMI_SIZE": "4", "PMI_RANK": "2"}) == 4
    assert mpi.launched_size({"OMPI_COMM_WORLD_SIZE": "8"}) == 8
    assert mpi.launched_size({"SLURM_STEP_NUM_TASKS": "32"}) == 32
    assert mpi.launched_size({"SLURM_NTASKS": "32"}) == 1  # a batch script, not an srun step


def test_the_process_number_is_told_from_the_environment():
    assert mpi.launched_rank({}) == 0
    assert mpi.launched_rank({"PMI_SIZE": "4", "PMI_RANK": "2"}) == 2
    assert mpi.launched_rank({"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_RANK": "7"}) == 7
    assert mpi.launched_rank({"SLURM_STEP_NUM_TASKS": "32", "SLURM_PROCID": "5"}) == 5
    assert mpi.launched_rank({"PMI_RANK": "3"}) == 0  # no launch of several: one process


@needs_mpi
def test_a_usage_error_under_mpiexec_is_said_once(tmp_path):
    proc = mpiexec(2, "-m", "w2v", "train", "--dimm", "5")
    assert proc.returncode == 2
    assert "--dimm" in assert_one_line_error(proc)


def test_parts_share_out_every_line_exactly_once(tmp_path):
    path = tmp_path / "c.txt"
    lines = [" ".join(f"w{i}x{j}" for j in range(i % 7 + 1)) for i in range(500)]
    path.write_text("\n".join(lines) + "\n")
    whole = list(corpus.sentences([str(path)]))
    for size in (1, 2, 3, 7):
        parts = []
        for rank in range(size):
            spans = corpus.part_spans([str(path)], rank, size)
            parts += list(corpus.sentences(list(spans), spans=spans))
        assert parts == whole, size


def test_a_part_left_without_a_line_says_the_corpus_is_too_small_for_the_processes(tmp_path):
    # one line of 12 bytes: process 1's bytes are the middle of process 0's line
    path = tmp_path / "c.txt"
    path.write_text("a b c a b c\n")
    with pytest.raises(W2VError, match="too small for 2 processes"):
        corpus.load_stream(str(path), cache_dir=str(tmp_path / "cache"), part=(1, 2))


def test_a_plain_run_never_imports_mpi4py(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=300)
    script = ("import sys; from w2v.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print('mpi4py' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", script, "train", "--corpus", tmp_path / "c.txt",
                           "--out", tmp_path / "v.bin", "--epochs", "1", "--min-count", "1", "-q"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.stdout.strip() == "False", proc.stderr
    assert (tmp_path / "v.bin").exists()


@needs_mpi
def test_two_processes_learn_the_planted_groups_into_one_output(tmp_path):
    groups = planted_corpus(tmp_path / "c.txt", sentences=20000)
    proc = mpiexec(2, *_train_args(tmp_path / "c.txt", tmp_path / "v.bin", "--sync-every", "65536"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["c.txt", "v.bin", "v.bin.json"]
    assert proc.stderr.count("saved ") == 1  # process 0 alone speaks
    stats = json.loads((tmp_path / "v.bin.json").read_text())
    assert stats["processes"] == 2
    # a merge at every chunk boundary but the first (each process has 2 chunks per epoch), and
    # the run's end
    assert stats["averages"] == 5 + 1
    assert group_accuracy(Vectors.load(str(tmp_path / "v.bin")), groups) >= 0.9
    alone = run_cli(*_train_args(tmp_path / "c.txt", tmp_path / "one.bin")[2:], "--epochs", "1")
    assert alone.returncode == 0, alone.stderr
    assert stats["tokens"] == json.loads((tmp_path / "one.bin.json").read_text())["tokens"]


@needs_mpi
def test_processes_with_several_threads_each_learn_the_planted_groups(tmp_path):
    groups = planted_corpus(tmp_path / "c.txt", sentences=20000)
    proc = mpiexec(2, *_train_args(tmp_path / "c.txt", tmp_path / "v.bin", "--sync-every", "65536",
                                   "--threads", "4"))
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((tmp_path / "v.bin.json").read_text())
    assert stats["settings"]["threads"] == 4 and stats["averages"] == 5 + 1
    assert group_accuracy(Vectors.load(str(tmp_path / "v.bin")), groups) >= 0.9


@needs_mpi
def test_every_process_builds_the_vocabulary_of_a_single_process(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    # each process writes its answer to a file of its own: two processes' stdout can interleave
    script = ("import hashlib, os, sys\nfrom w2v import TrainConfig, train, mpi\n"
              f"v = train(TrainConfig(corpus={str(tmp_path / 'c.txt')!r}, out=sys.argv[1], "
              "min_count=2, epochs=1, threads=1, dim=8), quiet=True)\n"
              "rank = os.environ.get('PMI_RANK', '0')\n"
              "with open(f'{sys.argv[1]}.rank{rank}', 'w') as f:\n"
              "    words = hashlib.sha256(' '.join(v.words).encode()).hexdigest()\n"
              "    f.write(f'{mpi.launched_size()} {words}')")
    proc = mpiexec(2, "-c", script, tmp_path / "v.bin")
    assert proc.returncode == 0, proc.stderr
    single = subprocess.run([sys.executable, "-c", script, tmp_path / "one.bin"],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert single.returncode == 0, single.stderr
    digest = (tmp_path / "one.bin.rank0").read_text().split()[1]
    answers = [(tmp_path / f"v.bin.rank{r}").read_text().split() for r in (0, 1)]
    assert answers == [["2", digest], ["2", digest]]


@needs_mpi
def test_one_process_under_mpiexec_gives_the_bytes_of_a_run_without_it(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=2000)
    proc = mpiexec(1, *_train_args(tmp_path / "c.txt", tmp_path / "mpi.bin"))
    assert proc.returncode == 0, proc.stderr
    plain = run_cli(*_train_args(tmp_path / "c.txt", tmp_path / "plain.bin")[2:])
    assert plain.returncode == 0, plain.stderr
    assert (tmp_path / "mpi.bin").read_bytes() == (tmp_path / "plain.bin").read_bytes()


@needs_mpi
def test_a_bad_input_is_one_error_and_every_process_fails(tmp_path):
    proc = mpiexec(2, "-m", "w2v", "train", "--corpus", tmp_path / "missing.txt", "--out",
                   tmp_path / "v.bin")
    assert "corpus not found" in assert_one_line_error(proc)
    assert not (tmp_path / "v.bin").exists()


@needs_mpi
def test_a_process_killed_mid_run_ends_the_job_with_nothing_at_out(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=100000)
    out = tmp_path / "v.bin"
    job = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable,
                            *_train_args(tmp_path / "c.txt", out, "--epochs", "100")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        ranks = _training_processes(job.pid, 2)
        os.kill(max(ranks), signal.SIGKILL)
        start = time.monotonic()
        job.wait(timeout=TIMEOUT)
        assert time.monotonic() - start < 30
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    assert job.returncode != 0
    assert not out.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith("v.bin")] == []


def _training_processes(parent, n, timeout=60, settle=5):
    """The pids of the n w2v processes below `parent` (hydra puts a proxy between), once they
    have been training a while (`settle` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in _descendants(parent) if _cmdline(pid).startswith(sys.executable)]
        if len(found) >= n:
            time.sleep(settle)  # past reading, counting and the first merges
            return found
        time.sleep(0.2)
    raise AssertionError("mpiexec started no training processes")


def _descendants(pid):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@needs_mpi
def test_a_run_resumed_with_as_many_processes_gives_the_bytes_of_one_never_stopped(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    # checkpoints, as the stopped run's, so that every epoch's end makes the replicas one
    whole = mpiexec(2, *_train_args(tmp_path / "c.txt", tmp_path / "whole.bin", "--checkpoint",
                                    tmp_path / "whole.npz"))
    assert whole.returncode == 0, whole.stderr
    script = ("import sys\nfrom w2v import TrainConfig, train\n"
              f"train(TrainConfig(corpus={str(tmp_path / 'c.txt')!r}, out=sys.argv[1], "
              "checkpoint=sys.argv[2], threads=1, dim=20, window=2, min_count=1, sample=0, "
              "epochs=3), quiet=True, stop_when=lambda epoch, chunk: epoch == 1)")
    stopped = mpiexec(2, "-c", script, tmp_path / "cut.bin", tmp_path / "ck.npz")
    assert stopped.returncode != 0 and not (tmp_path / "cut.bin").exists()
    resumed = mpiexec(2, "-m", "w2v", "train", "--resume", tmp_path / "ck.npz", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "cut.bin").read_bytes() == (tmp_path / "whole.bin").read_bytes()


def _stopping_script(tmp_path, stop_at):
    """Train under mpiexec with small chunks, so that an epoch has many merge points, and a
    checkpoint agreed at every other one; stop_at: (epoch, chunk) to ask for a stop, or None."""
    return ("import sys\nfrom w2v import TrainConfig, train\n"
            f"train(TrainConfig(corpus={str(tmp_path / 'c.txt')!r}, out=sys.argv[1], "
            "checkpoint=sys.argv[2], checkpoint_every=0, chunk_words=2048, sync_every=4096, "
            "threads=1, dim=20, window=2, min_count=1, sample=0, epochs=2), quiet=True, "
            f"stop_when=lambda epoch, chunk: (epoch, chunk) == {stop_at})")


@needs_mpi
def test_a_run_stopped_mid_epoch_resumes_to_the_bytes_of_one_that_checkpointed_there(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=6000)  # about 9 chunks per process and epoch
    whole = mpiexec(2, "-c", _stopping_script(tmp_path, None), tmp_path / "whole.bin",
                    tmp_path / "whole.npz")
    assert whole.returncode == 0, whole.stderr
    stopped = mpiexec(2, "-c", _stopping_script(tmp_path, (1, 3)), tmp_path / "cut.bin",
                      tmp_path / "ck.npz")
    assert stopped.returncode != 0 and "TrainingInterrupted" in stopped.stderr  # process 0's
    assert not (tmp_path / "cut.bin").exists()
    saved = checkpoint.load(str(tmp_path / "ck.npz")).progress
    assert (saved.epoch, saved.chunk) == (1, 4)  # asked before chunk 3, agreed at the next merge
    resumed = mpiexec(2, "-m", "w2v", "train", "--resume", tmp_path / "ck.npz", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "cut.bin").read_bytes() == (tmp_path / "whole.bin").read_bytes()


@needs_mpi
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_mpiexec_saves_a_checkpoint_and_exits_128_plus_it(tmp_path, signum):
    planted_corpus(tmp_path / "c.txt", sentences=20000)
    out = tmp_path / "v.bin"
    job = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable,
                            *_train_args(tmp_path / "c.txt", out, "--epochs", "1000")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=as_if_at_a_terminal)
    try:
        _training_processes(job.pid, 2, settle=4)
        job.send_signal(signum)  # what Ctrl-C in a terminal, `timeout` or a scheduler sends
        _, stderr = job.communicate(timeout=TIMEOUT)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    assert job.returncode == 128 + signum, stderr
    assert stderr.count("checkpoint saved to") == 1
    assert not out.exists()
    saved = checkpoint.load(str(out) + ".ckpt")
    assert 0 < saved.progress.epoch < 1000


@needs_mpi
def test_a_stop_is_agreed_within_an_epoch_even_when_sync_every_outlasts_a_part(tmp_path):
    # --sync-every far beyond a process's part: still a merge point at every epoch's start,
    # so Ctrl-C is met the epoch after at the latest, not at the run's end
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    out = tmp_path / "v.bin"
    job = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable,
                            *_train_args(tmp_path / "c.txt", out, "--epochs", "1000000",
                                         "--sync-every", "1000000000000")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=as_if_at_a_terminal)
    try:
        _training_processes(job.pid, 2, settle=2)
        job.send_signal(signal.SIGINT)
        _, stderr = job.communicate(timeout=TIMEOUT)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    assert job.returncode == 130, stderr
    assert not out.exists()
    assert 0 < checkpoint.load(str(out) + ".ckpt").progress.epoch < 1000000


@needs_mpi
def test_the_learning_rate_follows_the_global_progress_when_parts_differ(tmp_path):
    # the parts are cut to equal bytes: long words in the first half, short ones in the second,
    # give process 0 about a tenth of the tokens
    path = tmp_path / "c.txt"
    long_words = [f"{w * 30}" for w in "abcdefgh"]
    with open(path, "w") as f:
        for i in range(1500):
            f.write(" ".join(long_words[(i + j) % 8] for j in range(5)) + "\n")
        for i in range(15000):
            f.write(" ".join("abcdefgh"[(i + j) % 8] for j in range(5)) + "\n")
    settings = "chunk_words=2048, sync_every=65536, threads=1, dim=8, min_count=1, epochs=2"
    proc = mpiexec(2, "-c", _recording_script(path, settings), tmp_path / "v.bin")
    assert proc.returncode == 0, proc.stderr
    short, long = (record["fractions"] for record in _recorded(tmp_path / "v.bin"))
    assert len(short) % 2 == len(long) % 2 == 0 and len(long) > 5 * len(short)
    m, n = len(short) // 2, len(long) // 2  # chunks per epoch
    assert max(short[:m]) < 0.2 and max(short[m:]) < 0.7  # its part done, the epoch is not
    assert short[m] == long[n] == 0.5  # every process has finished the first epoch
    assert short == sorted(short) and long == sorted(long) and long[-1] > 0.99


@needs_mpi
def test_resuming_with_another_number_of_processes_is_refused(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=1000)
    first = mpiexec(2, *_train_args(tmp_path / "c.txt", tmp_path / "v.bin", "--epochs", "1",
                                    "--checkpoint", tmp_path / "ck.npz"))
    assert first.returncode == 0, first.stderr
    again = run_cli("train", "--resume", tmp_path / "ck.npz", "--out", tmp_path / "w.bin", "-q")
    assert "written by a run of 2 process(es)" in assert_one_line_error(again)


@needs_mpi
def test_bench_compares_processes_end_to_end(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    bench = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "bench.py")
    proc = subprocess.run([sys.executable, bench, "--mpi", "2", "--corpus", tmp_path / "c.txt",
                           "--repeats", "1", "--epochs", "1", "--min-count", "1", "--dim", "16",
                           "--no-score", "--json", tmp_path / "b.json"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "b.json").read_text())["mpi"]
    assert rows["2"]["processes"] == 2 and rows["2"]["averages"] >= 1
    assert rows["2"]["bytes_averaged"] > 0 and rows["1"]["words_per_sec"] > 0


def _recording_script(corpus_path, settings, stop_at=None):
    """Train with TrainConfig(settings) and have every process write to OUT.rankR the run
    fraction at which each of its chunks started and each chunk's (epoch, cost, pairs)."""
    return ("import json, os, sys\nfrom w2v import TrainConfig, sgd, train\n"
            "fractions, chunks = [], []\nrate, tally = sgd.learning_rate, sgd._Tally.__call__\n"
            "sgd.learning_rate = lambda a, m, f: fractions.append(f) or rate(a, m, f)\n"
            "def record(self, result):\n"
            "    chunks.append((self.progress.epoch, result[0], result[1]))\n"
            "    tally(self, result)\n"
            "sgd._Tally.__call__ = record\n"
            "try:\n"
            f"    train(TrainConfig(corpus={str(corpus_path)!r}, out=sys.argv[1], {settings}), "
            f"quiet=True, stop_when=lambda epoch, chunk: (epoch, chunk) == {stop_at})\n"
            "finally:\n"
            "    with open(sys.argv[1] + '.rank' + os.environ.get('PMI_RANK', '0'), 'w') as f:\n"
            "        json.dump({'fractions': fractions, 'chunks': chunks}, f)\n")


# planted_corpus's lines are 5 words of 4 letters: 2,000 lines to each of 2 processes, 200 to a
# chunk of 1,200 ids (a line is 6, its end included), so 10 chunks per process and epoch; every
# row is merged every 24 chunks, at every third chunk boundary of the run (3 = 24 / HOT_SHARES):
# 9 merge points in 3 epochs, two of them (chunks 9 and 27) still in flight at an epoch's end
EVEN = "chunk_words=1200, sync_every=28800, threads=1, dim=20, window=2, min_count=1, sample=0"


def _recorded(out, ranks=(0, 1)):
    return [json.loads((out.parent / f"{out.name}.rank{r}").read_text()) for r in ranks]


def _summed_mean_costs(records, epochs):
    """Each epoch's mean cost over all the processes' chunks: the reference."""
    costs = [[c for record in records for e, c, _ in record["chunks"] if e == epoch]
             for epoch in range(epochs)]
    pairs = [sum(p for record in records for e, _, p in record["chunks"] if e == epoch)
             for epoch in range(epochs)]
    return [math.fsum(c) / p for c, p in zip(costs, pairs)]


def _recorded_run(tmp_path, settings):
    """Two processes train the planted corpus with these settings, recording every chunk;
    returns the output's path and its sidecar."""
    planted_corpus(tmp_path / "c.txt", sentences=4000)
    out = tmp_path / "v.bin"
    proc = mpiexec(2, "-c", _recording_script(tmp_path / "c.txt", settings), out)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((tmp_path / "v.bin.json").read_text())


@needs_mpi
def test_between_epochs_the_merges_go_on_without_merging_every_row(tmp_path):
    _, stats = _recorded_run(tmp_path, f"{EVEN}, epochs=3")
    # the vocabulary is smaller than HOT_ROWS: every merge point merges every row
    assert stats["averages"] == 9 + 1  # the merge points, and the run's end; no epoch's end
    W, d = stats["vocab_size"], 20
    assert stats["bytes_averaged"] == 2 * stats["averages"] * 2 * (2 * W * d * 4)


@needs_mpi
def test_a_run_that_saves_checkpoints_merges_every_row_at_every_epochs_end(tmp_path):
    _, stats = _recorded_run(tmp_path, f"{EVEN}, epochs=3, checkpoint={str(tmp_path / 'ck.npz')!r}")
    assert stats["averages"] == 9 + 3


@needs_mpi
def test_each_epochs_cost_is_summed_over_the_processes(tmp_path):
    out, stats = _recorded_run(tmp_path, f"{EVEN}, epochs=3")
    records = _recorded(out)
    reported = stats["epoch_costs"]
    assert reported == pytest.approx(_summed_mean_costs(records, 3), rel=1e-12)
    assert reported != pytest.approx(_summed_mean_costs(records[:1], 3), rel=1e-6)  # not 0's own


@needs_mpi
def test_a_checkpoint_saved_on_a_stop_holds_the_costs_summed_over_the_processes(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=4000)
    out = tmp_path / "v.bin"
    proc = mpiexec(2, "-c", _recording_script(tmp_path / "c.txt", f"{EVEN}, epochs=3", (1, 9)),
                   out)
    assert proc.returncode != 0 and "TrainingInterrupted" in proc.stderr
    saved = checkpoint.load(str(out) + ".ckpt").progress
    # asked before the epoch's last chunk, told at the next merge point (boundary 21 of the run,
    # epoch 2's chunk 1), agreed at the one after (24)
    assert (saved.epoch, saved.chunk) == (2, 4)
    records = _recorded(out)
    assert saved.epoch_costs == pytest.approx(_summed_mean_costs(records, 2), rel=1e-12)
    assert saved.cost == pytest.approx(math.fsum(
        c for record in records for e, c, _ in record["chunks"] if e == 2), rel=1e-12)


@needs_mpi
def test_processes_in_step_follow_the_single_process_learning_rate_through_the_epochs(tmp_path):
    planted_corpus(tmp_path / "half.txt", sentences=2000)
    half = (tmp_path / "half.txt").read_text()
    (tmp_path / "c.txt").write_text(half + half)  # each process's part is half.txt
    proc = mpiexec(2, "-c", _recording_script(tmp_path / "c.txt", f"{EVEN}, epochs=3"),
                   tmp_path / "v.bin")
    assert proc.returncode == 0, proc.stderr
    alone = subprocess.run([sys.executable, "-c", _recording_script(tmp_path / "half.txt",
                                                                    f"{EVEN}, epochs=3"),
                            tmp_path / "one.bin"], capture_output=True, text=True, timeout=TIMEOUT)
    assert alone.returncode == 0, alone.stderr
    single = _recorded(tmp_path / "one.bin", ranks=(0,))[0]["fractions"]
    assert len(single) == 3 * 10 and single == sorted(single)
    assert [r["fractions"] for r in _recorded(tmp_path / "v.bin")] == [single, single]
