"""Trained word vectors: saving and loading the word2vec text and binary formats, and queries.

docs/math.md section 15. Binary: a header line `W d`, then per word its UTF-8 bytes, a space and d
little-endian float32 values; we write a newline after each vector, as word2vec.c does, and read
files with or without it (gensim writes none). Text: the header, then `word x1 ... xd` lines;
fastText's .vec files are this, GloVe's are this without the header. Either may be gzipped.
Both are what gensim's KeyedVectors.load_word2vec_format and word2vec.c read.

Loading streams: the header is checked against the file's size, the (W, d) float32 matrix is
allocated once and filled block by block, so a file costs its matrix, its words and one block
(gensim's loader is the reference for what is accepted; it is not copied). The reader refuses
what it cannot parse exactly, each case with its own message: a dimension that does not match
the records, a word given twice, a NaN, a space inside a word, a ragged row, bytes that are not
UTF-8 (unless `unicode_errors` says otherwise, as gensim's does).

Queries never copy the matrix: cosines are products divided by the row norms, or the rows are
scaled to length 1 in place (`normalise_`). This module knows nothing of training.
"""
import contextlib
import difflib
import functools
import gzip
import os
import zlib

import numpy as np

from .atomic import atomic_write
from .errors import W2VError
from .keyed import GensimMethods, _as_list

BLOCK_BYTES = 1 << 22  # what the reader holds besides the matrix and the words
MAX_WORD_BYTES = 10_000  # a binary record whose word is longer is not a record
GZIP_MAX_RATIO = 1032  # deflate never expands less: a .gz file unpacks to at most this many times its size
SCORE_FLOATS = 1 << 20  # scores held at once by a batch of queries: (B, rows) at most this many
UNICODE_ERRORS = ("strict", "replace", "ignore")
NEWLINE = b"\n"
_ESCAPED_CONTROLS = {c: f"\\x{c:02x}" for c in range(32)}
_CONTROL_BYTES = bytes(range(32))
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\r"  # what a text row holds after its word


