"""Checkpoints and resuming: the printed command continues the run byte for byte, from any
directory; signals stop a run cleanly; a damaged or unwritable checkpoint is one line."""
import errno
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import as_if_at_a_terminal, assert_one_line_error, planted_corpus, run_cli
from w2v import TrainConfig, TrainingInterrupted, Vectors, W2VError, atomic, checkpoint, train


def _config(tmp_path, **kw):
    settings = dict(corpus=str(tmp_path / "c.txt"), out=str(tmp_path / "v.bin"), dim=10,
                    min_count=1, sample=0, epochs=2, threads=1, window=2, chunk_words=300)
    return TrainConfig(**{**settings, **kw})


@pytest.fixture
def corpus(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=300)
    return tmp_path / "c.txt"


def _interrupted(config, epoch=1, chunk=0):
    """Train until (epoch, chunk), as Ctrl-C there would; returns the checkpoint's path."""
    with pytest.raises(TrainingInterrupted) as stopped:
        train(config, quiet=True, stop_when=lambda e, c: (e, c) == (epoch, chunk))
    return stopped.value.checkpoint


def _start(tmp_path, *args, preexec_fn=as_if_at_a_terminal):
    """`w2v train` in the background on a corpus small enough to go round many epochs."""
    args = ["train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.bin", "--min-count", 1,
            "--dim", 10, "--threads", 1, "--checkpoint-every", 0, "--quiet", *args]
    return subprocess.Popen([sys.executable, "-m", "w2v", *map(str, args)], stderr=subprocess.PIPE,
                            text=True, preexec_fn=preexec_fn)


