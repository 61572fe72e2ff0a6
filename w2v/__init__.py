"""w2v: skip-gram word vectors with full softmax or negative sampling.

    from w2v import Model, TrainConfig, train
    vectors = train(TrainConfig(corpus="my.txt", out="my.bin"))   # as `w2v train` does
    vectors = train([["the", "cat", "sat"], ["a", "dog", "ran"]], min_count=1)  # no file written
    model = Model(sentences, dim=50)                               # keeps U and the counts
"""
__version__ = "0.3.0"  # the one place: setup.cfg reads it, CHANGELOG.md says what it holds

from .config import TrainConfig
from .errors import SettingError, W2VError
from .keyed import UnknownWord
from .model import Model
from .train import TrainingInterrupted, train
from .vectors import Vectors

__all__ = ["Model", "SettingError", "TrainConfig", "train", "TrainingInterrupted", "UnknownWord",
           "Vectors", "W2VError"]