class Vectors(GensimMethods):
    """Words and their vectors, row i of `matrix` (W, d) float32 belonging to words[i]."""

    def __init__(self, words, matrix):
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix
        self.normalised = False

    @functools.cached_property
    def index(self):
        """word -> row, built on first use (a large vocabulary's dict is tens of MB)."""
        return {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    @property
    def dim(self):
        return self.matrix.shape[1]

    @functools.cached_property
    def inverse_norms(self):
        """(W,) float32: 1 / the length of each row, 0 for a zero row (its cosines are 0)."""
        out = np.empty(len(self), np.float32)
        for lo in range(0, len(self), _rows_per_block(self.dim)):
            rows = self.matrix[lo:lo + _rows_per_block(self.dim)]
            out[lo:lo + len(rows)] = np.sqrt(np.einsum("ij,ij->i", rows, rows))  # no (rows, d) temporary
        return np.divide(1, out, out=np.zeros_like(out), where=out > 0)

    def normalise_(self):
        """Scale every row to length 1 in place (zero rows stay zero); the lengths are lost.

        Queries do not need it, but it spares them a division, and `unit` becomes the matrix
        itself instead of a normalised copy. Returns self.
        """
        if not self.normalised:
            step = _rows_per_block(self.dim)
            for lo in range(0, len(self), step):
                self.matrix[lo:lo + step] *= self.inverse_norms[lo:lo + step, None]
            self.inverse_norms = (self.inverse_norms > 0).astype(np.float32)
            self.normalised = True
        return self

    @property
    def unit(self):
        """Rows scaled to length 1 (zero rows stay zero): the matrix itself once normalised,
        else a copy computed once."""
        if self.normalised:
            return self.matrix
        if getattr(self, "_unit", None) is None:
            self._unit = self.matrix * self.inverse_norms[:, None]
        return self._unit

    def check_words(self, words):
        """Raise W2VError naming the first unknown word and up to 3 close spellings."""
        for w in words:
            if w not in self.index:
                close = difflib.get_close_matches(w, self.words[:200_000], n=3, cutoff=0.7)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise W2VError(f"{w!r} is not in the vocabulary{hint}")

    def unit_vectors(self, words):
        """The words' vectors scaled to length 1: (n, d), without normalising the matrix."""
        rows = [self.index[w] for w in words]
        return self.matrix[rows] * self.inverse_norms[rows, None]  # (n, d)

    def most_similar(self, positive=(), negative=(), topn=10, restrict=None, method="add",
                     restrict_vocab=None):
        """The topn words nearest the query, as (word, score) pairs, best first.

        add (3CosAdd): cosine with the sum of the positive unit vectors minus the negative
        ones, as gensim's most_similar. mul (3CosMul, Levy & Goldberg 2014): the product of
        the positive words' cosines over that of the negative ones, with cosines shifted to
        [0, 1]. Only the first `restrict` words (the most frequent) are searched; the query
        words themselves are never returned. As in gensim, one word may stand for a list of one
        (`most_similar("king")`), and `restrict_vocab` is another name for `restrict`.
        """
        positive, negative = _as_list(positive), _as_list(negative)
        restrict = restrict if restrict is not None else restrict_vocab
        self.check_words(positive + negative)
        if not positive and not negative:
            raise W2VError("nothing to look up: give at least one word")
        exclude = [[self.index[w] for w in positive + negative]]
        if method == "add":
            query = self.unit_vectors(positive).sum(axis=0) - self.unit_vectors(negative).sum(axis=0)
            return self._nearest(query[None, :], exclude, topn, restrict)[0]
        if method != "mul":
            raise ValueError(f"unknown method {method!r}")
        eps = 1e-6
        P, N = self.unit_vectors(positive), self.unit_vectors(negative)  # (p, d), (n, d)

        def scores(rows, inverse_norms):
            cos = lambda Q: (rows @ Q.T * inverse_norms[:, None] + 1) / 2  # (r, d) @ (d, q) -> (r, q)
            return (np.prod(cos(P), axis=1) / (np.prod(cos(N), axis=1) + eps))[None, :]  # (1, r)

        return self._top(scores, exclude, topn, restrict)[0]

    def most_similar_batch(self, queries, topn=10, restrict=None):
        """For each query (a list of words), the topn words nearest the sum of their unit
        vectors, as word2vec's `distance` answers a line: one matrix product for the batch.
        Every word must be in the vocabulary (check_words)."""
        for words in queries:
            self.check_words(words)
        if not queries:
            return []
        Q = np.stack([self.unit_vectors(words).sum(axis=0) for words in queries])  # (B, d)
        return self._nearest(Q, [[self.index[w] for w in words] for words in queries], topn,
                             restrict)

    def _nearest(self, Q, exclude, topn, restrict):
        """The topn rows by cosine with each query row of Q (B, d), as (word, score) lists."""
        norms = np.linalg.norm(Q, axis=1, keepdims=True)
        Q = (Q / np.where(norms > 0, norms, 1)).astype(np.float32)
        return self._top(lambda rows, inverse_norms: Q @ rows.T * inverse_norms,  # (B, d) @ (d, r)
                         exclude, topn, restrict)

    def _top(self, scores, exclude, topn, restrict):
        """The topn rows of the first `restrict` by scores(rows, inverse_norms) -> (B, r),
        computed over blocks of rows so that at most SCORE_FLOATS scores exist at once; the
        rows in exclude[b] are never returned for query b."""
        B = len(exclude)
        R = min(restrict or len(self), len(self))
        step = max(1, SCORE_FLOATS // B)
        excluded_query = np.array([b for b, rows in enumerate(exclude) for _ in rows], np.int64)
        excluded_row = np.array([i for rows in exclude for i in rows], np.int64)
        best_rows = np.empty((B, 0), np.int64)
        best = np.empty((B, 0), np.float32)
        for lo in range(0, R, step):
            hi = min(lo + step, R)
            S = np.asarray(scores(self.matrix[lo:hi], self.inverse_norms[lo:hi]), np.float32)  # (B, r)
            here = (excluded_row >= lo) & (excluded_row < hi)
            S[excluded_query[here], excluded_row[here] - lo] = -np.inf
            k = min(topn, hi - lo)
            top = np.argpartition(-S, k - 1, axis=1)[:, :k]  # (B, k), unordered
            candidates = np.concatenate([best_rows, top + lo], axis=1)  # (B, <= 2 topn)
            values = np.concatenate([best, np.take_along_axis(S, top, axis=1)], axis=1)
            keep = np.argsort(-values, axis=1, kind="stable")[:, :topn]
            best_rows = np.take_along_axis(candidates, keep, axis=1)
            best = np.take_along_axis(values, keep, axis=1)
        return [[(self.words[i], float(s)) for i, s in zip(rows, values) if np.isfinite(s)]
                for rows, values in zip(best_rows.tolist(), best.tolist())]

    def save(self, path, format="bin"):
        """Write word2vec binary (`bin`) or text (`text`), atomically; gzipped if the path ends
        in .gz (gensim reads such files)."""
        if format not in ("bin", "text"):
            raise ValueError(f"unknown vector format {format!r}")
        for w in self.words:
            if not w or any(ch.isspace() for ch in w):
                raise W2VError(f"cannot save the word {w!r}: word2vec files need words without spaces")
        with atomic_write(path, "wb") as raw, contextlib.ExitStack() as stack:
            f = raw
            if str(path).endswith(".gz"):
                f = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0))
            f.write(f"{len(self)} {self.dim}\n".encode())
            step = _rows_per_block(self.dim)
            for lo in range(0, len(self), step):
                words, rows = self.words[lo:lo + step], self.matrix[lo:lo + step]
                if format == "bin":
                    rows = rows.astype("<f4", copy=False)  # a copy only on big-endian machines
                    f.write(b"".join(w.encode("utf-8") + b" " + row.tobytes() + b"\n"
                                     for w, row in zip(words, rows)))
                else:
                    line = "%s" + " %.7g" * self.dim + "\n"
                    f.write("".join(line % (w, *row) for w, row in zip(words, rows.tolist()))
                            .encode("utf-8"))

    @classmethod
    def load(cls, path, limit=None, no_header=False, unicode_errors="strict"):
        """Read a word2vec binary or text file (gzipped or not), whoever wrote it.

        The format is detected; a text file without the `W d` header (GloVe) is detected too,
        or declared with no_header. limit reads only the first `limit` vectors (gensim's limit).
        unicode_errors says what becomes of words that are not UTF-8: strict refuses them,
        replace and ignore decode them as Python (and gensim) do.
        """
        if unicode_errors not in UNICODE_ERRORS:
            raise W2VError(f"unicode_errors must be one of {', '.join(UNICODE_ERRORS)}, "
                           f"got {unicode_errors!r}")
        try:
            f = open(path, "rb")
        except OSError as e:
            raise W2VError(f"cannot read vectors {path}: {e.strerror}") from None
        with f:
            try:
                size = os.fstat(f.fileno()).st_size
                gzipped = f.read(2) == b"\x1f\x8b"
                f.seek(0)
                source = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
                reader = _Reader(str(path), source, gzipped, size, unicode_errors)
                words, matrix, index = reader.read(limit, no_header)
            except (OSError, EOFError, zlib.error) as e:
                raise W2VError(f"cannot read vectors {path}: {getattr(e, 'strerror', None) or e}") from None
        vectors = cls(words, matrix)
        vectors.__dict__["index"] = index  # built while reading, to refuse a word given twice
        return vectors


