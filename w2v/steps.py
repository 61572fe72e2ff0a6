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
import numpy as np

from . import native
from .sampler import NegativeSampler


def make_neg_step(config, vocab):
    """Negative sampling, K negatives from count^ns_exponent, in the compiled kernel.

    With several threads, each trains its chunk on the shared V and U directly, without locks
    (Hogwild): every update is applied once, whatever the number of threads, so the arithmetic
    is one thread's with some updates reordered. What threads share is only V and U: each keeps
    its scratch space on cache lines of its own (kernels.c's Scratch), and V and U allocated by
    native.padded_zeros have no cache line that holds parts of two rows.
    """
    sampler = NegativeSampler(vocab.counts, config.ns_exponent)

    def step(sen, V, U, alpha, state):
        return native.neg_chunk(sen, V, U, sampler.prob, sampler.alias, config.window,
                                config.negative, config.shared_negatives, alpha, state)

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
