"""Settings no run can use, outputs that would clobber something, and runs that diverge: each is
refused with one line, and nothing is left at --out."""
import json
import math
import os

import numpy as np
import pytest

from conftest import assert_one_line_error, planted_corpus, run_cli
from w2v import TrainConfig, W2VError, train
from w2v.cli import main


@pytest.fixture
def corpus(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=200)
    return tmp_path / "c.txt"


def _refused(tmp_path, corpus, *args, code):
    """Run `w2v train` on the corpus; assert one line, exit `code`, and no file added or changed."""
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    proc = run_cli("train", "--corpus", corpus, "--out", tmp_path / "v.bin", "--epochs", 1,
                   "--min-count", 1, "--dim", 10, *args)
    line = assert_one_line_error(proc, code)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    return line


@pytest.mark.parametrize("option, value", [
    ("--alpha", "nan"), ("--alpha", "inf"), ("--alpha", "1e30"), ("--alpha", "-0.1"),
    ("--min-alpha", "nan"), ("--ns-exponent", "nan"), ("--ns-exponent", "200"),
    ("--ns-exponent", "-inf"), ("--sample", "nan"), ("--sample", "2"),
    ("--checkpoint-every", "inf"), ("--checkpoint-every", "nan"), ("--negative", "5000"),
    ("--dim", "1000000"), ("--window", "100000"), ("--threads", "100000"), ("--threads", "0"),
    ("--epochs", "0"), ("--seed", "-1"), ("--seed", str(2 ** 64)), ("--batch-words", "0"),
    ("--max-bytes", "0"), ("--max-vocab", "0"), ("--min-count", "0"),
])
def test_non_finite_or_absurd_settings_are_refused_up_front(tmp_path, corpus, option, value, capsys):
    # in this process, for speed: the refusal comes before anything is read or written
    with pytest.raises(SystemExit) as exit:
        main(["train", "--corpus", str(corpus), "--out", str(tmp_path / "v.bin"), option, value])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"w2v: error: Invalid value for '{option}'")
    assert sorted(os.listdir(tmp_path)) == ["c.txt"]


def test_a_refused_setting_through_the_command_line(tmp_path, corpus):
    assert "'--alpha': nan is not a finite number" in _refused(tmp_path, corpus, "--alpha", "nan",
                                                               code=2)


@pytest.mark.parametrize("settings, says", [
    (dict(alpha=float("nan")), "--alpha must be a finite number"),
    (dict(ns_exponent=200.0), "--ns-exponent must be at most 2.0"),
    (dict(sample=float("inf")), "--sample must be a finite number"),
    (dict(min_alpha=0.5, alpha=0.1), "--min-alpha (0.5) is above --alpha (0.1)"),
    (dict(out=""), "--out must not be empty"),
    (dict(combine=2.5), "--combine must be a whole number, got 2.5"),
    (dict(dim=True), "--dim must be a whole number, got True"),
])
def test_the_library_refuses_the_same_settings(tmp_path, corpus, settings, says):
    with pytest.raises(W2VError) as error:
        train(TrainConfig(corpus=str(corpus), **{"out": str(tmp_path / "v.bin"), **settings}),
              quiet=True)
    assert says in str(error.value) and error.value.exit_code == 2


def test_more_negatives_than_the_vocabulary_has_words_is_refused(tmp_path, corpus):
    line = _refused(tmp_path, corpus, "--negative", 1000, code=2)
    assert "--negative 1000 is over 10 times the vocabulary's 54 words" in line


def test_a_diverging_run_stops_with_one_line_and_saves_nothing(tmp_path, corpus):
    line = _refused(tmp_path, corpus, "--loss", "softmax", "--alpha", 1, "--min-alpha", 1,
                    "--dim", 200, "--window", 10, "--sample", 0, "--epochs", 10, "--quiet", code=1)
    assert line.startswith("w2v: error: training diverged at epoch ") and "lower --alpha" in line


def test_many_negatives_that_overflow_the_vectors_stop_with_one_line_not_a_crash(tmp_path):
    """K = 1000 negatives on 120 words pushes the rows to inf, then NaN, within one chunk: the
    kernel's sigma table must not be read at a NaN score's index (it was: a segfault)."""
    rng = np.random.default_rng(1)
    corpus = tmp_path / "wide.txt"
    corpus.write_text("".join(" ".join(f"v{i}" for i in rng.integers(0, 120, 65)) + "\n"
                              for _ in range(90)))
    line = _refused(tmp_path, corpus, "--negative", 1000, "--combine", 8, "--threads", 1,
                    "--quiet", code=1)
    assert line.startswith("w2v: error: training diverged at epoch 1 (cost nan)")


@pytest.mark.parametrize("vocab_text, says", [
    ("zebra 3\nyak 2\n", "none of the 2 words"),
    ("g0m0 3\ng0m1 2\ng0m0 1\n", "'g0m0' is listed twice (first on line 1)"),
    ("g0m0 three\n", ":1: expected `word count`"),
    ("g0m0 0\n", "a count of at least 1"),
    ("g0m0 1 2\n", ":1: expected `word count`"),
    ("g0m0 ²\n", ":1: expected `word count`"),
    ("", "is empty"),
])
def test_bad_read_vocab_is_one_line(tmp_path, corpus, vocab_text, says):
    (tmp_path / "vocab.txt").write_text(vocab_text, encoding="utf-8")
    line = _refused(tmp_path, corpus, "--read-vocab", tmp_path / "vocab.txt", "--negative", 1,
                    code=1)
    assert says in line


