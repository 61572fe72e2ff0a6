"""scripts/bench.py runs end to end on a tiny corpus (its figures are not asserted: no timed tests)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_one_line_error, planted_corpus

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"


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