def _wait_for(path, proc):
    deadline = time.monotonic() + 120
    while not os.path.exists(path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert os.path.exists(path), proc.stderr.read() if proc.poll() is not None else "no checkpoint"


def test_a_checkpoint_is_written_at_the_end_of_the_last_epoch(tmp_path, corpus):
    proc = run_cli("train", "--corpus", corpus, "--out", tmp_path / "v.bin", "--min-count", 1,
                   "--dim", 10, "--epochs", 1, "--checkpoint", tmp_path / "ck", "--quiet")
    assert proc.returncode == 0, proc.stderr
    saved = checkpoint.load(str(tmp_path / "ck"))
    assert saved.progress.epoch == 1 and len(saved.progress.epoch_costs) == 1


def test_the_printed_command_resumes_byte_for_byte(tmp_path, corpus):
    straight = run_cli("train", "--corpus", corpus, "--out", tmp_path / "straight.bin",
                       "--min-count", 1, "--dim", 10, "--threads", 1, "--epochs", 400, "--quiet")
    assert straight.returncode == 0, straight.stderr

    proc = _start(tmp_path, "--epochs", 400, "--checkpoint", tmp_path / "run.ckpt")
    _wait_for(tmp_path / "run.ckpt", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert not (tmp_path / "v.bin").exists()
    command = err.strip().split("continue with: ")[1]
    assert command == f"w2v train --resume {tmp_path / 'run.ckpt'}"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = run_cli(*shlex.split(command)[1:], cwd=elsewhere)  # as printed, from another directory
    assert resumed.returncode == 0, resumed.stderr
    assert os.listdir(elsewhere) == []  # nothing written to ./vectors.bin or beside it
    assert (tmp_path / "v.bin").read_bytes() == (tmp_path / "straight.bin").read_bytes()


def test_a_run_with_relative_paths_resumes_from_another_directory(tmp_path, corpus, monkeypatch):
    straight = train(_config(tmp_path, out=str(tmp_path / "straight.bin")), quiet=True)
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    ckpt = _interrupted(_config(tmp_path, corpus="../c.txt", out="v.bin", checkpoint="v.ckpt"),
                        epoch=1, chunk=2)
    assert ckpt == str(tmp_path / "run" / "v.ckpt")
    monkeypatch.chdir(tmp_path)
    resumed = run_cli("train", "--resume", ckpt, "--quiet", cwd="/")
    assert resumed.returncode == 0, resumed.stderr
    np.testing.assert_array_equal(Vectors.load(str(tmp_path / "run" / "v.bin")).matrix,
                                  straight.matrix)


def test_resume_takes_the_checkpoint_settings_and_says_which_given_ones_differ(tmp_path, corpus):
    ckpt = _interrupted(_config(tmp_path, checkpoint_every=1000.0))
    proc = run_cli("train", "--resume", ckpt, "--threads", 2, "--out", tmp_path / "w.bin",
                   "--dim", 10, "--corpus", corpus)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == (f"resuming {ckpt} with --out {tmp_path / 'w.bin'} "
                                           f"(checkpoint: {tmp_path / 'v.bin'}), "
                                           "--threads 2 (checkpoint: 1)")
    assert (tmp_path / "w.bin").exists() and not (tmp_path / "v.bin").exists()


@pytest.mark.parametrize("option, value", [("--dim", 20), ("--window", 3), ("--loss", "softmax"),
                                           ("--negative", 3), ("--seed", 2), ("--epochs", 3),
                                           ("--min-count", 2), ("--tokens", "words"),
                                           ("--alpha", 0.05), ("--corpus", "other.txt")])
def test_resume_refuses_a_change_to_the_model(tmp_path, corpus, option, value):
    ckpt = _interrupted(_config(tmp_path))
    before = open(ckpt, "rb").read()
    line = assert_one_line_error(run_cli("train", "--resume", ckpt, option, value, cwd=tmp_path), 2)
    assert f"{option} cannot change when resuming" in line
    assert open(ckpt, "rb").read() == before and not (tmp_path / "v.bin").exists()


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path, corpus):
    proc = _start(tmp_path, "--epochs", 100000, "--checkpoint", tmp_path / "run.ckpt")
    _wait_for(tmp_path / "run.ckpt", proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.startswith("w2v: terminated (SIGTERM); checkpoint saved to ")
    assert len(err.splitlines()) == 1
    assert checkpoint.load(str(tmp_path / "run.ckpt")).progress.epoch >= 1
    assert not (tmp_path / "v.bin").exists()


def test_an_inherited_ignored_sigint_stays_ignored(tmp_path, corpus):
    proc = _start(tmp_path, "--epochs", 100000, "--checkpoint", tmp_path / "run.ckpt",
                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    _wait_for(tmp_path / "run.ckpt", proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert proc.poll() is None  # still training
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143


def _rewrite(path, **changes):
    """Rewrite checkpoint arrays: a value replaces one, None deletes it."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _with_settings(path, **changes):
    """Rewrite some of a checkpoint's recorded settings."""
    with np.load(path) as data:
        settings = json.loads(data["config"].item())
    _rewrite(path, config=np.array(json.dumps({**settings, **changes})))


def test_a_checkpoint_saved_before_combining_resumes_with_one_window_a_draw(tmp_path, corpus):
    ckpt = _interrupted(_config(tmp_path, combine=1))
    with np.load(ckpt) as data:
        settings = json.loads(data["config"].item())
    del settings["combine"]  # as 0.2.0 wrote it
    _rewrite(ckpt, config=np.array(json.dumps(settings)))
    assert checkpoint.load(ckpt).config.combine == 1


@pytest.mark.parametrize("damage, says", [
    (lambda p: open(p, "wb").close(), "damaged or not a w2v checkpoint"),
    (lambda p: os.truncate(p, os.path.getsize(p) // 2), "damaged or not a w2v checkpoint"),
    (lambda p: open(p, "wb").write(np.random.default_rng(0).bytes(5000)),
     "damaged or not a w2v checkpoint"),
    (lambda p: _rewrite(p, V=None), "it has no V"),
    (lambda p: _rewrite(p, U=np.zeros((3, 10), np.float32)), "U is float32 (3, 10), expected"),
    (lambda p: _rewrite(p, V=np.zeros((54, 10), np.float64)), "V is float64 (54, 10), expected"),
    (lambda p: _rewrite(p, epoch=np.array(7)), "epoch 7 is beyond the run's 2 epochs"),
    (lambda p: _rewrite(p, chunk=np.array(10 ** 6)), "chunk 1000000 is beyond"),
    (lambda p: _rewrite(p, config=np.array("{not json")), "its settings do not parse"),
    (lambda p: _rewrite(p, config=np.array('{"dimension": 3}')), "its settings do not parse"),
    (lambda p: _with_settings(p, combine=2.5), "--combine must be a whole number, got 2.5"),
    (lambda p: _rewrite(p, version=np.array(99)), "version 99"),
    (lambda p: _rewrite(p, words=np.array(["a"] * 54)), "not a list of distinct words"),
])
def test_a_damaged_checkpoint_is_one_line(tmp_path, corpus, damage, says):
    ckpt = _interrupted(_config(tmp_path))
    damage(ckpt)
    proc = run_cli("train", "--resume", ckpt)
    line = assert_one_line_error(proc, 1)
    assert says in line and "aborted" not in line
    assert not (tmp_path / "v.bin").exists()


def test_a_missing_checkpoint_is_one_line(tmp_path):
    line = assert_one_line_error(run_cli("train", "--resume", tmp_path / "nope.ckpt"), 1)
    assert "cannot read checkpoint" in line and "No such file" in line


def _disk_full_for(predicate):
    """An atomic_write whose writes fail with ENOSPC for the paths `predicate` picks."""
    real = atomic.atomic_write

    def atomic_write(path, mode="wb", encoding=None):
        cm = real(path, mode, encoding)
        if not predicate(path):
            return cm

        class Full:
            def __enter__(self):
                f = cm.__enter__()

                def write(*args):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                f.write = write
                return f

            def __exit__(self, *exc):
                return cm.__exit__(*exc)
        return Full()

    return atomic_write


def test_a_periodic_checkpoint_that_cannot_be_written_warns_and_training_goes_on(
        tmp_path, corpus, monkeypatch, capsys):
    monkeypatch.setattr(checkpoint, "atomic_write", _disk_full_for(lambda p: True))
    vectors = train(_config(tmp_path, checkpoint=str(tmp_path / "ck"), checkpoint_every=0.0),
                    quiet=True)
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) > 2 and all(w.startswith("w2v: warning: checkpoint not saved, training "
                                                  "goes on: cannot write ") for w in warnings)
    assert "No space left on device" in warnings[0]
    assert (tmp_path / "v.bin").exists() and len(vectors.stats["epoch_costs"]) == 2
    assert sorted(os.listdir(tmp_path)) == ["c.txt", "v.bin", "v.bin.json"]  # no partial checkpoint


def test_the_final_checkpoint_that_cannot_be_written_is_one_error(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(checkpoint, "atomic_write", _disk_full_for(lambda p: True))
    with pytest.raises(W2VError) as error:
        train(_config(tmp_path), quiet=True, stop_when=lambda e, c: e == 1)
    assert not isinstance(error.value, TrainingInterrupted)
    assert str(error.value) == f"cannot write {tmp_path / 'v.bin.ckpt'}: No space left on device"
    assert sorted(os.listdir(tmp_path)) == ["c.txt"]


def test_sigterm_while_reading_the_corpus_exits_143_and_leaves_nothing(tmp_path, w2v_home):
    os.mkfifo(tmp_path / "pipe")
    proc = subprocess.Popen([sys.executable, "-m", "w2v", "train", "--corpus", str(tmp_path / "pipe"),
                             "--out", str(tmp_path / "v.bin"), "--quiet"], stderr=subprocess.PIPE,
                            text=True)
    try:
        with open(tmp_path / "pipe", "w") as pipe:  # returns once w2v has opened the corpus
            proc.send_signal(signal.SIGTERM)
            # The signal may land on another of w2v's threads; Python runs the handler when the
            # main thread next returns from reading, so keep sending text until w2v has gone.
            while proc.poll() is None:
                pipe.write("the cat sat\n" * 1000)
                pipe.flush()
    except BrokenPipeError:
        pass
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err == "w2v: terminated (SIGTERM)\n"
    assert os.listdir(tmp_path) == ["pipe"]
    assert not list(w2v_home.rglob(".build-*"))  # the half-built token cache is removed too
