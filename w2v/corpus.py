"""Corpus reading: text files to a cached stream of token ids.

A corpus is a text file, a `.gz`, `.bz2` or `.xz` file, or a directory of such files (read in name
order; dangling links, unreadable and special files inside it are skipped with a warning). It is
streamed in blocks, never held in memory whole, and read in time linear in its size: a 100 MB line
costs a few MB. A newline ends a sentence; longer lines are cut into pieces of MAX_SENTENCE tokens,
all kept (gensim drops what is past 10,000). Tokens are whitespace-split (`space`, as the C tool and
gensim do) or runs of Unicode letters (`words`), lowercased unless asked not to; a token longer than
MAX_TOKEN_CHARS characters is cut to its first MAX_TOKEN_CHARS (the C tool cuts at 100). Bytes that
are not UTF-8 are replaced and counted. A compressed file may expand to at most MAX_RATIO times its
size and at most max_bytes, as archives in download.py.

One pass over the text assigns every distinct token an id and writes the ids, as uint32 with
SENTENCE_END between sentences, to a cache entry that later epochs and later runs read in blocks.
The ids index the full vocabulary sorted by count then word, so any --min-count or --max-vocab is
a prefix of it and the cache does not depend on them. An entry is named by the files' identity
(path, size, times, inode, device and a hash of their first and last blocks: a corpus rewritten with
its old size and modification time is a new entry), is checked when opened and as its ids are read,
and is rebuilt when damaged. Pipes and other special files are read into a temporary entry that is
removed when the run ends.

This module knows nothing of training or of downloading.
"""
import bz2
import codecs
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from .errors import W2VError
from .home import default_home

SENTENCE_END = np.uint32(0xFFFFFFFF)
MAX_SENTENCE = 10_000
MAX_TOKEN_CHARS = 1_000
BLOCK_BYTES = 1 << 20
MAX_BYTES = 20 * 10 ** 9  # what a compressed file or an archive may expand to
MAX_RATIO = 200  # ... and at most this many times its packed size
KEY_BYTES = 1 << 16  # the blocks at each end of a file that its cache key hashes
STALE_SECONDS = 3600  # a build directory untouched this long was left by a killed run
CACHE_VERSION = 3
TOKENIZERS = ("space", "words")
COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_LETTER_RUNS = re.compile(r"[^\W\d_]+")
_SPACE = re.compile(r"\s")
_NOT_LETTER = re.compile(r"[\W\d_]")


def _stderr(message):
    print(f"w2v: warning: {message}", file=sys.stderr, flush=True)


def corpus_files(path, warn=_stderr):
    """The files a corpus path stands for, in reading order (a directory: all files below it).

    In a directory, dangling links, unreadable files and special files (pipes, sockets) are
    skipped, each with one warning: one bad file should not stop a run over thousands.
    """
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(n for n in names if not n.startswith(".")):
                p = os.path.join(root, name)
                problem = _unreadable(p)
                if problem:
                    warn(f"skipping {p}: {problem}")
                else:
                    files.append(p)
        if not files:
            raise W2VError(f"corpus directory {path} holds no readable files")
        return files
    if not os.path.exists(path):
        raise W2VError(f"corpus not found: {path}")
    return [path]


def _unreadable(path):
    """Why a file inside a corpus directory cannot be read, or None."""
    try:
        st = os.stat(path)
    except OSError as e:
        return "a dangling link" if os.path.islink(path) else e.strerror
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _open_binary(path):
    return COMPRESSED.get(os.path.splitext(path)[1], open)(path, "rb")


class _ReplacementCounter:
    """A codec error handler that replaces undecodable bytes with U+FFFD and counts them."""

    def __init__(self):
        self.count = 0
        self.name = f"w2v-replace-{id(self)}"
        codecs.register_error(self.name, self)

    def __call__(self, error):
        self.count += error.end - error.start
        return "\ufffd", error.end


