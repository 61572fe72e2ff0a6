import sys

import numpy as np
import pytest

from w2v.errors import W2VError
from w2v.vectors import Vectors

gensim_models = pytest.importorskip("gensim.models")


@pytest.fixture
def vectors(rng):
    words = ["king", "queen", "man", "woman", "café", "x"]
    return Vectors(words, rng.normal(size=(len(words), 7)).astype(np.float32))


@pytest.mark.parametrize("fmt", ["bin", "text"])
def test_gensim_reads_what_we_write(tmp_path, vectors, fmt):
    path = tmp_path / f"v.{fmt}"
    vectors.save(path, fmt)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=fmt == "bin")
    assert list(kv.index_to_key) == vectors.words
    np.testing.assert_allclose(kv.vectors, vectors.matrix, rtol=1e-6 if fmt == "text" else 0)


@pytest.mark.parametrize("fmt", ["bin", "text"])
def test_we_read_what_gensim_writes(tmp_path, vectors, fmt):
    kv = gensim_models.KeyedVectors(vector_size=vectors.dim)
    kv.add_vectors(vectors.words, vectors.matrix)
    path = tmp_path / f"g.{fmt}"
    kv.save_word2vec_format(str(path), binary=fmt == "bin")
    back = Vectors.load(str(path))
    assert back.words == vectors.words
    np.testing.assert_allclose(back.matrix, vectors.matrix, rtol=1e-6)


@pytest.mark.parametrize("fmt", ["bin", "text"])
def test_round_trip_through_gensim(tmp_path, vectors, fmt):
    vectors.save(tmp_path / "a", fmt)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "a"), binary=fmt == "bin")
    kv.save_word2vec_format(str(tmp_path / "b"), binary=fmt == "bin")
    back = Vectors.load(str(tmp_path / "b"))
    assert back.words == vectors.words
    np.testing.assert_allclose(back.matrix, vectors.matrix, rtol=1e-6)


def test_binary_is_the_c_tool_layout(tmp_path):
    Vectors(["ab", "c"], np.array([[1.0, 2.0], [3.0, -1.0]])).save(tmp_path / "v.bin", "bin")
    expected = (b"2 2\nab " + np.array([1, 2], "<f4").tobytes() + b"\n"
                + b"c " + np.array([3, -1], "<f4").tobytes() + b"\n")
    assert (tmp_path / "v.bin").read_bytes() == expected


# -- reading in bounded memory --------------------------------------------------------------

