import bz2
import gzip

import numpy as np
import pytest

from w2v import corpus
from w2v.errors import W2VError


def _sentences(path, **kw):
    return list(corpus.sentences(corpus.corpus_files(str(path)), **kw))


def test_lines_are_sentences_lowercased_and_whitespace_split(tmp_path):
    (tmp_path / "c.txt").write_text("The Cat  sat\n\n\tOn the MAT.\nlast line")
    assert _sentences(tmp_path / "c.txt") == [["the", "cat", "sat"], ["on", "the", "mat."],
                                              ["last", "line"]]


def test_words_tokenizer_takes_runs_of_unicode_letters(tmp_path):
    (tmp_path / "c.txt").write_text("Café au-lait, 42 times: naïve!\n")
    assert _sentences(tmp_path / "c.txt", tokens="words") == [["café", "au", "lait", "times", "naïve"]]


def test_long_lines_are_cut_into_pieces_and_nothing_is_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "BLOCK_BYTES", 1000)  # the line spans many blocks, none has "\n"
    words = [f"w{i}" for i in range(25_000)]
    (tmp_path / "c.txt").write_text(" ".join(words) + "\nshort one\n")
    got = _sentences(tmp_path / "c.txt")
    assert [len(s) for s in got] == [10_000, 10_000, 5_000, 2]
    assert sum(got[:3], []) == words


def test_compressed_files_and_directories(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    with gzip.open(d / "a.txt.gz", "wt") as f:
        f.write("one two\n")
    with bz2.open(d / "b.txt.bz2", "wt") as f:
        f.write("three\n")
    (d / "c.txt").write_text("four five\n")
    assert _sentences(d) == [["one", "two"], ["three"], ["four", "five"]]


def test_invalid_utf8_is_replaced_and_counted(tmp_path):
    (tmp_path / "c.txt").write_bytes(b"good \xff\xfe word\nok\n")
    stats = {}
    got = list(corpus.sentences([str(tmp_path / "c.txt")], stats=stats))
    assert got == [["good", "\ufffd\ufffd", "word"], ["ok"]]
    assert stats["replaced_bytes"] == 2


def test_binary_and_missing_files_are_clear_errors(tmp_path):
    (tmp_path / "b.bin").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(W2VError, match="binary"):
        _sentences(tmp_path / "b.bin")
    with pytest.raises(W2VError, match="not found"):
        _sentences(tmp_path / "missing.txt")
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(W2VError, match="cannot read"):
        _sentences(tmp_path / "bad.gz")


def test_stream_ids_spell_the_corpus_sorted_by_count(tmp_path):
    (tmp_path / "c.txt").write_text("b a c a\nb a\n")
    s = corpus.load_stream(str(tmp_path / "c.txt"), cache_dir=str(tmp_path / "cache"))
    assert s.words == ["a", "b", "c"] and s.counts.tolist() == [3, 2, 1] and s.tokens == 6
    END = int(corpus.SENTENCE_END)
    assert s.read(0, len(s)).tolist() == [1, 0, 2, 0, END, 1, 0, END]
    assert s.read(2, 5).tolist() == [2, 0, END]


def test_second_load_reads_the_cache(tmp_path, monkeypatch):
    (tmp_path / "c.txt").write_text("x y z\n")
    first = corpus.load_stream(str(tmp_path / "c.txt"), cache_dir=str(tmp_path / "cache"))
    monkeypatch.setattr(corpus, "_build", lambda *a: pytest.fail("rebuilt the cache"))
    second = corpus.load_stream(str(tmp_path / "c.txt"), cache_dir=str(tmp_path / "cache"))
    assert second.key == first.key and np.array_equal(second.read(0, 9), first.read(0, 9))


def test_a_changed_corpus_gets_a_new_cache_entry(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("x y z\n")
    first = corpus.load_stream(str(path), cache_dir=str(tmp_path / "cache"))
    path.write_text("x y z w v\n")
    second = corpus.load_stream(str(path), cache_dir=str(tmp_path / "cache"))
    assert second.key != first.key and second.tokens == 5


def test_empty_corpus_is_an_error(tmp_path):
    (tmp_path / "c.txt").write_text("\n \n")
    with pytest.raises(W2VError, match="no tokens"):
        corpus.load_stream(str(tmp_path / "c.txt"), cache_dir=str(tmp_path / "cache"))
    assert not list((tmp_path / "cache").iterdir())  # no half-built entry left


def test_chunks_end_at_sentence_ends_and_count_tokens(tmp_path):
    END = corpus.SENTENCE_END
    ids = np.array([0, 1, 2, END, 3, END, 4, 5, 6, 7, END, 8, END], np.uint32)
    ids.tofile(tmp_path / "ids.u32")
    words = [f"w{i}" for i in range(9)]
    starts, ends, tokens = corpus.chunk_bounds(corpus.TokenStream(str(tmp_path / "ids.u32"), words,
                                                                  None, 9, 0, ""), 3)
    assert all(ids[e - 1] == END for e in ends)
    assert starts[0] == 0 and ends[-1] == len(ids) and np.all(starts[1:] == ends[:-1])
    assert tokens.sum() == 9
