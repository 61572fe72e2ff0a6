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


# -- files the reader refuses, each with its own one-line message ----------------------------

def _binary(words, M, newline=True):
    return (f"{len(words)} {M.shape[1]}\n".encode()
            + b"".join(w.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b"")
                       for w, row in zip(words, M)))


@pytest.mark.parametrize("newline", [True, False])
@pytest.mark.parametrize("claimed", [7, 9])
def test_binary_header_with_a_wrong_dimension_is_named(tmp_path, rng, newline, claimed):
    words = "the of and to a in for is on that by this with i you it not or be are".split()
    data = _binary(words, rng.normal(size=(20, 8)), newline)
    (tmp_path / "v.bin").write_bytes(data.replace(b"20 8\n", f"20 {claimed}\n".encode(), 1))
    line = assert_one_line_error(run_cli("similar", tmp_path / "v.bin", "the"), code=1)
    assert f"the vectors have {claimed} numbers, but the records hold 8" in line


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_header_promising_more_than_the_file_holds_is_refused_before_allocating(tmp_path, gzipped):
    import gzip

    data = b"100000000000 100000\nking " + b"\0" * 400
    (tmp_path / "v.bin").write_bytes(gzip.compress(data) if gzipped else data)
    for command in ("similar", "eval"):
        args = [command, tmp_path / "v.bin"] + (["king"] if command == "similar" else [])
        line = assert_one_line_error(run_cli(*args), code=1)
        assert "the header promises 100,000,000,000 vectors of 100,000 numbers" in line


def test_binary_that_goes_on_after_its_vectors(tmp_path, rng):
    data = _binary(["a", "b", "c"], rng.normal(size=(3, 4)))
    (tmp_path / "v.bin").write_bytes(data.replace(b"3 4\n", b"2 4\n", 1))
    line = assert_one_line_error(run_cli("similar", tmp_path / "v.bin", "a"), code=1)
    assert "goes on after the 2 vectors its header announces" in line


def test_a_damaged_binary_word_is_named_with_its_byte_offset(tmp_path, rng):
    data = _binary(["alpha", "beta", "gamma"], rng.normal(size=(3, 4)))
    (tmp_path / "v.bin").write_bytes(data.replace(b"beta", b"be\x01a"))
    line = assert_one_line_error(run_cli("similar", tmp_path / "v.bin", "alpha"), code=1)
    assert "vector 2: the word 'be\\x01a' is not text" in line and "byte 27" in line  # 4 + 6 + 16 + 1


@pytest.mark.parametrize("content, says", [
    (b"three 3\nking 1 2 3\n", "line 1"),
    (b"2 3\nking 1 2 3\nqueen 1 2\n", "line 3"),
    (b"3 3\nking 1 2 3\nqueen 1 2 3\n", "3 words"),
    (b"2 3\nking 1 2 x\nqueen 1 2 3\n", "line 2"),
    (b"2 2\nking 1 2\nking 3 4\n", "the word 'king' is given twice: line 2 and line 3"),
    (b"2 2\nking 1 nan\nqueen 3 4\n", "line 2: value 2 of 'king' is nan"),
    (b"2 2\nnew york 1 2\nqueen 3 4\n", "line 2: the word 'new york' holds a space"),
    (b"3 2\nking 1 2\nqueen 3 4 5\nman 1 1\n", "line 3: expected a word and 2 numbers, got 3"),
    (b"2 2\nk\xe9ing 1 2\nqueen 3 4\n", "line 2: the word 'k\\xe9ing' is not UTF-8"),
    (b"2 2\nking 1 2\n\nqueen 3 4\n", "line 3 is blank"),
    (b"2 2\nking 1 2\nqueen 3 4\n\nman 5 6\n", "line 5: the file goes on after the 2 words"),
    (b"\x80\x04\x95gensim", "pickled gensim model"),
    (b"", "empty"),
])
def test_each_malformed_text_file_has_its_own_message(tmp_path, content, says):
    (tmp_path / "bad.txt").write_bytes(content)
    line = assert_one_line_error(run_cli("similar", tmp_path / "bad.txt", "king"), code=1)
    assert says in line


