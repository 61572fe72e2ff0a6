"""`train(config)`: corpus -> vocabulary -> sampler -> the SGD loop -> saved vectors.

This is the library entry point the CLI calls; it wires the boxes together and owns the files a
run writes (vectors, the JSON sidecar, checkpoints), each written atomically.

    from w2v import TrainConfig, train
    vectors = train(TrainConfig(corpus="my.txt", out="my.bin", epochs=3))
"""
import dataclasses
import json
import math
import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Union

import numpy as np
from tqdm import tqdm

from . import checkpoint, corpus, download, mpi, native, phrases, sgd
from .aliases import RENAMES
from .atomic import atomic_write, check_writable
from .config import TrainConfig
from .errors import SettingError, W2VError
from .evaluate import default_path, evaluate_all
from .steps import STEPS, output_rows
from .vectors import Vectors
from .vocab import Vocab

DEFAULT_CORPUS = default_path("wordnet-glosses.txt.gz")


class TrainingInterrupted(W2VError):
    """Training stopped at the user's request (Ctrl-C, SIGTERM) after saving a checkpoint."""

    def __init__(self, checkpoint, signum=signal.SIGINT):
        self.checkpoint, self.signum = checkpoint, signum
        self.exit_code = 128 + signum  # what the shell reports for a process the signal ended
        how = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
        if checkpoint is None:  # out=None and no checkpoint= : nowhere to save the run
            super().__init__(f"{how}; nothing saved (give checkpoint= to be able to continue)")
            return
        super().__init__(f"{how}; checkpoint saved to {checkpoint}; "
                         f"continue with: w2v train --resume {shlex.quote(checkpoint)}")


def _logger(quiet):
    def log(message):
        if not quiet:
            print(message, file=sys.stderr, flush=True)
    return log


def resolve_corpus(config, quiet=False):
    """The local path to read: the shipped corpus, a cached download, or the path given."""
    if config.corpus == corpus.GIVEN:
        raise W2VError(f"{config.resume or 'this run'} was trained on sentences given in Python: "
                       "pass the same sentences again, train(sentences, resume=...)")
    if config.corpus is None:
        if not os.path.exists(DEFAULT_CORPUS):
            raise W2VError(f"the default corpus is not at {DEFAULT_CORPUS}; pass --corpus")
        return DEFAULT_CORPUS
    return download.resolve(config.corpus, offline=config.offline, sha256=config.sha256,
                            quiet=quiet, max_bytes=config.max_bytes)


Sentences = Iterable[Sequence[str]]


def train(corpus_or_config: Union[TrainConfig, str, Sentences, None] = None, /, *,
          quiet: bool = False, stop_when: Optional[Callable[[int, int], bool]] = None,
          evaluate: bool = False, given: Optional[set] = None, **settings) -> Vectors:
    """Train skip-gram vectors and return them as Vectors.

        train(TrainConfig(corpus="my.txt", out="my.bin"))    # the settings, out= as the CLI's
        train("my.txt", dim=50)                              # a path, URL or named corpus
        train([["the", "cat", "sat"], ["a", "dog"]], min_count=1)  # token lists, used as given

    Given a TrainConfig, settings beside it replace its fields. Given anything else, settings are
    TrainConfig's fields and out defaults to None: nothing is written (no vectors, no sidecar; a
    checkpoint only where checkpoint= says) unless out= names a file. Any iterable of token lists
    (a list, a generator) is read once; its tokens are used as given, not lowercased or split.
    """
    config, sentences, given = make_config(corpus_or_config, settings, given)
    return _train(config, sentences, quiet, stop_when, evaluate, given).vectors


