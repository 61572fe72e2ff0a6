"""Scoring vectors: the Google analogy set (accuracy) and word-pair similarity (Spearman, Pearson).

Both follow gensim 4's KeyedVectors.evaluate_word_analogies and evaluate_word_pairs, defaults
included, so the same vectors and the same file give the numbers gensim users report:
- only the `restrict` (300,000) most frequent words take part, in analogies and in word pairs;
- words are compared case-insensitively (upper-cased), the most frequent form of a word standing
  for it; `case_insensitive=False` compares them as written;
- an analogy is answered by 3CosAdd among the restricted words other than a, b and c; of the five
  best answers, the first that is not a, b or c up to case is the prediction;
- a question or pair with a word outside the restricted vocabulary is skipped and counted (the OOV
  percentage), or with `dummy4unknown` scored as wrong (analogies) or as similarity 0 (pairs);
- lines that are neither a section, a question nor a pair (a header line, three words) are
  skipped, as gensim skips them, and their numbers reported.
Pearson and Spearman are computed here in numpy, as scipy.stats computes them (Spearman: Pearson of
the tie-averaged ranks), so w2v needs no scipy.
"""
from importlib import resources
from typing import TYPE_CHECKING, Optional

import numpy as np
from numpy.typing import ArrayLike

from .errors import W2VError

if TYPE_CHECKING:
    from .vectors import Vectors

DEFAULT_RESTRICT = 300_000  # gensim's restrict_vocab
TOP = 5  # gensim looks for a prediction among this many best answers


def _vocabulary(vectors, restrict, case_insensitive):
    """The words a test may use -> their row: the first `restrict` words, upper-cased when
    case-insensitive, the first (most frequent) of a word's forms winning, as gensim."""
    ok = {}
    for i, w in enumerate(vectors.words[:restrict]):
        ok.setdefault(w.upper() if case_insensitive else w, i)
    return ok


def _read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise W2VError(f"{path}: byte {e.start}: not UTF-8 text") from None


def analogies(vectors: "Vectors", path: str, restrict: Optional[int] = DEFAULT_RESTRICT,
              case_insensitive: bool = True, dummy4unknown: bool = False, batch: int = 512) -> dict:
    """Accuracy on `a b c d` questions (a is to b as c is to d), per `: section` and in total.

    Returns {"sections": [{"section", "correct", "total"}...], "correct", "total", "accuracy",
    "questions": question lines read, "oov": questions with a word outside the vocabulary,
    "oov_percent": 100 * oov / questions, "invalid_lines": numbers of the lines skipped}.
    """
    fold = str.upper if case_insensitive else str
    ok = _vocabulary(vectors, restrict, case_insensitive)
    sections, questions, oov, invalid = [], [], 0, []
    for n, line in enumerate(_read_lines(path), 1):
        if line.startswith(": "):
            sections.append({"section": line.lstrip(": ").strip(), "correct": 0, "total": 0})
            continue
        if not line.strip():
            continue
        if not sections:
            raise W2VError(f"{path}:{n}: a question before the first `: section` line")
        words = [fold(w) for w in line.split()]
        if len(words) != 4:
            invalid.append(n)
            continue
        if not all(w in ok for w in words):
            oov += 1
            if dummy4unknown:  # scored as a wrong answer rather than skipped
                sections[-1]["total"] += 1
            continue
        questions.append((sections[-1], [ok[w] for w in words[:3]], words))
    folded = [fold(w) for w in vectors.words[:restrict]]  # row -> the word as compared
    M = vectors.unit[:restrict]  # (R, d)
    for s in range(0, len(questions), batch):
        chunk = questions[s:s + batch]
        abc = np.array([rows for _, rows, _ in chunk])  # (B, 3)
        query = M[abc[:, 1]] - M[abc[:, 0]] + M[abc[:, 2]]  # b - a + c, (B, d)
        query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
        scores = query @ M.T  # (B, d) @ (d, R) -> (B, R)
        np.put_along_axis(scores, abc, -np.inf, axis=1)  # a, b and c themselves are never answers
        for (section, _, (a, b, c, d)), row_scores in zip(chunk, scores):
            predicted = None
            for i in _best(row_scores, TOP):
                predicted = folded[i]
                if predicted not in (a, b, c):  # another form of a, b or c is passed over
                    break
            section["total"] += 1
            section["correct"] += predicted == d
    correct = sum(s["correct"] for s in sections)
    total = sum(s["total"] for s in sections)
    read = len(questions) + oov
    return {"sections": sections, "correct": correct, "total": total,
            "accuracy": correct / total if total else 0.0, "questions": read, "oov": oov,
            "oov_percent": 100 * oov / read if read else 0.0, "invalid_lines": invalid}


