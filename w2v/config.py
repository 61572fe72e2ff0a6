"""TrainConfig: every training setting in one place, with the C tool's and gensim's defaults.

The CLI's options for `w2v train` are generated from these fields (name, default, help, bounds),
so a setting is declared once. `validate` raises W2VError for values no run can use.
"""
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Optional


def setting(default, help, minimum=None, choices=None, flag=None, cli=True):
    """A dataclass field with what the CLI needs to know about it."""
    return field(default=default, metadata={"help": help, "min": minimum, "choices": choices,
                                            "flag": flag, "cli": cli})


def usable_cores():
    """The cores this process may run on: its CPU affinity where the system has one (a batch
    job's or a container's share of the machine), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class TrainConfig:
    corpus: Optional[str] = setting(None, "Corpus: a named corpus (see `w2v corpora`), an http(s) "
                                          "URL, a text, .gz or .bz2 file, or a directory of them "
                                          "[default: the WordNet glosses shipped in data/].")
    offline: bool = setting(False, "Never download: fail if the corpus is not cached.",
                            flag="offline")
    sha256: Optional[str] = setting(None, "Expected sha256 of a corpus downloaded from a URL.")
    max_bytes: int = setting(20 * 10 ** 9, "Refuse archives that unpack to more bytes.", minimum=1)
    out: str = setting("vectors.bin", "Where to save the vectors (V).")
    format: Optional[str] = setting(None, "Vector file format [default: from --out: .bin binary, "
                                          "else text].", choices=("bin", "text"))
    save_outside: Optional[str] = setting(None, "Also save the outside vectors U here.")
    phrases: int = setting(0, "Phrase passes before training (new york -> new_york).", minimum=0)
    tokens: str = setting("space", "Tokens: whitespace-split (space) or runs of letters (words); "
                                   "both lowercased.", choices=("space", "words"))
    min_count: int = setting(5, "Drop words seen fewer times.", minimum=1)
    max_vocab: Optional[int] = setting(None, "Keep at most this many most frequent words.", minimum=1)
    save_vocab: Optional[str] = setting(None, "Write the vocabulary (`word count` lines) here.")
    read_vocab: Optional[str] = setting(None, "Use this vocabulary (`word count` lines) instead of "
                                              "the corpus counts.")
    sample: float = setting(1e-3, "Subsampling threshold for frequent words (0: off).", minimum=0.0)
    ns_exponent: float = setting(0.75, "Negative sampling draws P(w) ∝ count^this.")
    loss: str = setting("neg", "Loss: negative sampling or the full softmax.",
                        choices=("neg", "softmax"))
    negative: int = setting(5, "Negatives per positive pair (K).", minimum=0)
    shared_negatives: bool = setting(True, "One draw of K negatives per window (HogBatch) rather "
                                           "than per pair.", flag="shared-negatives")
    dim: int = setting(100, "Vector dimension d.", minimum=1)
    window: int = setting(5, "Maximum context radius; each centre draws its radius from 1..window.",
                          minimum=1)
    epochs: int = setting(5, "Passes over the corpus.", minimum=1)
    alpha: float = setting(0.025, "Initial learning rate.", minimum=0.0)
    min_alpha: float = setting(0.0001, "Final learning rate, reached linearly.", minimum=0.0)
    seed: int = setting(1, "Random seed: one thread and a seed give byte-identical vectors.",
                        minimum=0)
    threads: int = setting(usable_cores(), "Training threads (Hogwild); default: the cores this "
                                           "process may use.", minimum=1)
    batch_words: int = setting(1024, "Pairs per matrix product of the softmax loss: bounds its "
                                     "(batch x W) score matrix.", minimum=1)
    chunk_words: int = setting(32768, "Corpus tokens handed to a training step at once.", minimum=1,
                               cli=False)
    checkpoint: Optional[str] = setting(None, "Save a checkpoint here every --checkpoint-every "
                                              "seconds and at the end of every epoch.")
    checkpoint_every: float = setting(60.0, "Seconds between checkpoints.", minimum=0.0)
    resume: Optional[str] = setting(None, "Continue the run saved in this checkpoint.")
    cache_dir: Optional[str] = setting(None, "Where token-id caches go [default: $W2V_HOME/ids or "
                                             "~/.cache/w2v/ids].", cli=False)

    # What a resumed run may change: where things go and how the work is spread, not the model.
    RUN_ONLY = ("out", "format", "save_outside", "save_vocab", "checkpoint", "checkpoint_every",
                "resume", "threads", "offline", "max_bytes")

    def validate(self):
        """Raise W2VError for settings no run can use; return self."""
        from .errors import W2VError

        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            lo, choices = f.metadata["min"], f.metadata["choices"]
            if value is None:
                continue
            if lo is not None and value < lo:
                raise W2VError(f"--{f.name.replace('_', '-')} must be at least {lo}, got {value}")
            if choices and value not in choices:
                raise W2VError(f"--{f.name.replace('_', '-')} must be one of {', '.join(choices)}, "
                               f"got {value!r}")
        if self.loss == "neg" and self.negative < 1:
            raise W2VError("--negative must be at least 1 with --loss neg")
        if self.min_alpha > self.alpha:
            raise W2VError(f"--min-alpha ({self.min_alpha}) is above --alpha ({self.alpha})")
        return self

    def vector_format(self):
        if self.format:
            return self.format
        return "bin" if self.out.endswith(".bin") else "text"

    def as_dict(self):
        return dataclasses.asdict(self)
