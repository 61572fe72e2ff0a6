"""Corpus reading: text files to a cached stream of token ids.

A corpus is a text file, a `.gz` or `.bz2` file, or a directory of such files (read in name order).
It is streamed in blocks, never held in memory whole: a 100 MB line costs a few MB. A newline ends a
sentence; longer lines are cut into pieces of MAX_SENTENCE tokens, all kept (gensim drops what is
past 10,000). Tokens are whitespace-split and lowercased (`space`, as the C tool and gensim do), or
runs of Unicode letters (`words`). Bytes that are not UTF-8 are replaced and counted.

One pass over the text assigns every distinct token an id and writes the ids, as uint32 with
SENTENCE_END between sentences, to a cache file that later epochs and later runs read in blocks.
The ids index the full vocabulary sorted by count then word, so any --min-count or --max-vocab is
a prefix of it and the cache does not depend on them.

This module knows nothing of training or of downloading.
"""
import bz2
import codecs
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np

from .errors import W2VError
from .home import default_home

SENTENCE_END = np.uint32(0xFFFFFFFF)
MAX_SENTENCE = 10_000
BLOCK_BYTES = 1 << 20
CACHE_VERSION = 2
TOKENIZERS = ("space", "words")
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


def corpus_files(path):
    """The files a corpus path stands for, in reading order (a directory: all files below it)."""
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
        if not files:
            raise W2VError(f"corpus directory {path} holds no files")
        return files
    if not os.path.exists(path):
        raise W2VError(f"corpus not found: {path}")
    return [path]


