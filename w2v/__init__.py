"""w2v: skip-gram word vectors with full softmax or negative sampling."""
from .errors import W2VError

__all__ = ["W2VError"]
