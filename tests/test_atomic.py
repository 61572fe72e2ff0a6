"""Files are written whole or not at all, with the permissions a plain open() gives them."""
import os
import resource
import signal
import stat
import subprocess
import sys

import pytest

from conftest import assert_one_line_error, planted_corpus, run_cli
from w2v import TrainConfig, W2VError, atomic, train


@pytest.fixture
def umask():
    def set_umask(mask):
        os.umask(mask)
    previous = os.umask(0o022)
    yield set_umask
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_outputs_get_the_mode_open_would_give_them(tmp_path, umask, mask):
    umask(mask)
    planted_corpus(tmp_path / "c.txt", sentences=200)
    train(TrainConfig(corpus=str(tmp_path / "c.txt"), out=str(tmp_path / "v.bin"), min_count=1,
                      dim=10, epochs=1, checkpoint=str(tmp_path / "ck"),
                      save_outside=str(tmp_path / "u.bin"), save_vocab=str(tmp_path / "vocab")),
          quiet=True)
    for name in ["v.bin", "v.bin.json", "ck", "u.bin", "vocab"]:
        assert _mode(tmp_path / name) == 0o666 & ~mask, name


def test_an_existing_file_keeps_its_mode(tmp_path):
    (tmp_path / "f").write_text("old")
    os.chmod(tmp_path / "f", 0o600)
    with atomic.atomic_write(str(tmp_path / "f"), "w") as f:
        f.write("new")
    assert (tmp_path / "f").read_text() == "new" and _mode(tmp_path / "f") == 0o600


def test_the_data_reach_the_disk_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append("replace") or real_replace(a, b))
    with atomic.atomic_write(str(tmp_path / "f"), "wb") as f:
        f.write(b"x")
    assert calls[:2] == ["fsync", "replace"]


def test_a_failed_write_is_one_error_and_leaves_nothing(tmp_path):
    (tmp_path / "f").write_text("old")
    with pytest.raises(W2VError, match=r"^cannot write .*/gone/f: No such file or directory$"):
        with atomic.atomic_write(str(tmp_path / "gone" / "f"), "w") as f:
            f.write("new")
    assert os.listdir(tmp_path) == ["f"] and (tmp_path / "f").read_text() == "old"


def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_file_size_limit_is_one_line_and_leaves_nothing(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=200)
    before = sorted(os.listdir(tmp_path))
    # the vectors (54 words x 500 floats, 108 KB) pass the limit; the token cache (4 KB) does not
    proc = subprocess.run([sys.executable, "-m", "w2v", "train", "--corpus", str(tmp_path / "c.txt"),
                           "--out", str(tmp_path / "v.bin"), "--min-count", "1", "--dim", "500",
                           "--epochs", "1", "--quiet"], capture_output=True, text=True,
                          preexec_fn=_file_size_limit(64 * 1024), timeout=600)
    line = assert_one_line_error(proc, 1)
    assert line == f"w2v: error: cannot write {tmp_path / 'v.bin'}: File too large"
    assert sorted(os.listdir(tmp_path)) == before


def test_an_unwritable_out_directory_is_one_line_before_training(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=200)
    line = assert_one_line_error(run_cli("train", "--corpus", tmp_path / "c.txt", "--out",
                                         tmp_path / "missing" / "v.bin", "--min-count", 1), 1)
    assert "cannot write" in line and "No such file or directory" in line


def test_an_error_reading_the_source_is_not_called_a_write_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic.atomic_write(str(tmp_path / "f"), "w") as f:
            f.write(open(tmp_path / "missing").read())
    assert os.listdir(tmp_path) == []