def _rows_per_block(d):
    return max(1, BLOCK_BYTES // (4 * d))


def _is_number(field):
    try:
        float(field)
        return True
    except ValueError:
        return False


def _shown(raw):
    """A word's bytes as a message shows them: decoded where they are UTF-8, cut at 40."""
    text = bytes(raw[:40]).decode("utf-8", "backslashreplace").translate(_ESCAPED_CONTROLS)
    return f"'{text}'"


class _Reader:
    """A word2vec file read front to back in blocks: buf[pos:] is what has been read and not
    yet parsed, and `offset` is the file position of buf[0] (for messages)."""

    def __init__(self, path, source, gzipped, size, unicode_errors):
        self.path, self.source, self.errors = path, source, unicode_errors
        self.gzipped, self.size = gzipped, size
        self.buf, self.pos, self.offset, self.eof = b"", 0, 0, False

    def fill(self, need):
        """Make at least `need` unparsed bytes available, unless the file ends first: the
        unparsed rest and the next block are read into one new buffer, the old one dropped."""
        if len(self.buf) - self.pos >= need or self.eof:
            return
        rest = self.buf[self.pos:]
        self.offset += self.pos
        self.buf = b""
        buf = bytearray(len(rest) + max(BLOCK_BYTES, need))
        buf[:len(rest)] = rest
        have = len(rest)
        with memoryview(buf) as view:
            while have < len(buf):
                got = self.source.readinto(view[have:])
                if not got:
                    self.eof = True
                    break
                have += got
        del buf[have:]
        self.buf, self.pos = buf, 0

    def line_end(self):
        """Index in buf of the newline ending the line at pos (or of the end of the file)."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0 or self.eof:
                return end if end >= 0 else len(self.buf)
            self.fill(2 * (len(self.buf) - self.pos) + BLOCK_BYTES)

    def fail(self, message):
        raise W2VError(f"{self.path}: {message}")

    def read(self, limit, no_header):
        """(words, matrix, index): the file's vectors, at most `limit` of them."""
        self.fill(BLOCK_BYTES)
        self._refuse_other_formats()
        end = self.line_end()
        first = self.buf[:end]
        fields = first.split()
        if len(fields) == 2 and all(f.isdigit() for f in fields) and not no_header:
            W, d = int(fields[0]), int(fields[1])
            self.pos = end + 1
            line_no = 2
        else:
            fields = first.rstrip().split(b" ")
            # a header-less row is detected from two numbers up: `word 3` is a broken header
            if not no_header and not (len(fields) > 2 and all(map(_is_number, fields[1:]))):
                self.fail(f"line 1: expected the header `W d`, or a row `word x1 ... xd` of a "
                          f"file without one (GloVe), got {first[:60]!r}")
            W, d = self._count_rows(limit), len(fields) - 1
            line_no = 1
        if d == 0:
            self.fail("line 1: dimension 0")
        # without a header, W was counted only up to the limit: more lines may follow
        read_all = limit is None or (limit >= W if line_no == 2 else limit > W)
        W = W if limit is None else min(W, limit)
        self.fill(BLOCK_BYTES)
        binary = line_no == 2 and W > 0 and not self._looks_like_text(d)
        if binary:  # kept for _dimension_hint
            self.body_start = self.offset + self.pos
            self.head = self.buf[self.pos:self.pos + max(1 << 16, 40 * (4 * d + 64))]
            self.head_complete = self.eof and len(self.head) == len(self.buf) - self.pos
        self._check_size(W, d, binary)
        try:
            matrix = np.empty((W, d), dtype=np.float32)
        except MemoryError:
            self.fail(f"{W:,} vectors of {d} floats ({W * d * 4 / 1e9:,.1f} GB) do not fit in "
                      f"memory; read fewer with --limit")
        words = self._read_binary(matrix) if binary else self._read_text(matrix, line_no)
        if read_all:
            self._check_end(binary, d, W, line_no + W)
        place = (lambda i: f"vector {i + 1}") if binary else (lambda i: f"line {line_no + i}")
        return words, matrix, self._index(words, place)

    def _refuse_other_formats(self):
        head = self.buf[:8]
        if not head:
            self.fail("the file is empty")
        if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            self.fail("this is a pickled gensim model, not a word2vec file: export its vectors "
                      "with model.wv.save_word2vec_format('vectors.bin', binary=True)")
        if head.startswith(b"\x93NUMPY"):
            self.fail("this is a numpy array (.npy), not a word2vec file: load the gensim model "
                      "it belongs to and call model.wv.save_word2vec_format('vectors.bin', binary=True)")
        if head[:4] == (793712314).to_bytes(4, "little"):
            self.fail("this is a fastText .bin model, not a word2vec file: use its .vec file")

    def _count_rows(self, limit):
        """Rows of a file without a header, at most about `limit`: a pass over it, so that the
        matrix can be allocated once. Blank lines at the end do not count."""
        rows = lines = 0
        while True:
            self.fill(BLOCK_BYTES)
            block = self.buf[self.pos:]
            if not block or limit is not None and rows >= limit:
                break
            content = block.rstrip()
            if content:
                rows = lines + content.count(b"\n") + 1
            lines += block.count(b"\n")
            self.pos = len(self.buf)
        self.source.seek(0)
        self.buf, self.pos, self.offset, self.eof = b"", 0, 0, False
        return rows

    def _looks_like_text(self, d):
        """A text row holds printable ASCII after its word, at least d numbers and d - 1 spaces.
        A binary record, read up to its first newline byte (often a few bytes in), holds float
        bytes: printable as far as 2d - 1 bytes by a chance of (95/256)^(2d - 1), and holding a
        number among them by less."""
        rest = self.buf[self.pos:self.line_end()].partition(b" ")[2].strip()
        return len(rest) >= 2 * d - 1 and not rest.translate(None, _TEXT_BYTES) \
            and any(map(_is_number, rest.split(b" ")))

    def _check_size(self, W, d, binary):
        """Refuse a header that promises more than the file can hold, before allocating."""
        smallest = W * (4 * d + 2) if binary else W * (2 * d + 2) - 1  # 1-byte words, 1-digit numbers
        header = self.offset + self.pos
        if binary and smallest > (self.size * GZIP_MAX_RATIO if self.gzipped else self.size - header):
            self._dimension_hint(d, W)
        if not self.gzipped and smallest > self.size - header:
            self.fail(f"the header promises {W:,} vectors of {d:,} numbers, at least {smallest:,} "
                      f"bytes, but the file holds {self.size - header:,} after it")
        if self.gzipped and smallest > self.size * GZIP_MAX_RATIO:
            self.fail(f"the header promises {W:,} vectors of {d:,} numbers, at least {smallest:,} "
                      f"bytes, but {self.size:,} gzipped bytes unpack to at most "
                      f"{self.size * GZIP_MAX_RATIO:,}")

    def _index(self, words, place):
        """word -> row; a word given twice is refused (gensim keeps the first and warns)."""
        index = {w: i for i, w in enumerate(words)}
        if len(index) < len(words):
            seen = {}
            for i, w in enumerate(words):
                if w in seen:
                    how = "" if self.errors == "strict" else f" (after --unicode-errors {self.errors})"
                    self.fail(f"the word {w!r} is given twice{how}: {place(seen[w])} and {place(i)}")
                seen[w] = i
        return index

    # -- binary -------------------------------------------------------------------------------

    def _read_binary(self, matrix):
        W, d = matrix.shape
        width = 4 * d
        target = matrix.view(np.uint8).reshape(W, width)  # the matrix's bytes, a row a vector
        words = []
        i = 0
        while i < W:
            self.fill(width + MAX_WORD_BYTES + 2)  # enough for a whole record, or the file's end
            buf, pos, n = self.buf, self.pos, len(self.buf)
            raw, starts, vector_starts = [], [], []
            while i < W:
                start = pos + 1 if pos < n and buf[pos] == 10 else pos  # word2vec.c's newline
                space = buf.find(b" ", start, start + MAX_WORD_BYTES + 1)
                if space < 0 or space + 1 + width > n:
                    break
                raw.append(buf[start:space])
                starts.append(start)
                vector_starts.append(space + 1)
                pos = space + 1 + width
                i += 1
            first = i - len(raw)
            if raw:  # gathers of <= 1 MB: row k of the windows is buf[k:k + width]
                windows = np.lib.stride_tricks.sliding_window_view(np.frombuffer(buf, np.uint8), width)
                step = max(1, (1 << 20) // width)
                for lo in range(0, len(raw), step):  # (step, 4d); np.take would copy all windows
                    chunk = vector_starts[lo:lo + step]
                    target[first + lo:first + lo + len(chunk)] = windows[chunk]
                del windows
            self._check_binary_words(raw, starts, first, W, d)
            words.extend(self._decode(raw, starts, first, b" "))
            self._check_finite(matrix[first:i], first, words, lambda k: f"vector {k + 1}")
            self.pos = pos
            if i < W and self.eof:
                self._dimension_hint(d, W)
                if start >= n:
                    self.fail(f"truncated: the file ends after vector {i:,} of the {W:,} its "
                              f"header announces")
                self.fail(f"truncated: the file ends in vector {i + 1:,} of {W:,} (byte "
                          f"{self.offset + n})")
            if i < W and space < 0 and n - start > MAX_WORD_BYTES:
                self._dimension_hint(d, W)
                self.fail(f"byte {self.offset + start}: vector {i + 1}: no space after a word "
                          f"within {MAX_WORD_BYTES:,} bytes: not a word2vec binary file, or damaged")
            del buf  # so that the next fill holds one block, not two
        return words

    def _check_binary_words(self, raw, starts, first, W, d):
        """A word that is empty or holds control bytes is the mark of a misparse."""
        joined = b" ".join(raw)
        if all(raw) and len(joined.translate(None, _CONTROL_BYTES)) == len(joined):
            return
        self._dimension_hint(d, W)
        k = next(k for k, w in enumerate(raw) if not w or w.translate(None, _CONTROL_BYTES) != w)
        self.fail(f"byte {self.offset + starts[k]}: vector {first + k + 1}: the word "
                  f"{_shown(raw[k])} is {'empty' if not raw[k] else 'not text'}: the file is "
                  f"damaged, or not word2vec binary with vectors of {d} numbers")

    def _dimension_hint(self, d, W):
        """If the first records parse with another dimension but not with the header's, say
        so: a wrong dimension is the usual cause of a misparse."""
        if _clean_records(self.head, d, W, self.head_complete, strict=False):
            return
        for other in range(1, len(self.head) // 4):
            if other != d and _clean_records(self.head, other, W, self.head_complete, strict=True):
                self.fail(f"the header says the vectors have {d} numbers, but the records hold "
                          f"{other} (byte {self.body_start}): the header is wrong")

    # -- text ---------------------------------------------------------------------------------

    def _read_text(self, matrix, line_no):
        W, d = matrix.shape
        words = []
        i = 0
        while i < W:
            self.fill(BLOCK_BYTES)
            if self.eof:
                lines = self.buf[self.pos:].rstrip().split(b"\n") if self.buf[self.pos:].strip() else []
            else:
                cut = self.buf.rfind(b"\n", self.pos)
                end = cut if cut >= 0 else self.line_end()  # may read on, moving buf and pos
                lines = self.buf[self.pos:end].split(b"\n")
            if not lines:
                self.fail(f"the header says {W:,} words, but the file ends after {i:,} "
                          f"(line {line_no + i})")
            lines = lines[:W - i]
            self.pos = min(self.pos + sum(len(line) + 1 for line in lines), len(self.buf))
            pairs = [line.rstrip().split(b" ", 1) for line in lines]
            n = len(pairs)
            values = None
            if all(len(p) == 2 and p[0] and p[1].count(b" ") == d - 1 for p in pairs):
                try:
                    values = np.fromstring(b" ".join(p[1] for p in pairs), dtype=np.float32, sep=" ")
                except ValueError:
                    pass
            if values is None or values.size != n * d:
                values = self._parse_slowly(lines, line_no + i, d)
            matrix[i:i + n] = values.reshape(n, d)
            raw = [p[0] for p in pairs]
            words.extend(self._decode(raw, [line_no + i + k for k in range(n)], i, b"\n"))
            self._check_finite(matrix[i:i + n], i, words, lambda k: f"line {line_no + k}")
            i += n
        return words

    def _parse_slowly(self, lines, first_line_no, d):
        """The values of lines that numpy's parser refused, read one by one as Python reads
        numbers; W2VError with the accurate message for the first line that is not
        `word x1 ... xd`."""
        values = np.empty((len(lines), d), np.float32)
        for k, line in enumerate(lines):
            n = first_line_no + k
            fields = line.rstrip().split(b" ")
            if not line.strip():
                self.fail(f"line {n} is blank")
            if not fields[0]:
                self.fail(f"line {n} starts with a space (an empty word)")
            if b"" in fields[1:]:
                self.fail(f"line {n}: two spaces in a row")
            if len(fields) - 1 != d:
                numbers = next(j for j in range(1, len(fields) + 1)
                               if all(map(_is_number, fields[j:])))
                if numbers > 1 and len(fields) - numbers == d:
                    self.fail(f"line {n}: the word {_shown(b' '.join(fields[:numbers]))} holds a "
                              f"space (word2vec files need words without spaces)")
                self.fail(f"line {n}: expected a word and {d} numbers, got {len(fields) - 1} "
                          f"after the word (a ragged row)")
            for j, field in enumerate(fields[1:], 1):
                if not _is_number(field):
                    self.fail(f"line {n}: value {j} of {_shown(fields[0])} is not a number: "
                              f"{_shown(field)}")
            values[k] = [float(field) for field in fields[1:]]
        return values

    # -- both ---------------------------------------------------------------------------------

    def _decode(self, raw, where, first, separator):
        """The words of raw (bytes), decoded under unicode_errors; where[k] locates raw[k]."""
        joined = separator.join(raw)
        try:
            return joined.decode("utf-8", self.errors).split(separator.decode())
        except UnicodeDecodeError as e:
            k = joined[:e.start].count(separator)
            place = f"line {where[k]}" if separator == b"\n" else \
                f"byte {self.offset + where[k]}: vector {first + k + 1}"
            self.fail(f"{place}: the word {_shown(raw[k])} is not UTF-8; --unicode-errors replace "
                      f"or ignore reads it (as gensim's unicode_errors)")

    def _check_finite(self, rows, first, words, place):
        finite = np.isfinite(rows).all(axis=1)
        if not finite.all():
            k = int(np.argmin(finite))
            j = int(np.argmin(np.isfinite(rows[k])))
            self.fail(f"{place(first + k)}: value {j + 1} of {words[first + k]!r} is "
                      f"{rows[k, j]}")

    def _check_end(self, binary, d, W, next_line):
        """Nothing may follow the last vector but its newline (binary) or blank lines (text)."""
        self.fill(1)
        if binary and self.buf[self.pos:self.pos + 1] == b"\n":
            self.pos += 1
        lines = 0
        while True:
            self.fill(BLOCK_BYTES)
            rest = self.buf[self.pos:]
            if not rest:
                return
            if binary:
                self._dimension_hint(d, W)
                self.fail(f"byte {self.offset + self.pos}: the file goes on after the {W:,} "
                          f"vectors its header announces")
            if rest.strip():
                blank = rest[:len(rest) - len(rest.lstrip())]
                self.fail(f"line {next_line + lines + blank.count(NEWLINE)}: the file goes on "
                          f"after the {W:,} words its header announces")
            lines += rest.count(NEWLINE)
            self.pos = len(self.buf)


def _clean_records(head, d, W, complete, strict):
    """Whether the records at the start of `head` (the bytes after the header; the whole rest
    of the file if `complete`) parse as words free of control bytes (and valid UTF-8 if
    `strict`), each followed by d floats: all W of them and nothing after if the head is
    complete, else the first 20."""
    width, pos, records = 4 * d, 0, 0
    while records < (W if complete else min(W, 20)):
        start = pos + 1 if head[pos:pos + 1] == b"\n" else pos
        space = head.find(b" ", start, start + MAX_WORD_BYTES + 1)
        if space < 0:
            return not complete and records > 0 and len(head) - start <= MAX_WORD_BYTES
        word = head[start:space]
        if not word or word.translate(None, _CONTROL_BYTES) != word:
            return False
        if strict:
            try:
                word.decode("utf-8")
            except UnicodeDecodeError:
                return False
        pos = space + 1 + width
        records += 1
        if pos > len(head):
            return not complete and records > 1
    return not complete or head[pos:] in (b"", b"\n")
