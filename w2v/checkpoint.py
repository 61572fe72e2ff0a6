"""Where a run stands (Progress), and the checkpoint file that lets it continue.

A checkpoint is a numpy .npz archive: a version, the run's settings (TrainConfig as JSON, paths
absolute), the corpus's identity (its token cache key), the vocabulary, V and U, and Progress.
It is taken between chunks, so a run resumed from it gives the bytes of a run never stopped.

`load` checks everything a checkpoint can be checked for without the corpus (shapes, types,
ranges, finiteness) and turns any damage into one W2VError line. `resumed_config` decides what a
resumed run may change: where files go and how the work is spread, never the model.

This module knows nothing of the corpus, the kernels or the loop.
"""
import dataclasses
import json
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .atomic import atomic_write
from .config import TrainConfig
from .errors import SettingError, W2VError

VERSION = 2


@dataclass
class Progress:
    """Where a run stands; saved in checkpoints. Every chunk before (epoch, chunk) is done."""
    epoch: int = 0
    chunk: int = 0
    cost: float = 0.0  # summed cost of this epoch's finished chunks (float64)
    pairs: int = 0  # positive pairs of this epoch's finished chunks
    epoch_costs: list = field(default_factory=list)  # mean cost per pair of each finished epoch

    @property
    def mean_cost(self):
        return self.cost / self.pairs if self.pairs else float("nan")

    def end_epoch_(self):
        """Record this epoch's mean cost and move to the next epoch's first chunk, in place."""
        self.epoch_costs.append(self.mean_cost)
        self.epoch, self.chunk, self.cost, self.pairs = self.epoch + 1, 0, 0.0, 0


@dataclass
class Checkpoint:
    config: TrainConfig
    corpus_key: str  # the token cache key: the corpus files, their identity, the tokenizer
    words: list  # (W,)
    counts: np.ndarray  # (W,) int64
    V: np.ndarray  # (W, d) float32
    U: np.ndarray  # (W, d) float32
    progress: Progress


def save(path, config, corpus_key, vocab, V, U, progress):
    """Write a checkpoint atomically; raises W2VError if it cannot be written."""
    with atomic_write(path, "wb") as f:
        np.savez(f, version=VERSION, config=json.dumps(config.as_dict()), corpus_key=corpus_key,
                 words=np.array(vocab.words, dtype=str), counts=vocab.counts, V=V, U=U,
                 epoch=progress.epoch, chunk=progress.chunk, cost=progress.cost,
                 pairs=progress.pairs, epoch_costs=np.array(progress.epoch_costs, dtype=np.float64))


_ARRAYS = ("version", "config", "corpus_key", "words", "counts", "V", "U", "epoch", "chunk", "cost",
           "pairs", "epoch_costs")


def load(path):
    """Read and check a checkpoint; any damage is one W2VError naming what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _ARRAYS if k not in data.files]
            if missing:
                raise W2VError(f"checkpoint {path} is damaged: it has no {', '.join(missing)}")
            arrays = {k: data[k] for k in _ARRAYS}
    except OSError as e:
        raise W2VError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    except (ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise W2VError(f"checkpoint {path} is damaged or not a w2v checkpoint ({e})") from None
    try:
        return _check(arrays)
    except _Damage as e:
        raise W2VError(f"checkpoint {path} is damaged: {e}") from None


class _Damage(Exception):
    pass


def _scalar(a, kind):
    """The one value of a 0-d array of `kind` (numpy dtype kinds, e.g. "iu", "f", "U")."""
    if a.shape != () or a.dtype.kind not in kind:
        raise _Damage(f"expected a scalar of kind {kind!r}, got {a.dtype} {a.shape}")
    return a.item()


def _check(a):
    if _scalar(a["version"], "iu") != VERSION:
        raise _Damage(f"version {a['version']}, this w2v reads version {VERSION}")
    try:
        settings = json.loads(_scalar(a["config"], "U"))
        settings.setdefault("combine", 1)  # saved before --combine (0.3.0): every run was C = 1
        config = TrainConfig(**settings).validate()
    except (ValueError, TypeError, W2VError) as e:
        raise _Damage(f"its settings do not parse ({e})") from None
    words, counts, V, U = a["words"], a["counts"], a["V"], a["U"]
    W, d = len(words), config.dim
    if words.ndim != 1 or words.dtype.kind != "U" or W == 0 or len(set(words.tolist())) != W:
        raise _Damage("the vocabulary is not a list of distinct words")
    if counts.shape != (W,) or counts.dtype.kind not in "iu" or (counts < 1).any():
        raise _Damage(f"expected {W} positive word counts")
    for name, M, rows in (("V", V, W), ("U", U, W - 1 if config.loss == "hs" else W)):
        if M.shape != (rows, d) or M.dtype != np.float32:
            raise _Damage(f"{name} is {M.dtype} {M.shape}, expected float32 ({rows}, {d})")
        if not np.isfinite(M).all():
            raise _Damage(f"{name} holds values that are not finite")
    epoch, epoch_costs = _scalar(a["epoch"], "iu"), a["epoch_costs"]
    if not 0 <= epoch <= config.epochs:
        raise _Damage(f"epoch {epoch} is beyond the run's {config.epochs} epochs")
    if epoch_costs.shape != (epoch,) or epoch_costs.dtype.kind != "f":
        raise _Damage(f"{epoch_costs.dtype} {epoch_costs.shape} epoch costs for {epoch} "
                      "finished epochs")
    progress = Progress(epoch, _scalar(a["chunk"], "iu"), _scalar(a["cost"], "f"),
                        _scalar(a["pairs"], "iu"), epoch_costs.astype(np.float64).tolist())
    if progress.chunk < 0 or progress.pairs < 0 or not math.isfinite(progress.cost):
        raise _Damage("the progress within the epoch is invalid")
    return Checkpoint(config, _scalar(a["corpus_key"], "U"), words.tolist(),
                      counts.astype(np.int64), V, U, progress)


def resumed_config(saved, config, given):
    """The settings of a run resumed from a checkpoint made with `saved`.

    Every setting comes from the checkpoint except those in `given` (names of fields the user
    set), which come from `config`. A given setting of the model (field metadata model=True) must
    equal the checkpoint's. Returns (settings, changes): changes lists the given settings that
    differ from the checkpoint's, as "--name new (checkpoint: old)".
    """
    changes, replace = [], {"resume": config.resume}
    for f in dataclasses.fields(TrainConfig):
        if f.name not in given or f.name == "resume":
            continue
        old, new = getattr(saved, f.name), getattr(config, f.name)
        if new == old:
            continue
        option = "--" + f.name.replace("_", "-")
        if f.metadata["model"]:
            raise SettingError(f"{option} cannot change when resuming: the checkpoint's run has "
                               f"{old!r}, got {new!r}")
        changes.append(f"{option} {new} (checkpoint: {old})")
        replace[f.name] = new
    return dataclasses.replace(saved, **replace), changes
