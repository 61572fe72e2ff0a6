import bz2
import gzip
import lzma
import os
import tracemalloc

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
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
    with lzma.open(d / "c.txt.xz", "wt") as f:
        f.write("four\n")
    (d / "d.txt").write_text("five six\n")
    assert _sentences(d) == [["one", "two"], ["three"], ["four"], ["five", "six"]]


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


def test_case_is_kept_with_lowercase_off(tmp_path):
    (tmp_path / "c.txt").write_text("The Cat\nÉcole ΣΑΣ\n")
    assert _sentences(tmp_path / "c.txt", lowercase=False) == [["The", "Cat"], ["École", "ΣΑΣ"]]
    assert _sentences(tmp_path / "c.txt") == [["the", "cat"], ["école", "σας"]]


def test_cli_no_lowercase_keeps_case_in_the_vectors(tmp_path):
    (tmp_path / "c.txt").write_text("The the cat\n" * 10)
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.txt",
                   "--min-count", 1, "--epochs", 1, "--dim", 4, "--quiet", "--no-lowercase")
    assert proc.returncode == 0, proc.stderr
    words = {line.split()[0] for line in (tmp_path / "v.txt").read_text().splitlines()[1:]}
    assert words == {"The", "the", "cat"}


@pytest.mark.parametrize("tokens", ["space", "words"])
def test_tokens_across_block_boundaries_are_whole(tmp_path, monkeypatch, tokens):
    monkeypatch.setattr(corpus, "BLOCK_BYTES", 7)  # blocks end inside tokens and inside lines
    text = "alpha,beta gamma;delta\nepsilon zeta-eta theta\n" * 5
    (tmp_path / "c.txt").write_text(text)
    split = str.split if tokens == "space" else corpus._LETTER_RUNS.findall
    assert _sentences(tmp_path / "c.txt", tokens=tokens) == [split(line) for line in
                                                             text.splitlines()]


def test_a_giant_token_is_cut_and_the_tokens_after_it_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "BLOCK_BYTES", 1000)
    (tmp_path / "c.txt").write_text("before " + "x" * 25_000 + " after\nnext line\n")
    stats = {}
    got = list(corpus.sentences([str(tmp_path / "c.txt")], stats=stats))
    assert got == [["before", "x" * corpus.MAX_TOKEN_CHARS, "after"], ["next", "line"]]
    assert stats["cut_tokens"] == 1


def test_a_run_of_punctuation_keeps_every_letter_run_with_the_words_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "BLOCK_BYTES", 1000)
    (tmp_path / "c.txt").write_text("ab," * 20_000)  # no whitespace at all, many tokens
    (got,) = _sentences(tmp_path / "c.txt", tokens="words")[:1]
    assert got == ["ab"] * corpus.MAX_SENTENCE
    assert sum(map(len, _sentences(tmp_path / "c.txt", tokens="words"))) == 20_000


def test_a_line_without_whitespace_is_read_in_bounded_memory(tmp_path):
    (tmp_path / "c.txt").write_text("y" * 8_000_000 + "\nshort\n")  # 8 MB, one token
    tracemalloc.start()
    try:
        got = _sentences(tmp_path / "c.txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == [["y" * corpus.MAX_TOKEN_CHARS], ["short"]]
    assert peak < 4 * corpus.BLOCK_BYTES + 8 * corpus.MAX_TOKEN_CHARS  # a few blocks, not 8 MB


def test_cli_warns_once_about_cut_tokens(tmp_path):
    (tmp_path / "c.txt").write_text(("w " * 20 + "z" * 5000 + "\n") * 3)
    proc = run_cli("train", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "v.txt",
                   "--min-count", 1, "--epochs", 1, "--dim", 4)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [x for x in proc.stderr.splitlines() if "longer than" in x] == [
        f"warning: 3 tokens of {tmp_path / 'c.txt'} were longer than 1,000 characters and were cut "
        "to their first 1,000"]


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                              (".xz", lzma.compress)])
def test_a_compressed_bomb_is_refused_in_one_line_and_leaves_no_entry(tmp_path, w2v_home, suffix,
                                                                      compress):
    (tmp_path / f"c.txt{suffix}").write_bytes(compress(b"a " * 500_000))  # 1 MB from a few kB
    proc = run_cli("train", "--corpus", tmp_path / f"c.txt{suffix}", "--out", tmp_path / "v.txt",
                   "--min-count", 1, "--epochs", 1, "--dim", 4, "--quiet")
    line = assert_one_line_error(proc, code=1)
    assert f"refusing c.txt{suffix}" in line and "200x its packed size" in line
    assert not (tmp_path / "v.txt").exists() and os.listdir(w2v_home / "ids") == []


def test_a_compressed_corpus_past_max_bytes_is_refused(tmp_path, w2v_home):
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(os.urandom(3000).hex().encode()))
    proc = run_cli("train", "--corpus", tmp_path / "c.txt.gz", "--out", tmp_path / "v.txt",
                   "--max-bytes", 5000, "--quiet")
    line = assert_one_line_error(proc, code=1)
    assert "--max-bytes (5,000)" in line and os.listdir(w2v_home / "ids") == []
