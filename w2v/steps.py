"""The training step of each loss, and the registry the SGD loop picks them from by name.

Every entry is a factory `make(config, vocab) -> step`, and every step has one signature:

    cost, pairs, state = step(sen, V, U, alpha, state)

    sen    (n,) int32 training ids of a prepared chunk, SENTENCE_BREAK (-1) between sentences
    V, U   (W, d) float32, updated in place
    alpha  the learning rate for this chunk
    state  the chunk's random generator state (uint64), returned advanced
    cost   summed over the chunk's positive pairs; pairs, how many there were

A new loss adds an entry here, not a branch in the loop.
"""
import threading

import numpy as np

from . import native
from .sampler import NegativeSampler


HOT_ROWS = 4096  # with threads, each trains its own copies of up to this many frequent words' rows


def make_neg_step(config, vocab):
    """Negative sampling, K negatives from count^ns_exponent, in the compiled kernel.

    With several threads, the rows of the most frequent words are in most windows and most
    negative draws of every thread, and each write to one takes its cache line away from the
    other cores: on this project's machine two threads ran 1.2x one. So each thread trains its
    own copies of the first rows of V and U (the vocabulary is sorted by count) through a chunk
    and adds what it changed to the shared rows at the chunk's end, under a lock. Only the head
    of the vocabulary (at most an eighth of it): when most rows are copies, threads that cannot
    see each other's changes for a whole chunk slow convergence. One thread trains V and U
    directly.
    """
    sampler = NegativeSampler(vocab.counts, config.ns_exponent)
    prob, alias = sampler.prob, sampler.alias
    hot = min(HOT_ROWS, len(vocab) // 8) if config.threads > 1 else 0
    local, lock = threading.local(), threading.Lock()

    def step(sen, V, U, alpha, state):
        if not hot:
            return native.neg_chunk(sen, V, U, prob, alias, config.window, config.negative,
                                    config.shared_negatives, np.float32(alpha), state)
        if getattr(local, "rows", None) is None:
            local.rows = np.empty((4, hot, V.shape[1]), np.float32)
        V_hot, U_hot, V_start, U_start = local.rows
        np.copyto(V_start, V[:hot])
        np.copyto(U_start, U[:hot])
        np.copyto(V_hot, V_start)
        np.copyto(U_hot, U_start)
        result = native.neg_chunk(sen, V, U, prob, alias, config.window, config.negative,
                                  config.shared_negatives, np.float32(alpha), state, V_hot, U_hot)
        V_hot -= V_start  # what this chunk changed
        U_hot -= U_start
        with lock:
            V[:hot] += V_hot
            U[:hot] += U_hot
        return result

    return step


def make_softmax_step(config, vocab):
    """The full softmax over the vocabulary: batches of pairs as float32 matrix products."""
    batch = config.batch_words

    def step(sen, V, U, alpha, state):
        inputs, outputs, state = native.skipgram_pairs(sen, config.window, state)
        cost = 0.0
        for s in range(0, len(inputs), batch):
            cost += softmax_batch_(V, U, inputs[s:s + batch], outputs[s:s + batch], alpha)
        return cost, len(inputs), state

    return step


def softmax_batch_(V, U, inputs, outputs, alpha):
    """One SGD step of the full-softmax loss on a batch of B pairs; updates V and U in place.

    The gradients of all B pairs are taken at the same V and U (a minibatch), as in
    losses.softmax_loss. Returns the summed cost.
    """
    rows = np.arange(len(inputs))
    v = V[inputs]  # (B, d)
    delta = v @ U.T  # scores: (B, d) @ (d, W) -> (B, W)
    delta -= delta.max(axis=1, keepdims=True)  # shift-stable, in place
    shifted_o = delta[rows, outputs].astype(np.float64)  # (B,)
    np.exp(delta, out=delta)
    z = delta.sum(axis=1, dtype=np.float64, keepdims=True)  # (B, 1)
    cost = float(np.sum(np.log(z[:, 0]) - shifted_o))  # Σ -u_o·v + log Σ_w exp(u_w·v)
    delta /= z.astype(np.float32)  # ŷ
    delta[rows, outputs] -= 1.0  # ŷ - y
    grad_v = delta @ U  # (B, W) @ (W, d) -> (B, d)
    U -= np.float32(alpha) * (delta.T @ v)  # (W, B) @ (B, d) -> (W, d)
    native.scatter_add_rows(V, inputs, grad_v, np.float32(-alpha))
    return cost


STEPS = {"neg": make_neg_step, "softmax": make_softmax_step}