def _blocks(path, decoder, max_bytes=MAX_BYTES, digest=None, span=None):
    """Decoded text blocks of a file; raises W2VError for binary, unreadable or bomb files.

    digest, if given, is a hashlib object that receives the raw bytes. span (start, stop), for a
    file that is not compressed: only the lines whose first byte lies in [start, stop).
    """
    compressed = os.path.splitext(path)[1] in COMPRESSED
    name = os.path.basename(path)
    try:
        limit = min(max_bytes, MAX_RATIO * os.path.getsize(path)) if compressed else None
        with _open_binary(path) as f:
            read = f.read if span is None else _lines_in(f, *span)
            first, expanded = True, 0
            while True:
                raw = read(BLOCK_BYTES)
                if first and b"\0" in raw[:8192]:
                    raise W2VError(f"{path} looks like a binary file, not text")
                first = False
                expanded += len(raw)
                if limit is not None and expanded > limit:
                    why = (f"--max-bytes ({max_bytes:,})" if limit == max_bytes
                           else f"{MAX_RATIO}x its packed size")
                    raise W2VError(f"refusing {name}: it expands to more than {limit:,} bytes, past "
                                   f"{why}; decompress it yourself if that is expected")
                if digest is not None:
                    digest.update(raw)
                if not raw:
                    tail = decoder.decode(b"", final=True)
                    if tail:
                        yield tail
                    return
                yield decoder.decode(raw)
    except (OSError, EOFError, ValueError, lzma.LZMAError) as e:  # gzip.BadGzipFile is an OSError
        raise W2VError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None


def _lines_in(f, start, stop):
    """read(n) over the lines of a plain file f that start in bytes [start, stop): a line belongs
    to the part holding its first byte, so parts that tile a file share out its lines exactly."""
    if start > 0:
        f.seek(start - 1)
        while f.readline(BLOCK_BYTES)[-1:] not in (b"\n", b""):  # the line begun before start
            pass
    state = {"pos": f.tell(), "last": b"\n", "done": False}

    def read(n):
        if state["done"]:
            return b""
        if state["pos"] < stop:
            raw = f.read(min(n, stop - state["pos"]))
        elif state["last"] != b"\n":  # the line begun before stop runs on to its newline
            raw = f.readline(n)
        else:
            raw = b""
        state["pos"] += len(raw)
        state["last"] = raw[-1:] or state["last"]
        state["done"] = not raw
        return raw

    return read


def part_spans(paths, rank, size):
    """{path: (start, stop)} of the files that part `rank` of `size` reads: the parts tile the
    files' bytes end to end; a compressed file, which cannot be entered midway, goes whole to the
    part holding its first byte."""
    sizes = [os.path.getsize(p) for p in paths]
    total = sum(sizes)
    lo, hi = rank * total // size, (rank + 1) * total // size
    spans, offset = {}, 0
    for p, n in zip(paths, sizes):
        if os.path.splitext(p)[1] in COMPRESSED:
            if lo <= offset < hi:
                spans[p] = (0, n)
        elif max(lo, offset) < min(hi, offset + n):
            spans[p] = (max(lo - offset, 0), min(hi - offset, n))
        offset += n
    return spans


class _Tokenizer:
    """Splits text into tokens and finds where the last, possibly unfinished, token starts."""

    def __init__(self, tokens):
        if tokens not in TOKENIZERS:
            raise W2VError(f"unknown tokenizer {tokens!r}: choose one of {', '.join(TOKENIZERS)}")
        self.letters = tokens == "words"
        self.cut_tokens = 0  # tokens longer than MAX_TOKEN_CHARS, cut

    def split(self, text):
        """The tokens of text, which must end at a token's end (any lowercasing done)."""
        tokens = _LETTER_RUNS.findall(text) if self.letters else text.split()
        # only a text longer than MAX_TOKEN_CHARS can hold a token to cut: most skip the check
        return self._cut(tokens) if len(text) > MAX_TOKEN_CHARS else tokens

    def _cut(self, tokens):
        if tokens and max(map(len, tokens)) > MAX_TOKEN_CHARS:
            self.cut_tokens += sum(len(t) > MAX_TOKEN_CHARS for t in tokens)
            tokens = [t[:MAX_TOKEN_CHARS] for t in tokens]
        return tokens

    def tail(self, text):
        """Where the run of token characters that ends `text` starts (len(text) if none does)."""
        if not text or text[-1].isspace():
            return len(text)
        start = len(text) - len(text.rsplit(None, 1)[-1])  # C speed, whatever the run's length
        if not self.letters:
            return start
        last = None
        for last in _LETTER_RUNS.finditer(text, start):
            pass
        return last.start() if last is not None and last.end() == len(text) else len(text)

    def skip(self, text):
        """text without the rest of a token that was already cut: (rest, whether it continues)."""
        m = (_NOT_LETTER if self.letters else _SPACE).search(text)
        return ("", True) if m is None else (text[m.start():], False)


