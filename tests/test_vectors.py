import numpy as np
import pytest

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
