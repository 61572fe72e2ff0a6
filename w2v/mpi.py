"""Several processes training one model: data-parallel training on MPI (docs/math.md section 18).

Started by `mpiexec -n P w2v train ...` (or `srun`), every process reads the corpus from the same
path and caches its own 1/P of it, a byte range cut at newlines (corpus.load_stream's `part`). The
word counts of the parts are summed on process 0, which sends the merged counts back, so every
process builds the same vocabulary (checked with a hash). Each process then trains a replica of
(V, U) on its part; every S words (--sync-every) every row has been merged with an Allreduce of
the replicas' changes since the last merge, V <- V0 + Σ_p (V_p - V0), V0 the last merged model;
the HOT_ROWS most frequent words' rows, which change fastest, are merged HOT_SHARES times as
often. The sum, not the mean (1/P) Σ_p of model averaging: the mean gives every step a weight
1/P, as if each process trained at α/P, and measured on the shipped corpus at P = 2 it lost a
third of the WordSim score (scripts/bench.py --mpi 2); the sum is Hogwild across processes,
each step kept whole and seen by the others a merge late. A merge does not stop training: it is
posted, and its result applied at the next merge point (docs/math.md section 18). The schedule
counts chunk boundaries through the run, so every process takes part in every merge even when
its part has fewer chunks than another's, and an epoch's end is no barrier: the merges go on
across it. The merges also carry each process's position, from which the learning rate follows
the global progress, and its requests to checkpoint or stop, which every process then meets at
the same chunk. Every row is merged at once, blocking, only where the replicas must be one: the
run's end, a checkpoint (with --checkpoint, every epoch's end) and a stop; there the epochs'
costs are summed over the processes. Process 0 alone prints and writes files.

Launched without MPI, or with one process, `cluster()` is `Alone`: nothing changes and mpi4py is
never imported. The launch is told from the environment the launchers set, before any import.

Failures: an error that every process meets before training (a missing corpus, a bad setting) is
agreed on (`together`) and printed once by process 0; SIGINT or SIGTERM during training is agreed
on at a merge point (a checkpoint, then every process exits 128 + the signal); any other way out
of a process during the job (an error, an exception, a signal it does not catch) aborts the whole
job (MPI_Abort), so no process waits in a merge for one that is gone. This module knows nothing
of the corpus format or the kernels.
"""
import atexit
import hashlib
import math
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import W2VError

HOT_ROWS = 2048  # the most frequent words, merged HOT_SHARES times per merge of every row
HOT_SHARES = 8
_POLL_SECONDS = 0.0005  # between tests of a merge in flight: short against a chunk's training

# what mpiexec (MPICH, Intel MPI: PMI_SIZE; Open MPI: OMPI_COMM_WORLD_SIZE) and srun
# (SLURM_STEP_NUM_TASKS, set in a job step, not in the batch script) tell the processes they start
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID")


def launched_size(environ=None):
    """The number of processes the launcher started (1 when not started by one)."""
    environ = os.environ if environ is None else environ
    for name in _SIZE_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def launched_rank(environ=None):
    """This process's number among those the launcher started (0 when not started by one):
    known before MPI starts, for what must be said once, such as a usage error."""
    environ = os.environ if environ is None else environ
    if launched_size(environ) == 1:
        return 0
    for name in _RANK_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


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

    def replicas(self, V, U, chunks, most_chunks, config, progress):
        return NoAveraging(chunks, config)

    def total(self, x):
        return x

    def largest(self, x):
        return x

    def finish(self):
        pass


class Agreed:
    """What the processes agreed on at a chunk boundary: stop (with this signal), or checkpoint."""

    def __init__(self, signum=0, checkpoint=False):
        self.signum, self.checkpoint = signum, checkpoint

    def __bool__(self):
        return bool(self.signum or self.checkpoint)


class NoAveraging:
    """The single process's schedule: never a merge; its own requests are agreed at once, and the
    learning rate follows its position in the corpus."""
    averages = 0
    bytes_moved = 0
    seconds = waiting_seconds = 0.0

    def __init__(self, chunks, config):
        self.starts, self.N, self.epochs = chunks[0], int(chunks[1][-1]), config.epochs

    def chunks(self, n_chunks):
        return n_chunks

    def fraction(self, epoch, i):
        """How far through the run chunk i of this epoch starts."""
        return (epoch * self.N + self.starts[i]) / (self.epochs * self.N)

    def merges_at(self, i):
        return False

    def agree(self, i, checkpoint, signum):
        return Agreed(signum, checkpoint)

    def unite_(self, progress, i):
        pass

    def end_epoch_(self, progress, signum, unite):
        return 0  # a stop is taken before the next chunk


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

    def replicas(self, V, U, chunks, most_chunks, config, progress):
        """most_chunks: the largest part's chunk count (largest(), computed once by the caller)."""
        return Averaging(self.comm, self.MPI, V, U, chunks, most_chunks, config, progress)

    def total(self, x):
        """The sum of x over the processes."""
        return self.comm.allreduce(x)

    def largest(self, x):
        """The largest x over the processes."""
        return self.comm.allreduce(x, op=self.MPI.MAX)