def test_read_vocab_in_another_encoding_is_one_line(tmp_path, corpus):
    (tmp_path / "vocab.txt").write_bytes(b"caf\xe9 3\n")
    assert "not a UTF-8 vocabulary" in _refused(tmp_path, corpus, "--read-vocab",
                                                tmp_path / "vocab.txt", code=1)


@pytest.mark.parametrize("option, target", [
    ("--save-outside", "v.bin"), ("--save-outside", "v.bin.json"), ("--checkpoint", "v.bin"),
    ("--save-vocab", "v.bin"), ("--checkpoint", "v.bin.json"), ("--save-vocab", "v.bin.ckpt"),
])
def test_outputs_that_collide_are_refused(tmp_path, corpus, option, target):
    line = _refused(tmp_path, corpus, option, tmp_path / target, code=2)
    assert "the same file" in line


def test_an_output_that_is_the_same_file_by_another_name_is_refused(tmp_path, corpus):
    os.symlink(tmp_path, tmp_path / "link")
    line = _refused(tmp_path, corpus, "--save-outside", tmp_path / "link" / "v.bin", code=2)
    assert "--out" in line and "--save-outside" in line and "are the same file" in line


@pytest.mark.parametrize("option", ["--out", "--save-outside", "--checkpoint", "--save-vocab"])
def test_an_output_over_the_corpus_is_refused(tmp_path, corpus, option):
    line = _refused(tmp_path, corpus, option, corpus, code=2)
    assert "would overwrite the corpus" in line


def test_the_sidecar_over_the_corpus_is_refused(tmp_path):
    planted_corpus(tmp_path / "c.txt.json", sentences=200)
    proc = run_cli("train", "--corpus", tmp_path / "c.txt.json", "--out", tmp_path / "c.txt",
                   "--min-count", 1, "--epochs", 1)
    assert "the sidecar" in assert_one_line_error(proc, 2)
    assert not (tmp_path / "c.txt").exists()


def test_an_output_inside_a_corpus_directory_is_refused(tmp_path):
    (tmp_path / "texts").mkdir()
    planted_corpus(tmp_path / "texts" / "a.txt", sentences=200)
    before = (tmp_path / "texts" / "a.txt").read_bytes()
    proc = run_cli("train", "--corpus", tmp_path / "texts", "--out", tmp_path / "texts" / "v.bin",
                   "--min-count", 1, "--epochs", 1)
    assert "would overwrite the corpus" in assert_one_line_error(proc, 2)
    assert os.listdir(tmp_path / "texts") == ["a.txt"]
    assert (tmp_path / "texts" / "a.txt").read_bytes() == before


def test_out_over_read_vocab_is_refused(tmp_path, corpus):
    (tmp_path / "vocab.txt").write_text("g0m0 3\n")
    line = _refused(tmp_path, corpus, "--read-vocab", tmp_path / "vocab.txt",
                    "--save-outside", tmp_path / "vocab.txt", code=2)
    assert "would overwrite --read-vocab" in line


def test_empty_out_is_refused_up_front(tmp_path, corpus):
    assert "--out must not be empty" in _refused(tmp_path, corpus, "--out", "", code=2)


def test_a_directory_out_is_refused_up_front(tmp_path, corpus):
    (tmp_path / "d").mkdir()
    assert "is a directory" in _refused(tmp_path, corpus, "--out", tmp_path / "d", code=2)
    assert "names a directory" in _refused(tmp_path, corpus, "--out", f"{tmp_path}/new/", code=2)


def test_the_sidecar_is_strict_json_when_a_figure_is_not_a_number(tmp_path, corpus, monkeypatch):
    from w2v import sgd

    real = sgd.run_

    def run_without_a_first_epoch_pair(*args, **kw):  # an epoch of no pairs has a NaN mean cost
        trained = real(*args, **kw)
        args[8].epoch_costs[0] = float("nan")
        return trained

    monkeypatch.setattr(sgd, "run_", run_without_a_first_epoch_pair)
    train(TrainConfig(corpus=str(corpus), out=str(tmp_path / "v.bin"), epochs=2, min_count=1,
                      dim=10), quiet=True)

    def refuse(constant):
        raise ValueError(f"bare {constant} in the sidecar")

    meta = json.loads((tmp_path / "v.bin.json").read_text(), parse_constant=refuse)
    assert meta["epoch_costs"][0] is None and math.isfinite(meta["epoch_costs"][1])


def test_rows_that_end_not_finite_stop_the_run_and_save_nothing(tmp_path, corpus, monkeypatch):
    from w2v import steps

    make = steps.STEPS["skipgram", "neg"]

    def make_poisoned(config, vocab):  # a step whose cost stays finite while a row overflows
        step = make(config, vocab)

        def poisoned(sen, V, U, alpha, state):
            result = step(sen, V, U, alpha, state)
            if alpha > 0:  # not in the warm-up; the corpus is one chunk
                V[3, 0] = np.inf
            return result
        return poisoned

    monkeypatch.setitem(steps.STEPS, ("skipgram", "neg"), make_poisoned)
    with pytest.raises(W2VError, match="^training diverged: V holds values that are not finite; "
                                       "lower --alpha$"):
        train(TrainConfig(corpus=str(corpus), out=str(tmp_path / "v.bin"), min_count=1, dim=10,
                          epochs=1), quiet=True)
    assert sorted(os.listdir(tmp_path)) == ["c.txt"]
