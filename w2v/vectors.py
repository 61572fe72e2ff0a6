"""Trained word vectors: saving and loading the word2vec text and binary formats.

docs/math.md section 15. Binary: a header line `W d`, then per word its UTF-8 bytes, a space and d
little-endian float32 values; we write a newline after each vector, as word2vec.c does, and read
files with or without it (gensim writes none). Text: the header, then `word x1 ... xd` lines.
Both are what gensim's KeyedVectors.load_word2vec_format and word2vec.c read.

The vectors live apart from the training state: this module knows nothing of training.
"""
import difflib
import functools

import numpy as np

from .atomic import atomic_write
from .errors import W2VError
from .keyed import GensimMethods


class Vectors(GensimMethods):
    """Words and their vectors, row i of `matrix` (W, d) float32 belonging to words[i]."""

    def __init__(self, words, matrix):
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix

    @functools.cached_property
    def index(self):
        """word -> row, built on first use (a large vocabulary's dict is tens of MB)."""
        return {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    @property
    def dim(self):
        return self.matrix.shape[1]

    @property
    def unit(self):
        """Rows scaled to length 1 (zero rows stay zero), computed once."""
        if getattr(self, "_unit", None) is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self._unit = self.matrix / np.where(norms > 0, norms, 1.0)
        return self._unit

    def check_words(self, words):
        """Raise W2VError naming the first unknown word and up to 3 close spellings."""
        for w in words:
            if w not in self.index:
                close = difflib.get_close_matches(w, self.words[:200_000], n=3, cutoff=0.7)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise W2VError(f"{w!r} is not in the vocabulary{hint}")

    def most_similar(self, positive=(), negative=(), topn=10, restrict=None, method="add"):
        """The topn words nearest the query, as (word, score) pairs, best first.

        add (3CosAdd): cosine with the sum of the positive unit vectors minus the negative
        ones, as gensim's most_similar. mul (3CosMul, Levy & Goldberg 2014): the product of
        the positive words' cosines over that of the negative ones, with cosines shifted to
        [0, 1]. Only the first `restrict` words (the most frequent) are searched; the query
        words themselves are never returned.
        """
        positive, negative = list(positive), list(negative)
        self.check_words(positive + negative)
        if not positive and not negative:
            raise W2VError("nothing to look up: give at least one word")
        M = self.unit[:restrict] if restrict else self.unit  # (R, d)
        if method == "add":
            query = self.unit[[self.index[w] for w in positive]].sum(axis=0)
            query = query - self.unit[[self.index[w] for w in negative]].sum(axis=0)
            norm = np.linalg.norm(query)
            scores = M @ (query / norm if norm > 0 else query)  # (R, d) @ (d,) -> (R,)
        elif method == "mul":
            eps = 1e-6
            cos = lambda words: (M @ self.unit[[self.index[w] for w in words]].T + 1) / 2  # (R, n)
            scores = np.prod(cos(positive), axis=1) / (np.prod(cos(negative), axis=1) + eps)
        else:
            raise ValueError(f"unknown method {method!r}")
        for w in positive + negative:
            if self.index[w] < len(scores):
                scores[self.index[w]] = -np.inf
        topn = min(topn, int(np.isfinite(scores).sum()))
        best = np.argpartition(-scores, topn - 1)[:topn] if topn > 0 else np.array([], int)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best]

    def save(self, path, format="bin"):
        """Write word2vec binary (`bin`) or text (`text`), atomically."""
        if format not in ("bin", "text"):
            raise ValueError(f"unknown vector format {format!r}")
        for w in self.words:
            if not w or any(ch.isspace() for ch in w):
                raise W2VError(f"cannot save the word {w!r}: word2vec files need words without spaces")
        with atomic_write(path, "wb") as f:
            f.write(f"{len(self)} {self.dim}\n".encode())
            if format == "bin":
                rows = self.matrix.astype("<f4", copy=False)  # a copy only on big-endian machines
                for w, row in zip(self.words, rows):
                    f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                line = "%s" + " %.7g" * self.dim + "\n"
                for w, row in zip(self.words, self.matrix.tolist()):
                    f.write((line % (w, *row)).encode("utf-8"))

    @classmethod
    def load(cls, path):
        """Read a word2vec binary or text file, whoever wrote it; the format is detected."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise W2VError(f"cannot read vectors {path}: {e.strerror}") from None
        end = data.find(b"\n")
        header = data[:end].split() if end >= 0 else []
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise W2VError(f"{path}: line 1: expected the header `W d`, got {data[:max(end, 0)][:60]!r}")
        W, d = int(header[0]), int(header[1])
        if d == 0:
            raise W2VError(f"{path}: line 1: dimension 0")
        body = data[end + 1:]
        if _looks_binary(body, W, d):
            return cls(*_parse_binary(path, body, end + 1, W, d))
        return cls(*_parse_text(path, body, W, d))


def _looks_binary(body, W, d):
    """A text file's first row is a word and d fields; a binary row, read as text, is not."""
    line = body.split(b"\n", 1)[0]
    try:
        return len(line.decode("utf-8").split()) != d + 1
    except UnicodeDecodeError:
        return True


def _parse_binary(path, body, base, W, d):
    """Find where each record starts (a Python scan for the space after each word), then read
    all W·d floats in one numpy gather from the buffer."""
    width = 4 * d
    words = []
    starts = np.empty(W, dtype=np.int64)  # offset of each vector's first byte
    pos = 0
    for i in range(W):
        if body[pos:pos + 1] == b"\n":  # the newline word2vec.c writes after a vector
            pos += 1
        space = body.find(b" ", pos, pos + 10_000)
        if space < 0 and pos < len(body):
            raise W2VError(f"{path}: byte {base + pos}: vector {i + 1} of {W}: no space after the word")
        if space < 0 or space + 1 + width > len(body):
            raise W2VError(f"{path}: byte {base + pos}: truncated: the file ends in vector {i + 1} "
                           f"of {W}")
        words.append(body[pos:space].decode("utf-8", errors="replace"))
        starts[i] = space + 1
        pos = space + 1 + width
    buffer = np.frombuffer(body, dtype=np.uint8)
    rows = buffer[starts[:, None] + np.arange(width)].view("<f4").astype(np.float32)  # (W, d)
    return words, rows


def _parse_text(path, body, W, d):
    lines = body.decode("utf-8", errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != W:
        raise W2VError(f"{path}: the header says {W} words, the file has {len(lines)} lines")
    words = []
    rows = np.empty((W, d), dtype=np.float32)
    for i, line in enumerate(lines):
        parts = line.rstrip().split(" ")
        if len(parts) != d + 1:
            raise W2VError(f"{path}: line {i + 2}: expected a word and {d} numbers, "
                           f"got {len(parts) - 1} numbers")
        words.append(parts[0])
        try:
            rows[i] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            raise W2VError(f"{path}: line {i + 2}: not a number among the values") from None
    return words, rows
