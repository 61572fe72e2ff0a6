"""The one SGD loop: epochs over chunks of the corpus, whatever the loss.

For each chunk it draws the chunk's seed and learning rate, prepares the chunk's ids (vocabulary
and subsampling, in the kernel), and hands them to the loss's step (w2v/steps.py), which walks
the windows and updates V and U in place. It tallies the cost in float64, drives the progress
bar, calls for checkpoints, stops cleanly on Ctrl-C or SIGTERM, and stops with Diverged when a
chunk's cost is not finite. With threads it runs chunks concurrently (Hogwild) and sums the
per-chunk tallies in the main thread, so no tally is ever overwritten.

A chunk's random stream depends only on (seed, epoch, chunk index) and its learning rate only on
its position in the run, so one thread gives the same bytes every time, and a run resumed from a
checkpoint (taken between chunks) gives the same bytes as a run never stopped.

Functions whose name ends in an underscore update their arguments in place.
"""
import math
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from . import mpi, native
from .errors import W2VError

_MASK64 = (1 << 64) - 1


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
    """Set by SIGINT (Ctrl-C), SIGTERM (`timeout`, batch schedulers, `docker stop`) or a caller's
    predicate; the loop checks it between chunks. A signal the process was started ignoring
    (`nohup`, a shell's background job) stays ignored."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signum = signum

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Stopped(Exception):
    """The run stopped between chunks at the user's request; progress is consistent."""

    def __init__(self, signum):
        self.signum = signum  # the signal that asked, or SIGINT for a caller's predicate
        super().__init__(signum)


class Diverged(W2VError):
    """A chunk's cost was not finite: the vectors have overflowed and training cannot recover."""

    def __init__(self, epoch, cost):
        super().__init__(f"training diverged at epoch {epoch + 1} (cost {cost}): lower --alpha")


class _Chunks:
    """Runs chunks in the calling thread, or on a pool with at most 2 x threads in flight, and
    hands each result to `tally` in the calling thread, in the order they finish."""

    def __init__(self, threads, work, tally):
        self.work, self.tally = work, tally
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.limit = 2 * threads
        self.in_flight = set()

    def submit(self, epoch, i, fraction):
        if self.pool is None:
            self.tally(self.work(epoch, i, fraction))
            return
        self.in_flight.add(self.pool.submit(self.work, epoch, i, fraction))
        if len(self.in_flight) >= self.limit:
            done, self.in_flight = wait(self.in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                self.tally(future.result())

    def drain(self):
        """Wait for every chunk in flight, so the progress counts all submitted chunks."""
        in_flight, self.in_flight = self.in_flight, set()
        for future in in_flight:
            self.tally(future.result())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def run_(read, chunks, remap, keep, step, V, U, config, progress, bar=None, on_checkpoint=None,
         stop_when=None, replicas=None):
    """Train until progress reaches config.epochs; updates V, U and progress in place.

    read(start, stop): the corpus's uint32 ids over the full vocabulary; chunks: (starts, ends,
    tokens) from corpus.chunk_bounds; remap and keep: what native.prepare_chunk needs.
    on_checkpoint(progress) is called every config.checkpoint_every seconds and at the end of every
    epoch, with no chunk in flight. stop_when(epoch, chunk), called before each chunk, stops the
    run as Ctrl-C does when it returns True. replicas (w2v/mpi.py), with several processes, merges
    the processes' models at chunk boundaries, sets each chunk's learning rate from the global
    progress, and has the processes agree on when to checkpoint and stop: at the second merge
    point after a process asked (up to 2 x --sync-every / 8 words per process later, in this
    epoch or the next), or at an epoch's end where the replicas are made one (the last, or every
    one with on_checkpoint) if that comes first; a stop that reaches the end of the last epoch
    lets the run finish and save its vectors. The single process's (the default) agrees at once.
    Raises Stopped after draining the chunks in flight, Diverged on a cost that is not finite.
    Returns the corpus tokens trained.
    """
    n_chunks = len(chunks[0])
    work = _chunk_work(read, chunks, remap, keep, step, V, U, config)
    tally = _Tally(progress, bar, config.epochs)
    replicas = replicas or mpi.NoAveraging(chunks, config)
    due = _Clock(config.checkpoint_every if on_checkpoint else math.inf)
    with StopRequest() as stop, _Chunks(config.threads, work, tally) as pending:
        asked = 0  # a stop asked for and not yet agreed on: kept across an epoch's end
        while progress.epoch < config.epochs:
            first, wanted = progress.chunk, False
            for i in range(first, replicas.chunks(n_chunks)):
                asked = asked or stop.signum or (stop_when is not None and
                                                 stop_when(progress.epoch, i) and signal.SIGINT)
                wanted = wanted or (i > first and due())  # the epoch's end checkpoints anyway
                if config.threads > 1 and replicas.merges_at(i):
                    pending.drain()  # a merge may not add to rows a kernel is updating
                agreed = replicas.agree(i, wanted, asked)
                if agreed:
                    pending.drain()
                    replicas.unite_(progress, i)
                    progress.chunk = i
                    if agreed.signum:
                        raise Stopped(agreed.signum)
                    on_checkpoint(progress)
                    wanted = False
                if i < n_chunks:  # a process with a shorter part still takes part in the merges
                    pending.submit(progress.epoch, i, replicas.fraction(progress.epoch, i))
            pending.drain()
            # the replicas are made one at the run's end and for a checkpoint, at no other epoch end
            unite = on_checkpoint is not None or progress.epoch + 1 == config.epochs
            agreed = replicas.end_epoch_(progress, asked or stop.signum or 0, unite)
            progress.end_epoch_()
            if on_checkpoint:
                on_checkpoint(progress)
                due.reset()
            if agreed and progress.epoch < config.epochs:
                raise Stopped(agreed)
    return tally.tokens


def _chunk_work(read, chunks, remap, keep, step, V, U, config):
    """work(epoch, i, fraction) trains chunk i of that epoch, `fraction` of the way through the
    run -> (cost, pairs, tokens, alpha)."""
    starts, ends, tokens = chunks
    keep = keep.astype(np.float32)

    def work(epoch, i, fraction):
        state = chunk_seed(config.seed, epoch, i)
        alpha = learning_rate(config.alpha, config.min_alpha, fraction)
        sen, state = native.prepare_chunk(read(starts[i], ends[i]), remap, keep, state)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is told by its cost
            cost, pairs, _ = step(sen, V, U, alpha, np.uint64(state))
        return cost, pairs, int(tokens[i]), alpha

    return work


class _Tally:
    """Adds each chunk's result to the progress and the bar; counts the tokens trained."""

    def __init__(self, progress, bar, epochs):
        self.progress, self.bar, self.epochs = progress, bar, epochs
        self.tokens = 0

    def __call__(self, result):
        cost, pairs, tokens, alpha = result
        p = self.progress
        if not math.isfinite(cost):
            raise Diverged(p.epoch, cost)
        p.cost += cost
        p.pairs += pairs
        self.tokens += tokens
        if self.bar is not None:
            self.bar.set_postfix(epoch=f"{p.epoch + 1}/{self.epochs}", alpha=f"{alpha:.5f}",
                                 cost=f"{p.mean_cost:.4f}", refresh=False)
            self.bar.update(tokens)


class _Clock:
    """due() is True once every `seconds`, then starts counting again."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.reset()

    def reset(self):
        self.last = time.monotonic()

    def __call__(self):
        if time.monotonic() - self.last < self.seconds:
            return False
        self.reset()
        return True
