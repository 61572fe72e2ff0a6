"""The losses in plain numpy: the reference that the compiled kernels must match.

docs/math.md sections 6-9a, 16 (CBOW) and 17 (hierarchical softmax). The three losses share one interface over a batch of B (centre, outside) pairs:

    cost, grad_v_c, (rows, grad_U_rows) = loss(v_c, outside, U, ...)

    v_c      (B, d)  input rows, one per pair (a word may appear in several rows); training
                     passes a context word's row of V here and the centre word as `outside`,
                     as the C tool does (docs/math.md section 6)
    outside  (B,)    output word ids
    U        (W, d)  outside vectors
    cost             summed over the batch
    grad_v_c (B, d)  gradient wrt each row of v_c
    rows     (R,)    the distinct rows of U the batch touches, sorted
    grad_U_rows (R, d) their gradients, accumulated when a word appears more than once

Hierarchical softmax's "U" is the Huffman tree's inner-node rows, (W − 1, d). CBOW (cbow_loss) puts
the mean or sum of a window's context rows in place of v_c. combined_loss is one block of
context combining: several windows of a sentence sharing one draw of negatives.

Negative sampling takes its K negatives per pair as an argument, so the loss is a deterministic
function of its inputs and can be checked by finite differences. Nothing here draws random
numbers, reads files or updates parameters.
"""
import numpy as np

from .functions import log_sigmoid, sigmoid, softmax


def softmax_loss(v_c, outside, U):
    """Full softmax over the vocabulary: J = -u_o·v_c + log Σ_w exp(u_w·v_c), per pair."""
    v_c = np.atleast_2d(v_c)
    outside = np.atleast_1d(outside)
    rows = np.arange(len(outside))
    scores = v_c @ U.T  # (B, d) @ (d, W) -> (B, W)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))  # (B,)
    cost = float(np.sum(log_z - shifted[rows, outside]))
    delta = softmax(scores)  # ŷ, (B, W)
    delta[rows, outside] -= 1.0  # ŷ - y
    grad_v_c = delta @ U  # (B, W) @ (W, d) -> (B, d)
    grad_U = delta.T @ v_c  # (W, B) @ (B, d) -> (W, d): every row is touched
    return cost, grad_v_c, (np.arange(U.shape[0]), grad_U)


def neg_sampling_loss(v_c, outside, U, negatives):
    """Negative sampling: J = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c), per pair.

    negatives: (B, K) word ids, one row of K negatives per pair.
    """
    v_c = np.atleast_2d(v_c)
    outside = np.atleast_1d(outside)
    negatives = np.atleast_2d(negatives)
    targets = np.concatenate([outside[:, None], negatives], axis=1)  # (B, K+1): o, then k_1..k_K
    sign = np.ones(targets.shape[1])
    sign[1:] = -1.0  # label +1 for the outside word, -1 for the negatives
    u = U[targets]  # (B, K+1, d)
    scores = np.einsum("bkd,bd->bk", u, v_c)  # (B, K+1)
    cost = float(-np.sum(log_sigmoid(sign * scores)))
    g = sigmoid(scores) - (sign > 0)  # σ(s) - 1 for o, σ(s) for each k: (B, K+1)
    grad_v_c = np.einsum("bk,bkd->bd", g, u)  # (B, d)
    contributions = g[:, :, None] * v_c[:, None, :]  # (B, K+1, d)
    rows, where = np.unique(targets.ravel(), return_inverse=True)
    grad_U_rows = np.zeros((len(rows), U.shape[1]), dtype=np.result_type(U, v_c))
    np.add.at(grad_U_rows, where, contributions.reshape(-1, U.shape[1]))
    return cost, grad_v_c, (rows, grad_U_rows)


def hs_loss(v_c, outside, U, tree):
    """Hierarchical softmax: J = −Σ_j log σ(s_j u_{n_j}·v_c) over the outside word's path, per pair.

    U: (W − 1, d) the inner nodes' rows; tree: huffman.Tree (points, signs, lengths).
    """
    v_c = np.atleast_2d(v_c)
    outside = np.atleast_1d(outside)
    cost = 0.0
    grad_v_c = np.zeros_like(v_c, dtype=np.result_type(U, v_c))
    grad_U = np.zeros(U.shape, dtype=np.result_type(U, v_c))
    for b, o in enumerate(outside):
        L = tree.lengths[o]
        nodes, s = tree.points[o, :L], tree.signs[o, :L].astype(np.float64)
        scores = U[nodes] @ v_c[b]  # (L,)
        cost -= float(np.sum(log_sigmoid(s * scores)))
        g = sigmoid(scores) - (s > 0)  # σ(x_j) − (1 − d_j): (L,)
        grad_v_c[b] = g @ U[nodes]
        grad_U[nodes] += g[:, None] * v_c[b][None, :]  # a node is once on a path: no np.add.at
    rows = np.unique(np.concatenate([tree.points[o, :tree.lengths[o]] for o in outside]))
    return cost, grad_v_c, (rows, grad_U[rows])


