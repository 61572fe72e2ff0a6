"""The Huffman tree of hierarchical softmax over the vocabulary's counts (docs/math.md section 17).

Built as word2vec.c's CreateBinaryTree builds it, with two queues: the leaves in increasing count
(the vocabulary sorted by count, descending, read from its end) and the inner nodes in the order
they are created, which is increasing count too. Each of the W − 1 steps takes the smaller queue
front twice and merges the two into inner node a (a = 0..W − 2; the root is W − 2). Ties: a leaf
is taken only when its count is strictly below the inner node's (word2vec.c's `<`); among words
of equal count the vocabulary's order decides (stable sort, the later word first). The first node
taken gets bit 0, the second bit 1. The tree is a function of the counts alone, so a resumed run
rebuilds the same one.

    tree = build(counts)
    tree.points[w, :tree.lengths[w]]  inner nodes from the root down to word w's leaf
    tree.signs[w, :tree.lengths[w]]   s_j = 1 − 2 d_j, +1 for a branch with bit 0, −1 for bit 1
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class Tree:
    points: np.ndarray  # (W, L) int32 inner-node ids, root first, padded with 0
    signs: np.ndarray  # (W, L) float32 +1 / −1 per branch, padded with 0
    lengths: np.ndarray  # (W,) int32 code lengths

    @property
    def nodes(self):
        """How many inner nodes (rows of U) there are: W − 1."""
        return len(self.lengths) - 1

    def codes(self, w):
        """Word w's bits d_1..d_L, root first, as a list of 0 and 1."""
        return [int(s < 0) for s in self.signs[w, :self.lengths[w]]]


def build(counts):
    """The Huffman tree of `counts` (W,), W ≥ 1; a single word has an empty path."""
    counts = np.asarray(counts, dtype=np.int64)
    W = len(counts)
    order = np.argsort(-counts, kind="stable").tolist()  # the leaves, most frequent first
    count = counts.tolist()  # plain ints: this loop runs W − 1 times
    merged = []  # inner nodes' counts
    parent = np.full(2 * W - 1, 2 * W - 2, dtype=np.int64)  # node -> parent; leaves 0..W-1,
    bit = np.zeros(2 * W - 1, dtype=np.int8)                # inner node a is W + a
    leaf, inner = W - 1, 0  # queue fronts: next leaf (a position in order), next inner node
    for a in range(W - 1):
        total = 0
        for b in (0, 1):
            if leaf >= 0 and (inner >= a or count[order[leaf]] < merged[inner]):
                node, leaf = order[leaf], leaf - 1
                total += count[node]
            else:
                node, inner = W + inner, inner + 1
                total += merged[node - W]
            parent[node], bit[node] = W + a, b
        merged.append(total)
    return _paths(parent, bit, W)


def _paths(parent, bit, W):
    """Each word's inner nodes and signs, root first, from the parent links."""
    root = 2 * W - 2
    up_points, up_signs = [], []  # level k: the k-th branch on the way up from each leaf
    node = np.arange(W)
    lengths = np.zeros(W, dtype=np.int32)
    while np.any(node != root):
        below = node != root
        # the branch into a node is taken at its parent, inner node parent - W, with its bit
        up_points.append(np.where(below, parent[node] - W, 0))
        up_signs.append(np.where(below, 1.0 - 2.0 * bit[node], 0.0))
        lengths += below
        node = np.where(below, parent[node], root)
    L = max(1, len(up_points))
    points = np.zeros((W, L), dtype=np.int32)
    signs = np.zeros((W, L), dtype=np.float32)
    if up_points:
        up_points, up_signs = np.array(up_points), np.array(up_signs)  # (levels, W)
        j = np.arange(L)[None, :]
        on_path = j < lengths[:, None]
        k = np.where(on_path, lengths[:, None] - 1 - j, 0)  # root first: reverse each path
        words = np.broadcast_to(np.arange(W)[:, None], k.shape)
        points[on_path] = up_points[k, words][on_path]
        signs[on_path] = up_signs[k, words][on_path]
    return Tree(points, signs, lengths)
