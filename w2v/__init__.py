"""w2v: skip-gram word vectors with full softmax or negative sampling.

    from w2v import TrainConfig, train
    vectors = train(TrainConfig(corpus="my.txt", out="my.bin"))
"""
__version__ = "0.2.0"  # the one place: setup.cfg reads it, CHANGELOG.md says what it holds

from .config import TrainConfig
from .errors import W2VError
from .train import TrainingInterrupted, train
from .vectors import Vectors

__all__ = ["TrainConfig", "train", "TrainingInterrupted", "Vectors", "W2VError"]
