"""`train(config)`: corpus -> vocabulary -> sampler -> the SGD loop -> saved vectors.

This is the library entry point the CLI calls; it wires the boxes together and owns the files a
run writes (vectors, the JSON sidecar, checkpoints), each written atomically.

    from w2v import TrainConfig, train
    vectors = train(TrainConfig(corpus="my.txt", out="my.bin", epochs=3))
"""
import dataclasses
import json
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from . import corpus, download, native, phrases, sgd
from .atomic import atomic_write, check_writable
from .config import TrainConfig
from .errors import W2VError
from .evaluate import default_path, evaluate_all
from .steps import STEPS
from .vectors import Vectors
from .vocab import Vocab

DEFAULT_CORPUS = default_path("wordnet-glosses.txt.gz")
CHECKPOINT_VERSION = 1


class TrainingInterrupted(W2VError):
    """Training stopped at the user's request after saving a checkpoint."""

    def __init__(self, checkpoint):
        self.checkpoint = checkpoint
        super().__init__(f"interrupted; checkpoint saved to {checkpoint}; "
                         f"continue with: w2v train --resume {checkpoint}")


def _log(quiet, message):
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def resolve_corpus(config, quiet=False):
    """The local path to read: the shipped corpus, a cached download, or the path given."""
    if config.corpus is None:
        if not os.path.exists(DEFAULT_CORPUS):
            raise W2VError(f"the default corpus is not at {DEFAULT_CORPUS}; pass --corpus")
        return DEFAULT_CORPUS
    return download.resolve(config.corpus, offline=config.offline, sha256=config.sha256,
                            quiet=quiet, max_bytes=config.max_bytes)


