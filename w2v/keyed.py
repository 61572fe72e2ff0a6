"""gensim's KeyedVectors methods on w2v's vectors, so that what a gensim user types works here.

A mixin: `class Vectors(GensimMethods)`. Names, arguments and results follow gensim 4's
gensim/models/keyedvectors.py (KeyedVectors). It relies only on this interface of the class it is
mixed into:

    words          list of W str; row i of the matrices is words[i], most frequent first
    matrix         (W, d) float32, the vectors
    index          dict word -> row
    unit           (W, d) float32, the rows scaled to length 1 (zero rows stay zero)
    check_words(words)   raises W2VError naming an unknown word and close spellings
    most_similar(positive, negative, topn, restrict, method)   method "add" (3CosAdd) or "mul"
    save(path, format) and the classmethod load(path)

Where w2v differs from gensim, the method says so. Two differences run through all of them: an
unknown word raises UnknownWord, which is both a KeyError (what gensim raises) and a W2VError
(one line from the CLI), also where gensim leaves it out (n_similarity silently, doesnt_match with
a logged warning); and `topn` is a number (for gensim's topn=None, every cosine as an array, use
`1 - distances(word)`).
This module knows nothing of training, files or the command line.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional, Sequence, Union

import numpy as np

from .errors import W2VError

Key = Union[str, int]


class UnknownWord(W2VError, KeyError):
    """A word that is not in the vocabulary: a KeyError as in gensim, a W2VError for the CLI."""

    __str__ = W2VError.__str__  # the message as given, not KeyError's repr of it


def _as_list(words) -> list:
    """gensim accepts one key where it expects a list of keys."""
    if words is None:
        return []
    return [words] if isinstance(words, (str, int, np.integer)) else list(words)


def _unit(x):
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x


class GensimMethods:
    """KeyedVectors' attributes and query methods, in gensim's names."""

    if TYPE_CHECKING:  # the interface of the class mixed into (see the module docstring)
        words: list[str]
        matrix: np.ndarray
        index: dict  # word -> row
        unit: np.ndarray

        def check_words(self, words: Iterable[str]) -> None: ...

        def most_similar(self, positive: Sequence[str] = (), negative: Sequence[str] = (),
                         topn: int = 10, restrict: Optional[int] = None,
                         method: str = "add") -> list[tuple[str, float]]: ...

        def save(self, path: str, format: str = "bin") -> None: ...

        @classmethod
        def load(cls, path: str) -> "GensimMethods": ...

    @property
    def key_to_index(self) -> dict[str, int]:
        return self.index

    @property
    def index_to_key(self) -> list[str]:
        return self.words

    @property
    def vectors(self) -> np.ndarray:
        """(W, d) float32, row i the vector of index_to_key[i]."""
        return self.matrix

    @property
    def vector_size(self) -> int:
        return self.matrix.shape[1]

    def get_index(self, key: Key, default: Optional[int] = None) -> int:
        """The row of `key`; an int within range is taken as a row, as in gensim."""
        row = self.index.get(key, -1)
        if row >= 0:
            return row
        if isinstance(key, (int, np.integer)) and 0 <= key < len(self.words):
            return int(key)
        if default is not None:
            return default
        if isinstance(key, str):
            try:
                self.check_words([key])  # raises, naming close spellings
            except W2VError as e:
                raise UnknownWord(str(e)) from None
        raise UnknownWord(f"{key!r} is not in the vocabulary")

    def _word(self, key):
        """The word of a key (a word or a row), UnknownWord if there is none."""
        return self.words[self.get_index(key)]

    def has_index_for(self, key: Key) -> bool:
        return self.get_index(key, -1) >= 0

    def __contains__(self, key: Key) -> bool:
        return self.has_index_for(key)

    def get_vector(self, key: Key, norm: bool = False) -> np.ndarray:
        """The vector (d,) of `key`, scaled to length 1 if `norm`; read-only, as in gensim."""
        row = self.get_index(key)
        vector = (self.unit if norm else self.matrix)[row]
        vector.setflags(write=False)  # a view: writing to it would change the vectors
        return vector

    def __getitem__(self, key_or_keys: Union[Key, Iterable[Key]]) -> np.ndarray:
        """One key's vector (d,), or a list of keys' vectors stacked (n, d)."""
        if isinstance(key_or_keys, (str, int, np.integer)):
            return self.get_vector(key_or_keys)
        return np.vstack([self.get_vector(key) for key in key_or_keys])

    def get_normed_vectors(self) -> np.ndarray:
        """(W, d) the rows scaled to length 1."""
        return self.unit

    def similarity(self, w1: Key, w2: Key) -> float:
        """Cosine similarity of two words."""
        return float(self.unit[self.get_index(w1)] @ self.unit[self.get_index(w2)])

    def distance(self, w1: Key, w2: Key) -> float:
        """Cosine distance, 1 - similarity."""
        return 1 - self.similarity(w1, w2)

    def distances(self, word_or_vector: Union[Key, np.ndarray],
                  other_words: Sequence[Key] = ()) -> np.ndarray:
        """Cosine distances (n,) from a word or vector to `other_words`, or to every word (W,),
        itself included, when other_words is empty."""
        if isinstance(word_or_vector, (str, int, np.integer)):
            query = self.unit[self.get_index(word_or_vector)]
        else:
            query = _unit(np.asarray(word_or_vector, dtype=np.float32))
        rows = [self.get_index(w) for w in other_words]
        others = self.unit[rows] if rows else self.unit  # (n, d)
        return 1 - others @ query  # (n, d) @ (d,) -> (n,)

    def n_similarity(self, ws1: Sequence[Key], ws2: Sequence[Key]) -> float:
        """Cosine similarity of the means of two lists of (not normalised) word vectors."""
        if not (len(ws1) and len(ws2)):
            raise ZeroDivisionError("At least one of the passed list is empty.")  # gensim's error
        mean1 = self.matrix[[self.get_index(w) for w in ws1]].mean(axis=0)  # (d,)
        mean2 = self.matrix[[self.get_index(w) for w in ws2]].mean(axis=0)  # (d,)
        return float(_unit(mean1) @ _unit(mean2))

    def rank_by_centrality(self, words: Sequence[Key],
                           use_norm: bool = True) -> list[tuple[float, Key]]:
        """(similarity to the normalised mean of the words, word) pairs, most central first."""
        if not words:
            raise ValueError("cannot select a word from an empty list")
        rows = self.unit if use_norm else self.matrix
        vectors = rows[[self.get_index(w) for w in words]]  # (n, d)
        dists = vectors @ _unit(vectors.mean(axis=0))  # (n, d) @ (d,) -> (n,)
        return sorted(zip(dists.tolist(), words), reverse=True)

    def doesnt_match(self, words: Sequence[Key]) -> Key:
        """The word least similar to the mean of all the words."""
        return self.rank_by_centrality(words)[-1][1]

    def most_similar_to_given(self, key1: Key, keys_list: Sequence[Key]) -> Key:
        """The key of keys_list most similar to key1."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def closer_than(self, key1: Key, key2: Key) -> list[str]:
        """Every word closer to key1 than key2 is, key1 itself left out."""
        distances = self.distances(key1)  # (W,)
        row1 = self.get_index(key1)
        closer = np.flatnonzero(distances < distances[self.get_index(key2)])
        return [self.words[i] for i in closer if i != row1]

    def rank(self, key1: Key, key2: Key) -> int:
        """Where key2 comes among key1's neighbours: 1 for the nearest."""
        return len(self.closer_than(key1, key2)) + 1

    def similar_by_word(self, word: Key, topn: int = 10,
                        restrict_vocab: Optional[int] = None) -> list[tuple[str, float]]:
        """most_similar([word]) in gensim's words: the topn nearest words and their cosines."""
        return self.most_similar([self._word(word)], [], topn=topn, restrict=restrict_vocab,
                                 method="add")

    similar_by_key = similar_by_word

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10,
                          restrict_vocab: Optional[int] = None) -> list[tuple[str, float]]:
        """The topn words nearest a vector (d,) by cosine, best first; none is left out."""
        if topn < 1:
            return []
        M = self.unit[:restrict_vocab] if restrict_vocab else self.unit  # (R, d)
        scores = M @ _unit(np.asarray(vector, dtype=np.float32))  # (R, d) @ (d,) -> (R,)
        topn = min(topn, len(scores))
        best = np.argpartition(-scores, topn - 1)[:topn]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best]

    def most_similar_cosmul(self, positive: Union[Key, Sequence[Key], None] = None,
                            negative: Union[Key, Sequence[Key], None] = None, topn: int = 10,
                            restrict_vocab: Optional[int] = None) -> list[tuple[str, float]]:
        """3CosMul (Levy & Goldberg 2014): the product of the cosines with the positive words over
        that with the negative ones, cosines shifted to [0, 1]. Unlike gensim 4, which ignores
        restrict_vocab here, only the first restrict_vocab words are searched."""
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos:
            raise ValueError("cannot compute similarity with no input")  # gensim's error
        if topn < 1:
            return []
        return self.most_similar([self._word(w) for w in pos], [self._word(w) for w in neg],
                                 topn=topn, restrict=restrict_vocab, method="mul")

    def save_word2vec_format(self, fname: str, binary: bool = False) -> None:
        """Write the word2vec binary (binary=True) or text format, atomically."""
        self.save(fname, "bin" if binary else "text")

    @classmethod
    def load_word2vec_format(cls, fname: str, binary: Optional[bool] = None):
        """Read a word2vec binary or text file. `binary` is accepted for gensim's callers and not
        needed: the format is detected."""
        return cls.load(fname)