def _open_binary(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


class _ReplacementCounter:
    """A codec error handler that replaces undecodable bytes with U+FFFD and counts them."""

    def __init__(self):
        self.count = 0
        self.name = f"w2v-replace-{id(self)}"
        codecs.register_error(self.name, self)

    def __call__(self, error):
        self.count += error.end - error.start
        return "\ufffd", error.end


def _blocks(path, decoder):
    """Decoded text blocks of a file; raises W2VError for binary or unreadable files."""
    try:
        with _open_binary(path) as f:
            first = True
            while True:
                raw = f.read(BLOCK_BYTES)
                if first and b"\0" in raw[:8192]:
                    raise W2VError(f"{path} looks like a binary file, not text")
                first = False
                if not raw:
                    tail = decoder.decode(b"", final=True)
                    if tail:
                        yield tail
                    return
                yield decoder.decode(raw)
    except (OSError, EOFError, ValueError) as e:  # gzip.BadGzipFile is an OSError
        raise W2VError(f"cannot read {path}: {e}") from None


def sentences(paths, tokens="space", stats=None):
    """Yield sentences (lists of tokens, at most MAX_SENTENCE long) from the given files.

    stats, if given, is a dict that receives `replaced_bytes` and `lines`.
    """
    if tokens not in TOKENIZERS:
        raise W2VError(f"unknown tokenizer {tokens!r}: choose one of {', '.join(TOKENIZERS)}")
    split = str.split if tokens == "space" else _LETTER_RUNS.findall
    counter = _ReplacementCounter()
    lines = 0
    for path in paths:
        decoder = codecs.getincrementaldecoder("utf-8")(errors=counter.name)
        carry, sentence = "", []
        for block in _blocks(path, decoder):
            text = carry + block
            cut = text.rfind("\n")
            if cut < 0:
                # no newline yet (text8 is one 100 MB line): keep the possibly broken last token
                space = max(text.rfind(" "), text.rfind("\t"))
                if space < 0:
                    carry = text
                    continue
                sentence.extend(split(text[:space].lower()))
                carry = text[space:]
                while len(sentence) >= MAX_SENTENCE:
                    yield sentence[:MAX_SENTENCE]
                    sentence = sentence[MAX_SENTENCE:]
                continue
            carry = text[cut + 1:]
            for line in text[:cut].split("\n"):
                lines += 1
                sentence.extend(split(line.lower()))
                while len(sentence) > MAX_SENTENCE:
                    yield sentence[:MAX_SENTENCE]
                    sentence = sentence[MAX_SENTENCE:]
                if sentence:
                    yield sentence
                sentence = []
        sentence.extend(split(carry.lower()))
        if carry.strip():
            lines += 1
        while sentence:
            yield sentence[:MAX_SENTENCE]
            sentence = sentence[MAX_SENTENCE:]
    if stats is not None:
        stats["replaced_bytes"] = counter.count
        stats["lines"] = lines


@dataclass
class TokenStream:
    """A corpus as token ids over its full vocabulary (sorted by count, then word).

    The ids stay on disk and are read a block at a time: memory does not grow with the corpus.
    """
    path: str  # uint32 ids, SENTENCE_END between sentences
    words: list  # the full vocabulary
    counts: np.ndarray  # (len(words),) int64
    tokens: int  # corpus tokens (the ids less the sentence ends)
    replaced_bytes: int
    key: str  # identifies the corpus and tokenizer: the cache entry's name

    def __len__(self):
        return os.path.getsize(self.path) // 4

    def read(self, start, stop):
        """ids[start:stop] as a uint32 array."""
        return np.fromfile(self.path, dtype=np.uint32, count=max(stop - start, 0), offset=4 * start)

    def blocks(self, size=1 << 20):
        """(offset, ids) blocks covering the whole stream, in order."""
        n = len(self)
        for start in range(0, n, size):
            yield start, self.read(start, min(start + size, n))


def _cache_key(paths, tokens):
    h = hashlib.sha256(f"v{CACHE_VERSION} {tokens}".encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"\n{os.path.abspath(p)} {st.st_size} {st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def load_stream(path, tokens="space", cache_dir=None, progress=None):
    """The corpus at `path` as a TokenStream, read from the cache or built into it.

    progress: an optional callable taking the number of tokens read so far, for a progress bar.
    """
    paths = corpus_files(path)
    key = _cache_key(paths, tokens)
    cache_dir = cache_dir or os.path.join(default_home(), "ids")
    entry = os.path.join(cache_dir, key)
    if not os.path.exists(os.path.join(entry, "meta.json")):
        _build_entry(paths, tokens, cache_dir, entry, progress)
    with open(os.path.join(entry, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(entry, "vocab.txt"), encoding="utf-8") as f:
        words = f.read().split("\n")[:-1]
    counts = np.load(os.path.join(entry, "counts.npy"))
    return TokenStream(os.path.join(entry, "ids.u32"), words, counts, meta["tokens"],
                       meta["replaced_bytes"], key)


def _build_entry(paths, tokens, cache_dir, entry, progress):
    """One pass over the text: ids in order of first appearance to raw.u32, counted as they go;
    then the ids renumbered by count into ids.u32, block by block."""
    os.makedirs(cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".build-", dir=cache_dir)
    try:
        stats = {}
        index = {}  # word -> id in order of first appearance
        counts = []  # id -> count
        raw_path = os.path.join(tmp, "raw.u32")
        with open(raw_path, "wb") as out:
            batch = []
            for sentence in sentences(paths, tokens, stats):
                for w in sentence:
                    i = index.get(w)
                    if i is None:
                        i = index[w] = len(counts)
                        counts.append(0)
                    counts[i] += 1
                    batch.append(i)
                batch.append(SENTENCE_END)
                if len(batch) >= 1 << 16:
                    np.array(batch, dtype=np.uint32).tofile(out)
                    batch = []
                if progress is not None:
                    progress(len(sentence))
            np.array(batch, dtype=np.uint32).tofile(out)
        if not index:
            raise W2VError(f"corpus {paths[0] if len(paths) == 1 else os.path.dirname(paths[0])} "
                           "holds no tokens")
        words = list(index)
        counts = np.array(counts, dtype=np.int64)
        alphabetical = np.array(sorted(range(len(words)), key=words.__getitem__), dtype=np.int64)
        order = alphabetical[np.argsort(-counts[alphabetical], kind="stable")]  # by count, then word
        rank = np.empty(len(words) + 1, dtype=np.uint32)
        rank[order] = np.arange(len(words), dtype=np.uint32)
        rank[-1] = SENTENCE_END  # SENTENCE_END, as int64 -1, indexes this last entry
        raw = TokenStream(raw_path, words, counts, 0, 0, "")
        with open(os.path.join(tmp, "ids.u32"), "wb") as out:
            for _, block in raw.blocks():
                block = block.astype(np.int64)
                block[block == SENTENCE_END] = -1
                rank[block].tofile(out)
        os.remove(raw_path)
        np.save(os.path.join(tmp, "counts.npy"), counts[order])
        with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
            f.writelines(f"{words[i]}\n" for i in order)
        meta = {"version": CACHE_VERSION, "files": [os.path.abspath(p) for p in paths],
                "tokenizer": tokens, "tokens": int(counts.sum()), "lines": stats["lines"],
                "replaced_bytes": stats["replaced_bytes"]}
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        try:
            os.rename(tmp, entry)
        except OSError:  # another run built the same entry meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def chunk_bounds(stream, chunk_tokens):
    """Split the id stream into chunks of about chunk_tokens, each ending at a sentence end.

    Returns (starts, ends, tokens) arrays: chunk i is ids[starts[i]:ends[i]] and holds
    tokens[i] corpus tokens. Reads the stream a block at a time and keeps only the cuts.
    """
    cuts, ends_before = [], []  # where each chunk ends, and how many sentence ends precede that
    seen = 0  # sentence ends in the blocks before this one
    target = chunk_tokens
    for offset, block in stream.blocks():
        after = np.flatnonzero(block == SENTENCE_END) + offset + 1  # a sentence ends before each
        k = int(np.searchsorted(after, target))
        while k < len(after):
            cuts.append(int(after[k]))
            ends_before.append(seen + k + 1)
            target = after[k] + chunk_tokens
            k = int(np.searchsorted(after, target, side="left"))
        seen += len(after)
    n = len(stream)
    if not cuts or cuts[-1] != n:
        cuts.append(n)
        ends_before.append(seen)
    ends = np.array(cuts, dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    sentence_ends = np.diff(np.concatenate([[0], ends_before]))
    return starts, ends, (ends - starts) - sentence_ends
