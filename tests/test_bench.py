"""scripts/bench.py runs end to end on a tiny corpus (its figures are not asserted: no timed tests)."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_one_line_error, planted_corpus

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"


def bench_module():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_runs_end_to_end_on_a_tiny_corpus(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--corpus", str(tmp_path / "c.txt"),
                           "--repeats", "1", "--threads", "1,2", "--epochs", "1", "--min-count", "1",
                           "--dim", "16", "--short-lines", "--softmax", "--softmax-tokens", "2000",
                           "--memory", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert [row["threads"] for row in results["corpus"]] == [1, 2]
    for row in results["corpus"] + results["short_lines"]:
        for tool in ("w2v", "gensim"):
            assert row[tool]["words_per_sec"] > 0 and row[tool]["peak_rss"] > 0
            assert -1 <= row[tool]["spearman"] <= 1 or row[tool]["spearman"] != row[tool]["spearman"]
    assert all(r["gflops"] > 0 and r["matmul_gflops"] > 0 for r in results["softmax"])
    assert results["memory"]["x4"] > 0
    assert "w2v/g" in proc.stdout


@pytest.mark.parametrize("corpus, json_out, says", [
    ("missing.txt", "bench.json", "corpus not found"),
    ("c.txt", "no/such/dir/bench.json", "cannot write"),
])
def test_bench_bad_input_is_one_line_and_writes_nothing(tmp_path, corpus, json_out, says):
    planted_corpus(tmp_path / "c.txt", sentences=100)
    proc = subprocess.run([sys.executable, str(BENCH), "--corpus", str(tmp_path / corpus),
                           "--repeats", "1", "--json", str(tmp_path / json_out)],
                          capture_output=True, text=True, timeout=60)
    assert says in assert_one_line_error(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def test_bench_runs_w2v_once_per_combine_value(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=1000)
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--corpus", str(tmp_path / "c.txt"),
                           "--repeats", "1", "--threads", "1", "--epochs", "1", "--min-count", "1",
                           "--dim", "16", "--combine", "1,4", "--no-score", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    row, = json.loads(out.read_text())["corpus"]
    assert row["w2v C=1"]["words_per_sec"] > 0 and row["w2v C=4"]["words_per_sec"] > 0
    assert "w2v C=4/gensim" in proc.stdout


def test_pword2vec_training_time_is_its_words_over_its_last_printed_rate():
    # pWord2Vec's printout: the vocabulary, then progress lines ended by carriage returns
    output = ("number of threads: 1\nnumber of iterations: 2\n\n100K\r200K\rVocab size: 18493\n"
              "Words in train file: 1652823\n"
              "\rAlpha: 0.024000  Progress: 4.00%  Words/sec: 200.00k"
              "\rAlpha: 0.000163  Progress: 99.98%  Words/sec: 250.00k")
    seconds = bench_module().pword2vec_train_seconds(output, epochs=2)
    assert seconds == pytest.approx(2 * 1652823 / 250_000)


def test_pword2vec_without_a_progress_line_gives_no_training_time():
    output = "Vocab size: 12\nWords in train file: 900\n"
    assert bench_module().pword2vec_train_seconds(output, epochs=1) is None


def test_tokens_are_counted_across_the_blocks_a_file_is_read_in(tmp_path):
    # read in 1 MiB blocks: a token straddles the first boundary; a space follows the second
    text = "a" * (2 ** 20 - 2) + "bbbb c\n" + " " * (2 ** 20 - 7) + " d e\n"
    (tmp_path / "c.txt").write_text(text)
    assert bench_module().count_tokens(tmp_path / "c.txt") == len(text.split()) == 4


def test_a_failing_pword2vec_given_by_a_relative_path_is_one_line_and_writes_nothing(tmp_path):
    planted_corpus(tmp_path / "c.txt", sentences=300)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pWord2Vec").symlink_to(shutil.which("false"))
    proc = subprocess.run([sys.executable, str(BENCH), "--corpus", "c.txt", "--repeats", "1",
                           "--threads", "1", "--epochs", "1", "--min-count", "1", "--dim", "8",
                           "--no-score", "--pword2vec", "bin/pWord2Vec", "--json", "bench.json"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "pWord2Vec failed (exit 1)" in assert_one_line_error(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "c.txt"]


@pytest.mark.parametrize("options, says", [
    (["--pword2vec", "no/such/pWord2Vec"], "no pWord2Vec binary"),
    (["--pword2vec", "/bin/false", "--model", "cbow"], "skip-gram with negative sampling only"),
    (["--combine", "1,many"], "comma-separated whole numbers"),
    (["--threads", "1,,2"], "--threads takes comma-separated whole numbers (1,2), not 1,,2"),
    (["--combine", "1,8", "--mpi", "2"], "not --mpi or --vectors"),
])
def test_bench_bad_pword2vec_or_combine_options_are_one_line(tmp_path, options, says):
    planted_corpus(tmp_path / "c.txt", sentences=100)
    proc = subprocess.run([sys.executable, str(BENCH), "--corpus", str(tmp_path / "c.txt"),
                           "--repeats", "1", *options], capture_output=True, text=True, timeout=60)
    assert says in assert_one_line_error(proc)


def test_kept_fraction_counts_the_vocabulary_and_subsampling(tmp_path):
    bench = bench_module()
    (tmp_path / "c.txt").write_text("a " * 90 + "\n" + "b " * 9 + "C\n")  # C is c lowercased
    assert bench.kept_fraction(str(tmp_path / "c.txt"), 2, 0) == pytest.approx(99 / 100)
    st = 1e-2 * 99  # keep(w) = min(1, (sqrt(f / (s T)) + 1) s T / f), T over the vocabulary

    def kept(f):
        return f * min(1, ((f / st) ** 0.5 + 1) * st / f)

    expected = (kept(90) + kept(9)) / 100
    assert bench.kept_fraction(str(tmp_path / "c.txt"), 2, 1e-2) == pytest.approx(expected)


def test_flops_per_token_falls_with_combining_to_the_positive_pairs():
    bench = bench_module()
    settings = type("Settings", (), {"dim": 100, "window": 5, "negative": 5})
    # C = 1: 6 positive and 5 x 6 negative pairs, 6d FLOPs each
    assert bench.flops_per_token(settings, 1) == 600 * 36
    costs = [bench.flops_per_token(settings, c) for c in (1, 2, 8, 64)]
    assert costs == sorted(costs, reverse=True) and costs[-1] > 600 * 6


def test_the_fma_loops_compile_and_report_a_rate():
    assert 0 < bench_module().fma_gflops(16, seconds=0.05) < 10_000


KERNEL_AB = BENCH.parent / "kernel_ab.py"
KERNELS = BENCH.parent.parent / "w2v" / "kernels.c"


def _kernel_ab(tmp_path, b, *extra):
    planted_corpus(tmp_path / "c.txt", sentences=3000)
    return subprocess.run([sys.executable, str(KERNEL_AB), str(KERNELS), str(b), "--corpus",
                           str(tmp_path / "c.txt"), "--chunks", "2", "--repeats", "2", *extra],
                          capture_output=True, text=True, timeout=600)


def _largest_differences(stdout):
    return [float(line.rsplit(":", 1)[1]) for line in stdout.splitlines()
            if "largest |A - B|" in line]


def test_kernel_ab_trains_the_same_chunks_on_both_libraries(tmp_path):
    same = _kernel_ab(tmp_path, KERNELS, "--loss", "hs")
    assert same.returncode == 0, same.stderr
    assert "B/A time: median" in same.stdout
    assert _largest_differences(same.stdout) == [0.0, 0.0]  # one file twice: the same bytes
    # a kernel whose arithmetic differs (sigma clamped at +-4, not +-16) gives other vectors, so
    # each library really trained its own run
    changed = tmp_path / "changed.c"
    changed.write_text(KERNELS.read_text().replace("#define TABLE_MAX 16.0f",
                                                   "#define TABLE_MAX 4.0f"))
    other = _kernel_ab(tmp_path, changed, "--loss", "hs")
    assert other.returncode == 0, other.stderr
    assert min(_largest_differences(other.stdout)) > 0


def test_kernel_ab_bad_input_is_one_line(tmp_path):
    proc = _kernel_ab(tmp_path, tmp_path / "missing.c")
    assert "missing.c: no such file" in assert_one_line_error(proc)
    renamed = tmp_path / "renamed.c"  # builds, but lacks a kernel the step calls
    renamed.write_text(KERNELS.read_text().replace("int64_t hs_chunk(", "int64_t hs_chunk_2("))
    proc = _kernel_ab(tmp_path, renamed, "--loss", "hs")
    assert "declare different kernels (hs_chunk)" in assert_one_line_error(proc)
    broken = tmp_path / "broken.c"
    broken.write_text(KERNELS.read_text().replace("int64_t init_tables(void) {",
                                                  "int64_t init_tables(void) { int x = ;"))
    proc = _kernel_ab(tmp_path, broken)
    assert "broken.c: w2v could not compile" in assert_one_line_error(proc)
    assert "error: expected expression" in proc.stderr


def test_kernel_ab_says_when_the_corpus_has_fewer_chunks_than_asked(tmp_path):
    proc = _kernel_ab(tmp_path, KERNELS, "--chunks", "50")
    assert proc.returncode == 0, proc.stderr
    assert "(all the corpus has; --chunks 50)" in proc.stdout
