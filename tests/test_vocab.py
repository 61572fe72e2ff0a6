import numpy as np
import pytest

from w2v.errors import W2VError
from w2v.vocab import Vocab

WORDS = ["the", "and", "of", "cat", "dog", "emu"]  # sorted by count, then word
COUNTS = [50, 20, 20, 5, 4, 1]


def test_min_count_and_max_vocab_keep_a_prefix():
    assert Vocab.from_counts(WORDS, COUNTS, min_count=5).words == ["the", "and", "of", "cat"]
    assert Vocab.from_counts(WORDS, COUNTS, min_count=1, max_vocab=2).words == ["the", "and"]
    with pytest.raises(W2VError, match="min-count"):
        Vocab.from_counts(WORDS, COUNTS, min_count=51)


def test_save_and_read_the_c_tool_format(tmp_path):
    v = Vocab.from_counts(WORDS, COUNTS, min_count=1)
    v.save(tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text().splitlines()[:2] == ["the 50", "and 20"]
    back = Vocab.read(tmp_path / "vocab.txt")
    assert back.words == v.words and back.counts.tolist() == COUNTS


def test_read_sorts_by_count_then_word_and_rejects_bad_lines(tmp_path):
    (tmp_path / "v.txt").write_text("b 3\na 3\nz 9\n")
    assert Vocab.read(tmp_path / "v.txt").words == ["z", "a", "b"]
    (tmp_path / "bad.txt").write_text("a 3\nb three\n")
    with pytest.raises(W2VError, match="bad.txt:2"):
        Vocab.read(tmp_path / "bad.txt")


def test_keep_probabilities_follow_the_formula():
    v = Vocab(["a", "b", "c"], np.array([9000, 900, 100]))
    keep = v.keep_probabilities(1e-2)
    sT = 1e-2 * 10_000
    f = np.array([9000, 900, 100.0])
    np.testing.assert_allclose(keep, np.minimum(1, (np.sqrt(f / sT) + 1) * sT / f))
    assert keep[0] < keep[1] < keep[2] == 1.0
    assert np.all(v.keep_probabilities(0) == 1.0)
