"""w2v installed from a wheel, not from the checkout, works from any directory.

The sdist is built from a copy of the checkout, a wheel from the unpacked sdist (so both carry
the package's data), and the wheel is installed with pip into a new virtual environment. The
commands then run from an unrelated directory, where nothing of the checkout is in reach.

No network: pip builds without isolation, so it needs setuptools and `wheel` here (the `test`
extra installs it); without `wheel` the tests skip. The new environment gets w2v's dependencies
through a .pth file naming this interpreter's site-packages, added after w2v is installed, so
pip sees an empty environment and w2v is imported from the wheel.
"""
import gzip
import json
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import w2v

pytestmark = pytest.mark.install

CHECKOUT = Path(__file__).resolve().parents[1]
SHIPPED = ["wordnet-glosses.txt.gz", "questions-words.txt", "wordsim353.tsv", "README.md"]


def _run(*args, cwd):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(sdist, wheel, venv) built from a copy of the checkout."""
    pytest.importorskip("wheel", reason="building a wheel without network needs the `wheel` package")
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "vectors.bin*"))
    dist = root / "dist"
    _run(sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})",
         cwd=source)
    [sdist] = dist.glob("w2v-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(root / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    [unpacked] = (root / "unpacked").iterdir()
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", dist, unpacked, cwd=root)
    [wheel] = dist.glob("w2v-*.whl")

    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index",
         wheel, cwd=root)
    venv_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                          cwd=root).strip())
    (venv_site / "w2v-test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return sdist, wheel, venv, elsewhere


def test_sdist_and_wheel_carry_the_shipped_data(built):
    sdist, wheel, _, _ = built
    with tarfile.open(sdist) as tar:
        in_sdist = {Path(name).relative_to(Path(name).parts[0]).as_posix() for name in tar.getnames()}
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = set(whl.namelist())
    for name in SHIPPED:
        assert f"w2v/data/{name}" in in_sdist
        assert f"w2v/data/{name}" in in_wheel


def test_installed_w2v_is_the_wheel_and_finds_its_default_corpus(built):
    _, _, venv, elsewhere = built
    script = "import w2v; from w2v.train import DEFAULT_CORPUS; print(w2v.__file__); print(DEFAULT_CORPUS)"
    out = _run(venv / "bin" / "python", "-c", script, cwd=elsewhere)
    module, corpus = out.splitlines()
    assert Path(module).is_relative_to(venv)
    assert Path(corpus).is_relative_to(venv)
    with gzip.open(corpus, "rt") as f:
        assert f.readline().split()  # a sentence of the WordNet glosses
    assert _run(venv / "bin" / "w2v", "--version", cwd=elsewhere).split()[-1] == w2v.__version__


def test_installed_w2v_eval_scores_on_the_shipped_sets(built):
    _, _, venv, elsewhere = built
    words = ["king", "queen", "man", "woman", "tiger", "cat", "love", "sex"]
    with open(elsewhere / "tiny.txt", "w") as f:
        f.write(f"{len(words)} 3\n")
        for i, w in enumerate(words):
            f.write(f"{w} {i + 1} {(i * 7) % 5 + 1} {(i * 3) % 4 + 1}\n")
    report = json.loads(_run(venv / "bin" / "w2v", "eval", "tiny.txt", "--json", cwd=elsewhere))

    known = {w.upper() for w in words}
    questions = [line.upper().split() for line in open(CHECKOUT / "w2v" / "data" / "questions-words.txt")
                 if not line.startswith(":")]
    pairs = [line.upper().split("\t")[:2] for line in open(CHECKOUT / "w2v" / "data" / "wordsim353.tsv")
             if not line.startswith("#")]
    assert report["analogies"]["total"] == sum(all(w in known for w in q) for q in questions) > 0
    assert report["analogies"]["questions"] == len(questions)
    assert report["pairs"]["pairs"] == sum(a in known and b in known for a, b in pairs) > 1
