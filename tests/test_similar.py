"""w2v similar, w2v eval and w2v plot on vectors whose answers are known."""
import json

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
from w2v import TrainConfig, train
from w2v.evaluate import analogies, rank, spearman, word_pairs
from w2v.vectors import Vectors

# Three axes: royalty, gender, fruitiness. king - man + woman lands exactly on queen.
KNOWN = {
    "king": [1.0, 1.0, 0.0], "queen": [1.0, -1.0, 0.0], "man": [0.0, 1.0, 0.0],
    "woman": [0.0, -1.0, 0.0], "prince": [0.9, 1.0, 0.1], "apple": [0.0, 0.0, 1.0],
    "pear": [0.05, 0.0, 1.0], "banana": [0.0, 0.1, 1.0],
}


@pytest.fixture
def known(tmp_path):
    path = tmp_path / "known.txt"
    Vectors(list(KNOWN), np.array(list(KNOWN.values()))).save(path, "text")
    return path


def _neighbours(stdout):
    return [line.split()[0] for line in stdout.splitlines() if line.startswith("  ")]


def test_neighbours_by_cosine_without_the_query(known):
    proc = run_cli("similar", known, "apple", "-n", 2)
    assert proc.returncode == 0, proc.stderr
    assert _neighbours(proc.stdout) == ["pear", "banana"]
    assert Vectors.load(str(known)).most_similar(["king"], topn=1)[0][0] == "prince"


@pytest.mark.parametrize("args", [["--analogy", "king", "man", "woman"],
                                  ["--positive", "king", "--positive", "woman", "--negative", "man"],
                                  ["--analogy", "king", "man", "woman", "--method", "mul"]])
def test_analogy_king_man_woman_is_queen(known, args):
    proc = run_cli("similar", known, *args, "-n", 1)
    assert proc.returncode == 0, proc.stderr
    assert _neighbours(proc.stdout) == ["queen"]


def test_restrict_searches_only_the_most_frequent(known):
    proc = run_cli("similar", known, "apple", "--restrict", 4, "-n", 10)
    assert set(_neighbours(proc.stdout)) == {"king", "queen", "man", "woman"}


def test_json_output(known):
    proc = run_cli("similar", known, "queen", "-n", 3, "--json")
    result = json.loads(proc.stdout)
    assert result["query"] == "queen" and len(result["results"]) == 3
    scores = [r["score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)


def test_unknown_word_suggests_close_spellings(known):
    line = assert_one_line_error(run_cli("similar", known, "quen"), code=1)
    assert "'quen' is not in the vocabulary" in line and "queen" in line


def test_queries_from_standard_input_until_eof(known):
    proc = run_cli("similar", known, "-n", 1, input="apple\n\nkingg\nwoman\n")
    assert proc.returncode == 0
    assert _neighbours(proc.stdout) == ["pear", "queen"]
    assert "kingg" in proc.stderr  # an unknown word is reported and the session goes on


@pytest.mark.parametrize("content, says", [
    (b"three 3\nking 1 2 3\n", "line 1"),
    (b"2 3\nking 1 2 3\nqueen 1 2\n", "line 3"),
    (b"3 3\nking 1 2 3\nqueen 1 2 3\n", "3 words"),
    (b"2 3\nking 1 2 x\nqueen 1 2 3\n", "line 2"),
])
def test_malformed_text_files_name_the_line(tmp_path, content, says):
    (tmp_path / "bad.txt").write_bytes(content)
    line = assert_one_line_error(run_cli("similar", tmp_path / "bad.txt", "king"), code=1)
    assert says in line


def test_truncated_binary_names_the_byte_offset(tmp_path, known):
    Vectors.load(str(known)).save(tmp_path / "v.bin", "bin")
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:len(data) - 7])
    line = assert_one_line_error(run_cli("similar", tmp_path / "cut.bin", "king"), code=1)
    assert "truncated" in line and "byte" in line