def test_loading_holds_at_most_a_block_beyond_the_matrix(tmp_path, rng):
    import tracemalloc

    from w2v import vectors as vectors_module

    W, d = 100_000, 50
    words = [f"w{i}" for i in range(W)]
    Vectors(words, rng.normal(size=(W, d)).astype(np.float32)).save(tmp_path / "v.bin", "bin")
    tracemalloc.start()
    loaded = Vectors.load(str(tmp_path / "v.bin"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    words_bytes = sum(map(sys.getsizeof, loaded.words)) + sys.getsizeof(loaded.words) \
        + sys.getsizeof(loaded.index)
    beyond = peak - loaded.matrix.nbytes - words_bytes
    assert beyond < 2.5 * vectors_module.BLOCK_BYTES, beyond / 2 ** 20  # the file is 20 MB
    assert loaded.words == words


def test_normalise_scales_in_place_and_queries_agree(vectors):
    before = vectors.most_similar(["king"], topn=3)
    vectors.normalise_()
    assert np.shares_memory(vectors.unit, vectors.matrix)
    np.testing.assert_allclose(np.linalg.norm(vectors.matrix, axis=1), 1, rtol=1e-6)
    after = vectors.most_similar(["king"], topn=3)
    assert [w for w, _ in after] == [w for w, _ in before]
    np.testing.assert_allclose([s for _, s in after], [s for _, s in before], rtol=1e-5)


def test_a_batch_of_queries_answers_as_numpy_does(rng, monkeypatch):
    from w2v import vectors as vectors_module

    monkeypatch.setattr(vectors_module, "SCORE_FLOATS", 64)  # many blocks of rows per query batch
    W = 500
    vecs = Vectors([f"w{i}" for i in range(W)], rng.normal(size=(W, 16)).astype(np.float32))
    queries = [["w1"], ["w2", "w30"], ["w499"], ["w7", "w7"]]
    answers = vecs.most_similar_batch(queries, topn=5, restrict=400)
    unit = vecs.matrix / np.linalg.norm(vecs.matrix, axis=1, keepdims=True)
    for query, answer in zip(queries, answers):
        q = unit[[int(w[1:]) for w in query]].sum(axis=0)
        cos = unit[:400] @ q / np.linalg.norm(q)
        cos[[int(w[1:]) for w in query if int(w[1:]) < 400]] = -np.inf
        expected = np.argsort(-cos)[:5]
        assert [w for w, _ in answer] == [f"w{i}" for i in expected]
        np.testing.assert_allclose([s for _, s in answer], cos[expected], rtol=1e-5)
    single = vecs.most_similar(["w1"], topn=5, restrict=400)
    assert [w for w, _ in answers[0]] == [w for w, _ in single]


# -- text flavours --------------------------------------------------------------------------

def test_fasttext_vec_rows_end_in_a_space(tmp_path):
    (tmp_path / "v.vec").write_bytes(b"2 3\nthe 0.1 0.2 0.3 \n, -1 0 1e-3 \n")
    v = Vectors.load(str(tmp_path / "v.vec"))
    assert v.words == ["the", ","]
    np.testing.assert_allclose(v.matrix, [[0.1, 0.2, 0.3], [-1, 0, 1e-3]], rtol=1e-6)


@pytest.mark.parametrize("no_header", [False, True])
def test_glove_files_without_a_header(tmp_path, no_header):
    (tmp_path / "glove.txt").write_bytes(b"the 0.1 0.2 0.3\nof -1 0 2\nand 4 5 6\n")
    v = Vectors.load(str(tmp_path / "glove.txt"), no_header=no_header)
    assert v.words == ["the", "of", "and"] and v.dim == 3
    assert v.matrix[2].tolist() == [4, 5, 6]


def test_no_header_reads_a_first_line_that_looks_like_one(tmp_path):
    (tmp_path / "glove.txt").write_bytes(b"2 3\n7 1\n")  # d = 1: words "2" and "7"
    v = Vectors.load(str(tmp_path / "glove.txt"), no_header=True)
    assert v.words == ["2", "7"] and v.matrix.ravel().tolist() == [3, 1]


@pytest.mark.parametrize("fmt", ["bin", "text"])
def test_non_ascii_words(tmp_path, fmt):
    words = ["café", "東京", "naïve", "ß"]
    Vectors(words, np.eye(4)).save(tmp_path / "v", fmt)
    assert Vectors.load(str(tmp_path / "v")).words == words


@pytest.mark.parametrize("fmt", ["bin", "text"])
@pytest.mark.parametrize("errors, expected", [("replace", "caf\ufffd"), ("ignore", "caf")])
def test_unicode_errors_as_gensim(tmp_path, fmt, errors, expected):
    Vectors(["cafe", "x"], np.eye(2)).save(tmp_path / "v", fmt)
    data = (tmp_path / "v").read_bytes().replace(b"cafe", b"caf\xe9", 1)  # latin-1 e-acute
    (tmp_path / "v").write_bytes(data)
    v = Vectors.load(str(tmp_path / "v"), unicode_errors=errors)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "v"), binary=fmt == "bin",
                                                         unicode_errors=errors)
    assert v.words == [expected, "x"] == list(kv.index_to_key)


@pytest.mark.parametrize("fmt", ["bin", "text"])
def test_gz_round_trip_read_by_gensim(tmp_path, vectors, fmt):
    path = tmp_path / f"v.{fmt}.gz"
    vectors.save(path, fmt)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=fmt == "bin")
    assert list(kv.index_to_key) == vectors.words
    back = Vectors.load(str(path))
    assert back.words == vectors.words
    np.testing.assert_allclose(back.matrix, vectors.matrix, rtol=1e-6)


