"""TrainConfig: every training setting in one place, with the C tool's and gensim's defaults.

The CLI's options for `w2v train` are generated from these fields (name, default, help, bounds),
so a setting is declared once. `validate` raises SettingError for values no run can use: below
the minimum, above the maximum, or (any float) not finite. The maxima are far beyond any useful
value; they are there so that a typo (1e30 for 1e-3) is refused before training, not after.
"""
import dataclasses
import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Optional

from .errors import SettingError


def setting(default, help, minimum=None, maximum=None, choices=None, flag=None, cli=True,
            path=False, model=True):
    """A dataclass field with what the CLI needs to know about it.

    path: a local file the run reads or writes (recorded absolute, so a resumed run finds it from
    any directory). model: the setting shapes the trained vectors, so a resumed run may not change
    it; where files go and how the work is spread are not the model.
    """
    return field(default=default, metadata={"help": help, "min": minimum, "max": maximum,
                                            "choices": choices, "flag": flag, "cli": cli,
                                            "path": path, "model": model})


def usable_cores():
    """The cores this process may run on: its CPU affinity where the system has one (a batch
    job's or a container's share of the machine), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


DEFAULT_ALPHA = {"skipgram": 0.025, "cbow": 0.05}  # word2vec.c's
DEFAULT_COMBINE = 8  # the largest C whose quality stayed within 0.01 of C = 1 (README, Speed)


@dataclass
class TrainConfig:
    corpus: Optional[str] = setting(None, "Corpus: a named corpus (see `w2v corpora`), an http(s) "
                                          "URL, a text, .gz, .bz2 or .xz file, a directory of "
                                          "them, or a .tar.gz, .tgz, .tar.bz2, .tar.xz or .zip "
                                          "archive of them "
                                          "[default: the WordNet glosses shipped in w2v/data/].")
    offline: bool = setting(False, "Never download: fail if the corpus is not cached.",
                            flag="offline", model=False)
    sha256: Optional[str] = setting(None, "Expected sha256 of a corpus downloaded from a URL.",
                                    model=False)
    max_bytes: int = setting(20 * 10 ** 9, "Refuse archives and compressed files that unpack to "
                                         "more bytes.", minimum=1, model=False)
    out: Optional[str] = setting("vectors.bin", "Where to save the vectors (V).", path=True,
                                 model=False)
    format: Optional[str] = setting(None, "Vector file format [default: from --out: .bin binary, "
                                          "else text].", choices=("bin", "text"), model=False)
    save_outside: Optional[str] = setting(None, "Also save the outside vectors U here (with --loss hs: "
                                                "the tree's inner nodes, node0..).", path=True,
                                          model=False)
    phrases: int = setting(0, "Phrase passes before training (new york -> new_york).", minimum=0,
                           maximum=100)
    tokens: str = setting("space", "Tokens: whitespace-split (space) or runs of letters (words); "
                                   "both lowercased unless --no-lowercase.",
                    choices=("space", "words"))
    lowercase: bool = setting(True, "Lowercase tokens, so that 'The' and 'the' share a vector: on by "
                                    "default because small corpora cannot spare the counts; the C "
                                    "tool and gensim keep case (--no-lowercase does as they do).",
                              flag="lowercase")
    min_count: int = setting(5, "Drop words seen fewer times.", minimum=1)
    max_vocab: Optional[int] = setting(None, "Keep at most this many most frequent words.", minimum=1)
    save_vocab: Optional[str] = setting(None, "Write the vocabulary (`word count` lines) here.",
                                        path=True, model=False)
    read_vocab: Optional[str] = setting(None, "Use this vocabulary (`word count` lines) instead of "
                                              "the corpus counts.", path=True)
    sample: float = setting(1e-3, "Subsampling threshold for frequent words (0: off).", minimum=0.0,
                            maximum=1.0)
    ns_exponent: float = setting(0.75, "Negative sampling draws P(w) ∝ count^this.", minimum=-2.0,
                                 maximum=2.0)
    model: str = setting("skipgram", "Model: skip-gram (context words predict the centre, one "
                                     "pair each) or CBOW (the mean of the context predicts it).",
                         choices=("skipgram", "cbow"))
    cbow_sum: bool = setting(False, "CBOW: the sum of the context vectors, not their mean.",
                             flag="cbow-sum")
    loss: str = setting("neg", "Loss: negative sampling, the full softmax, or hierarchical "
                               "softmax (a Huffman tree over the vocabulary).",
                        choices=("neg", "softmax", "hs"))
    negative: int = setting(5, "Negatives per positive pair (K); at most 10 per vocabulary word.",
                            minimum=0, maximum=1000)
    shared_negatives: bool = setting(True, "One draw of K negatives per window (HogBatch) rather "
                                           "than per pair.", flag="shared-negatives")
    combine: Optional[int] = setting(None, "Skip-gram with shared negatives: this many consecutive "
                                           "centre words share one draw of K negatives (context "
                                           "combining; 1: one draw per window) [default: "
                                           f"{DEFAULT_COMBINE}; 1 with --no-shared-negatives].",
                                     minimum=1, maximum=64)
    dim: int = setting(100, "Vector dimension d.", minimum=1, maximum=10_000)
    window: int = setting(5, "Maximum context radius; each centre draws its radius from 1..window.",
                          minimum=1, maximum=1000)
    epochs: int = setting(5, "Passes over the corpus.", minimum=1, maximum=1_000_000)
    alpha: Optional[float] = setting(None, "Initial learning rate [default: 0.025 for skip-gram, "
                                           "0.05 for CBOW, as the C tool].", minimum=0.0,
                                     maximum=1.0)
    min_alpha: float = setting(0.0001, "Final learning rate, reached linearly.", minimum=0.0,
                               maximum=1.0)
    seed: int = setting(1, "Random seed: one thread and a seed give byte-identical vectors.",
                        minimum=0, maximum=2 ** 63 - 1)
    threads: int = setting(usable_cores(), "Training threads (Hogwild); default: the cores this "
                                           "process may use.", minimum=1, maximum=4096, model=False)
    sync_every: int = setting(1_048_576, "With several processes (mpiexec, srun): words each "
                                         "process trains while every row of their models is "
                                         "merged once; the most frequent words' rows are merged "
                                         "8 times as often.",
                              minimum=1, maximum=10 ** 12, model=False)
    batch_words: int = setting(1024, "Pairs per matrix product of the softmax loss: bounds its "
                                     "(batch x W) score matrix.", minimum=1, maximum=1_000_000)
    chunk_words: int = setting(32768, "Corpus tokens handed to a training step at once.", minimum=1,
                               cli=False)
    checkpoint: Optional[str] = setting(None, "Save a checkpoint here every --checkpoint-every "
                                              "seconds and at the end of every epoch.", path=True,
                                        model=False)
    checkpoint_every: float = setting(60.0, "Seconds between checkpoints.", minimum=0.0,
                                      maximum=1e9, model=False)
    resume: Optional[str] = setting(None, "Continue the run saved in this checkpoint, with its "
                                          "settings; options given beside it change where files "
                                          "go and the threads, not the model.", path=True,
                                    model=False)
    cache_dir: Optional[str] = setting(None, "Where token-id caches go [default: $W2V_HOME/ids or "
                                             "~/.cache/w2v/ids].", cli=False, model=False)

    def validate(self):
        """Raise SettingError for settings no run can use; return self, with the defaults that
        depend on other settings (alpha, from the model) filled in, so that the sidecar and a
        checkpoint record the value the run used."""
        if self.alpha is None:
            self.alpha = DEFAULT_ALPHA[self.model]
        combines = self.model == "skipgram" and self.loss == "neg" and self.shared_negatives
        if self.combine is None:
            self.combine = DEFAULT_COMBINE if combines else 1
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            option = "--" + f.name.replace("_", "-")
            lo, hi, choices = f.metadata["min"], f.metadata["max"], f.metadata["choices"]
            if f.type in (int, Optional[int]) and (isinstance(value, bool)
                                                   or not isinstance(value, numbers.Integral)):
                raise SettingError(f"{option} must be a whole number, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingError(f"{option} must be a finite number, got {value}")
            if lo is not None and value < lo:
                raise SettingError(f"{option} must be at least {lo}, got {value}")
            if hi is not None and value > hi:
                raise SettingError(f"{option} must be at most {hi}, got {value}")
            if choices and value not in choices:
                raise SettingError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
            if f.metadata["path"] and value == "":
                raise SettingError(f"{option} must not be empty")
            if f.metadata["path"] and value.endswith(os.sep):
                raise SettingError(f"{option} {value} names a directory; give a file name")
        if self.combine > 1 and not combines:
            raise SettingError(f"--combine {self.combine} needs --model skipgram, --loss neg and "
                               "shared negatives (it shares their draw); use --combine 1")
        if self.loss == "neg" and self.negative < 1:
            raise SettingError("--negative must be at least 1 with --loss neg")
        if self.min_alpha > self.alpha:
            raise SettingError(f"--min-alpha ({self.min_alpha}) is above --alpha ({self.alpha})")
        return self

    def vector_format(self):
        if self.format:
            return self.format
        return "bin" if (self.out or self.save_outside or "").endswith(".bin") else "text"

    def as_dict(self):
        return dataclasses.asdict(self)
