"""Model: what a gensim user keeps in a Word2Vec object, and trains further on new text.

    from w2v import Model
    model = Model(sentences, dim=50, min_count=1)     # as train(), keeping U and the counts
    model.wv.most_similar("cat")                      # the vectors V (Vectors)
    model.train(more_sentences, epochs=2)             # continue on the same vocabulary
    model.save("m.ckpt"); model = Model.load("m.ckpt")

A Model holds the vectors V (`wv`, also `vectors`), the outside vectors U (`outside`), the
vocabulary with its counts (`vocab`) and the settings (`config`). It is saved in the checkpoint
format, so `w2v train --resume m.ckpt` reads it too.

Continuing on new text keeps the vocabulary and its counts (and so the negative-sampling and
subsampling distributions) and the settings that shape the model; the learning rate falls again
from alpha to min_alpha over the new run's epochs, as gensim's Word2Vec.train does. Words the
vocabulary does not hold are ignored, and the run says how many tokens that leaves out. Unlike
gensim's build_vocab(update=True), no word is added: to learn new words, train again on all the
text.

This module adds no training of its own: it keeps what train.py's run returns.
"""
import dataclasses
from typing import Callable, Optional, Union

import numpy as np

from . import checkpoint
from .config import TrainConfig
from .errors import SettingError
from .train import Run, Sentences, _train, make_config
from .vectors import Vectors
from .vocab import Vocab

# Settings a continued run may not change: they fix the vocabulary, the shapes of V and U, or
# what U means.
FIXED = ("dim", "loss", "min_count", "max_vocab", "read_vocab", "save_vocab", "resume")


class Model:
    """V, U, the vocabulary with its counts, and the settings of a training run."""

    def __init__(self, corpus_or_config: Union[TrainConfig, str, Sentences, None] = None, /, *,
                 quiet: bool = False, stop_when: Optional[Callable[[int, int], bool]] = None,
                 evaluate: bool = False, **settings):
        """Train as train() does (same arguments; out=None unless given) and keep the model."""
        config, sentences, given = make_config(corpus_or_config, settings)
        self._keep(_train(config, sentences, quiet, stop_when, evaluate, given))

    def _keep(self, run: Run):
        self.wv: Vectors = run.vectors
        self.outside = Vectors(run.vectors.words, run.U)  # U, row i for word i as in wv
        self.vocab: Vocab = run.vocab
        self.config: TrainConfig = run.config
        self._corpus_key, self._progress = run.corpus_key, run.progress

    @property
    def vectors(self) -> Vectors:
        """The vectors V: the same object as `wv`."""
        return self.wv

    def train(self, corpus_or_sentences: Union[str, Sentences], /, *, quiet: bool = False,
              stop_when: Optional[Callable[[int, int], bool]] = None, **settings) -> Vectors:
        """Continue training on more text (token lists, or a path as train() takes), starting
        from the model's V and U, on its vocabulary; returns the new vectors, also `wv`.

        settings may change the run (epochs, alpha, min_alpha, seed, threads, out, ...) but not
        what fixes the vocabulary or the shapes: dim, loss, min_count, max_vocab, read_vocab.
        If the run stops (stop_when, Ctrl-C), the model is left as it was.
        """
        for name in FIXED:
            if name in settings:
                raise SettingError(f"{name} cannot change when continuing training on the model's "
                                   "vocabulary: train a new Model")
        base = dataclasses.replace(self.config, out=None, checkpoint=None, save_outside=None,
                                   resume=None, save_vocab=None, read_vocab=None)
        config, sentences, _ = make_config(base, {"corpus": corpus_or_sentences, **settings})
        start = checkpoint.Checkpoint(config, None, self.vocab.words, self.vocab.counts,
                                      self.wv.matrix, self.outside.matrix, checkpoint.Progress())
        self._keep(_train(config, sentences, quiet, stop_when, False, None, start))
        return self.wv

    def save(self, path: str) -> None:
        """Write the model as a checkpoint (atomically); Model.load reads it back."""
        checkpoint.save(path, self.config, self._corpus_key, self.vocab, self.wv.matrix,
                        self.outside.matrix, self._progress)

    @classmethod
    def load(cls, path: str) -> "Model":
        """A model saved by Model.save, or any w2v checkpoint."""
        saved = checkpoint.load(path)
        model = cls.__new__(cls)
        model._keep(Run(Vectors(saved.words, saved.V), np.asarray(saved.U), Vocab(saved.words,
                        saved.counts), saved.config, saved.corpus_key, saved.progress))
        return model
