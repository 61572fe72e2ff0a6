import signal
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def run_cli(*args, input=None, cwd=None, env=None):
    """Run `w2v ARGS` in a fresh interpreter, as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "w2v", *map(str, args)], capture_output=True,
                          text=True, input=input, cwd=cwd, env=env, timeout=600)


def as_if_at_a_terminal():
    """preexec_fn for a w2v subprocess that a test interrupts with SIGINT: restore SIGINT's
    default, as a terminal's foreground job has it. A suite started in the background of a
    non-interactive shell inherits SIGINT ignored, and w2v rightly keeps ignoring it then."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_one_line_error(proc, code=None):
    """A user error: non-zero exit (or exactly `code`), one line on stderr, no traceback."""
    assert proc.returncode != 0, proc.stdout
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def w2v_home(tmp_path_factory, monkeypatch):
    """Every test gets its own cache directory: nothing is written under ~/.cache."""
    home = tmp_path_factory.mktemp("w2v_home")
    monkeypatch.setenv("W2V_HOME", str(home))
    return home


def planted_corpus(path, groups=6, members=5, sentences=6000, seed=0):
    """A corpus whose answer is known: words of one group fill the same sentence frames.

    Group g's members (g0_m0, g0_m1, ...) only ever appear between group g's frame words, so a
    member's nearest neighbours should be the other members of its group. Returns the groups.
    """
    rng = np.random.default_rng(seed)
    group_words = [[f"g{g}m{m}" for m in range(members)] for g in range(groups)]
    frames = [[f"f{g}x{j}" for j in range(4)] for g in range(groups)]
    with open(path, "w") as f:
        for _ in range(sentences):
            g = rng.integers(groups)
            left, right = rng.permutation(frames[g])[:2], rng.permutation(frames[g])[:2]
            f.write(" ".join([*left, group_words[g][rng.integers(members)], *right]) + "\n")
    return group_words


@pytest.fixture(scope="session")
def kernels():
    """The compiled training kernels; the test is skipped where no C compiler can build them."""
    from w2v import W2VError, native
    try:
        return native.backend()
    except W2VError as e:
        pytest.skip(str(e))


def group_accuracy(vectors, groups):
    """Fraction of group words whose nearest neighbour (cosine, whole vocabulary) is in their group."""
    M = vectors.matrix / np.linalg.norm(vectors.matrix, axis=1, keepdims=True)
    hits = total = 0
    for group in groups:
        for w in group:
            sims = M @ M[vectors.index[w]]
            sims[vectors.index[w]] = -np.inf
            hits += vectors.words[int(np.argmax(sims))] in group
            total += 1
    return hits / total