@pytest.mark.parametrize("fmt", ["bin", "text"])
def test_limit_reads_only_the_first_words(tmp_path, vectors, fmt):
    vectors.save(tmp_path / "v", fmt)
    data = (tmp_path / "v").read_bytes()
    (tmp_path / "v").write_bytes(data + b"\0 garbage that is never read \xff")
    v = Vectors.load(str(tmp_path / "v"), limit=2)
    assert v.words == vectors.words[:2]
    np.testing.assert_allclose(v.matrix, vectors.matrix[:2], rtol=1e-6)


def test_limit_on_a_file_without_header(tmp_path):
    (tmp_path / "glove.txt").write_bytes(b"a 1 2\nb 3 4\nc 5 6\n")
    assert Vectors.load(str(tmp_path / "glove.txt"), limit=2).words == ["a", "b"]
    assert Vectors.load(str(tmp_path / "glove.txt"), limit=9).words == ["a", "b", "c"]


def test_one_trailing_blank_line_is_read_as_gensim_reads_it(tmp_path):
    (tmp_path / "v.txt").write_bytes(b"2 2\na 1 2\nb 3 4\n\n")
    assert Vectors.load(str(tmp_path / "v.txt")).words == ["a", "b"]
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    assert list(kv.index_to_key) == ["a", "b"]


def test_numbers_numpy_refuses_but_python_reads(tmp_path):
    (tmp_path / "v.txt").write_bytes(b"2 2\na 1_000 2\nb 3 4\n")
    assert Vectors.load(str(tmp_path / "v.txt")).matrix.tolist() == [[1000, 2], [3, 4]]
    (tmp_path / "v.txt").write_bytes(b"2 2\na 1_000 2\nb Infinity 4\n")
    with pytest.raises(W2VError, match="line 3: value 1 of 'b' is inf"):
        Vectors.load(str(tmp_path / "v.txt"))


@pytest.mark.parametrize("fmt", ["bin", "text", "glove"])
def test_blocks_of_any_size_read_the_same(tmp_path, rng, monkeypatch, fmt):
    from w2v import vectors as vectors_module

    words = [f"{'w' * (i % 7 + 1)}{i}" for i in range(200)]
    vecs = Vectors(words, rng.normal(size=(200, 5)).astype(np.float32))
    vecs.save(tmp_path / "v", "bin" if fmt == "bin" else "text")
    if fmt == "glove":
        (tmp_path / "v").write_bytes((tmp_path / "v").read_bytes().split(b"\n", 1)[1])
    whole = Vectors.load(str(tmp_path / "v"))
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 23)
    for limit in (None, 1, 2, 199, 200, 201):
        small = Vectors.load(str(tmp_path / "v"), limit=limit)
        assert small.words == whole.words[:limit]
        assert np.array_equal(small.matrix, whole.matrix[:limit])


def test_bench_vectors_runs_side_by_side_on_a_small_file(tmp_path):
    import json
    import subprocess
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"
    proc = subprocess.run([sys.executable, str(bench), "--vectors", "--vectors-size", "3000x16",
                           "--queries", "20", "--repeats", "1", "--json", str(tmp_path / "b.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "b.json").read_text())["vectors"]
    assert result["W"] == 3000 and result["d"] == 16
    for tool in ("w2v", "gensim"):
        assert result[tool]["load_seconds"] > 0 and result[tool]["peak_rss"] > result[tool]["matrix_bytes"]
    assert "w2v/g" in proc.stdout


def test_a_binary_vector_with_a_newline_byte_early_is_still_binary(tmp_path):
    first = np.frombuffer(b"=\n\0\0" + b"\0\0\x80?" * 49, "<f4")  # reads as `word =` then a newline
    vecs = Vectors(["a", "b"], np.stack([first, np.ones(50, np.float32)]))
    vecs.save(tmp_path / "v.bin", "bin")
    back = Vectors.load(str(tmp_path / "v.bin"))
    assert back.words == ["a", "b"] and np.array_equal(back.matrix, vecs.matrix)
