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
    order = np.argsort(-counts, kind="stable")  # the leaves, most frequent first
    merged = np.empty(max(W - 1, 0), dtype=np.int64)  # inner nodes' counts
    parent = np.empty(2 * W - 1, dtype=np.int64)  # node -> parent; leaves 0..W-1, inner W + a
    bit = np.zeros(2 * W - 1, dtype=np.int8)
    leaf, inner = W - 1, 0  # queue fronts: next leaf (a position in order), next inner node
    for a in range(W - 1):
        merged[a] = 0
        for b in (0, 1):
            if leaf >= 0 and (inner >= a or counts[order[leaf]] < merged[inner]):
                node, count, leaf = order[leaf], counts[order[leaf]], leaf - 1
            else:
                node, count, inner = W + inner, merged[inner], inner + 1
            parent[node], bit[node] = W + a, b
            merged[a] += count
    return _paths(parent, bit, W)


def _paths(parent, bit, W):
    """Each word's inner nodes and signs, root first, from the parent links."""
    root = 2 * W - 2
    paths = []
    for w in range(W):
        nodes, node = [], w
        while node != root:
            nodes.append(node)
            node = parent[node]
        paths.append(nodes[::-1])  # from the child of the root down to the leaf
    L = max(1, max(len(p) for p in paths))
    points = np.zeros((W, L), dtype=np.int32)
    signs = np.zeros((W, L), dtype=np.float32)
    lengths = np.array([len(p) for p in paths], dtype=np.int32)
    for w, nodes in enumerate(paths):
        # the branch into node x is taken at its parent: the inner node parent[x] - W, bit[x]
        points[w, :len(nodes)] = [parent[x] - W for x in nodes]
        signs[w, :len(nodes)] = [1.0 - 2.0 * bit[x] for x in nodes]
    return Tree(points, signs, lengths)
