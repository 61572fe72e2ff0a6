"""The token-id cache: keyed so a rewritten corpus is never read from an old entry, checked so a
damaged entry is never trusted, cleaned after killed runs, and listed and cleared by `w2v cache`."""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
from w2v import corpus
from w2v.errors import W2VError


def _load(path, cache, **kw):
    return corpus.load_stream(str(path), cache_dir=str(cache), **kw)


def _words(stream):
    return [stream.words[i] for i in stream.read(0, len(stream)) if i != corpus.SENTENCE_END]


def _entries(cache):
    return sorted(p for p in os.listdir(cache))


def test_a_corpus_rewritten_with_its_old_size_and_mtime_is_read_anew(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("old words here\n")
    first = _load(path, tmp_path / "cache")
    st = os.stat(path)
    path.write_text("new texts here\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what cp -p, rsync -t and tar x do
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    second = _load(path, tmp_path / "cache")
    assert second.key != first.key and _words(second) == ["new", "texts", "here"]


def test_a_copy_over_the_corpus_keeping_its_times_is_read_anew(tmp_path):
    (tmp_path / "a.txt").write_text("alpha beta\n")
    (tmp_path / "b.txt").write_text("gamma zeta\n")
    shutil.copy2(tmp_path / "a.txt", tmp_path / "c.txt")
    assert _words(_load(tmp_path / "c.txt", tmp_path / "cache")) == ["alpha", "beta"]
    os.utime(tmp_path / "b.txt", ns=(0, os.stat(tmp_path / "c.txt").st_mtime_ns))
    subprocess.run(["cp", "-p", str(tmp_path / "b.txt"), str(tmp_path / "c.txt")], check=True)
    assert _words(_load(tmp_path / "c.txt", tmp_path / "cache")) == ["gamma", "zeta"]


def test_case_is_kept_when_asked_and_is_part_of_the_key(tmp_path):
    (tmp_path / "c.txt").write_text("The the THE cat\n")
    lower = _load(tmp_path / "c.txt", tmp_path / "cache")
    kept = _load(tmp_path / "c.txt", tmp_path / "cache", lowercase=False)
    assert lower.words == ["the", "cat"] and lower.counts.tolist() == [3, 1]
    assert sorted(kept.words) == ["THE", "The", "cat", "the"] and kept.key != lower.key


def _damage(entry, how):
    if how == "truncated ids":
        with open(entry / "ids.u32", "r+b") as f:
            f.truncate(os.path.getsize(entry / "ids.u32") - 8)
    elif how == "missing meta.json":
        os.remove(entry / "meta.json")
    elif how == "garbage meta.json":
        (entry / "meta.json").write_bytes(b"\x00{not json")
    elif how == "short vocabulary":
        (entry / "vocab.txt").write_text("a\n")
    elif how == "wrong counts":
        np.save(entry / "counts.npy", np.array([1, 1, 1, 1], dtype=np.int64))
    elif how == "missing ids":
        os.remove(entry / "ids.u32")


DAMAGE = ["truncated ids", "missing meta.json", "garbage meta.json", "short vocabulary",
          "wrong counts", "missing ids"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_entry_is_rebuilt_with_one_warning(tmp_path, how):
    (tmp_path / "c.txt").write_text("b a c a\nb a\n")
    first = _load(tmp_path / "c.txt", tmp_path / "cache")
    _damage(tmp_path / "cache" / first.key, how)
    warnings = []
    second = _load(tmp_path / "c.txt", tmp_path / "cache", warn=warnings.append)
    assert len(warnings) == 1 and "damaged" in warnings[0] and "rebuilding" in warnings[0]
    assert second.key == first.key and second.tokens == 6
    assert second.read(0, len(second)).tolist() == first.read(0, len(first)).tolist() == [
        1, 0, 2, 0, int(corpus.SENTENCE_END), 1, 0, int(corpus.SENTENCE_END)]
    assert _entries(tmp_path / "cache") == [first.key]  # nothing left of the damaged one


@pytest.mark.parametrize("how", ["truncated ids", "missing meta.json"])
def test_cli_trains_on_the_whole_corpus_after_a_damaged_entry(tmp_path, w2v_home, how):
    (tmp_path / "c.txt").write_text("one two three four\n" * 20)
    args = ("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.txt", "--min-count", 1,
            "--epochs", 1, "--dim", 4)
    assert run_cli(*args, "--quiet").returncode == 0
    (entry,) = _entries(w2v_home / "ids")
    _damage(w2v_home / "ids" / entry, how)
    proc = run_cli(*args)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "damaged" in line]) == 1
    assert json.loads((tmp_path / "v.txt.json").read_text())["tokens"] == 80


def test_ids_beyond_the_vocabulary_fail_with_one_line_never_a_crash(tmp_path, w2v_home):
    (tmp_path / "c.txt").write_text("one two three four\n" * 20)
    args = ("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.txt", "--min-count", 1,
            "--epochs", 1, "--dim", 4, "--quiet")
    assert run_cli(*args).returncode == 0
    os.remove(tmp_path / "v.txt")
    (entry,) = _entries(w2v_home / "ids")
    ids = np.fromfile(w2v_home / "ids" / entry / "ids.u32", dtype=np.uint32)
    ids[7] = 4_000_000_000  # the size and counts still agree: only the ids tell
    ids.tofile(w2v_home / "ids" / entry / "ids.u32")
    line = assert_one_line_error(run_cli(*args), code=1)
    assert "damaged" in line and "beyond" in line and not (tmp_path / "v.txt").exists()
    assert _entries(w2v_home / "ids") == []  # removed: the next run rebuilds it
    assert run_cli(*args).returncode == 0


def test_reads_check_every_block(tmp_path):
    (tmp_path / "c.txt").write_text("x y z\n")
    stream = _load(tmp_path / "c.txt", tmp_path / "cache")
    np.array([0, 1, 3, corpus.SENTENCE_END], dtype=np.uint32).tofile(stream.path)
    with pytest.raises(W2VError, match="id 3 at 2 is beyond its 3 words"):
        stream.read(0, 4)


def test_build_directories_of_killed_runs_are_cleaned(tmp_path):
    cache = tmp_path / "cache"
    (tmp_path / "c.txt").write_text("x y z\n")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    host = corpus.socket.gethostname()
    killed = cache / f".build-{host}:{dead}:abc"
    live = cache / f".build-{host}:{os.getpid()}:def"  # a run still building
    old = cache / ".build-elsewhere:1:ghi"  # another host's, untouched for two hours
    for d in (killed, live, old):
        d.mkdir(parents=True)
        (d / "raw.u32").write_bytes(b"\0" * 8)
    os.utime(old / "raw.u32", (0, os.stat(old).st_mtime - 7200))
    os.utime(old, (0, os.stat(old).st_mtime - 7200))
    stream = _load(tmp_path / "c.txt", cache)
    assert _entries(cache) == sorted([live.name, stream.key])


def test_a_pipe_is_read_into_a_temporary_entry_removed_after_the_run(tmp_path, w2v_home):
    proc = run_cli("train", "--corpus", "/dev/stdin", "--out", tmp_path / "v.txt", "--min-count", 1,
                   "--epochs", 1, "--dim", 4, "--quiet", input="piped words only\n" * 20)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "v.txt.json").read_text())["tokens"] == 60
    assert _entries(w2v_home / "ids") == []