def test_binary_with_and_without_newlines_reads_the_same(tmp_path, rng):
    words, M = ["a", "bb", "ccc"], rng.normal(size=(3, 4)).astype("<f4")
    body = b"".join(w.encode() + b" " + row.tobytes() for w, row in zip(words, M))
    (tmp_path / "gensim-style.bin").write_bytes(b"3 4\n" + body)
    v = Vectors.load(str(tmp_path / "gensim-style.bin"))
    assert v.words == words and np.array_equal(v.matrix, M)


def test_missing_vector_file(tmp_path):
    assert "cannot read" in assert_one_line_error(run_cli("similar", tmp_path / "none.bin", "x"))


def test_rank_averages_ties_and_spearman_is_exact():
    np.testing.assert_array_equal(rank([10, 20, 20, 5]), [2, 3.5, 3.5, 1])
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_eval_on_known_vectors(tmp_path, known):
    (tmp_path / "q.txt").write_text(": royals\nman king woman queen\nman woman king queen\n"
                                    "KING QUEEN MAN WOMAN\nman king zebra queen\n: fruit\n"
                                    "apple pear king queen\n")
    report = analogies(Vectors.load(str(known)), str(tmp_path / "q.txt"))
    royals = report["sections"][0]
    assert royals["correct"] == 3 and royals["total"] == 3 and report["oov"] == 1
    (tmp_path / "p.tsv").write_text("# comment\nking\tprince\t8\napple\tpear\t9\nking\tapple\t1\n"
                                    "zebra\tking\t5\n")
    pairs = word_pairs(Vectors.load(str(known)), str(tmp_path / "p.tsv"))
    assert pairs["spearman"] == pytest.approx(1.0) and pairs["oov"] == 1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Real vectors from one quick epoch on the shipped corpus."""
    out = tmp_path_factory.mktemp("trained") / "v.bin"
    train(TrainConfig(out=str(out), epochs=1, dim=50, cache_dir=str(out.parent / "ids")), quiet=True)
    return out


def test_eval_agrees_with_gensim(trained):
    from gensim.models import KeyedVectors

    from w2v.evaluate import default_path

    kv = KeyedVectors.load_word2vec_format(str(trained), binary=True)
    vecs = Vectors.load(str(trained))
    ours = analogies(vecs, default_path("questions-words.txt"), restrict=30_000)
    theirs, sections = kv.evaluate_word_analogies(default_path("questions-words.txt"),
                                                  restrict_vocab=30_000)
    assert ours["correct"] > 0
    assert ours["accuracy"] == pytest.approx(theirs, abs=1e-3)
    total = next(s for s in sections if s["section"] == "Total accuracy")
    assert ours["correct"] == len(total["correct"])
    pearson, (rho, _), oov_pct = kv.evaluate_word_pairs(default_path("wordsim353.tsv"))
    pairs = word_pairs(vecs, default_path("wordsim353.tsv"))
    assert pairs["spearman"] == pytest.approx(rho, abs=1e-3)
    assert pairs["oov_percent"] == pytest.approx(oov_pct, abs=1e-6)


def test_cli_eval_prints_sections_and_totals(trained):
    proc = run_cli("eval", trained, "--json")
    report = json.loads(proc.stdout)
    assert {s["section"] for s in report["analogies"]["sections"]} >= {"family", "gram8-plural"}
    assert 0 < report["pairs"]["spearman"] < 1


def test_plot_writes_a_png(tmp_path, known):
    proc = run_cli("plot", known, "king", "queen", "apple", "pear", "-o", tmp_path / "w.png")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_eval_records_the_figures_in_the_sidecar(tmp_path):
    out = tmp_path / "v.bin"
    proc = run_cli("train", "--out", out, "--epochs", 1, "--dim", 20, "--max-vocab", 3000, "--eval", "-q")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "v.bin.json").read_text())
    assert meta["eval"]["analogies"]["total"] > 0 and -1 <= meta["eval"]["pairs"]["spearman"] <= 1
    assert "analogies total" in proc.stdout and "Spearman" in proc.stdout
