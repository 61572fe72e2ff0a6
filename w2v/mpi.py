"""Several processes training one model: data-parallel training on MPI (docs/math.md section 18).

Started by `mpiexec -n P w2v train ...` (or `srun`), every process reads the corpus from the same
path and caches its own 1/P of it, a byte range cut at newlines (corpus.load_stream's `part`). The
word counts of the parts are summed on process 0, which sends the merged counts back, so every
process builds the same vocabulary (checked with a hash). Each process then trains a replica of
(V, U) on its part; every S words (--sync-every) the replicas are merged with an Allreduce of
their changes since the last merge, V <- V0 + Σ_p (V_p - V0), V0 the last merged model; the
HOT_ROWS most frequent words' rows, which change fastest, are merged HOT_SHARES times as often.
The sum, not the mean (1/P) Σ_p of model averaging: the mean gives every step a weight 1/P, as if each
process trained at α/P, and measured on the shipped corpus at P = 2 it lost a third of the
WordSim score (scripts/bench.py --mpi 2); the sum is Hogwild across processes, each step kept
whole and seen by the others S words late, and the hot rows, which every process moves, are
merged most often so that their staleness stays short. The schedule counts chunks, so every
process takes part in every merge even when its part has fewer chunks than another's: it adds
a change of zero. Process 0 alone prints and writes files. The learning rate follows each
process's fraction of its own part, which is the global fraction Σ_p tokens_p / Σ_p N_p because
the parts are cut to equal bytes and the merges keep the processes in step.

Launched without MPI, or with one process, `cluster()` is `Alone`: nothing changes and mpi4py is
never imported. The launch is told from the environment the launchers set, before any import.

Failures: an error that every process meets before training (a missing corpus, a bad setting) is
agreed on (`together`) and printed once by process 0; any other way out of a process during the
job (an error, an exception, a signal) aborts the whole job (MPI_Abort), so no process waits in
an average for one that is gone. This module knows nothing of the corpus format or the kernels.
"""
import atexit
import hashlib
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import W2VError

HOT_ROWS = 1024  # the most frequent words, merged HOT_SHARES times per full merge
HOT_SHARES = 8
_BLOCK_ROWS = 1 << 14  # rows merged per Allreduce: bounds the buffer, not the traffic

# what mpiexec (MPICH, Intel MPI: PMI_SIZE; Open MPI: OMPI_COMM_WORLD_SIZE) and srun
# (SLURM_STEP_NUM_TASKS, set in a job step, not in the batch script) tell the processes they start
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")


def launched_size(environ=None):
    """The number of processes the launcher started (1 when not started by one)."""
    environ = os.environ if environ is None else environ
    for name in _SIZE_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def cluster():
    """The processes of this run: Alone, or an MpiCluster when a launcher started several."""
    size = launched_size()
    return Alone() if size == 1 else MpiCluster(size)


@dataclass
class Counts:
    """The corpus as counted by all the processes: what the vocabulary is built from."""
    words: list  # the full vocabulary over all the parts, sorted by count, then word
    counts: np.ndarray  # (len(words),) int64
    tokens: int  # corpus tokens over all the parts
    key: str  # identifies the parts' corpus and the number of processes (for checkpoints)


def processes_of(key):
    """The number of processes whose run wrote a checkpoint with this corpus key (None: a model
    continued on new text, w2v/model.py, which any number of processes may train)."""
    if key is None:
        return None
    head, sep, tail = key.rpartition("-p")
    return int(tail) if sep and tail.isdigit() else 1


class Alone:
    """One process: every collective operation is the identity, and nothing is imported."""
    rank, size, part = 0, 1, None

    @contextmanager
    def together(self):
        yield

    def merged(self, stream):
        return stream

    def check_vocabulary(self, vocab):
        pass

    def check_resume(self, resumed, path):
        _check_processes(resumed, path, 1)

    def replicas(self, V, U, n_chunks, config):
        return NoAveraging()

    def total(self, x):
        return x

    def finish(self):
        pass


class NoAveraging:
    """The single process's schedule: never an average."""
    averages = 0
    bytes_moved = 0
    seconds = 0.0

    def due(self, c):
        return False

    def average_(self, c):
        pass

    def end_epoch_(self, progress):
        pass


def _check_processes(resumed, path, size):
    n = processes_of(resumed.corpus_key) if resumed is not None else None
    if n is not None and n != size:
        raise W2VError(f"checkpoint {path} was written by a run of {n} process(es); resume it "
                       f"with {n} (mpiexec -n {n}), not {size}")