def make_config(corpus_or_config: Union[TrainConfig, str, Sentences, None], settings: dict,
                given: Optional[set] = None) -> tuple[TrainConfig, Optional[Sentences], Optional[set]]:
    """(config, sentences or None, given) for train's arguments; SettingError for a name that is
    not a setting (pointing from a gensim or word2vec.c name to w2v's)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for name in settings:
        if name not in fields:
            target = RENAMES.get(name.replace("_", "-"), "").lstrip("-").replace("-", "_")
            hint = f": w2v calls it {target}" if target in fields else ""
            raise SettingError(f"{name} is not a training setting{hint}")
    if isinstance(corpus_or_config, os.PathLike):
        corpus_or_config = os.fspath(corpus_or_config)
    if isinstance(corpus_or_config, TrainConfig):
        config = dataclasses.replace(corpus_or_config, **settings)
    else:
        config = TrainConfig(corpus=corpus_or_config, **{"out": None, **settings})
        if given is None:
            given = {*settings, "out", *(["corpus"] if corpus_or_config is not None else [])}
    if config.corpus is None or isinstance(config.corpus, str):
        return config, None, given
    if not isinstance(config.corpus, Iterable):
        raise SettingError(f"the corpus must be a path or an iterable of token lists, got "
                           f"{type(config.corpus).__name__}")
    if settings.get("lowercase") or settings.get("tokens", "space") != "space":
        raise SettingError("lowercase and tokens apply to text files: sentences given in Python "
                           "are used as given (lowercase or split them yourself)")
    return dataclasses.replace(config, corpus=corpus.GIVEN, lowercase=False), config.corpus, given


@dataclass
class Run:
    """What a run made: the vectors V, the outside vectors U, the vocabulary, the settings."""
    vectors: Vectors
    U: np.ndarray  # (W, d) float32
    vocab: Vocab
    config: TrainConfig
    corpus_key: str
    progress: checkpoint.Progress


def _train(config, sentences, quiet, stop_when, evaluate, given, start=None):
    """Train skip-gram vectors as `config` says, save them, and return the Run.

    sentences: token lists to train on instead of config.corpus. start: a Checkpoint to continue
    from on this new text, whatever its corpus (words it does not know are ignored).
    quiet hides the progress bar and messages. stop_when(epoch, chunk) -> bool stops the run between
    chunks as Ctrl-C does: a checkpoint is saved and TrainingInterrupted raised. evaluate scores
    the vectors on the shipped analogy and word-pair sets and records that in the sidecar.
    With config.resume, the run continues the checkpoint's with its settings, except the fields
    named in `given` (default: those that differ from TrainConfig's defaults), which may change
    where files go and the threads, not the model.
    """
    cluster = mpi.cluster()  # several processes under mpiexec or srun; else one, as always
    quiet = quiet or cluster.rank > 0
    log = _logger(quiet)
    with cluster.together():
        config, resumed = _settings(config, given, log)
        resumed = start or resumed
        _check_outputs(config)
        cluster.check_resume(resumed, config.resume)
        if sentences is None:
            path = resolve_corpus(config, quiet)
            _check_corpus_untouched(config, path)
            if config.phrases:
                path = phrases.apply(path, config.phrases, quiet=quiet)
            stream = _read_corpus(config, path, quiet, log, cluster.part)
        elif config.phrases:
            raise SettingError("phrases= joins pairs in a corpus file; for token lists, join them "
                               "before training (w2v phrases IN OUT on the text)")
        elif cluster.size > 1:
            raise SettingError("token lists given in Python train in one process; under mpiexec "
                               "give every process the corpus's path")
        else:
            stream = _read_sentences(config, sentences, quiet, log)
    counted = cluster.merged(stream)
    with cluster.together():
        vocab = _vocabulary(config, counted, resumed)
    cluster.check_vocabulary(vocab)
    remap, keep = _remap(vocab, stream), vocab.keep_probabilities(config.sample)
    if start is not None:
        _check_known(stream, remap, log)
    V, U, progress = _start(config, len(vocab), resumed)
    chunks = corpus.chunk_bounds(stream, config.chunk_words)
    most_chunks = cluster.largest(len(chunks[0]))  # the schedule under MPI walks the longest part
    if progress.chunk > most_chunks:
        raise W2VError(f"checkpoint {config.resume} is damaged: chunk {progress.chunk} is beyond "
                       f"the corpus's {most_chunks}")

    compile_start = time.perf_counter()
    native.backend(log=log)
    step = STEPS[config.model, config.loss](config, vocab)
    log(f"vocabulary: {len(vocab):,} words; corpus: {counted.tokens:,} tokens; {config.model}, "
        f"loss {config.loss}, d={config.dim}, window {config.window}, {config.threads} thread(s)"
        + (f" x {cluster.size} processes" if cluster.size > 1 else ""))
    if config.loss == "softmax":
        log(_softmax_estimate(config, vocab, keep, stream.tokens))
    _warm_up(step, remap, keep, V, U)
    compile_seconds = time.perf_counter() - compile_start

    start = time.perf_counter()
    replicas = cluster.replicas(V, U, chunks, most_chunks, config, progress)
    trained = _run(config, stream, chunks, remap, keep, step, vocab, V, U, progress, stop_when,
                   quiet, replicas, counted.key, cluster)
    train_seconds = time.perf_counter() - start
    trained = cluster.total(trained)
    if all(math.isnan(cost) for cost in progress.epoch_costs) and cluster.rank == 0:
        log("warning: nothing was trained: no two words kept share a line within --window, so "
            "the vectors are still random (lines of one word, or a corpus so small that --sample "
            "drops nearly every word: try --sample 0)")
    _check_finite(V, U)

    vectors = Vectors(vocab.words, V)
    stats = {"vocab_size": len(vocab), "tokens": counted.tokens, "processes": cluster.size,
             "train_seconds": round(train_seconds, 3), "compile_seconds": round(compile_seconds, 3),
             "kernels": native.describe(),
             "words_per_sec": round(trained / train_seconds) if train_seconds > 0 else None,
             "final_cost": progress.epoch_costs[-1], "epoch_costs": progress.epoch_costs}
    if cluster.size > 1:
        stats["averages"] = replicas.averages
        stats["bytes_averaged"] = cluster.total(replicas.bytes_moved)
        stats["averaging_seconds"] = round(replicas.seconds, 3)  # process 0's
        stats["averaging_wait_seconds"] = round(replicas.waiting_seconds, 3)  # of which waiting
    if evaluate and cluster.rank == 0:
        stats["eval"] = evaluate_all(vectors)
    if cluster.rank == 0:
        _save(config, vectors, U, stats)
    cluster.finish()
    saved = f"saved {len(vocab):,} vectors to {config.out}" if config.out else "out=None: not saved"
    log(f"{saved}; {stats['words_per_sec'] or 0:,} words/s, final cost {stats['final_cost']:.4f}")
    vectors.stats = stats
    return Run(vectors, U, vocab, config, stream.key, progress)


def _settings(config, given, log):
    """The run's settings, checked, with local paths absolute; and the checkpoint it resumes."""
    if given is None:
        given = {f.name for f in dataclasses.fields(TrainConfig)
                 if getattr(config, f.name) != f.default}
    config = _absolute(config.validate())
    if not config.resume:
        return config.validate(), None
    resumed = checkpoint.load(config.resume)
    config, changes = checkpoint.resumed_config(resumed.config, config, set(given))
    if changes:
        log(f"resuming {config.resume} with {', '.join(changes)}")
    return config.validate(), resumed


def _absolute(config):
    """config with every local path absolute, so a checkpoint works from any directory."""
    paths = {f.name: os.path.abspath(getattr(config, f.name)) for f in dataclasses.fields(config)
             if f.metadata["path"] and getattr(config, f.name)}
    if _is_local(config.corpus):
        paths["corpus"] = os.path.abspath(config.corpus)
    return dataclasses.replace(config, **paths)


def _is_local(spec):
    return (bool(spec) and spec not in download.CORPORA and "://" not in spec
            and spec != corpus.GIVEN)


def checkpoint_path(config):
    """Where the run's checkpoints go: None with neither --checkpoint nor --out."""
    return config.checkpoint or (config.out and config.out + ".ckpt")


def _outputs(config):
    """{what: path} for every file the run may write."""
    outputs = {"--out": config.out, "the sidecar": config.out and config.out + ".json",
               "--checkpoint": checkpoint_path(config)}
    if config.save_outside:
        outputs["--save-outside"] = config.save_outside
    if config.save_vocab:
        outputs["--save-vocab"] = config.save_vocab
    return {what: path for what, path in outputs.items() if path}


def _check_outputs(config):
    """Refuse, before any work, outputs that are directories, that collide with each other or
    with an input file, or that cannot be written."""
    outputs = _outputs(config)
    for what, path in outputs.items():
        if os.path.isdir(path) or path.endswith(os.sep):
            raise SettingError(f"{what} {path} is a directory; give a file name")
    seen = {}
    for what, path in outputs.items():
        real = os.path.realpath(path)
        if real in seen:
            raise SettingError(f"{what} and {seen[real]} are the same file: {path}")
        seen[real] = what
    inputs = {"--read-vocab": config.read_vocab}
    if config.resume and checkpoint_path(config) != config.resume:
        inputs["--resume"] = config.resume
    for what, path in outputs.items():
        for source, input_path in inputs.items():
            if input_path and os.path.realpath(path) == os.path.realpath(input_path):
                raise SettingError(f"{what} would overwrite {source} {input_path}")
    for path in outputs.values():
        try:
            check_writable(path)
        except OSError as e:
            raise W2VError(f"cannot write {path}: {e.strerror}") from None


def _check_corpus_untouched(config, corpus_path):
    """Refuse outputs that would overwrite the corpus (a directory corpus: anything under it)."""
    corpus_real = os.path.realpath(corpus_path)
    for what, path in _outputs(config).items():
        real = os.path.realpath(path)
        if real == corpus_real or (os.path.isdir(corpus_real) and
                                   os.path.commonpath([real, corpus_real]) == corpus_real):
            raise SettingError(f"{what} {path} would overwrite the corpus {corpus_path}")


def _read_corpus(config, path, quiet, log, part=None):
    with tqdm(desc="reading corpus", unit=" tokens", unit_scale=True, disable=True if quiet else None,
              file=sys.stderr, leave=False) as bar:
        stream = corpus.load_stream(path, config.tokens, config.cache_dir, progress=bar.update,
                                    lowercase=config.lowercase, max_bytes=config.max_bytes,
                                    warn=lambda message: log(f"warning: {message}"), part=part)
    if stream.replaced_bytes:
        log(f"warning: {stream.replaced_bytes} bytes of {path} were not UTF-8 and were replaced")
    return stream


def _read_sentences(config, sentences, quiet, log):
    with tqdm(desc="reading sentences", unit=" tokens", unit_scale=True,
              disable=True if quiet else None, file=sys.stderr, leave=False) as bar:
        return corpus.stream_from_sentences(sentences, config.cache_dir, progress=bar.update,
                                            warn=lambda message: log(f"warning: {message}"))


def _check_known(stream, remap, log):
    """Refuse new text of which the model knows no word; else say how much of it is left out."""
    unknown = int(stream.counts[remap < 0].sum())
    if unknown == stream.tokens:
        raise W2VError("none of the words of the new text is in the model's vocabulary")
    log(f"continuing on the model's vocabulary: {unknown:,} of the {stream.tokens:,} tokens of the "
        "new text are words it does not know, ignored")


def _vocabulary(config, stream, resumed):
    """The training vocabulary: the checkpoint's, the --read-vocab file's, or the corpus counts."""
    if resumed is not None:
        if resumed.corpus_key not in (stream.key, None):  # None: continuing on new text
            raise W2VError(f"{config.resume} was made from another corpus or tokenizer, "
                           "or the corpus changed since")
        vocab = Vocab(resumed.words, resumed.counts)
    elif config.read_vocab:
        vocab = Vocab.read(config.read_vocab)
        if not set(vocab.words) & set(stream.words):
            raise W2VError(f"none of the {len(vocab):,} words of {config.read_vocab} occurs in "
                           "the corpus")
    else:
        vocab = Vocab.from_counts(stream.words, stream.counts, config.min_count, config.max_vocab)
    if config.loss == "neg" and config.negative > 10 * len(vocab):
        raise SettingError(f"--negative {config.negative} is over 10 times the vocabulary's "
                           f"{len(vocab)} words")
    if config.save_vocab:
        vocab.save(config.save_vocab)
    return vocab


_INIT_ROWS = 4096  # rows of V drawn at once; the stream is the same as one draw of (W, d)


def _start(config, W, resumed):
    """V, U and the progress to start from: the checkpoint's, or as gensim 4 initialises."""
    # V and U live in rows padded to whole cache lines (native.padded_zeros): with threads, two
    # rows never share a line, so threads writing different words never stall each other.
    d = config.dim
    V, U = native.padded_zeros(W, d), native.padded_zeros(output_rows(config, W), d)
    if resumed is not None:
        V[:], U[:] = resumed.V, resumed.U
        return V, U, resumed.progress
    rng = np.random.default_rng(config.seed)
    for start in range(0, W, _INIT_ROWS):  # a block at a time: no (W, d) temporary
        V[start:start + _INIT_ROWS] = rng.random((min(_INIT_ROWS, W - start), d), dtype=np.float32)
    V -= 0.5
    V *= 2.0 / d  # U(-1/d, 1/d) as gensim 4 (word2vec.c: half as wide; docs/math.md section 1)
    return V, U, checkpoint.Progress()


def _run(config, stream, chunks, remap, keep, step, vocab, V, U, progress, stop_when, quiet,
         replicas=None, key=None, cluster=mpi.Alone()):
    """The SGD loop with a progress bar and checkpoints; on a stop, the final checkpoint."""
    path = checkpoint_path(config)

    def save_checkpoint(p):
        if cluster.rank == 0:
            checkpoint.save(path, config, key or stream.key, vocab, V, U, p)

    def save_periodic_checkpoint(p):
        try:
            save_checkpoint(p)
        except W2VError as e:  # a later checkpoint, or the vectors themselves, may still be saved
            print(f"w2v: warning: checkpoint not saved, training goes on: {e}", file=sys.stderr,
                  flush=True)

    done_tokens = progress.epoch * stream.tokens + int(chunks[2][:progress.chunk].sum())
    # with several processes, process 0's bar counts its tokens P times: the global progress of
    # processes that move in step
    with tqdm(total=config.epochs * stream.tokens * cluster.size,
              initial=done_tokens * cluster.size, unit="w", unit_scale=True,
              desc="training", disable=quiet, file=sys.stderr,
              smoothing=0.1) as bar:
        try:
            return sgd.run_(stream.read, chunks, remap, keep, step, V, U, config, progress,
                            mpi.scaled(bar, cluster.size),
                            save_periodic_checkpoint if config.checkpoint else None, stop_when,
                            replicas)
        except sgd.Stopped as stopped:
            if path:
                with cluster.together():  # process 0 saves, the replicas being one (sgd.run_)
                    save_checkpoint(progress)
            cluster.finish()
            if cluster.rank > 0:  # process 0 alone says so
                sys.exit(128 + stopped.signum)
            raise TrainingInterrupted(path, stopped.signum) from None


def _check_finite(V, U):
    for name, M in (("V", V), ("U", U)):
        if not np.isfinite(M).all():
            raise W2VError(f"training diverged: {name} holds values that are not finite; "
                           "lower --alpha")


def _save(config, vectors, U, stats):
    """The vectors, the outside vectors if asked, and the JSON sidecar (strict JSON: null for
    a figure that is not a finite number)."""
    if config.out:
        vectors.save(config.out, config.vector_format())
    if config.save_outside:
        Vectors(outside_names(config, vectors.words), U).save(config.save_outside,
                                                             config.vector_format())
    if not config.out:
        return
    with atomic_write(config.out + ".json", "w", encoding="utf-8") as f:
        notes = {"outside_rows": "inner nodes of the Huffman tree (node0..node{W-2}), not words"
                 } if config.save_outside and config.loss == "hs" else {}
        json.dump(_finite({"settings": config.as_dict(), **stats, **notes}), f, indent=2,
                  allow_nan=False)


def outside_names(config, words):
    """The names of U's rows in --save-outside: the words, or with hierarchical softmax the
    Huffman tree's inner nodes node0..node{W-2} (w2v/huffman.py), which are not words."""
    if config.loss == "hs":
        return [f"node{a}" for a in range(len(words) - 1)]
    return words


def _finite(value):
    """value with every float that is not finite (NaN, ±inf) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _remap(vocab, stream):
    """Full-vocabulary id -> training id (or -1): the identity on a prefix when we can."""
    W = len(vocab)
    if stream.words[:W] == vocab.words:
        remap = np.full(len(stream.words), -1, dtype=np.int32)
        remap[:W] = np.arange(W, dtype=np.int32)
        return remap
    return vocab.remap_from(stream.words)


def _warm_up(step, remap, keep, V, U):
    """Load (or compile) the kernels and run them on a two-word chunk with rate 0."""
    raw = np.array([np.argmax(remap >= 0)] * 2 + [corpus.SENTENCE_END], dtype=np.uint32)
    sen, state = native.prepare_chunk(raw, remap, np.ones_like(keep, dtype=np.float32), np.uint64(1))
    step(sen, V, U, 0.0, np.uint64(state))


def _softmax_estimate(config, vocab, keep, tokens):
    """The W/(K+1) cost ratio, and the run's time from a measured float32 matrix product."""
    W, d = len(vocab), config.dim
    kept = float((vocab.counts * keep).sum())
    pairs = kept * (config.window + 1) * config.epochs  # mean radius (m+1)/2 on both sides
    a = np.ones((min(config.batch_words, 1024), d), np.float32)
    b = np.ones((d, W), np.float32)
    start = time.perf_counter()
    a @ b
    rate = 2 * a.shape[0] * d * W / max(time.perf_counter() - start, 1e-9)
    seconds = pairs * 6 * d * W / rate  # three products of 2·d·W flops per pair
    return (f"full softmax: each step costs {W:,} dot products, {W / (config.negative + 1):,.0f}x "
            f"negative sampling with K={config.negative}; estimated time {seconds / 60:,.1f} min")