def test_a_word_given_twice_in_a_binary_file(tmp_path, rng):
    (tmp_path / "v.bin").write_bytes(_binary(["a", "b", "a"], rng.normal(size=(3, 4))))
    line = assert_one_line_error(run_cli("similar", tmp_path / "v.bin", "a"), code=1)
    assert "'a' is given twice: vector 1 and vector 3" in line


def test_nan_in_a_binary_file(tmp_path):
    M = np.array([[1, 2], [np.nan, 1]])
    (tmp_path / "v.bin").write_bytes(_binary(["a", "b"], M))
    line = assert_one_line_error(run_cli("similar", tmp_path / "v.bin", "a"), code=1)
    assert "vector 2: value 1 of 'b' is nan" in line


def test_gensim_model_file_says_how_to_export(tmp_path):
    from gensim.models import Word2Vec

    model = Word2Vec([["a", "b", "c"]] * 20, vector_size=4, min_count=1, epochs=1)
    model.save(str(tmp_path / "w.model"))
    line = assert_one_line_error(run_cli("similar", tmp_path / "w.model", "a"), code=1)
    assert "model.wv.save_word2vec_format(" in line


def test_similar_limit_searches_only_the_first_words(known):
    proc = run_cli("similar", known, "king", "--limit", 4, "-n", 10)
    assert set(_neighbours(proc.stdout)) == {"queen", "man", "woman"}
    assert "'apple' is not in the vocabulary" in assert_one_line_error(
        run_cli("similar", known, "apple", "--limit", 4))


def test_eval_limit_and_no_header(tmp_path, known):
    (tmp_path / "glove.txt").write_text("".join(known.read_text().splitlines(True)[1:]))
    (tmp_path / "q.txt").write_text(": royals\nman king woman queen\n: fruit\napple pear apple pear\n")
    proc = run_cli("eval", tmp_path / "glove.txt", "--analogies", tmp_path / "q.txt", "--limit", 5,
                   "--no-header", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["analogies"]
    assert report["correct"] == 1 and report["oov"] == 1  # apple and pear are past the limit


# -- plot -----------------------------------------------------------------------------------

def test_plot_names_the_words_it_could_not_draw(tmp_path, known):
    proc = run_cli("plot", known, "king", "zebra", "queen", "-o", tmp_path / "w.svg")
    assert proc.returncode == 0, proc.stderr
    assert "not drawn: zebra (not in the vocabulary)" in proc.stderr
    assert b"<svg" in (tmp_path / "w.svg").read_bytes()


@pytest.mark.parametrize("out, says", [(".", "is a directory"), ("w.xyz", ".xyz is not an image format"),
                                       ("no/such/dir/w.png", "cannot write")])
def test_plot_refuses_an_output_it_cannot_write(tmp_path, known, out, says):
    line = assert_one_line_error(run_cli("plot", known, "king", "queen", "-o", tmp_path / out))
    assert says in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["known.txt"]


def test_plot_skips_rows_that_are_not_finite(tmp_path):
    from w2v.plot import plot_words

    vecs = Vectors(["a", "b", "c"], np.array([[1, 0], [0, 1], [np.nan, 1]]))
    missing = plot_words(vecs, ["a", "b", "c"], str(tmp_path / "w.png"))
    assert missing == [("c", "its vector is not finite")]


def test_many_queries_from_standard_input_answer_as_one_by_one(known):
    words = list(KNOWN) * 50
    batch = run_cli("similar", known, "-n", 2, input="\n".join(words) + "\n")
    one_by_one = [run_cli("similar", known, w, "-n", 2).stdout for w in KNOWN]
    assert batch.returncode == 0, batch.stderr
    assert batch.stdout == "".join(one_by_one) * 50