def _best(scores, k):
    """Rows of the k highest finite scores, best first."""
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=int)
    best = best[np.argsort(-scores[best], kind="stable")]
    return best[np.isfinite(scores[best])]


def rank(x: ArrayLike) -> np.ndarray:
    """Ranks from 1, ties given the average of the ranks they span."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's correlation coefficient r, as scipy.stats.pearsonr: nan when x or y is constant."""
    dx, dy = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx, dy = dx - dx.mean(), dy - dy.mean()
    denom = np.sqrt((dx ** 2).sum() * (dy ** 2).sum())
    return float(np.clip((dx * dy).sum() / denom, -1.0, 1.0)) if denom > 0 else float("nan")


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks."""
    return pearson(rank(x), rank(y))


def word_pairs(vectors: "Vectors", path: str, restrict: Optional[int] = DEFAULT_RESTRICT,
               case_insensitive: bool = True, dummy4unknown: bool = False) -> dict:
    """Correlation between cosine similarity and the human scores of `w1 w2 score` lines:
    tab-separated, or whitespace-separated when a line has no tab; lines starting with # are
    comments.

    Returns {"spearman", "pearson", "pairs": pairs scored, "oov": pairs with a word outside the
    vocabulary, "oov_percent": 100 * oov / (pairs read), "invalid_lines"}.
    """
    fold = str.upper if case_insensitive else str
    ok = _vocabulary(vectors, restrict, case_insensitive)
    model, human, oov, invalid = [], [], 0, []
    for n, line in enumerate(_read_lines(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            score = float(parts[2]) if len(parts) == 3 else None
        except ValueError:  # a header line, say
            score = None
        if score is None:
            invalid.append(n)
            continue
        a, b = fold(parts[0]), fold(parts[1])
        if a not in ok or b not in ok:
            oov += 1
            if dummy4unknown:
                model.append(0.0)
                human.append(score)
            continue
        model.append(float(vectors.unit[ok[a]] @ vectors.unit[ok[b]]))
        human.append(score)
    if not model and not oov:
        raise W2VError(f"{path}: no `word word score` lines")
    scored = len(model) - (oov if dummy4unknown else 0)
    enough = len(model) > 1
    return {"spearman": spearman(model, human) if enough else float("nan"),
            "pearson": pearson(model, human) if enough else float("nan"),
            "pairs": scored, "oov": oov, "oov_percent": 100 * oov / (scored + oov),
            "invalid_lines": invalid}


def default_path(name):
    """The path of a file shipped in the package's data/ directory (w2v/data/, see its README).

    Read through importlib.resources, so it is found wherever w2v is installed, editable or from a
    wheel. The package is installed as plain files (zip_safe = False in setup.cfg), so this is a
    real path that gzip and open can read.
    """
    return str(resources.files("w2v") / "data" / name)


def evaluate_all(vectors: "Vectors", analogies_path: Optional[str] = None,
                 pairs_path: Optional[str] = None, restrict: Optional[int] = DEFAULT_RESTRICT,
                 case_insensitive: bool = True) -> dict:
    """Both evaluations, on the shipped sets unless paths are given."""
    return {"analogies": analogies(vectors, analogies_path or default_path("questions-words.txt"),
                                   restrict, case_insensitive),
            "pairs": word_pairs(vectors, pairs_path or default_path("wordsim353.tsv"), restrict,
                                case_insensitive)}
