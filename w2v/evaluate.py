"""Scoring vectors: the Google analogy set (accuracy) and word-pair similarity (Spearman).

Both follow gensim's evaluate_word_analogies and evaluate_word_pairs, so the numbers agree with
what gensim users report: words are compared case-insensitively, analogies are searched among the
`restrict` most frequent words with 3CosAdd, and questions or pairs with a word outside the
(restricted) vocabulary are skipped and counted, not scored.
"""
from collections import OrderedDict
from importlib import resources

import numpy as np

from .errors import W2VError

DEFAULT_RESTRICT = 30_000


def _case_insensitive_index(vectors, restrict):
    """UPPER(word) -> row among the first `restrict` words; the most frequent form wins."""
    ok = {}
    for i, w in enumerate(vectors.words[:restrict]):
        ok.setdefault(w.upper(), i)
    return ok


def _read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror}") from None


def analogies(vectors, path, restrict=DEFAULT_RESTRICT, batch=512):
    """Accuracy on `a b c d` questions (a is to b as c is to d), per `: section` and in total.

    Returns {"sections": [{"section", "correct", "total"}...], "correct", "total", "accuracy",
    "oov": questions skipped for a word outside the vocabulary}.
    """
    ok = _case_insensitive_index(vectors, restrict)
    upper_of_row = [w.upper() for w in vectors.words[:restrict]]
    sections, oov, section = OrderedDict(), 0, None
    questions = []  # (section, row a, row b, row c, row d)
    for n, line in enumerate(_read_lines(path), 1):
        if line.startswith(":"):
            section = line[1:].strip()
            sections.setdefault(section, [0, 0])
            continue
        words = line.upper().split()
        if not words:
            continue
        if len(words) != 4 or section is None:
            raise W2VError(f"{path}:{n}: expected a `: section` line or four words")
        if not all(w in ok for w in words):
            oov += 1
            continue
        questions.append((section, *(ok[w] for w in words)))
    M = vectors.unit[:restrict]  # (R, d)
    # every row whose word equals a, b or c up to case is excluded, as gensim excludes them
    rows_of = {}
    for i, u in enumerate(upper_of_row):
        rows_of.setdefault(u, []).append(i)
    for s in range(0, len(questions), batch):
        chunk = questions[s:s + batch]
        idx = np.array([q[1:] for q in chunk])  # (B, 4)
        query = M[idx[:, 1]] - M[idx[:, 0]] + M[idx[:, 2]]  # b - a + c
        query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
        scores = query @ M.T  # (B, d) @ (d, R) -> (B, R)
        for r, q in enumerate(chunk):
            for j in (1, 2, 3):
                scores[r, rows_of[upper_of_row[q[j]]]] = -np.inf
        predicted = scores.argmax(axis=1)
        for q, p in zip(chunk, predicted):
            sections[q[0]][1] += 1
            sections[q[0]][0] += upper_of_row[p] == upper_of_row[q[4]]
    correct = sum(c for c, _ in sections.values())
    total = sum(t for _, t in sections.values())
    return {"sections": [{"section": k, "correct": c, "total": t} for k, (c, t) in sections.items()],
            "correct": correct, "total": total, "accuracy": correct / total if total else 0.0,
            "oov": oov, "questions": total + oov}


def rank(x):
    """Ranks from 1, ties given the average of the ranks they span."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(x, y):
    """Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks."""
    rx, ry = rank(x), rank(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def word_pairs(vectors, path, restrict=300_000):
    """Spearman correlation between cosine similarity and the human scores of `w1 w2 score` lines
    (tab- or space-separated; lines starting with # are comments)."""
    ok = _case_insensitive_index(vectors, restrict)
    model, human, oov = [], [], 0
    for n, line in enumerate(_read_lines(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            a, b, score = parts[0].upper(), parts[1].upper(), float(parts[2])
        except (IndexError, ValueError):
            raise W2VError(f"{path}:{n}: expected `word word score`") from None
        if a not in ok or b not in ok:
            oov += 1
            continue
        model.append(float(vectors.unit[ok[a]] @ vectors.unit[ok[b]]))
        human.append(score)
    pairs = len(model) + oov
    return {"spearman": spearman(model, human) if len(model) > 1 else float("nan"),
            "pairs": len(model), "oov": oov, "oov_ratio": oov / pairs if pairs else 0.0}


def default_path(name):
    """The path of a file shipped in the package's data/ directory (w2v/data/, see its README).

    Read through importlib.resources, so it is found wherever w2v is installed, editable or from a
    wheel. The package is installed as plain files (zip_safe = False in setup.cfg), so this is a
    real path that gzip and open can read.
    """
    return str(resources.files("w2v") / "data" / name)


def evaluate_all(vectors, analogies_path=None, pairs_path=None, restrict=DEFAULT_RESTRICT):
    """Both evaluations, on the shipped sets unless paths are given."""
    return {"analogies": analogies(vectors, analogies_path or default_path("questions-words.txt"),
                                   restrict),
            "pairs": word_pairs(vectors, pairs_path or default_path("wordsim353.tsv"))}
