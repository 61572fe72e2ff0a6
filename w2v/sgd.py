"""The one SGD loop: epochs over chunks of the corpus, whatever the loss.

For each chunk it draws the chunk's seed and learning rate, prepares the chunk's ids (vocabulary
and subsampling, in the kernel), and hands them to the loss's step (w2v/steps.py), which walks
the windows and updates V and U in place. It tallies the cost in float64, drives the progress
bar, writes checkpoints and stops cleanly on Ctrl-C. With threads it runs chunks concurrently
(Hogwild) and sums the per-chunk tallies in the main thread, so no tally is ever overwritten.

A chunk's random stream depends only on (seed, epoch, chunk index) and its learning rate only on
its position in the run, so one thread gives the same bytes every time, and a run resumed from a
checkpoint (taken between chunks) gives the same bytes as a run never stopped.
"""
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from . import native

_MASK64 = (1 << 64) - 1


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


def chunk_seed(seed, epoch, chunk):
    """A well-mixed 64-bit generator state for one chunk (splitmix64 of its coordinates)."""
    x = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + chunk * 0x94D049BB133111EB) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return np.uint64(x ^ (x >> 31))


def learning_rate(alpha, min_alpha, progress):
    """Linear from alpha at the start of the run to min_alpha at its end."""
    return alpha - (alpha - min_alpha) * progress


class StopRequest:
    """Set by Ctrl-C (SIGINT) or a caller's predicate; the loop checks it between chunks."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Stopped(Exception):
    """The run stopped between chunks at the user's request; progress is consistent."""


def run(read, chunks, remap, keep, step, V, U, config, progress, bar=None, on_checkpoint=None,
        stop_when=None):
    """Train until progress reaches config.epochs; updates V, U and progress in place.

    read(start, stop): the corpus's uint32 ids over the full vocabulary; chunks: (starts, ends,
    tokens) from corpus.chunk_bounds; remap and keep: what native.prepare_chunk needs.
    on_checkpoint(progress)
    is called every config.checkpoint_every seconds and at the end of every epoch, with no chunk
    in flight. stop_when(epoch, chunk), called before each chunk, stops the run as Ctrl-C does
    when it returns True.
    Raises Stopped after draining the chunks in flight. Returns the corpus tokens trained.
    """
    starts, ends, tokens = chunks
    n_chunks, N, E = len(starts), int(ends[-1]), config.epochs
    keep = keep.astype(np.float32)

    def work(epoch, i):
        state = chunk_seed(config.seed, epoch, i)
        alpha = learning_rate(config.alpha, config.min_alpha, (epoch * N + starts[i]) / (E * N))
        sen, state = native.prepare_chunk(read(starts[i], ends[i]), remap, keep, state)
        cost, pairs, _ = step(sen, V, U, alpha, np.uint64(state))
        return cost, pairs, int(tokens[i]), alpha

    def tally(result):
        cost, pairs, n_tokens, alpha = result
        progress.cost += cost
        progress.pairs += pairs
        if bar is not None:
            bar.set_postfix(epoch=f"{progress.epoch + 1}/{E}", alpha=f"{alpha:.5f}",
                            cost=f"{progress.mean_cost:.4f}", refresh=False)
            bar.update(n_tokens)
        return n_tokens

    trained = 0
    last_checkpoint = time.monotonic()
    pool = ThreadPoolExecutor(config.threads) if config.threads > 1 else None
    in_flight = set()

    def drain():
        nonlocal trained
        for future in list(in_flight):
            trained += tally(future.result())
        in_flight.clear()

    try:
        with StopRequest() as stop:
            while progress.epoch < E:
                i = progress.chunk
                while i < n_chunks:
                    if stop.requested or (stop_when is not None and stop_when(progress.epoch, i)):
                        drain()
                        progress.chunk = i
                        raise Stopped()
                    if pool is None:
                        trained += tally(work(progress.epoch, i))
                    else:
                        in_flight.add(pool.submit(work, progress.epoch, i))
                        if len(in_flight) >= 2 * config.threads:
                            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                            for future in done:
                                in_flight.discard(future)
                                trained += tally(future.result())
                    i += 1
                    if on_checkpoint and time.monotonic() - last_checkpoint >= config.checkpoint_every:
                        drain()
                        progress.chunk = i
                        on_checkpoint(progress)
                        last_checkpoint = time.monotonic()
                drain()
                progress.epoch_costs.append(progress.mean_cost)
                progress.epoch, progress.chunk, progress.cost, progress.pairs = progress.epoch + 1, 0, 0.0, 0
                if on_checkpoint and progress.epoch < E:
                    on_checkpoint(progress)
                    last_checkpoint = time.monotonic()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return trained
