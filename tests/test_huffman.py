"""The Huffman tree of hierarchical softmax (w2v/huffman.py), against what a Huffman code must be."""
import heapq

import numpy as np
import pytest

from w2v import huffman, losses


@pytest.fixture
def counts(rng):
    return np.sort(rng.integers(1, 10_000, size=300))[::-1]


def test_code_lengths_satisfy_kraft_equality(counts):
    tree = huffman.build(counts)
    assert np.sum(2.0 ** -tree.lengths.astype(np.float64)) == pytest.approx(1.0, abs=1e-12)


def test_weighted_code_length_equals_a_plain_heapq_huffman(counts):
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    optimal, tag = 0, len(counts)
    while len(heap) > 1:  # the sum of the merged counts is the count-weighted code length
        (a, _), (b, _) = heapq.heappop(heap), heapq.heappop(heap)
        optimal += a + b
        heapq.heappush(heap, (a + b, tag))
        tag += 1
    assert int(np.sum(huffman.build(counts).lengths * counts)) == optimal


def test_frequent_words_get_codes_no_longer_than_rare_ones(counts):
    lengths = huffman.build(counts).lengths
    assert np.all(np.diff(lengths) >= 0)  # counts descend, so lengths may only grow
    assert lengths[0] < lengths[-1]


def test_probabilities_over_the_vocabulary_sum_to_one(rng, counts):
    tree = huffman.build(counts)
    d = 16
    nodes = rng.normal(0, 1, size=(tree.nodes, d))
    h = rng.normal(0, 1, size=d)
    costs = [losses.hs_loss(h, np.array([w]), nodes, tree)[0] for w in range(len(counts))]
    assert np.sum(np.exp(-np.array(costs))) == pytest.approx(1.0, abs=1e-9)


def test_every_inner_node_has_two_children_and_the_paths_start_at_the_root(counts):
    tree = huffman.build(counts)
    W = len(counts)
    assert tree.nodes == W - 1
    assert np.all(tree.points[:, 0] == W - 2)  # the root is the last node made
    branches = {(int(tree.points[w, j]), tree.codes(w)[j])
                for w in range(W) for j in range(tree.lengths[w])}
    assert len({node for node, _ in branches}) == W - 1
    assert len(branches) == 2 * (W - 1)


def test_the_tree_is_the_c_tools_on_a_small_example():
    # word2vec.c with counts 5, 3, 2, 1: merge 1+2 (node 0: bits 0 for 1, 1 for 2), then 3 and
    # node 0 tie at 3 and the inner node goes first (node 1: bit 0 node 0, bit 1 word 1), then 5
    # and node 1 (6): root 2, bit 0 word 0, bit 1 node 1
    tree = huffman.build([5, 3, 2, 1])
    assert [tree.codes(w) for w in range(4)] == [[0], [1, 1], [1, 0, 1], [1, 0, 0]]
    assert [list(tree.points[w, :tree.lengths[w]]) for w in range(4)] == [
        [2], [2, 1], [2, 1, 0], [2, 1, 0]]


def test_the_tree_depends_only_on_the_counts(counts):
    first, again = huffman.build(counts), huffman.build(counts.copy())
    for name in ("points", "signs", "lengths"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))


def test_a_single_word_has_an_empty_path():
    assert huffman.build([7]).lengths.tolist() == [0]