def test_the_same_piped_text_has_the_same_key(tmp_path):
    fifo = tmp_path / "fifo"
    keys = []
    for _ in range(2):
        os.mkfifo(fifo)
        writer = subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'w').write('a b\\n')"])
        try:
            stream = _load(fifo, tmp_path / "cache")
        finally:
            writer.wait(timeout=60)
        keys.append(stream.key)
        assert _words(stream) == ["a", "b"]
        os.remove(fifo)
    assert keys[0] == keys[1]


def test_cache_lists_entries_with_sizes_and_corpora_and_clears_them(tmp_path, w2v_home):
    (tmp_path / "c.txt").write_text("one two three\n" * 10)
    assert run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.txt",
                   "--min-count", 1, "--epochs", 1, "--dim", 4, "--quiet").returncode == 0
    proc = run_cli("cache")
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("ids")]
    assert str(tmp_path / "c.txt") in line and "kB" in line and "lowercased" in line
    proc = run_cli("cache", "--clear")
    assert proc.returncode == 0 and "freed" in proc.stderr
    assert _entries(w2v_home / "ids") == []
    assert [x for x in run_cli("cache").stdout.splitlines() if x.startswith("ids")] == []


def test_a_dangling_link_or_special_file_in_a_corpus_directory_is_skipped_with_a_warning(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.txt").write_text("kept words\n")
    os.symlink(tmp_path / "missing.txt", d / "b.txt")
    os.mkfifo(d / "c.fifo")  # reading it would block for ever
    warnings = []
    stream = _load(d, tmp_path / "cache", warn=warnings.append)
    assert _words(stream) == ["kept", "words"]
    assert warnings == [f"skipping {d / 'b.txt'}: a dangling link",
                        f"skipping {d / 'c.fifo'}: not a regular file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_in_a_corpus_directory_is_skipped_with_a_warning(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.txt").write_text("kept\n")
    (d / "b.txt").write_text("secret\n")
    os.chmod(d / "b.txt", 0)
    warnings = []
    assert _words(_load(d, tmp_path / "cache", warn=warnings.append)) == ["kept"]
    assert warnings == [f"skipping {d / 'b.txt'}: permission denied"]


def test_cli_warns_once_about_a_dangling_link(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.txt").write_text("one two\n" * 10)
    os.symlink(tmp_path / "gone", d / "link.txt")
    proc = run_cli("train", "--corpus", d, "--out", tmp_path / "v.txt", "--min-count", 1,
                   "--epochs", 1, "--dim", 4)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [x for x in proc.stderr.splitlines() if "link.txt" in x] == [
        f"warning: skipping {d / 'link.txt'}: a dangling link"]


def test_a_build_killed_with_sigkill_is_cleaned_by_the_next_run(tmp_path, w2v_home):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    run = subprocess.Popen([sys.executable, "-m", "w2v", "train", "--corpus", str(fifo), "--out",
                            str(tmp_path / "v.txt"), "--quiet"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:  # open without blocking, so a run that failed early fails the test, not hangs it
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    with os.fdopen(fd, "w") as writer:
        writer.write("half a corpus\n" * 100)
        writer.flush()
        run.kill()  # SIGKILL, in the middle of the build: no clean-up code runs
        run.wait()
    (left,) = os.listdir(w2v_home / "ids")
    assert left.startswith(".build-")
    (tmp_path / "c.txt").write_text("a b\n")
    stream = _load(tmp_path / "c.txt", w2v_home / "ids")
    assert _entries(w2v_home / "ids") == [stream.key]


def test_cache_marks_an_entry_of_an_earlier_version(tmp_path, w2v_home):
    old = w2v_home / "ids" / "0123456789abcdef01234567"
    old.mkdir(parents=True)
    (old / "meta.json").write_text(json.dumps({"version": 2, "tokenizer": "space"}))
    (old / "ids.u32").write_bytes(b"\0" * 4000)
    proc = run_cli("cache")
    assert proc.returncode == 0, proc.stderr
    assert "4.0 kB  (made by an earlier w2v: never read again)" in proc.stdout
    assert run_cli("cache", "--clear").returncode == 0 and not old.exists()


def test_a_cache_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "c.txt").write_text("a b\n")
    (tmp_path / "home").write_text("a file where the cache directory should be")
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.txt", "--quiet",
                   env={**os.environ, "W2V_HOME": str(tmp_path / "home")})
    line = assert_one_line_error(proc, code=1)
    assert "cannot create the token-id cache" in line and not (tmp_path / "v.txt").exists()