def sentences(paths, tokens="space", stats=None, lowercase=True, max_bytes=MAX_BYTES, digest=None,
              spans=None):
    """Yield sentences (lists of tokens, at most MAX_SENTENCE long) from the given files
    (spans: {path: (start, stop)}, the byte range of each to read, as part_spans gives).

    Linear in the input: between blocks only the last unfinished token is carried, and a token
    is never held beyond MAX_TOKEN_CHARS characters. stats, if given, is a dict that receives
    `replaced_bytes`, `lines` and `cut_tokens`; digest, a hashlib object, receives the raw bytes.
    """
    tokenizer = _Tokenizer(tokens)
    split = tokenizer.split
    counter = _ReplacementCounter()
    lines = 0
    for path in paths:
        decoder = codecs.getincrementaldecoder("utf-8")(errors=counter.name)
        carry, sentence = "", []  # the unfinished last token; the unfinished sentence
        skipping = False  # inside a token already cut to MAX_TOKEN_CHARS
        for block in _blocks(path, decoder, max_bytes, digest, spans and spans[path]):
            if skipping:
                block, skipping = tokenizer.skip(block)
            text = carry + block
            cut = text.rfind("\n")
            if cut >= 0:
                complete = text[:cut].lower() if lowercase else text[:cut]
                for line in complete.split("\n"):  # one line at a time: few objects live at once
                    lines += 1
                    if sentence:  # the first line began in an earlier block
                        sentence.extend(split(line))
                        line_tokens, sentence = sentence, []
                    else:
                        line_tokens = split(line)
                    if len(line_tokens) > MAX_SENTENCE:
                        yield from _pieces(line_tokens, final=True)
                    elif line_tokens:
                        yield line_tokens
                text = text[cut + 1:]
            start = tokenizer.tail(text)
            sentence.extend(split(text[:start].lower() if lowercase else text[:start]))
            carry = text[start:]
            if len(carry) > MAX_TOKEN_CHARS:
                carry, skipping = carry[:MAX_TOKEN_CHARS], True
                tokenizer.cut_tokens += 1
            sentence = yield from _pieces(sentence, final=False)
        if carry.strip() or sentence:
            lines += 1
        sentence.extend(split(carry.lower() if lowercase else carry))
        yield from _pieces(sentence, final=True)
    if stats is not None:
        stats.update(replaced_bytes=counter.count, lines=lines, cut_tokens=tokenizer.cut_tokens)


def _pieces(sentence, final):
    """Yield the MAX_SENTENCE-token pieces of sentence, and the rest too if final; return the
    rest otherwise."""
    n = len(sentence)
    stop = n if final else n - n % MAX_SENTENCE
    for i in range(0, stop, MAX_SENTENCE):
        yield sentence[i:i + MAX_SENTENCE]
    return sentence[stop:]


