"""The negative sampler: P(w) ∝ count(w)^0.75, drawn in O(1) with Vose's alias method.

Two tables of W entries (a float32 probability and an int32 alias), about 8 bytes a word where
word2vec.c's unigram table takes 400 MB. The draws themselves happen in the compiled kernels
(w2v/kernels.c), which read these tables.
"""
import numpy as np

from .native import build_alias


class NegativeSampler:
    def __init__(self, counts, exponent=0.75):
        weights = np.asarray(counts, dtype=np.float64) ** exponent
        self.p = weights / weights.sum()  # (W,) the distribution drawn from
        self.prob, self.alias = build_alias(self.p)
