"""w2v as a gensim user meets it: the KeyedVectors methods, `w2v eval` without flags, and the option
names of word2vec.c and gensim, each checked against gensim on the same file."""
import json
import logging

import numpy as np
import pytest
from gensim.models import KeyedVectors

from conftest import assert_one_line_error, planted_corpus, run_cli
from w2v import W2VError
from w2v.aliases import RENAMES, SWITCHES
from w2v.evaluate import analogies, default_path, word_pairs
from w2v.vectors import Vectors

QUESTIONS, PAIRS = default_path("questions-words.txt"), default_path("wordsim353.tsv")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One small vector file (200 random vectors, d=16) loaded by w2v and by gensim."""
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("api") / "v.txt"
    Vectors([f"w{i}" for i in range(200)], rng.normal(size=(200, 16))).save(path, "text")
    return Vectors.load(str(path)), KeyedVectors.load_word2vec_format(str(path))


def assert_same_neighbours(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_similarity_and_distance_are_gensims(both):
    ours, theirs = both
    for w1, w2 in [("w0", "w1"), ("w5", "w5"), ("w17", "w180")]:
        assert ours.similarity(w1, w2) == pytest.approx(theirs.similarity(w1, w2), abs=1e-6)
        assert ours.distance(w1, w2) == pytest.approx(theirs.distance(w1, w2), abs=1e-6)
    others = [f"w{i}" for i in range(20, 40)]
    assert ours.most_similar_to_given("w0", others) == theirs.most_similar_to_given("w0", others)


def test_n_similarity_is_gensims(both):
    ours, theirs = both
    for ws1, ws2 in [(["w0", "w1"], ["w2"]), (["w3", "w4", "w5"], ["w6", "w7"])]:
        assert ours.n_similarity(ws1, ws2) == pytest.approx(theirs.n_similarity(ws1, ws2), abs=1e-6)


def test_doesnt_match_is_gensims(both):
    ours, theirs = both
    rng = np.random.default_rng(0)
    for _ in range(20):
        words = [str(w) for w in rng.choice(ours.words, 5, replace=False)]
        assert ours.doesnt_match(words) == theirs.doesnt_match(words)
        assert [w for _, w in ours.rank_by_centrality(words)] == \
            [w for _, w in theirs.rank_by_centrality(words)]


def test_most_similar_cosmul_is_gensims(both):
    ours, theirs = both
    for positive, negative in [(["w0", "w1"], ["w2"]), ("w3", None), (["w4"], ["w5", "w6"])]:
        assert_same_neighbours(ours.most_similar_cosmul(positive, negative, topn=5),
                               theirs.most_similar_cosmul(positive, negative, topn=5))


def test_similar_by_vector_and_by_word_are_gensims(both):
    ours, theirs = both
    vector = np.random.default_rng(1).normal(size=16).astype(np.float32)
    found = {}
    for restrict_vocab in (None, 50):
        for kv in (ours, theirs):
            found[kv] = (kv.similar_by_vector(vector, topn=10, restrict_vocab=restrict_vocab),
                         kv.similar_by_word("w9", topn=7, restrict_vocab=restrict_vocab))
        assert_same_neighbours(found[ours][0], found[theirs][0])
        assert_same_neighbours(found[ours][1], found[theirs][1])


def test_distances_are_gensims(both):
    ours, theirs = both
    vector = np.random.default_rng(2).normal(size=16).astype(np.float32)
    np.testing.assert_allclose(ours.distances("w0"), theirs.distances("w0"), atol=1e-6)
    np.testing.assert_allclose(ours.distances("w0", ["w1", "w2"]),
                               theirs.distances("w0", ["w1", "w2"]), atol=1e-6)
    np.testing.assert_allclose(ours.distances(vector, ["w3"]), theirs.distances(vector, ["w3"]),
                               atol=1e-6)


def test_rank_and_closer_than_are_gensims(both):
    ours, theirs = both
    for key1, key2 in [("w0", "w1"), ("w0", "w150"), ("w10", "w10"), ("w42", "w7")]:
        assert ours.rank(key1, key2) == theirs.rank(key1, key2)
        assert ours.closer_than(key1, key2) == theirs.closer_than(key1, key2)


def test_lookups_and_attributes_are_gensims(both):
    ours, theirs = both
    assert ours.key_to_index == theirs.key_to_index and ours.index_to_key == theirs.index_to_key
    assert ours.vector_size == theirs.vector_size == 16
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    np.testing.assert_array_equal(ours[["w1", "w2"]], theirs[["w1", "w2"]])
    np.testing.assert_allclose(ours.get_vector("w3", norm=True), theirs.get_vector("w3", norm=True),
                               atol=1e-6)
    np.testing.assert_allclose(ours.get_normed_vectors(), theirs.get_normed_vectors(), atol=1e-6)
    assert ours.get_index(5) == theirs.get_index(5) == 5
    assert ("w3" in ours, "nope" in ours) == ("w3" in theirs, "nope" in theirs) == (True, False)
    assert ours.has_index_for("w3") and not ours.has_index_for("nope")
    assert not ours.get_vector("w1").flags.writeable  # as gensim: the row is a view of the vectors


def test_unknown_word_is_a_key_error_as_in_gensim_and_a_w2v_error(both):
    ours, _ = both
    with pytest.raises(KeyError) as caught:
        ours.similarity("w0", "w1000")
    assert isinstance(caught.value, W2VError) and str(caught.value).startswith("'w1000' is not")


def test_save_word2vec_format_is_read_back_by_gensim_and_w2v(both, tmp_path):
    ours, _ = both
    ours.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    theirs = KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    assert theirs.index_to_key == ours.index_to_key
    np.testing.assert_array_equal(theirs.vectors, ours.vectors)
    np.testing.assert_array_equal(Vectors.load_word2vec_format(str(tmp_path / "v.bin")).vectors,
                                  ours.vectors)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Vectors for the shipped analogy and word-pair sets whose answers are partly right.

    In each analogy section, b = a + the section's offset + noise; word-pair vectors lie closer
    the higher their human score. 15% of the words are left out (out of vocabulary), and a fifth
    of the rest also appear capitalised with a random vector ("king" and "King"), in a random
    (frequency) order, so the case rules and the restriction decide some answers.
    """
    rng = np.random.default_rng(0)
    d, vec, offset = 24, {}, None
    with open(QUESTIONS, encoding="utf-8") as f:
        for line in f:
            if line.startswith(": "):
                offset = rng.normal(size=d)
                continue
            a, b, c, e = line.lower().split()
            for x, y in ((a, b), (c, e)):
                vec.setdefault(x, rng.normal(size=d))
                vec.setdefault(y, vec[x] + offset + 0.7 * rng.normal(size=d))
    with open(PAIRS, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                a, b, score = line.lower().split("\t")
                vec.setdefault(a, rng.normal(size=d))
                vec.setdefault(b, vec[a] + (10 - float(score)) / 5 * rng.normal(size=d))
    words = [w for w in sorted(vec) if rng.random() > 0.15]
    capitalised = [w.capitalize() for w in words if rng.random() < 0.2 and w.capitalize() != w]
    vec.update((w, rng.normal(size=d)) for w in capitalised)
    words = [str(w) for w in rng.permutation(words + capitalised)]
    path = tmp_path_factory.mktemp("planted") / "planted.txt"
    Vectors(words, np.array([vec[w] for w in words])).save(path, "text")
    return str(path)


@pytest.fixture(scope="module")
def few_questions(tmp_path_factory):
    """Every 10th question of the shipped analogy set, with its section lines."""
    with open(QUESTIONS, encoding="utf-8") as f:
        lines = [line for i, line in enumerate(f) if line.startswith(": ") or i % 10 == 0]
    path = tmp_path_factory.mktemp("few") / "few.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


def gensim_sections(sections):
    return [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
            for s in sections if s["section"] != "Total accuracy"]


def ours_sections(report):
    return [(s["section"], s["correct"], s["total"]) for s in report["sections"]]


def test_eval_defaults_are_gensims():
    import inspect

    from w2v.cli import eval_
    from w2v.evaluate import DEFAULT_RESTRICT

    for method in (KeyedVectors.evaluate_word_analogies, KeyedVectors.evaluate_word_pairs):
        theirs = inspect.signature(method).parameters
        assert theirs["restrict_vocab"].default == DEFAULT_RESTRICT == 300_000
        assert theirs["case_insensitive"].default is True
    ours = eval_.make_context("eval", ["v.bin"]).params  # what `w2v eval v.bin` runs with
    assert ours["restrict"] == DEFAULT_RESTRICT and ours["case_sensitive"] is False
    for ours in (analogies, word_pairs):
        params = inspect.signature(ours).parameters
        assert params["restrict"].default == DEFAULT_RESTRICT and params["case_insensitive"].default


def test_eval_without_flags_gives_gensims_numbers(planted, caplog):
    proc = run_cli("eval", planted, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    kv = KeyedVectors.load_word2vec_format(planted)
    with caplog.at_level(logging.INFO, logger="gensim.models.keyedvectors"):
        accuracy, sections = kv.evaluate_word_analogies(QUESTIONS)
    oov_percent = next(r.args[0] for r in caplog.records if r.msg.startswith("Quadruplets with"))
    a = report["analogies"]
    assert 0 < a["correct"] < a["total"] and a["oov"] > 0
    assert ours_sections(a) == gensim_sections(sections)
    assert a["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert a["oov_percent"] == pytest.approx(oov_percent, abs=1e-9)
    (pearson, _), (spearman, _), pairs_oov_percent = kv.evaluate_word_pairs(PAIRS)
    p = report["pairs"]
    assert p["pearson"] == pytest.approx(pearson, abs=1e-6) and p["pearson"] > 0.2
    assert p["spearman"] == pytest.approx(spearman, abs=1e-6)
    assert p["oov_percent"] == pytest.approx(pairs_oov_percent, abs=1e-9) and p["oov"] > 0


def test_eval_restrict_applies_to_word_pairs_too_as_in_gensim(planted):
    report = json.loads(run_cli("eval", planted, "--restrict", 300, "--json").stdout)
    kv = KeyedVectors.load_word2vec_format(planted)
    _, sections = kv.evaluate_word_analogies(QUESTIONS, restrict_vocab=300)
    assert ours_sections(report["analogies"]) == gensim_sections(sections)
    (pearson, _), (spearman, _), oov_percent = kv.evaluate_word_pairs(PAIRS, restrict_vocab=300)
    assert oov_percent > 80
    assert report["pairs"]["oov_percent"] == pytest.approx(oov_percent, abs=1e-9)
    assert report["pairs"]["pearson"] == pytest.approx(pearson, abs=1e-6)
    assert report["pairs"]["spearman"] == pytest.approx(spearman, abs=1e-6)


def test_eval_case_sensitive_is_gensims_case_insensitive_false(planted, few_questions):
    proc = run_cli("eval", planted, "--analogies", few_questions, "--case-sensitive", "--json")
    report = json.loads(proc.stdout)
    kv = KeyedVectors.load_word2vec_format(planted)
    _, sections = kv.evaluate_word_analogies(few_questions, case_insensitive=False)
    _, insensitive = kv.evaluate_word_analogies(few_questions)
    assert ours_sections(report["analogies"]) == gensim_sections(sections)
    assert gensim_sections(sections) != gensim_sections(insensitive)
    (pearson, _), _, oov_percent = kv.evaluate_word_pairs(PAIRS, case_insensitive=False)
    assert report["pairs"]["pearson"] == pytest.approx(pearson, abs=1e-6)
    assert report["pairs"]["oov_percent"] == pytest.approx(oov_percent, abs=1e-9)


def test_dummy4unknown_scores_out_of_vocabulary_as_gensim(planted, few_questions):
    ours, kv = Vectors.load(planted), KeyedVectors.load_word2vec_format(planted)
    accuracy, sections = kv.evaluate_word_analogies(few_questions, dummy4unknown=True)
    report = analogies(ours, few_questions, dummy4unknown=True)
    assert ours_sections(report) == gensim_sections(sections)
    assert report["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    (pearson, _), (spearman, _), oov_percent = kv.evaluate_word_pairs(PAIRS, dummy4unknown=True)
    pairs = word_pairs(ours, PAIRS, dummy4unknown=True)
    assert (pairs["pearson"], pairs["spearman"]) == pytest.approx((pearson, spearman), abs=1e-6)
    assert pairs["oov_percent"] == pytest.approx(oov_percent, abs=1e-9)


def test_eval_skips_the_lines_gensim_skips_and_says_which(planted, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# a comment\nWord 1\tWord 2\tHuman (mean)\ntiger\tcat\t7.35\n"
                     "king\tqueen\t8.58\nmoney\tcash\t9.15\nbook\tpaper\tlibrary\t7.46\n"
                     "computer\tkeyboard\t7.62\n")
    (pearson, _), (spearman, _), oov_percent = \
        KeyedVectors.load_word2vec_format(planted).evaluate_word_pairs(str(pairs))
    report = word_pairs(Vectors.load(planted), str(pairs))
    assert report["invalid_lines"] == [2, 6]
    assert (report["pearson"], report["spearman"], report["oov_percent"]) == \
        pytest.approx((pearson, spearman, oov_percent), abs=1e-6)
    proc = run_cli("eval", planted, "--pairs", pairs, "--restrict", 300)  # 300: quick analogies
    assert proc.returncode == 0 and "skipped 2 line(s) that are not pairs (line 2)" in proc.stderr


def test_eval_report_shows_pearson_and_the_oov_percentage(planted):
    (pearson, _), (spearman, _), oov_percent = KeyedVectors.load_word2vec_format(
        planted).evaluate_word_pairs(PAIRS, restrict_vocab=300)
    proc = run_cli("eval", planted, "--restrict", 300)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("word pairs Pearson"))
    assert line.split()[-1] == f"{pearson:.4f}"
    assert f"{spearman:.4f}" in proc.stdout
    assert f"{oov_percent:.1f}% out of vocabulary" in proc.stdout


def test_eval_file_that_is_not_utf8_is_one_line(planted, tmp_path):
    (tmp_path / "q.txt").write_bytes(b": s\n\xff\xfe a b c\n")
    line = assert_one_line_error(run_cli("eval", planted, "--analogies", tmp_path / "q.txt"), code=1)
    assert "q.txt: byte 4: not UTF-8 text" in line


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "c.txt"
    planted_corpus(path, sentences=300)
    return path


@pytest.mark.parametrize("args, settings", [
    (["-size", 12, "-window", 3, "-sample", 1e-4, "-negative", 7, "-hs", 0, "-threads", 1,
      "-binary", 0, "-iter", 2, "-min-count", 1, "-alpha", 0.05, "-cbow", 0, "-debug", 0],
     {"dim": 12, "window": 3, "sample": 1e-4, "negative": 7, "threads": 1, "format": "text",
      "epochs": 2, "min_count": 1, "alpha": 0.05}),
    (["--vector_size=6", "--workers", 1, "--min_count", 1, "--epochs", 1, "--max_final_vocab", 20,
      "--sg", 1, "--hs", 0, "--ns_exponent", 0.5, "--min_alpha", 0.001, "--binary", 1, "-q"],
     {"dim": 6, "threads": 1, "min_count": 1, "max_vocab": 20, "ns_exponent": 0.5,
      "min_alpha": 0.001, "format": "bin"}),
    (["--size", 7, "--iter", 1, "--min-count", 1, "--cbow", 0, "-q"], {"dim": 7, "epochs": 1}),
    (["--vector-size", 5, "--epochs", 1, "-q"], {"dim": 5}),
], ids=["word2vec.c", "gensim", "gensim-3", "vector-size"])
def test_peer_option_names_train_what_they_say(tmp_path, corpus, args, settings):
    out = tmp_path / "v.out"
    proc = run_cli("train", "-train", corpus, "-output", out, *args)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # -debug 0 and -q: quiet
    meta = json.loads((tmp_path / "v.out.json").read_text())
    assert meta["settings"]["corpus"] == str(corpus) and meta["settings"]["out"] == str(out)
    assert {k: meta["settings"][k] for k in settings} == settings


@pytest.mark.parametrize("args, message", [
    (["-hs", 1, "-negative", 5], "-hs 1 with negatives: w2v trains one loss"),
    (["--hs", "--negative=3"], "-hs 1 with negatives: w2v trains one loss"),
    (["-classes", 100], "-classes: word classes"),
    (["--max_vocab_size", 1000], "--max_vocab_size: gensim's max_vocab_size"),
    (["--batch_words", 10000], "--batch_words: gensim's batch_words"),
    (["-binary", 2], "-binary takes 1 or 0, got '2'"),
])
def test_peer_option_w2v_lacks_is_one_line_pointing_to_the_reason(args, message):
    assert message in assert_one_line_error(run_cli("train", *args), code=2)


def test_every_peer_name_points_to_an_option_of_train():
    from w2v.cli import train

    known = {opt for p in train.params for opt in p.opts}
    targets = {t for v in SWITCHES.values() for m in v.values() if isinstance(m, list) for t in m}
    assert set(RENAMES.values()) | {t for t in targets if t.startswith("-")} <= known


def test_peer_option_names_stay_out_of_help():
    help_text = run_cli("train", "--help").stdout
    assert "--corpus" in help_text
    for name in ("--size", "-train", "--workers", "--iter", "--sg"):
        assert name not in help_text



def test_most_similar_takes_one_word_and_restrict_vocab_as_gensim(tmp_path):
    from w2v import Vectors

    words = [f"w{i}" for i in range(20)]
    matrix = np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)
    vectors = Vectors(words, matrix)
    assert vectors.most_similar("w3", topn=4) == vectors.most_similar(["w3"], topn=4)
    restricted = vectors.most_similar("w3", topn=4, restrict_vocab=6)
    assert restricted == vectors.most_similar(["w3"], topn=4, restrict=6)
    assert all(vectors.key_to_index[w] < 6 for w, _ in restricted)