@dataclass
class TokenStream:
    """A corpus as token ids over its full vocabulary (sorted by count, then word).

    The ids stay on disk and are read a block at a time: memory does not grow with the corpus.
    Every read is checked: ids beyond the vocabulary (a damaged file) would index past the
    arrays of the compiled kernels.
    """
    path: str  # uint32 ids, SENTENCE_END between sentences
    words: list  # the full vocabulary
    counts: np.ndarray  # (len(words),) int64
    tokens: int  # corpus tokens (the ids less the sentence ends)
    replaced_bytes: int
    key: str  # identifies the corpus, tokenizer and case: the cache entry's name
    cut_tokens: int = 0  # tokens cut to MAX_TOKEN_CHARS
    n_ids: int = None  # the ids the entry recorded [default: as many as the file holds]

    def __len__(self):
        return os.path.getsize(self.path) // 4 if self.n_ids is None else self.n_ids

    def read(self, start, stop):
        """ids[start:stop] as a uint32 array (clipped to the stream, as a slice); W2VError if the
        file is damaged."""
        count = max(min(stop, len(self)) - start, 0)
        try:
            ids = np.fromfile(self.path, dtype=np.uint32, count=count, offset=4 * start)
        except (OSError, ValueError) as e:
            raise W2VError(f"cannot read the token ids in {self.path}: {e}") from None
        if len(ids) != count:
            self._damaged(f"it ends at id {start + len(ids):,}, before {start + count:,}")
        beyond = (ids >= len(self.words)) & (ids != SENTENCE_END)
        if beyond.any():
            self._damaged(f"id {ids[beyond][0]} at {start + int(np.argmax(beyond)):,} is beyond its "
                          f"{len(self.words):,} words")
        return ids

    def _damaged(self, why):
        entry = os.path.dirname(self.path)
        _discard(entry)
        raise W2VError(f"the token-id cache entry {entry} is damaged ({why}); it was removed, "
                       "run again to rebuild it")

    def blocks(self, size=1 << 20):
        """(offset, ids) blocks covering the whole stream, in order."""
        n = len(self)
        for start in range(0, n, size):
            yield start, self.read(start, min(start + size, n))


def _identity(path):
    """What names one file's content in a cache key. The change time and inode catch a file
    rewritten with its old size and modification time (`cp -p`, `rsync -t`, `tar x`), which
    `touch` cannot fake; the hash of both ends catches a copy that keeps even those."""
    try:
        st = os.stat(path)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            h.update(f.read(KEY_BYTES))
            if st.st_size > KEY_BYTES:
                f.seek(max(st.st_size - KEY_BYTES, KEY_BYTES))
                h.update(f.read(KEY_BYTES))
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror}") from None
    return (f"{os.path.abspath(path)} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} "
            f"{st.st_dev} {h.hexdigest()}")


def _settings(tokens, lowercase):
    return f"v{CACHE_VERSION} {tokens} {'lower' if lowercase else 'case'}"


def _cache_key(paths, tokens, lowercase, spans=None):
    h = hashlib.sha256(_settings(tokens, lowercase).encode())
    for p in paths:
        h.update(f"\n{_identity(p)}{' %d %d' % spans[p] if spans else ''}".encode())
    return h.hexdigest()[:24]


def _is_regular(path):
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def load_stream(path, tokens="space", cache_dir=None, progress=None, lowercase=True,
                max_bytes=MAX_BYTES, warn=_stderr, part=None):
    """The corpus at `path` as a TokenStream, read from the cache or built into it.

    part (rank, size): only that part of the corpus's lines (part_spans), with its own cache
    entry and its own word ids, for one of several processes (w2v/mpi.py).

    progress: an optional callable taking the number of tokens read so far, for a progress bar.
    warn: a callable taking one line (skipped files, a rebuilt entry, cut tokens).
    """
    _Tokenizer(tokens)  # an unknown tokenizer fails before any file is opened
    paths = corpus_files(path, warn)
    spans = None
    if part is not None:
        if not all(_is_regular(p) for p in paths):
            raise W2VError(f"with several processes the corpus must be files on a path they all "
                           f"read, not a pipe or special file: {path}")
        spans = part_spans(paths, *part)
        paths = [p for p in paths if p in spans]
        if not paths:
            raise W2VError(f"corpus {path} leaves nothing to process {part[0]} of {part[1]}: "
                           f"it is too small for {part[1]} processes, or compressed (a "
                           "compressed file is not split: decompress it, or give a directory "
                           "of several files)")
    # a part whose bytes hold no line's start (the line belongs to the part before) reads nothing
    empty = None if part is None else (f"corpus {path} leaves no line to process {part[0]} of "
                                       f"{part[1]}: it is too small for {part[1]} processes")
    cache_dir = _ready_cache_dir(cache_dir)
    build = lambda directory, digest=None: _build(path, paths, tokens, lowercase, directory,
                                                  progress, max_bytes, warn, digest, spans=spans,
                                                  empty=empty)
    if not all(_is_regular(p) for p in paths):
        # a pipe or /dev/stdin: read once, so there is nothing to key a lasting entry on
        digest = hashlib.sha256(_settings(tokens, lowercase).encode())
        directory = _built(cache_dir, lambda d: build(d, digest))
        try:
            stream = _open_entry(directory, "pipe-" + digest.hexdigest()[:24])
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        weakref.finalize(stream, shutil.rmtree, directory, True)
        return stream
    key = _cache_key(paths, tokens, lowercase, spans)
    entry = os.path.join(cache_dir, key)
    if os.path.isdir(entry):
        try:
            return _open_entry(entry, key)
        except _Damaged as e:
            warn(f"the token-id cache entry {entry} is damaged ({e}); rebuilding it")
            _discard(entry)
    directory = _built(cache_dir, build)
    try:
        os.rename(directory, entry)
    except OSError as e:
        shutil.rmtree(directory, ignore_errors=True)
        if not os.path.isdir(entry):  # not merely another run that built the same entry first
            raise W2VError(f"cannot write the token-id cache {entry}: {e.strerror or e}") from None
    try:
        return _open_entry(entry, key)
    except _Damaged as e:
        raise W2VError(f"the token-id cache entry {entry} is damaged just after it was built "
                       f"({e}); is {cache_dir} full or faulty?") from None