class MpiCluster:
    """P processes on MPI_COMM_WORLD. Imports mpi4py (its wheel finds MPICH's wheel's libmpi)."""

    def __init__(self, size):
        try:
            from mpi4py import MPI
        except ImportError:
            raise W2VError(f"started by a launcher with {size} processes, but mpi4py is not "
                           "installed: pip install 'w2v[mpi]'") from None
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        if self.size != size:
            raise W2VError(f"the launcher says {size} processes, MPI says {self.size}: is mpi4py "
                           "built against another MPI than the mpiexec that started it?")
        self.part = (self.rank, self.size)
        self._finished = False
        atexit.register(self._abort_unless_finished)  # runs before mpi4py's MPI_Finalize

    def _abort_unless_finished(self):
        """A process leaving before the job's end takes the others with it, never a hang."""
        if not self._finished:
            sys.stderr.flush()
            self.comm.Abort(1)

    def finish(self):
        """Every process got to the end: leave normally."""
        self.comm.Barrier()
        self._finished = True

    @contextmanager
    def together(self):
        """Run a block that makes no collective call on every process; if it fails on any, the
        first process's error is raised by process 0 and the others leave quietly, all non-zero."""
        error = None
        try:
            yield
        except W2VError as e:
            error = e
        errors = self.comm.allgather(None if error is None else (str(error), error.exit_code))
        failed = [(r, e) for r, e in enumerate(errors) if e is not None]
        if not failed:
            return
        self._finished = True  # every process knows: a clean exit, no abort
        rank, (message, code) = failed[0]
        if self.rank != 0:
            sys.exit(code)
        if error is not None and rank == 0:
            raise error
        raise _Elsewhere(f"process {rank}: {message}", code)

    def merged(self, stream):
        """The counts of all the parts, summed on process 0 and sent to all."""
        parts = self.comm.gather((stream.words, stream.counts, stream.tokens, stream.key), root=0)
        result = None
        if self.rank == 0:
            total = {}
            for words, counts, _, _ in parts:
                for w, c in zip(words, counts.tolist()):
                    total[w] = total.get(w, 0) + c
            words = sorted(total, key=lambda w: (-total[w], w))
            key = hashlib.sha256("\n".join(p[3] for p in parts).encode()).hexdigest()[:24]
            result = Counts(words, np.array([total[w] for w in words], dtype=np.int64),
                            sum(p[2] for p in parts), f"{key}-p{self.size}")
        return self.comm.bcast(result, root=0)

    def check_vocabulary(self, vocab):
        """Stop, on every process, unless all built the same vocabulary."""
        h = hashlib.sha256("\n".join(vocab.words).encode())
        h.update(np.ascontiguousarray(vocab.counts, dtype=np.int64).tobytes())
        digests = self.comm.allgather(h.hexdigest())
        if len(set(digests)) > 1:
            self._finished = True
            odd = next(r for r, x in enumerate(digests) if x != digests[0])
            if self.rank != 0:
                sys.exit(1)
            raise W2VError(f"process {odd} built another vocabulary than process 0 (hash "
                           f"{digests[odd][:12]} vs {digests[0][:12]}): do all processes read the "
                           "same corpus, with the same w2v?")

    def check_resume(self, resumed, path):
        _check_processes(resumed, path, self.size)

    def replicas(self, V, U, n_chunks, config):
        return Averaging(self.comm, self.MPI, V, U, n_chunks, config)

    def total(self, x):
        """The sum of x over the processes."""
        return self.comm.allreduce(x)


class _Elsewhere(W2VError):
    def __init__(self, message, code):
        super().__init__(message)
        self.exit_code = code


class Averaging:
    """When and what the replicas merge (see the module's docstring), counted in chunks.

    After its c-th chunk of an epoch a process merges every row if c is a multiple of k (S
    words in chunks), else the hot rows if c is a multiple of k / HOT_SHARES; merges go on
    while c is below the largest part's chunk count, so every process makes the same calls. The
    epoch ends with a merge of every row and the epoch's cost summed over the processes.
    """

    def __init__(self, comm, MPI, V, U, n_chunks, config):
        self.comm, self.MPI, self.V, self.U = comm, MPI, V, U
        self.V0, self.U0 = V.copy(), U.copy()  # the last merge; the same on every process
        self.n_chunks = n_chunks
        self.most_chunks = comm.allreduce(n_chunks, op=MPI.MAX)
        self.k = max(1, round(config.sync_every / config.chunk_words))
        self.k_hot = max(1, self.k // HOT_SHARES)
        self.hot = min(HOT_ROWS, len(V))
        self.averages = 0  # merges of every row done
        self.bytes_moved = 0  # this process's share of what the Allreduces moved
        self.seconds = 0.0  # spent merging, waiting for the slowest process included

    def _rows(self, c):
        """How many rows (from the most frequent) the average after chunk c covers, or 0."""
        if c >= self.most_chunks:
            return 0  # the epoch's end averages everything anyway
        if c % self.k == 0:
            return len(self.V)
        return self.hot if c % self.k_hot == 0 else 0

    def due(self, c):
        return self._rows(c) > 0

    def average_(self, c):
        """Average after this process's chunk c: no chunk may be in flight."""
        self._average_(self._rows(c))

    def end_epoch_(self, progress):
        """The averages this process's part has no chunk for, then every row, and the epoch's
        cost and pairs summed over the processes (into progress, in place)."""
        for c in range(self.n_chunks + 1, self.most_chunks):
            if self.due(c):
                self.average_(c)
        self._average_(len(self.V))
        total = self.comm.allreduce(np.array([progress.cost, progress.pairs], dtype=np.float64))
        progress.cost, progress.pairs = float(total[0]), int(total[1])

    def _average_(self, rows):
        """M <- M0 + Σ_p (M_p - M0) on rows [0, rows) of V and U, in place; M0 <- M."""
        start_time = time.perf_counter()
        for M, M0 in ((self.V, self.V0), (self.U, self.U0)):
            for start in range(0, rows, _BLOCK_ROWS):
                stop = min(start + _BLOCK_ROWS, rows)
                change = M[start:stop] - M0[start:stop]  # (rows, d) contiguous
                self.comm.Allreduce(self.MPI.IN_PLACE, change)
                M0[start:stop] += change
                M[start:stop] = M0[start:stop]
                self.bytes_moved += 2 * change.nbytes  # a ring Allreduce: about twice the buffer
        if rows == len(self.V):
            self.averages += 1
        self.seconds += time.perf_counter() - start_time


def scaled(bar, size):
    """A progress bar that counts each of this process's tokens `size` times (see train._run)."""
    return bar if bar is None or size == 1 else _Scaled(bar, size)


class _Scaled:
    def __init__(self, bar, size):
        self.bar, self.size = bar, size

    def update(self, n):
        self.bar.update(n * self.size)

    def set_postfix(self, **kwargs):
        self.bar.set_postfix(**kwargs)
