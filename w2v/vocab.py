"""The training vocabulary: which words are kept, their counts, and frequent-word subsampling.

Words are sorted by count, then by the word itself, as gensim and the C tool sort them, so that
the most frequent word has id 0. The vocabulary file format is the C tool's (`word count` a line).
"""
import functools
from dataclasses import dataclass

import numpy as np

from .atomic import atomic_write
from .errors import W2VError


@dataclass
class Vocab:
    words: list  # (W,) id -> word
    counts: np.ndarray  # (W,) int64 corpus counts

    @functools.cached_property
    def index(self):
        """word -> id, built on first use."""
        return {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    @classmethod
    def from_counts(cls, words, counts, min_count=5, max_vocab=None):
        """Keep the words seen at least min_count times, and at most the max_vocab most frequent.

        words and counts must already be sorted by count then word, so the kept words are a prefix.
        """
        counts = np.asarray(counts, dtype=np.int64)
        keep = int(np.searchsorted(-counts, -min_count, side="right"))  # counts are descending
        if max_vocab is not None:
            keep = min(keep, max_vocab)
        if keep == 0:
            raise W2VError(f"no word occurs at least {min_count} times (--min-count); "
                           f"the most frequent occurs {counts[0] if len(counts) else 0} times")
        return cls(list(words[:keep]), counts[:keep].copy())

    def save(self, path):
        """Write `word count` lines, the C tool's -save-vocab format."""
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.writelines(f"{w} {c}\n" for w, c in zip(self.words, self.counts))

    @classmethod
    def read(cls, path):
        """Read a C-tool vocabulary file (`word count` a line), re-sorted by count then word."""
        pairs, lines = [], {}  # word -> the line that listed it
        try:
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    parts = line.split()
                    if not parts:
                        continue
                    count = parts[1] if len(parts) == 2 else ""
                    if not (count.isascii() and count.isdigit() and int(count) > 0):
                        raise W2VError(f"{path}:{n}: expected `word count` with a count of at "
                                       f"least 1, got {line.strip()[:60]!r}")
                    if parts[0] in lines:
                        raise W2VError(f"{path}:{n}: {parts[0]!r} is listed twice "
                                       f"(first on line {lines[parts[0]]})")
                    lines[parts[0]] = n
                    pairs.append((parts[0], int(count)))
        except OSError as e:
            raise W2VError(f"cannot read vocabulary {path}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise W2VError(f"{path} is not a UTF-8 vocabulary file ({e.reason} at byte "
                           f"{e.start})") from None
        if not pairs:
            raise W2VError(f"vocabulary file {path} is empty")
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return cls([w for w, _ in pairs], np.array([c for _, c in pairs], dtype=np.int64))

    def keep_probabilities(self, sample):
        """P(keep) per word for subsampling with threshold `sample` (docs/math.md section 11).

        keep(w) = min(1, (sqrt(f / (s T)) + 1) · s T / f), f the word's count, T the total.
        sample = 0 keeps everything.
        """
        f = self.counts.astype(np.float64)
        if sample <= 0:
            return np.ones(len(f))
        sT = sample * f.sum()
        return np.minimum(1.0, (np.sqrt(f / sT) + 1.0) * sT / f)

    def remap_from(self, full_words):
        """For ids over a larger vocabulary `full_words`: an array mapping each to an id here, or -1."""
        return np.array([self.index.get(w, -1) for w in full_words], dtype=np.int32)
