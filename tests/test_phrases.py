"""w2v phrases on text whose phrases were planted, against word2phrase's rules."""
import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
from w2v import phrases
from w2v.phrases import Counts, write_phrases


def _planted(path, seed=0, lines=400):
    """Lines of 8 filler words, 1 in 20 with `ice cream`, 1 in 20 with `new york` (scores
    about 120); `the` and `of` are frequent everywhere, so `the of` is common by chance only."""
    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(300)] + ["the", "of"] * 40
    with open(path, "w") as f:
        for n in range(lines):
            words = list(rng.choice(filler, size=8))
            if n % 20 < 2:
                words.insert(int(rng.integers(0, 8)), "new york" if n % 20 else "ice cream")
            f.write(" ".join(words) + "\n")


def _tokens(path):
    return path.read_text().split()


def test_planted_phrases_are_joined_and_chance_pairs_are_not(tmp_path):
    _planted(tmp_path / "in.txt")
    write_phrases(str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), quiet=True)
    out = _tokens(tmp_path / "out.txt")
    assert out.count("new_york") == 20 and out.count("ice_cream") == 20
    assert "new" not in out and "york" not in out
    assert not any("_" in t and t not in ("new_york", "ice_cream") for t in out)
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 400  # lines kept as they are


def _threshold_text(path):
    """640 tokens: `x y` 8 times, x and y nowhere else, 624 words seen once. The score of x y is
    (8 - 5) / 8 / 8 * 640 = 30 exactly (in float32 too)."""
    filler = iter(f"f{i}" for i in range(624))
    with open(path, "w") as f:
        for _ in range(8):
            f.write(" ".join([next(filler) for _ in range(39)] + ["x", "y"]) + "\n")
        f.write(" ".join(filler) + "\n")


@pytest.mark.parametrize("threshold, joined", [(30.0, False), (29.99, True)])
def test_a_pair_exactly_at_the_threshold_is_not_joined(tmp_path, threshold, joined):
    _threshold_text(tmp_path / "in.txt")
    assert len(_tokens(tmp_path / "in.txt")) == 640
    write_phrases(str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), threshold=threshold, quiet=True)
    assert ("x_y" in _tokens(tmp_path / "out.txt")) is joined


def test_min_count_applies_to_the_pair_and_its_words(tmp_path):
    _threshold_text(tmp_path / "in.txt")
    write_phrases(str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), threshold=0, min_count=9,
                  quiet=True)
    assert "x_y" not in _tokens(tmp_path / "out.txt")  # seen 8 times


def test_a_word_joined_to_the_one_before_is_not_joined_to_the_one_after(tmp_path):
    (tmp_path / "in.txt").write_text("new york city\n" * 50 + "a b c d e f g h i j\n" * 50)
    write_phrases(str(tmp_path / "in.txt"), str(tmp_path / "one.txt"), threshold=1, quiet=True)
    assert (tmp_path / "one.txt").read_text().splitlines()[:2] == ["new_york city"] * 2
    assert (tmp_path / "one.txt").read_text().splitlines()[-1] == "a_b c_d e_f g_h i_j"
    write_phrases(str(tmp_path / "in.txt"), str(tmp_path / "two.txt"), threshold=1, passes=2,
                  quiet=True)
    assert (tmp_path / "two.txt").read_text().splitlines()[0] == "new_york_city"


def test_a_pair_is_never_joined_across_a_line_end(tmp_path):
    (tmp_path / "in.txt").write_text("new york\n" * 50 + "go new\nyork go\n" * 20)
    write_phrases(str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), threshold=1, quiet=True)
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines[:50] == ["new_york"] * 50
    assert lines[50] == "go new" and lines[51].startswith("york")  # (york_go is a pair of its own)


def test_blocks_of_any_size_give_the_same_text(tmp_path, monkeypatch):
    _planted(tmp_path / "in.txt")
    text = (tmp_path / "in.txt").read_text()
    (tmp_path / "one_line.txt").write_text(text.replace("\n", " ") + "\n\n\nlast line")
    write_phrases(str(tmp_path / "one_line.txt"), str(tmp_path / "big.txt"), quiet=True)
    monkeypatch.setattr(phrases, "BLOCK_BYTES", 97)
    write_phrases(str(tmp_path / "one_line.txt"), str(tmp_path / "small.txt"), quiet=True)
    assert (tmp_path / "small.txt").read_bytes() == (tmp_path / "big.txt").read_bytes()
    assert (tmp_path / "big.txt").read_text().endswith("\n\n\nlast line\n")


def test_the_table_is_pruned_and_strong_pairs_survive(tmp_path):
    _planted(tmp_path / "in.txt", lines=2000)
    counts = Counts(max_table=1500)
    for line in (tmp_path / "in.txt").read_bytes().splitlines(keepends=True):
        counts.add(line)
        assert len(counts.words) + len(counts.pairs) <= 1500
    counts.merge()
    assert counts.min_reduce > 1  # it had to prune
    a, b = counts.words[b"new"], counts.words[b"york"]
    assert np.uint64(a << 32 | b) in counts.joinable(100, 5)


def test_cli_phrases_writes_atomically_and_reports(tmp_path):
    _planted(tmp_path / "in.txt")
    proc = run_cli("phrases", tmp_path / "in.txt", tmp_path / "out.txt", "--passes", 2)
    assert proc.returncode == 0, proc.stderr
    assert "pass 2:" in proc.stderr and "new_york" in (tmp_path / "out.txt").read_text()
    line = assert_one_line_error(run_cli("phrases", tmp_path / "none.txt", tmp_path / "o.txt"))
    assert "not found" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.txt"]


def test_train_with_phrases_learns_a_vector_for_the_phrase(tmp_path):
    _planted(tmp_path / "in.txt")
    out = tmp_path / "v.txt"
    proc = run_cli("train", "--corpus", tmp_path / "in.txt", "--phrases", 1, "--out", out,
                   "--epochs", 1, "--dim", 8, "--min-count", 1, "-q")
    assert proc.returncode == 0, proc.stderr
    words = [line.split()[0] for line in out.read_text().splitlines()[1:]]
    assert "new_york" in words and "ice_cream" in words and "york" not in words