GIVEN = "<sentences given in Python>"  # what the settings record as the corpus of such a run


def _ready_cache_dir(cache_dir):
    """The token-id cache directory (default: $W2V_HOME/ids), created, its stale builds removed."""
    cache_dir = cache_dir or os.path.join(default_home(), "ids")
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError as e:
        raise W2VError(f"cannot create the token-id cache {cache_dir}: {e.strerror or e}") from None
    clean_stale_builds(cache_dir)
    return cache_dir


def stream_from_sentences(sentences: Iterable[Sequence[str]], cache_dir: Optional[str] = None,
                          progress: Optional[Callable[[int], object]] = None,
                          warn: Callable[[str], object] = _stderr) -> TokenStream:
    """Sentences given in Python (an iterable of token lists) as a TokenStream, in one pass.

    Tokens are taken as given: not lowercased, not split; a token must be a non-empty str without
    whitespace, so that the sentences mean what the same text in a file would. As in files, an
    empty sentence is skipped, a longer one than MAX_SENTENCE is cut into pieces (all kept), a token
    longer than MAX_TOKEN_CHARS is cut. The iterable is read once (a generator will do): the ids go
    to a temporary entry, removed when the stream is, whose key is a hash of the tokens.
    """
    cache_dir = _ready_cache_dir(cache_dir)
    digest = hashlib.sha256(f"v{CACHE_VERSION} given".encode())
    given = lambda stats, digest: _given_sentences(sentences, stats, digest)
    directory = _built(cache_dir, lambda d: _build(GIVEN, [], "space", False, d, progress,
                                                   MAX_BYTES, warn, digest, given))
    try:
        stream = _open_entry(directory, "sentences-" + digest.hexdigest()[:24])
    except BaseException as e:
        shutil.rmtree(directory, ignore_errors=True)
        if isinstance(e, _Damaged):
            raise W2VError(f"the token ids of the sentences given could not be read back "
                           f"({e}); is {cache_dir} full or faulty?") from None
        raise
    weakref.finalize(stream, shutil.rmtree, directory, True)
    return stream


