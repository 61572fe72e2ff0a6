"""Phrases: frequent pairs of words joined into one token (`new york` -> `new_york`), as the C
tool's word2phrase does (Mikolov et al. 2013, "Distributed representations of words and phrases",
section 4).

One pass reads the text twice. First it counts every word a and every pair ab of neighbouring
words, and the tokens in all. Then it rewrites the text, joining a and b when

    score = (count(ab) - min_count) / count(a) / count(b) * tokens  >  threshold

with count(a), count(b) and count(ab) all at least min_count. The rules are word2phrase's, read
from its source: the score is computed in float32 in that order and compared with `>`; pairs are
counted across line ends too (its sentence-start flag is reset before it is tested) but never
joined across one; a word that has just been joined to the word before it cannot be joined to
the word after it (`a b c` gives `a_b c` at most), so one pass makes phrases of two tokens and
a second pass, over the first one's output, can make `new_york_times`. When the table of counts
outgrows `max_table` entries, the entries seen at most 1 time are dropped, then at most 2, and so
on, as word2phrase does (it drops words and pairs alike).

Where we differ, on purpose: tokens are whitespace-separated bytes of any length (word2phrase cuts
them at 59 bytes, and keys a pair by the string `a_b`, so `new_york`+`times` and
`new`+`york_times` share a count); lines are written without the space word2phrase puts before
their first word. The text is streamed in blocks: memory is the table, not the corpus.

This module knows nothing of training: `apply` hands the training pipeline a phrased corpus.
"""
import hashlib
import itertools
import json
import os
import sys
import tempfile

import numpy as np
from tqdm import tqdm

from .atomic import atomic_write, check_writable
from .corpus import _open_binary, corpus_files
from .errors import W2VError
from .home import default_home

BLOCK_BYTES = 1 << 20  # a block of text costs about 20 times its size in token objects
PHRASES_VERSION = 1
_WHITESPACE = (b" ", b"\n", b"\t")


def _blocks(paths, bar):
    """The bytes of the files, in blocks that end at whitespace (a token is never cut); a file
    that does not end in a newline is given one, so that files never share a line."""
    for path in paths:
        carry, last = b"", b"\n"
        try:
            with _open_binary(path) as f:
                while True:
                    raw = f.read(BLOCK_BYTES)
                    bar.update(len(raw))
                    if not raw:
                        break
                    text = carry + raw
                    cut = max(text.rfind(w) for w in _WHITESPACE) + 1
                    carry, text = text[cut:], text[:cut]
                    if text:
                        last = text[-1:]
                        yield text
        except (OSError, EOFError, ValueError) as e:
            raise W2VError(f"cannot read {path}: {e}") from None
        if carry or last != b"\n":
            yield carry + b"\n"


class _Ids(dict):
    """token -> id, a new token getting the next id on first lookup."""

    def __missing__(self, token):
        self[token] = len(self)
        return self[token]


