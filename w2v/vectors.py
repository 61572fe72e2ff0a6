"""Trained word vectors: saving and loading the word2vec text and binary formats.

MATH.md section 10. Binary: a header line `W d`, then per word its UTF-8 bytes, a space and d
little-endian float32 values; we write a newline after each vector, as word2vec.c does, and read
files with or without it (gensim writes none). Text: the header, then `word x1 ... xd` lines.
Both are what gensim's KeyedVectors.load_word2vec_format and word2vec.c read.

The vectors live apart from the training state: this module knows nothing of training.
"""
import numpy as np

from .atomic import atomic_write
from .errors import W2VError


class Vectors:
    """Words and their vectors, row i of `matrix` (W, d) float32 belonging to words[i]."""

    def __init__(self, words, matrix):
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    @property
    def dim(self):
        return self.matrix.shape[1]

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word):
        return self.matrix[self.index[word]]

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
                rows = self.matrix.astype("<f4")
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
    """A text file's first row is a word and d numbers; a binary row is not, read as text."""
    line = body.split(b"\n", 1)[0]
    try:
        parts = line.decode("utf-8").split()
        [float(x) for x in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return True
    return len(parts) != d + 1


def _parse_binary(path, body, base, W, d):
    words = []
    rows = np.empty((W, d), dtype=np.float32)
    pos = 0
    width = 4 * d
    for i in range(W):
        if pos < len(body) and body[pos] == 0x0A:  # the newline word2vec.c writes after a vector
            pos += 1
        space = body.find(b" ", pos, pos + 10_000)
        if space < 0:
            what = "truncated" if pos >= len(body) else "no space after the word"
            raise W2VError(f"{path}: byte {base + pos}: vector {i + 1} of {W}: {what}")
        if pos + (space - pos) + 1 + width > len(body):
            raise W2VError(f"{path}: byte {base + pos}: vector {i + 1} of {W} is truncated")
        words.append(body[pos:space].decode("utf-8", errors="replace"))
        rows[i] = np.frombuffer(body, dtype="<f4", count=d, offset=space + 1)
        pos = space + 1 + width
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