def train(config, quiet=False, stop_when=None, evaluate=False):
    """Train skip-gram vectors as `config` says, save them, and return them as Vectors.

    quiet hides the progress bar and messages. stop_when(epoch, chunk) -> bool stops the run between
    chunks as Ctrl-C does: a checkpoint is saved and TrainingInterrupted raised. evaluate scores
    the vectors on the shipped analogy and word-pair sets and records that in the sidecar.
    """
    checkpoint = _load_checkpoint(config.resume) if config.resume else None
    if checkpoint is not None:
        saved = TrainConfig(**json.loads(str(checkpoint["config"])))
        config = dataclasses.replace(saved, **{k: getattr(config, k) for k in TrainConfig.RUN_ONLY})
    config.validate()
    for path in [config.out, config.save_outside, config.checkpoint, config.save_vocab]:
        if path:
            try:
                check_writable(path)
            except OSError as e:
                raise W2VError(f"cannot write {path}: {e.strerror}") from None

    path = resolve_corpus(config, quiet)
    if config.phrases:
        path = phrases.apply(path, config.phrases, quiet=quiet)
    with tqdm(desc="reading corpus", unit=" tokens", unit_scale=True, disable=True if quiet else None,
              file=sys.stderr, leave=False) as bar:
        stream = corpus.load_stream(path, config.tokens, config.cache_dir, progress=bar.update)
    if stream.replaced_bytes:
        _log(quiet, f"warning: {stream.replaced_bytes} bytes of {path} were not UTF-8 and were replaced")

    if checkpoint is not None:
        if str(checkpoint["corpus_key"]) != stream.key:
            raise W2VError(f"{config.resume} was made from another corpus or tokenizer, "
                           "or the corpus changed since")
        vocab = Vocab(list(checkpoint["words"]), checkpoint["counts"])
    elif config.read_vocab:
        vocab = Vocab.read(config.read_vocab)
    else:
        vocab = Vocab.from_counts(stream.words, stream.counts, config.min_count, config.max_vocab)
    if config.save_vocab:
        vocab.save(config.save_vocab)
    remap = _remap(vocab, stream)
    keep = vocab.keep_probabilities(config.sample)
    W, d = len(vocab), config.dim

    if checkpoint is not None:
        V, U = checkpoint["V"], checkpoint["U"]
        progress = sgd.Progress(int(checkpoint["epoch"]), int(checkpoint["chunk"]),
                                float(checkpoint["cost"]), int(checkpoint["pairs"]),
                                list(checkpoint["epoch_costs"]))
    else:
        rng = np.random.default_rng(config.seed)
        V = rng.random((W, d), dtype=np.float32)  # in place below: no (W, d) temporaries
        V -= 0.5
        V /= d  # as word2vec.c: U(-0.5/d, 0.5/d)
        U = np.zeros((W, d), dtype=np.float32)
        progress = sgd.Progress()

    compile_start = time.perf_counter()
    native.backend(log=lambda message: _log(quiet, message))
    step = STEPS[config.loss](config, vocab)
    _log(quiet, f"vocabulary: {W:,} words; corpus: {stream.tokens:,} tokens; "
                f"loss {config.loss}, d={d}, window {config.window}, {config.threads} thread(s)")
    if config.loss == "softmax":
        _log(quiet, _softmax_estimate(config, vocab, keep, stream.tokens))

    _warm_up(step, remap, keep, V, U)
    compile_seconds = time.perf_counter() - compile_start

    chunks = corpus.chunk_bounds(stream, config.chunk_words)
    checkpoint_path = config.checkpoint or config.out + ".ckpt"

    def save_checkpoint(p):
        _save_checkpoint(checkpoint_path, config, stream.key, vocab, V, U, p)

    done_tokens = progress.epoch * stream.tokens + int(chunks[2][:progress.chunk].sum())
    with tqdm(total=config.epochs * stream.tokens, initial=done_tokens, unit="w", unit_scale=True,
              desc="training", disable=quiet, file=sys.stderr, smoothing=0.1) as bar:
        start = time.perf_counter()
        try:
            trained = sgd.run(stream.read, chunks, remap, keep, step, V, U, config, progress, bar,
                              save_checkpoint if config.checkpoint else None, stop_when)
        except sgd.Stopped:
            save_checkpoint(progress)
            raise TrainingInterrupted(checkpoint_path) from None
        train_seconds = time.perf_counter() - start

    vectors = Vectors(vocab.words, V)
    vectors.save(config.out, config.vector_format())
    if config.save_outside:
        Vectors(vocab.words, U).save(config.save_outside, config.vector_format())
    stats = {"vocab_size": W, "tokens": stream.tokens, "train_seconds": round(train_seconds, 3),
             "compile_seconds": round(compile_seconds, 3), "kernels": native.describe(),
             "words_per_sec": round(trained / train_seconds) if train_seconds > 0 else None,
             "final_cost": progress.epoch_costs[-1], "epoch_costs": progress.epoch_costs}
    if evaluate:
        stats["eval"] = evaluate_all(vectors)
    with atomic_write(config.out + ".json", "w", encoding="utf-8") as f:
        json.dump({"settings": config.as_dict(), **stats}, f, indent=2)
    _log(quiet, f"saved {W:,} vectors to {config.out}; {stats['words_per_sec']:,} words/s, "
                f"final cost {stats['final_cost']:.4f}")
    vectors.stats = stats
    return vectors


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


def _save_checkpoint(path, config, corpus_key, vocab, V, U, progress):
    with atomic_write(path, "wb") as f:
        np.savez(f, version=CHECKPOINT_VERSION, config=json.dumps(config.as_dict()),
                 corpus_key=corpus_key, words=np.array(vocab.words), counts=vocab.counts, V=V, U=U,
                 epoch=progress.epoch, chunk=progress.chunk, cost=progress.cost,
                 pairs=progress.pairs, epoch_costs=np.array(progress.epoch_costs, dtype=np.float64))


def _load_checkpoint(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            ckpt = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise W2VError(f"cannot read checkpoint {path}: {e}") from None
    if int(ckpt.get("version", -1)) != CHECKPOINT_VERSION:
        raise W2VError(f"{path} is not a w2v checkpoint of version {CHECKPOINT_VERSION}")
    return ckpt