def cbow_loss(V, U, context, centre, loss, *extra, mean=True):
    """CBOW over one window: h = the mean (or sum) of V[context], J = loss(h, centre, U, *extra).

    docs/math.md section 16. The exact gradient: a word at m positions of the window gets
    m/n (mean) or m (sum) times ∂J/∂h. Returns (cost, dV, dU, grad_h), dV and dU dense.
    """
    context = np.asarray(context)
    h = V[context].sum(axis=0)
    share = 1.0 / len(context) if mean else 1.0
    h = h * share
    cost, grad_h, (rows, grad_rows) = loss(h[None, :], np.array([centre]), U, *extra)
    dV = np.zeros_like(V)
    np.add.at(dV, context, share * grad_h[0])
    return cost, dV, densify(U.shape, rows, grad_rows), grad_h[0]


def window_loss(V, U, centre, outside, negatives=None):
    """Skip-gram over one window: J = Σ_j J(v_c, w_{t+j}, U), docs/math.md section 6.

    centre: the centre word id; outside: (n,) the ids of its context words; negatives: None for
    the full softmax, else (n, K), one row per context word. Returns (cost, dV, dU) with dV and
    dU dense (W, d): for checking, not for training.
    """
    outside = np.asarray(outside)
    v_c = np.repeat(V[centre][None, :], len(outside), axis=0)  # (n, d)
    if negatives is None:
        cost, grad_v_c, (rows, grad_rows) = softmax_loss(v_c, outside, U)
    else:
        cost, grad_v_c, (rows, grad_rows) = neg_sampling_loss(v_c, outside, U, negatives)
    dV = np.zeros_like(V)
    dV[centre] = grad_v_c.sum(axis=0)  # the centre vector serves every pair: gradients add up
    return cost, dV, densify(U.shape, rows, grad_rows)


def combined_loss(V, U, sentence, centres, radii, negatives):
    """Skip-gram with context combining over one block, docs/math.md section 9a: the windows of the
    centres share one draw of negatives; the sum of their HogBatch window costs,

        J = Σ_j Σ_{p in window j} [ -log σ(u_{c_j}·v_p) - Σ_{k: n_k != c_j} log σ(-u_{n_k}·v_p) ],

    c_j = sentence[centres[j]], v_p = V[sentence[p]], window j = the positions within radii[j] of
    centres[j] (itself excluded) inside the sentence. A negative equal to a window's centre word
    is skipped for that window. All gradients are taken at the same V and U (one block, one step).

    sentence (n,) word ids; centres (C,) positions; radii (C,); negatives (K,) word ids.
    Returns (cost, dV, dU, pairs) with dV and dU dense, pairs the number of (p, j) pairs.
    """
    sentence, negatives = np.asarray(sentence), np.asarray(negatives)
    cost, pairs = 0.0, 0
    dV = np.zeros(V.shape, dtype=np.result_type(V, U))
    dU = np.zeros(U.shape, dtype=dV.dtype)
    for t, b in zip(centres, radii):
        positions = [p for p in range(max(0, t - b), min(len(sentence), t + b + 1)) if p != t]
        inputs = sentence[positions]  # (m,)
        c = sentence[t]
        targets = np.concatenate([[c], negatives[negatives != c]])  # (T,): c_j, then its negatives
        sign = np.where(np.arange(len(targets)) == 0, 1.0, -1.0)
        scores = V[inputs] @ U[targets].T  # (m, d) @ (d, T) -> (m, T)
        cost -= float(np.sum(log_sigmoid(sign * scores)))
        g = sigmoid(scores) - (sign > 0)  # (m, T)
        np.add.at(dV, inputs, g @ U[targets])  # (m, T) @ (T, d) -> (m, d)
        np.add.at(dU, targets, g.T @ V[inputs])  # (T, m) @ (m, d) -> (T, d)
        pairs += len(positions)
    return cost, dV, dU, pairs


def densify(shape, rows, grad_rows):
    """The (rows, grads) form of a row-sparse gradient as a dense array of the given shape."""
    dense = np.zeros(shape, dtype=grad_rows.dtype)
    dense[rows] = grad_rows
    return dense