def _given_sentences(sentences, stats, digest):
    """Yield the checked sentences of an iterable of token lists, cut as a file's lines are;
    digest receives each as the line of text it stands for."""
    if isinstance(sentences, (str, bytes)):
        raise W2VError("sentences must be an iterable of token lists, got a str; "
                       "a corpus path is given as corpus=")
    tokenizer = _Tokenizer("space")
    n = 0
    for n, sentence in enumerate(sentences, 1):
        if isinstance(sentence, (str, bytes)):
            raise W2VError(f"each sentence must be a list of tokens, got a "
                           f"{type(sentence).__name__} (sentence {n}: {sentence[:40]!r}); split it "
                           "first: text.split()")
        sentence = sentence if isinstance(sentence, list) else list(sentence)
        try:
            text = " ".join(sentence)
            digest.update(text.encode("utf-8") + b"\n")
        except TypeError:
            bad = next(t for t in sentence if not isinstance(t, str))
            raise W2VError(f"sentence {n}: each token must be a str, got {type(bad).__name__} "
                           f"({bad!r:.40})") from None
        except UnicodeEncodeError as e:
            raise W2VError(f"sentence {n} is not valid Unicode ({e.reason})") from None
        if text.split() != sentence:  # a token that is empty or holds whitespace
            bad = next(t for t in sentence if t.split() != [t])
            raise W2VError(f"sentence {n}: token {bad[:40]!r} is empty or holds whitespace; tokens "
                           "are used as given, so split them first")
        tokens = tokenizer._cut(sentence) if len(text) > MAX_TOKEN_CHARS else sentence
        yield from _pieces(tokens, final=True)
    stats.update(replaced_bytes=0, lines=n, cut_tokens=tokenizer.cut_tokens)


def _built(cache_dir, build):
    """A new build directory filled by build(directory); W2VError if the cache cannot be
    written (disk full, no permission), and nothing left behind on any error."""
    directory = None
    try:
        directory = build_directory(cache_dir)
        build(directory)
    except BaseException as e:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
        if isinstance(e, OSError):
            raise W2VError(f"cannot write the token-id cache in {cache_dir}: "
                           f"{e.strerror or e}") from None
        raise
    return directory


class _Damaged(Exception):
    """A cache entry that does not hold what its meta.json says."""