class Counts:
    """Counts of words and of neighbouring pairs, kept within max_table entries.

    words: token -> id; unigram[id]: its count; pairs: sorted uint64 keys id_a << 32 | id_b with
    their counts in pair_counts; tokens: all tokens read.
    """

    def __init__(self, max_table):
        self.max_table = max_table
        self.words = _Ids()
        self.unigram = np.zeros(0, np.int64)
        self.pairs = np.zeros(0, np.uint64)
        self.pair_counts = np.zeros(0, np.int64)
        self.pending = []  # (keys, counts) of blocks not yet merged into pairs
        self.pending_size = 0
        self.tokens = 0
        self.last = None  # id of the last token read: pairs run on across lines and blocks
        self.min_reduce = 1

    def add(self, block):
        """Count the tokens of a block of text and the pairs they form."""
        words = self.words
        ids = np.array(list(map(words.__getitem__, block.split())), np.int64)
        if not len(ids):
            return
        self.tokens += len(ids)
        if len(words) > len(self.unigram):
            self.unigram = np.concatenate([self.unigram, np.zeros(len(words) - len(self.unigram), np.int64)])
        self.unigram += np.bincount(ids, minlength=len(words))
        chain = ids if self.last is None else np.concatenate([[self.last], ids])
        self.last = int(ids[-1])
        keys = (chain[:-1].astype(np.uint64) << np.uint64(32)) | chain[1:].astype(np.uint64)
        keys, counts = np.unique(keys, return_counts=True)
        self.pending.append((keys, counts))
        self.pending_size += len(keys)
        if self.pending_size > max(len(self.pairs), 1 << 20) or \
                len(words) + len(self.pairs) + self.pending_size > self.max_table:
            self.merge()

    def merge(self):
        """Fold the pending counts into the sorted table; prune while it is over max_table."""
        if self.pending:
            keys = np.concatenate([self.pairs] + [k for k, _ in self.pending])
            counts = np.concatenate([self.pair_counts] + [c for _, c in self.pending])
            order = np.argsort(keys, kind="stable")
            keys, counts = keys[order], counts[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            self.pairs, self.pair_counts = keys[starts], np.add.reduceat(counts, starts)
            self.pending, self.pending_size = [], 0
        while len(self.words) + len(self.pairs) > self.max_table:
            self.prune()

    def prune(self):
        """Drop the words and pairs seen at most min_reduce times, then raise min_reduce, as
        word2phrase's ReduceVocab. A dropped word that a kept pair still names keeps its id
        with a count of 0, which is what word2phrase's dropped-then-seen-again word counts."""
        keep = self.pair_counts > self.min_reduce
        self.pairs, self.pair_counts = self.pairs[keep], self.pair_counts[keep]
        named = np.zeros(len(self.unigram), bool)
        named[(self.pairs >> np.uint64(32)).astype(np.int64)] = True
        named[(self.pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)] = True
        if self.last is not None:
            named[self.last] = True
        frequent = self.unigram > self.min_reduce
        self.unigram[~frequent] = 0
        kept = frequent | named
        new_id = np.cumsum(kept) - 1  # old id -> new id, for the kept
        self.words = _Ids((w, int(new_id[i])) for w, i in self.words.items() if kept[i])
        self.unigram = self.unigram[kept]
        a = new_id[(self.pairs >> np.uint64(32)).astype(np.int64)].astype(np.uint64)
        b = new_id[(self.pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)].astype(np.uint64)
        self.pairs = (a << np.uint64(32)) | b  # the order of ids is kept, so still sorted
        self.last = None if self.last is None else int(new_id[self.last])
        self.min_reduce += 1

    def joinable(self, threshold, min_count):
        """The sorted keys of the pairs whose score is above threshold."""
        self.merge()
        a = (self.pairs >> np.uint64(32)).astype(np.int64)
        b = (self.pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
        count_a, count_b = self.unigram[a], self.unigram[b]
        ok = (self.pair_counts >= min_count) & (count_a >= min_count) & (count_b >= min_count)
        f32 = np.float32
        score = ((self.pair_counts[ok] - min_count).astype(f32) / count_a[ok].astype(f32)
                 / count_b[ok].astype(f32) * f32(self.tokens))
        return self.pairs[ok][score > f32(threshold)]


class _Joiner:
    """Rewrites blocks of text, joining the pairs in `joinable`; its state runs across blocks."""

    def __init__(self, words, joinable):
        self.words, self.joinable = words, joinable
        self.last = -1  # id of the last token written (-1: unknown word, or none yet)
        self.last_joined = False  # whether it was joined to the token before it
        self.started = False  # whether a token has been written
        self.newlines = 0  # newlines read since the last token
        self.joined = 0
        self.phrases = set()

    def rewrite(self, block):
        lines = block.split(b"\n")
        tokens_of = [line.split() for line in lines]
        lengths = np.array([len(t) for t in tokens_of])
        tokens = [t for line in tokens_of for t in line]
        n = len(tokens)
        if n == 0:
            self.newlines += len(lines) - 1
            return b""
        line_of = np.repeat(np.arange(len(lines)), lengths)  # (n,) the line of each token
        newlines = np.diff(line_of, prepend=-self.newlines)  # (n,) newlines before each token
        ids = np.array(list(map(self.words.get, tokens, itertools.repeat(-1))), np.int64)
        before = np.concatenate([[self.last], ids[:-1]])  # (n,) the token before each
        keys = (before.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64)
        listed = np.zeros(n, bool)
        if len(self.joinable):
            spot = np.searchsorted(self.joinable, keys).clip(max=len(self.joinable) - 1)
            listed = self.joinable[spot] == keys
        candidate = (newlines == 0) & (before >= 0) & (ids >= 0) & listed
        if not self.started:
            candidate[0] = False
        # In a run of candidate pairs, word2phrase joins the 1st, 3rd, ...: a joined word's count
        # is set to 0 for the next comparison. A run that begins right after a join starts
        # with its 2nd.
        position = np.arange(n)
        run_start = np.maximum.accumulate(np.where(candidate, -1, position))  # last non-candidate
        offset = position - run_start - 1 + ((run_start < 0) & self.last_joined)
        join = candidate & (offset % 2 == 0)
        separators = np.array([b" ", b"_"], object)[join.astype(np.int64)]
        for i in np.flatnonzero(newlines):
            separators[i] = b"\n" * int(newlines[i])
        if not self.started and newlines[0] == 0:
            separators[0] = b""
        out = np.empty(2 * n, object)
        out[0::2], out[1::2] = separators, tokens
        self.phrases.update(keys[join].tolist())
        self.joined += int(join.sum())
        self.last, self.last_joined, self.started = int(ids[-1]), bool(join[-1]), True
        self.newlines = len(lines) - 1 - int(line_of[-1])
        return b"".join(out)

    def finish(self):
        return b"\n" * self.newlines


def _size(paths):
    plain = all(not p.endswith((".gz", ".bz2", ".xz")) for p in paths)
    return sum(os.path.getsize(p) for p in paths) if plain else None


def phrase_pass(paths, out_file, threshold=100.0, min_count=5, max_table=20_000_000, quiet=False,
                desc="phrases"):
    """One word2phrase pass: count the text of `paths`, then write it with its phrases joined to
    the open binary file `out_file`. Returns {"joined": pairs joined, "phrases": distinct}."""
    counts = Counts(max_table)
    bar = dict(unit="B", unit_scale=True, total=_size(paths), file=sys.stderr, disable=quiet or None,
               leave=False)
    with tqdm(desc=f"{desc}: counting", **bar) as progress:
        for block in _blocks(paths, progress):
            counts.add(block)
    joiner = _Joiner({w: i for w, i in counts.words.items() if counts.unigram[i] >= min_count},
                     counts.joinable(threshold, min_count))
    del counts
    with tqdm(desc=f"{desc}: joining", **bar) as progress:
        for block in _blocks(paths, progress):
            out_file.write(joiner.rewrite(block))
    out_file.write(joiner.finish())
    return {"joined": joiner.joined, "phrases": len(joiner.phrases)}


def write_phrases(source, out, passes=1, threshold=100.0, min_count=5, max_table=20_000_000,
                  quiet=False):
    """Run `passes` passes over the corpus at `source` (a file or a directory of them), each
    over the one before's output, and write the last atomically to `out`. Returns each pass's
    {"joined", "phrases"}."""
    paths = corpus_files(source)
    try:
        check_writable(out)
    except OSError as e:
        raise W2VError(f"cannot write {out}: {e.strerror}") from None
    stats = []
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as tmp:
        for p in range(1, passes + 1):
            target = out if p == passes else os.path.join(tmp, f"pass{p}.txt")
            with atomic_write(target, "wb") as f:
                stats.append(phrase_pass(paths, f, threshold, min_count, max_table, quiet,
                                         desc=f"phrases {p}/{passes}"))
            paths = [target]
    return stats


def apply(path, passes, threshold=100.0, min_count=5, max_table=20_000_000, quiet=False, home=None):
    """The corpus at `path` with phrases joined by `passes` passes: a text file in the cache
    ($W2V_HOME/phrases), made once for a corpus (its files, sizes and times) and settings."""
    files = corpus_files(path)
    key = json.dumps({"files": [[os.path.abspath(f), os.path.getsize(f), os.path.getmtime(f)]
                                for f in files], "passes": passes, "threshold": threshold,
                      "min_count": min_count, "max_table": max_table, "version": PHRASES_VERSION})
    directory = os.path.join(home or default_home(), "phrases")
    os.makedirs(directory, exist_ok=True)
    out = os.path.join(directory, hashlib.sha256(key.encode()).hexdigest()[:24] + ".txt")
    if not os.path.exists(out):
        write_phrases(path, out, passes, threshold, min_count, max_table, quiet)
    return out
