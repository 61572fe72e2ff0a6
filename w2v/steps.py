"""The training step of each loss, and the registry the SGD loop picks them from by name.

Every entry is a factory `make(config, vocab) -> step`, and every step has one signature:

    cost, pairs, state = step(sen, V, U, alpha, state)

    sen    (n,) int32 training ids of a prepared chunk, SENTENCE_BREAK (-1) between sentences
    V, U   (W, d) float32, updated in place
    alpha  the learning rate for this chunk
    state  the chunk's random generator state (uint64), returned advanced
    cost   summed over the chunk's positive pairs; pairs, how many there were

The registry is keyed by (model, loss): `--model skipgram|cbow` and `--loss neg|softmax|hs`.
A new loss or model adds entries here, not a branch in the loop. For CBOW, `pairs` counts
examples, one per centre word with a context; for hierarchical softmax, U holds the W − 1 inner
nodes' rows of the vocabulary's Huffman tree (w2v/huffman.py), not one row per word.
"""
import numpy as np

from . import huffman, native
from .sampler import NegativeSampler


def make_neg_step(config, vocab):
    """Negative sampling, K negatives from count^ns_exponent, in the compiled kernel: with shared
    negatives, blocks of config.combine consecutive centre words share one draw (docs/math.md
    section 9a; 1: one draw per window, HogBatch), else each pair draws its own.

    With several threads, each trains its chunk on the shared V and U directly, without locks
    (Hogwild): every update is applied once, whatever the number of threads, so the arithmetic
    is one thread's with some updates reordered. What threads share is only V and U: each keeps
    its scratch space on cache lines of its own (kernels.c's Scratch), and V and U allocated by
    native.padded_zeros have no cache line that holds parts of two rows.
    """
    sampler = NegativeSampler(vocab.counts, config.ns_exponent)

    def step(sen, V, U, alpha, state):
        return native.neg_chunk(sen, V, U, sampler.prob, sampler.alias, config.window,
                                config.negative, config.shared_negatives, alpha, state,
                                config.combine)

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


def make_cbow_neg_step(config, vocab):
    """CBOW with negative sampling in the compiled kernel: h, the mean (or sum) of the window's
    context rows, against the centre and K negatives drawn for it; the tool's step on V
    (docs/math.md section 16). Threads share V and U as make_neg_step's do."""
    sampler = NegativeSampler(vocab.counts, config.ns_exponent)

    def step(sen, V, U, alpha, state):
        state, cost = np.array([state], np.uint64), np.zeros(1)
        examples = native.backend().call(
            "cbow_neg_chunk", V=V, U=U, alias_prob=sampler.prob, alias_idx=sampler.alias,
            window=config.window, K=config.negative, shared=int(bool(config.shared_negatives)),
            alpha=alpha, mean=int(not config.cbow_sum), sen=sen, state=state, cost=cost)
        return float(cost[0]), int(examples), state[0]

    return step


def make_hs_step(cbow):
    """Hierarchical softmax over the vocabulary's Huffman tree, in the compiled kernel: skip-gram
    (a window's context rows share the centre's path, one dense block) or CBOW (the window's h
    walks the centre's path). U has the tree's W − 1 inner-node rows. With several threads, each
    chunk trains the busiest nodes, near the root, in copies of its own (kernels.c's HotNodes)."""
    def make(config, vocab):
        tree = huffman.build(vocab.counts)

        def step(sen, V, U, alpha, state):
            state, cost = np.array([state], np.uint64), np.zeros(1)
            examples = native.backend().call(
                "hs_chunk", V=V, U=U, points=tree.points, signs=tree.signs, lengths=tree.lengths,
                window=config.window, cbow=int(cbow), mean=int(not config.cbow_sum), alpha=alpha,
                hot=int(config.threads > 1), sen=sen, state=state, cost=cost)
            return float(cost[0]), int(examples), state[0]

        return step

    return make


def make_cbow_softmax_step(config, vocab):
    """CBOW with the full softmax: batches of windows as float32 matrix products, the tool's
    step on V (every context row gets the window's whole -alpha dJ/dh). A batch holds the
    windows whose context words add up to --batch-words: as many rows of V move as in a
    skip-gram batch (batches of --batch-words windows diverged on the planted corpus at CBOW's
    alpha 0.05, each row collecting the whole step of every window it is in)."""
    batch = config.batch_words
    mean = not config.cbow_sum

    def step(sen, V, U, alpha, state):
        window = config.window
        contexts = np.empty(2 * window * len(sen), np.int32)
        sizes, centres = np.empty(len(sen), np.int32), np.empty(len(sen), np.int32)
        state = np.array([state], np.uint64)
        m = native.backend().call("cbow_windows", sen=sen, window=window, state=state,
                                  contexts=contexts, sizes=sizes, centres=centres)
        sizes, centres = sizes[:m], centres[:m]
        ends = np.cumsum(sizes)
        cost, s = 0.0, 0
        while s < m:  # windows whose context words, the pairs they stand for, fill one batch
            first = ends[s] - sizes[s]
            e = max(s + 1, int(np.searchsorted(ends, first + batch, side="right")))
            cost += cbow_softmax_batch_(V, U, contexts[first:ends[e - 1]], sizes[s:e],
                                        centres[s:e], alpha, mean)
            s = e
        return cost, int(m), state[0]

    return step


def cbow_softmax_batch_(V, U, contexts, sizes, centres, alpha, mean):
    """One SGD step of the full softmax on a batch of B CBOW windows, V and U in place.

    contexts: the windows' context words one after another, sizes (B,) how many each has. h is
    their mean (or sum); all B gradients are taken at the same V and U. Returns the summed cost.
    """
    starts = np.cumsum(sizes) - sizes
    h = np.add.reduceat(V[contexts], starts, axis=0)  # (B, d)
    if mean:
        h /= sizes[:, None].astype(np.float32)
    rows = np.arange(len(centres))
    delta = h @ U.T  # (B, W)
    delta -= delta.max(axis=1, keepdims=True)
    shifted_o = delta[rows, centres].astype(np.float64)
    np.exp(delta, out=delta)
    z = delta.sum(axis=1, dtype=np.float64, keepdims=True)
    cost = float(np.sum(np.log(z[:, 0]) - shifted_o))
    delta /= z.astype(np.float32)
    delta[rows, centres] -= 1.0  # ŷ - y
    grad_h = delta @ U  # (B, d)
    U -= np.float32(alpha) * (delta.T @ h)
    native.scatter_add_rows(V, contexts, np.repeat(grad_h, sizes, axis=0), np.float32(-alpha))
    return cost


STEPS = {("skipgram", "neg"): make_neg_step, ("skipgram", "softmax"): make_softmax_step,
         ("skipgram", "hs"): make_hs_step(cbow=False), ("cbow", "neg"): make_cbow_neg_step,
         ("cbow", "softmax"): make_cbow_softmax_step, ("cbow", "hs"): make_hs_step(cbow=True)}


def output_rows(config, W):
    """How many rows U has: one per word, or one per inner node of the Huffman tree (hs)."""
    return W - 1 if config.loss == "hs" else W