class _Elsewhere(W2VError):
    def __init__(self, message, code):
        super().__init__(message)
        self.exit_code = code


class Averaging:
    """When and what the replicas merge (see the module's docstring), counted in chunks.

    The chunk boundaries are numbered through the run, g = epoch x C + c before a process's chunk
    c (C: the largest part's chunk count, which every process walks, training or not, so every
    process makes the same calls in the same order). g is a merge point when it is a multiple of
    k_hot = k / HOT_SHARES (k: S words in chunks), at most C: there is one an epoch at least, for a
    stop or a checkpoint is agreed only at one. Each merge point merges the hot rows and one of
    k / k_hot slices of the other rows, in turn: every row is merged every k chunks, the hot rows
    every k_hot. A merge does not stop training: its changes are posted (a non-blocking
    Allreduce, driven by a thread that sleeps between tests), and at the next merge point, when
    it has long arrived, the other processes' changes are added as a correction. A process waits
    only for a process more than a merge behind. An epoch's end is no merge point: the merge in
    flight and the slices' turns carry on into the next epoch.

    Each merge also tells every process where the others are in the run, which sets the learning
    rate (fraction), and what they ask for: a checkpoint (process 0's clock) or a stop (a signal).
    Both happen at the same merge point on every process, after a merge of every row, when the
    replicas are one (unite_). So does the run's last epoch's end, and every epoch's end when
    checkpoints are saved there (end_epoch_); there, and only there, the epochs' costs are summed
    over the processes.
    """

    def __init__(self, comm, MPI, V, U, chunks, most_chunks, config, progress):
        self.comm, self.MPI = comm, MPI
        self.rank, self.P = comm.Get_rank(), comm.Get_size()
        self.starts, self.ends = chunks[0], chunks[1]
        self.n_chunks, self.epochs = len(self.ends), config.epochs
        self.most_chunks = most_chunks
        self.parts_N = np.array(comm.allgather(int(self.ends[-1])), np.int64)  # (P,) ids per part
        self.N = int(self.parts_N.sum())  # ids in all the parts: an epoch's progress
        k = max(1, round(config.sync_every / config.chunk_words))
        # a merge point at least every epoch: a stop or a checkpoint is agreed only at one
        self.k_hot = max(1, min(k // HOT_SHARES, self.most_chunks))
        self.n_slices = max(1, k // self.k_hot)
        self.d = V.shape[1]
        self.models = [(V, V.copy()), (U, U.copy())]  # (M, M0): M0 the last merge, one everywhere
        # the busiest rows come first in V and U (the vocabulary is sorted by count), except in
        # hierarchical softmax's U, whose inner nodes are numbered up to the root (w2v/huffman.py)
        self.hot_last = [False, config.loss == "hs"]
        most = sum(stop - start for M, M0, start, stop in self._ranges(0))  # slice 0 is the largest
        cold = any(len(M) > HOT_ROWS for M, _ in self.models)
        self.round = self.n_slices if cold else 1  # merges that cover every row
        self.sent = np.empty(max(most, 1) * self.d, np.float32)  # this process's changes
        self.summed = np.empty_like(self.sent)  # everyone's changes
        self.told = np.zeros(4, np.int64)  # (epoch, position in it, checkpoint wanted, signal)
        self.heard = np.zeros((self.P, 4), np.int64)
        self.posted = None  # (slice, requests, thread) of the merge in flight
        self.failed = None  # an MPI error met by the thread that drives a merge
        # a thread may test the requests only if MPI allows calls from a thread other than main
        self.threaded = MPI.Query_thread() >= MPI.THREAD_SERIALIZED
        self.slices_merged, self.full_merges = 0, 0
        self.bytes_moved = 0  # this process's share of what the Allreduces moved
        self.seconds = 0.0  # spent merging, waiting for the other processes included
        self.waiting_seconds = 0.0  # of which waiting for a merge to arrive
        self.unsummed = []  # this process's (cost, pairs) of the epochs ended since the last sum
        if self.rank > 0:  # a checkpoint's cost so far is all the processes' (unite_)
            progress.cost, progress.pairs = 0.0, 0
        self.epoch = progress.epoch
        self._know_positions(progress.chunk)
        self.united = self._boundary(progress.chunk)  # a checkpoint's replicas are one: no merge

    @property
    def averages(self):
        """Merges of every row done: whole rounds of the slices, and the full merges."""
        return self.full_merges + self.slices_merged // self.round

    def chunks(self, n_chunks):
        """The chunk boundaries this process walks: the largest part's, training or not."""
        return self.most_chunks

    def _boundary(self, c):
        """The number in the run of the boundary before chunk c of this epoch."""
        return self.epoch * self.most_chunks + c

    def _told(self, c):
        """What this process tells the others of where it is before its chunk c: the epoch,
        and its ids trained in it."""
        return self.epoch, (int(self.ends[min(c, self.n_chunks) - 1]) if c > 0 else 0)

    def _know_positions(self, c):
        self._heard(np.array(self.comm.allgather(self._told(c)), dtype=np.int64))

    def _heard(self, heard):
        """Where the processes were when they told: in which epoch (the same for all: they
        tell at the same boundary), and how many ids each was ahead of this one in it."""
        self.heard_epoch = int(heard[0, 0])
        self.ahead = heard[:, 1] - heard[self.rank, 1]  # (P,)

    def fraction(self, epoch, i):
        """How far through the run chunk i of this epoch starts: every process has finished
        the epochs before, and in this one is as far ahead of this process as it was when it
        last told (or level with it, if it has not told since the epoch began), short of its
        part's end. Exact while the processes move in step."""
        ahead = self.ahead if self.heard_epoch == epoch else 0
        done = np.clip(ahead + int(self.starts[i]), 0, self.parts_N)  # (P,) ids of this epoch
        return (epoch * self.N + int(done.sum())) / (self.epochs * self.N)

    def _rows(self, R, j):
        """Rows [start, stop) of a matrix of R rows in slice j's merge (the hot rows: j = 0)."""
        hot = min(HOT_ROWS, R)
        if j == 0:
            return 0, hot
        size = -(-(R - hot) // self.n_slices)
        start = min(hot + (j - 1) * size, R)
        return start, min(start + size, R)

    def _ranges(self, j):
        for (M, M0), hot_last in zip(self.models, self.hot_last):
            for part in (0, j + 1):
                start, stop = self._rows(len(M), part)
                if hot_last:
                    start, stop = len(M) - stop, len(M) - start
                if stop > start:
                    yield M, M0, start, stop

    def merges_at(self, c):
        """Whether the boundary before chunk c of this epoch is a merge point (not one where the
        replicas were just made one)."""
        g = self._boundary(c)
        return g > 0 and g % self.k_hot == 0 and g != self.united

    def agree(self, c, checkpoint, signum):
        """At the boundary before chunk c: at a merge point, finish the merge in flight, then
        either agree on what a process asked for or post this process's next changes. With
        threads, the caller has no chunk in flight there: a kernel's read-modify-write of a row
        during the merge's `M += ...` could lose the other processes' changes to it for good."""
        if not self.merges_at(c):
            return Agreed()
        start_time = time.perf_counter()
        heard = self._finish_()
        agreed = Agreed()
        if heard is not None:
            asked = heard[:, 3][heard[:, 3] > 0]
            agreed = Agreed(int(asked[0]) if len(asked) else 0, bool(heard[0, 2]))
        if not agreed:
            self._post(c, checkpoint and self.rank == 0, signum)
        self.seconds += time.perf_counter() - start_time
        return agreed

    def _post(self, c, checkpoint, signum):
        """Send this process's changes to the rows of the slice due at c, without waiting."""
        j = (self._boundary(c) // self.k_hot) % self.n_slices
        d, offset = self.d, 0
        for M, M0, start, stop in self._ranges(j):
            n = (stop - start) * d
            change = self.sent[offset:offset + n].reshape(-1, d)  # (rows, d)
            np.subtract(M[start:stop], M0[start:stop], out=change)
            offset += n
        self.told[:] = (*self._told(c), checkpoint, signum)
        requests = [self.comm.Iallreduce(self.sent[:offset], self.summed[:offset]),
                    self.comm.Iallgather(self.told, self.heard)]
        thread = None
        if self.threaded:
            thread = threading.Thread(target=self._drive, args=(requests,), daemon=True)
            thread.start()
        self.posted = (j, requests, thread)
        self.bytes_moved += 2 * offset * self.sent.itemsize  # a ring Allreduce: twice the buffer

    def _drive(self, requests):
        """Test the requests until they are done: MPI moves data only inside its calls, and a
        blocking wait would spin on a core the other processes may need. An MPI error is kept
        for _finish_ to raise: the merge's buffers are then incomplete."""
        try:
            while not self.MPI.Request.Testall(requests):
                time.sleep(_POLL_SECONDS)
        except Exception as e:  # noqa: BLE001 (re-raised in the main thread)
            self.failed = e

    def _finish_(self):
        """Wait for the merge in flight and add the other processes' changes to its rows (the
        sum of all changes to M0, the sum less this process's own to M, which holds them and what
        it has done since). Returns each process's (position, still training, checkpoint wanted,
        signal), or None."""
        if self.posted is None:
            return None
        j, requests, thread = self.posted
        self.posted = None
        waited = time.perf_counter()
        if thread is None:  # an MPI without threads: the transfer happens here
            self.MPI.Request.Waitall(requests)
        while thread is not None and thread.is_alive():
            thread.join(0.1)  # in slices, so that the process still takes signals
        self.waiting_seconds += time.perf_counter() - waited
        if self.failed is not None:
            raise W2VError(f"a merge of the processes' models failed: {self.failed}")
        d, offset = self.d, 0
        for M, M0, start, stop in self._ranges(j):
            n = (stop - start) * d
            summed = self.summed[offset:offset + n].reshape(-1, d)
            M0[start:stop] += summed
            summed -= self.sent[offset:offset + n].reshape(-1, d)
            M[start:stop] += summed
            offset += n
        self.slices_merged += 1
        self._heard(self.heard)
        return self.heard.copy()

    def unite_(self, progress, c):
        """Merge every row, blocking, so that the replicas are one, before chunk c; the cost so
        far becomes all the processes' sum, held by process 0 (for a checkpoint)."""
        start_time = time.perf_counter()
        self._finish_()
        self._merge_all()
        self._know_positions(c)
        self.united = self._boundary(c)
        cost, pairs, _ = self._sum_costs_(progress, 0)
        progress.cost, progress.pairs = (cost, pairs) if self.rank == 0 else (0.0, 0)
        self.seconds += time.perf_counter() - start_time

    def end_epoch_(self, progress, signum, unite):
        """The end of the epoch. Without unite nothing waits: the merge in flight and the slices'
        turns go on into the next epoch, and the epoch's cost and pairs wait to be summed the next
        time the replicas are made one. With unite (the run's last epoch, or a checkpoint to
        save) every row is merged, blocking, and the cost and pairs of this epoch and of the
        epochs not yet summed are summed over the processes (into progress, in place). Returns
        the signal of the first process that asked to stop, or 0."""
        if not unite:
            self.unsummed.append((progress.cost, progress.pairs))
            self.epoch += 1
            return 0
        start_time = time.perf_counter()
        self._finish_()
        self._merge_all()
        progress.cost, progress.pairs, asked = self._sum_costs_(progress, signum)
        self.epoch += 1
        self.united = self._boundary(0)
        self.seconds += time.perf_counter() - start_time
        return asked

    def _sum_costs_(self, progress, signum):
        """Sum over the processes, blocking, the cost and pairs of the epochs ended since the last
        sum (their mean costs into progress.epoch_costs, in place) and of the epoch in course so
        far. Returns the epoch in course's summed (cost, pairs), and the signal of the first
        process that asked to stop, or 0."""
        parts = self.comm.allgather((self.unsummed, (progress.cost, progress.pairs), signum))
        first = len(progress.epoch_costs) - len(self.unsummed)
        for e in range(len(self.unsummed)):
            cost, pairs = _summed(part[0][e] for part in parts)
            progress.epoch_costs[first + e] = cost / pairs if pairs else float("nan")
        self.unsummed = []
        cost, pairs = _summed(part[1] for part in parts)
        return cost, pairs, next((part[2] for part in parts if part[2]), 0)

    def _merge_all(self):
        """M <- M0 + Σ_p (M_p - M0) on every row of V and U, in place, a block at a time;
        M0 <- M."""
        d = self.d
        block = len(self.sent) // d
        for M, M0 in self.models:
            for start in range(0, len(M), block):
                stop = min(start + block, len(M))
                change = self.sent[:(stop - start) * d].reshape(-1, d)  # (rows, d)
                np.subtract(M[start:stop], M0[start:stop], out=change)
                self.comm.Allreduce(self.MPI.IN_PLACE, change)
                M0[start:stop] += change
                M[start:stop] = M0[start:stop]
                self.bytes_moved += 2 * change.nbytes
        self.full_merges += 1


def _summed(costs):
    """The sum of (cost, pairs) pairs: the cost in float64 without rounding error (fsum)."""
    costs = list(costs)
    return math.fsum(c for c, _ in costs), sum(p for _, p in costs)


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