def _open_entry(entry, key):
    """The TokenStream of a cache entry, after checking its files against its meta.json."""
    try:
        with open(os.path.join(entry, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(entry, "vocab.txt"), encoding="utf-8", newline="\n") as f:
            words = f.read().split("\n")[:-1]
        counts = np.load(os.path.join(entry, "counts.npy"))
        ids_path = os.path.join(entry, "ids.u32")
        ids_bytes = os.path.getsize(ids_path)
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _Damaged(getattr(e, "strerror", None) or str(e)) from None
    if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION:
        raise _Damaged("meta.json is not of this version")
    try:
        n_ids, n_words, tokens = int(meta["ids"]), int(meta["words"]), int(meta["tokens"])
        replaced, cut = int(meta["replaced_bytes"]), int(meta["cut_tokens"])
    except (KeyError, TypeError, ValueError):
        raise _Damaged("meta.json lacks a field") from None
    if ids_bytes != 4 * n_ids:
        raise _Damaged(f"ids.u32 has {ids_bytes:,} bytes, not {4 * n_ids:,}")
    if counts.dtype != np.int64 or counts.shape != (n_words,) or len(words) != n_words:
        raise _Damaged(f"{len(words):,} words and {counts.size:,} counts, not {n_words:,} of each")
    if int(counts.sum()) != tokens or (n_words and (counts[-1] < 1 or np.any(np.diff(counts) > 0))):
        raise _Damaged("the counts do not add up to the tokens, or are not sorted")
    return TokenStream(ids_path, words, counts, tokens, replaced, key, cut, n_ids)


def build_directory(cache_dir):
    """A new private directory named after this host and process, so that clean_stale_builds
    can tell one left by a killed run from one still being written."""
    return tempfile.mkdtemp(prefix=f".build-{socket.gethostname()}:{os.getpid()}:", dir=cache_dir)


def _discard(entry):
    """Remove a cache entry: renamed away first, so no reader sees it half-deleted."""
    trash = os.path.join(os.path.dirname(entry),
                         f".{os.path.basename(entry)}.trash-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(entry, trash)
    except OSError:
        return  # already gone
    shutil.rmtree(trash, ignore_errors=True)


def clean_stale_builds(cache_dir):
    """Remove build directories left by runs that were killed (their process is gone, or nothing
    in them changed for STALE_SECONDS), and discarded entries."""
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return
    for name in names:
        path = os.path.join(cache_dir, name)
        if name.startswith(".") and ".trash-" in name:
            shutil.rmtree(path, ignore_errors=True)
        elif name.startswith(".build-") and _abandoned(path, name):
            shutil.rmtree(path, ignore_errors=True)


def _abandoned(path, name):
    host, _, rest = name[len(".build-"):].partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, but another user's
            pass
        return False
    try:  # another host's (a shared disk): judged by age alone
        newest = max([os.stat(path).st_mtime] +
                     [e.stat().st_mtime for e in os.scandir(path) if e.is_file()])
    except OSError:
        return False
    return time.time() - newest > STALE_SECONDS


def _build(corpus, paths, tokens, lowercase, tmp, progress, max_bytes, warn, digest, given=None,
           spans=None, empty=None):
    """One pass over the text: ids in order of first appearance to raw.u32, counted as they go;
    then the ids renumbered by count into ids.u32, block by block. Writes the entry into tmp.
    given(stats, digest), if given, yields the sentences instead of the files at paths.
    empty: the error when no token is read (default: the corpus holds none)."""
    stats = {}
    index = {}  # word -> id in order of first appearance
    counts = []  # id -> count
    sentence_ends = 0
    raw_path = os.path.join(tmp, "raw.u32")
    with open(raw_path, "wb") as out:
        batch = []
        source = (sentences(paths, tokens, stats, lowercase, max_bytes, digest, spans)
                  if given is None else given(stats, digest))
        for sentence in source:
            for w in sentence:
                i = index.get(w)
                if i is None:
                    i = index[w] = len(counts)
                    counts.append(0)
                counts[i] += 1
                batch.append(i)
            batch.append(SENTENCE_END)
            sentence_ends += 1
            if len(batch) >= 1 << 16:
                np.array(batch, dtype=np.uint32).tofile(out)
                batch = []
            if progress is not None:
                progress(len(sentence))
        np.array(batch, dtype=np.uint32).tofile(out)
    if not index:
        raise W2VError(empty or f"corpus {corpus} holds no tokens")
    if stats["cut_tokens"]:
        warn(f"{stats['cut_tokens']:,} tokens of {corpus} were longer than {MAX_TOKEN_CHARS:,} "
             f"characters and were cut to their first {MAX_TOKEN_CHARS:,}")
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
    with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{words[i]}\n" for i in order)
    tokens_read = int(counts.sum())
    meta = {"version": CACHE_VERSION, "corpus": corpus if given else os.path.abspath(corpus),
            "files": [os.path.abspath(p) for p in paths], "tokenizer": tokens,
            "lowercase": lowercase, "tokens": tokens_read, "ids": tokens_read + sentence_ends,
            "words": len(words), "lines": stats["lines"], "replaced_bytes": stats["replaced_bytes"],
            "cut_tokens": stats["cut_tokens"], "built": time.time()}
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def cache_entries(cache_dir=None):
    """The token-id cache's entries: dicts of name, path, bytes, corpus, tokenizer, lowercase,
    and state ("ok", "building", "damaged", or "old": made by an earlier version, never read)."""
    cache_dir = cache_dir or os.path.join(default_home(), "ids")
    try:
        names = sorted(os.listdir(cache_dir))
    except OSError:
        return []
    entries = []
    for name in names:
        path = os.path.join(cache_dir, name)
        if not os.path.isdir(path) or ".trash-" in name:
            continue
        meta = {}
        try:
            with open(os.path.join(path, "meta.json")) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            pass
        if not isinstance(meta, dict):
            meta = {}
        state = ("building" if name.startswith(".build-") else "damaged" if not meta
                 else "old" if meta.get("version") != CACHE_VERSION else "ok")
        entries.append({"name": name, "path": path, "bytes": _du(path), "state": state,
                        "corpus": meta.get("corpus"), "tokenizer": meta.get("tokenizer"),
                        "lowercase": meta.get("lowercase")})
    return entries


def _du(path):
    total = 0
    for root, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(root, n)).st_size
            except OSError:
                pass
    return total


def clear_cache(cache_dir=None):
    """Remove every token-id cache entry but those being built by live runs; returns the bytes
    freed."""
    cache_dir = cache_dir or os.path.join(default_home(), "ids")
    freed = 0
    for e in cache_entries(cache_dir):
        if e["state"] != "building" or _abandoned(e["path"], e["name"]):
            freed += e["bytes"]
            if e["state"] == "building":
                shutil.rmtree(e["path"], ignore_errors=True)
            else:
                _discard(e["path"])
    return freed


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
