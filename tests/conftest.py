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


def assert_one_line_error(proc, code=None):
    """A user error: non-zero exit (or exactly `code`), one line on stderr, no traceback."""
    assert proc.returncode != 0, proc.stdout
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]
