"""Benchmark w2v against gensim and, given its binary, Intel's pWord2Vec, side by side, on the same
corpus and settings.

Each run is a fresh process; the tools alternate (A B C A B C ...), and so do the thread counts,
so that a noisy machine hurts all alike. Reported per thread count: median training words/s (corpus
tokens x epochs over the training loop's seconds, as gensim counts raw words, the same for every
tool), CPU seconds per million words (all threads, reading included: it rises when threads contend
for memory), median total seconds (reading, vocabulary and training), peak RSS of the training
process (before scoring), WordSim-353 and SimLex-999 Spearman and Google analogy accuracy (all
scored by w2v.evaluate, which agrees with gensim's own to 0.001; SimLex-999 is read from gensim's
test data, so only where gensim is installed), the ratios w2v/gensim and w2v/pWord2Vec, and each
tool's speed-up over the first thread count.

The quality scores are means over the repeats, not medians: repeat r runs every tool with seed
--seed + r, because after one epoch a single seed's WordSim-353 scatters by +-0.03 (CBOW with
negative sampling on the shipped corpus), more than the differences the table is read for.

gensim is given the corpus's word count (`train(total_words=...)`), so that its learning rate falls
with the words trained, as w2v's and word2vec.c's do. Given the sentence count instead (what
`Word2Vec(sentences)` does), it falls with the sentences: on the shipped corpus, whose lines are
9.5 words long in its first 60% and 5.8 after, the rate then stays higher for longer (mean 0.0278
per word instead of 0.0251 at alpha 0.05), which gains CBOW with negative sampling 0.013
WordSim-353 after one epoch (24 seeds; docs/math.md section 16). On a corpus of lines of one
length, such as text8 cut into 10,000-word pieces, the two schedules are the same.

    python scripts/bench.py                          # shipped corpus, 1 and 2 threads, 3 repeats
    python scripts/bench.py --short-lines            # the same text re-cut into lines of 3-8 tokens
    python scripts/bench.py --corpus text8.txt --threads 2 --json out.json
    python scripts/bench.py --model cbow --loss hs   # CBOW with hierarchical softmax, gensim too
    python scripts/bench.py --combine 1,8,16         # one w2v row per --combine value
    python scripts/bench.py --pword2vec PATH         # pWord2Vec too (scripts/build_pword2vec.sh)
    python scripts/bench.py --fma                    # and the fraction of the CPU's FMA bound
    python scripts/bench.py --softmax                # full-softmax FLOP rate vs numpy's matmul
    python scripts/bench.py --memory                 # w2v peak RSS on the corpus and on it 4x over
    python scripts/bench.py --vectors                # loading a 200k x 300 binary file and 1,000
                                                     # queries: w2v vs gensim's load_word2vec_format
                                                     # + most_similar
    python scripts/bench.py --vectors --vectors-size 3000000x300 --queries 100   # GoogleNews-size
    python scripts/bench.py --mpi 2                  # 2 processes x 1 thread vs 1 x 1 (mpiexec)

Issue 18's table (skip-gram, 5 negatives, 1 epoch, 1 and 2 threads, the shipped corpus as it is and
re-cut into short lines; w2v at --combine 1 and at its default): `make bench-pword2vec
PWORD2VEC_SRC=path/to/a/clone/of/pWord2Vec`, which builds pWord2Vec with MKL and runs

    python scripts/bench.py --epochs 1 --short-lines --combine 1,8 --pword2vec PATH --fma

(8 is the default --combine). --fma adds the fraction of this CPU's FMA bound w2v reaches: the
kernel's own block update run on rows held in L1 cache (FMA_LOOPS, which includes kernels.c and
is compiled as the kernels are) gives the FLOP rate, and FLOPs per corpus token are estimated from
the settings (flops_per_token).

pWord2Vec (github.com/IntelLabs/pWord2Vec) trains skip-gram with negative sampling only, reads a
plain text file (a compressed corpus is decompressed to a temporary file that every tool then
reads) and is given the same dim, window, negatives, sample, min-count, alpha, epochs (-iter) and
threads; its -batch-size (11) and its other options stay at its defaults, its seeds are its own.
It prints no training time: its seconds are taken from its own clock, its last progress line's
words/s (from the start of training, its threads having loaded the corpus, to that line) scaled to
all its words. Its peak RSS includes its 400 MB negative-sampling table and 120 MB vocabulary hash,
both fixed sizes.
"""
import argparse
import bz2
import gzip
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # w2v is imported inside the functions: the gensim worker's peak RSS
                          # must not include w2v's imports


def peak_rss():
    """This process's peak resident set, in bytes. VmHWM belongs to the process's own memory map;
    getrusage's ru_maxrss can carry the parent's peak over a fork."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds():
    """CPU seconds this process has used, all threads, user and system: with the words trained,
    a measure of work per word that a busy machine disturbs less than wall-clock time does (it
    rises when threads contend for cache lines)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def simlex_path():
    """gensim's copy of SimLex-999 (in its test data, installed with it), or None. Found without
    importing gensim, whose imports would weigh on a w2v worker."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "test", "test_data", "simlex999.txt")
    return path if os.path.isfile(path) else None


def score(vectors):
    """WordSim-353 and SimLex-999 Spearman (`spearman`, `simlex`) and Google analogy accuracy."""
    from w2v.evaluate import analogies, default_path, word_pairs

    scores = {"spearman": word_pairs(vectors, default_path("wordsim353.tsv"))["spearman"],
              "analogy": analogies(vectors, default_path("questions-words.txt"))["accuracy"]}
    if simlex_path():
        scores["simlex"] = word_pairs(vectors, simlex_path())["spearman"]
    return scores


def worker_w2v(args):
    from w2v import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:  # a fresh id cache: total time includes reading
        start, cpu = time.perf_counter(), cpu_seconds()
        vectors = train(TrainConfig(corpus=args.corpus, out=os.path.join(tmp, "v.bin"),
                                    threads=args.threads, epochs=args.epochs, dim=args.dim,
                                    model=args.model, loss=args.loss, alpha=args.alpha,
                                    window=args.window, negative=args.negative,
                                    min_count=args.min_count, sample=args.sample, seed=args.seed,
                                    **({} if args.sync_every is None else {"sync_every": args.sync_every}),
                                    **({} if args.combine is None else {"combine": args.combine}),
                                    cache_dir=os.path.join(tmp, "ids")), quiet=True)
        total, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        rss = peak_rss()  # of training, before the scoring below adds its own
    if int(os.environ.get("PMI_RANK", "0")) > 0:
        sys.exit(0)  # under mpiexec process 0 alone reports
    return {"processes": vectors.stats["processes"],
            **{k: vectors.stats[k] for k in ("averages", "bytes_averaged", "averaging_seconds")
               if k in vectors.stats},
            "words_per_sec": vectors.stats["words_per_sec"], "total_seconds": total,
            "cpu_per_mword": cpu / (vectors.stats["tokens"] * args.epochs) * 1e6,
            "train_seconds": vectors.stats["train_seconds"], "peak_rss": rss,
            **(score(vectors) if args.score else {})}


def worker_gensim(args):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    start, cpu = time.perf_counter(), cpu_seconds()
    sentences = LineSentence(args.corpus)
    hs = args.loss == "hs"  # the same model: gensim's hs=1 with no negatives, CBOW's mean
    model = Word2Vec(vector_size=args.dim, window=args.window, min_count=args.min_count,
                     sg=int(args.model == "skipgram"), hs=int(hs), cbow_mean=1,
                     negative=0 if hs else args.negative, alpha=args.alpha, sample=args.sample,
                     workers=args.threads, epochs=args.epochs, seed=args.seed)
    model.build_vocab(sentences)
    train_start = time.perf_counter()
    # the rate falls with the words trained, as in w2v (see the module's docstring)
    model.train(sentences, total_words=model.corpus_total_words, epochs=model.epochs)
    end, cpu = time.perf_counter(), cpu_seconds() - cpu
    rss = peak_rss()
    from w2v.vectors import Vectors

    return {"words_per_sec": model.corpus_total_words * args.epochs / (end - train_start),
            "total_seconds": end - start, "train_seconds": end - train_start, "peak_rss": rss,
            "cpu_per_mword": cpu / (model.corpus_total_words * args.epochs) * 1e6,
            **(score(Vectors(model.wv.index_to_key, model.wv.vectors)) if args.score else {})}


def make_vector_file(path, W, d, seed=0):
    """A word2vec binary file of W random words (3 to 12 letters and a number, all distinct)
    and random vectors, written in blocks: the generator's memory stays small at any size."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    with open(path, "wb") as f:
        f.write(f"{W} {d}\n".encode())
        for lo in range(0, W, 10_000):
            n = min(10_000, W - lo)
            rows = rng.standard_normal((n, d), dtype=np.float32).astype("<f4")
            lengths = rng.integers(3, 13, n)
            stems = letters[rng.integers(0, 26, (n, 12))].tobytes()
            f.write(b"".join(stems[12 * i:12 * i + lengths[i]] + str(lo + i).encode() + b" "
                             + rows[i].tobytes() + b"\n" for i in range(n)))


def query_words(path, count, seed=1):
    """`count` words drawn from the file's first 10,000 (what people ask about)."""
    from w2v.vectors import Vectors

    words = Vectors.load(path, limit=10_000).words
    rng = np.random.default_rng(seed)
    return [words[i] for i in rng.integers(0, len(words), count)]


def worker_vectors_w2v(args):
    from w2v.vectors import Vectors

    queries = json.loads(args.query_words)
    start = time.perf_counter()
    vectors = Vectors.load(args.corpus).normalise_()  # as `w2v similar` does
    loaded = time.perf_counter()
    answers = vectors.most_similar_batch([[w] for w in queries], topn=10)
    end = time.perf_counter()
    return {"load_seconds": loaded - start, "query_seconds": end - loaded, "total_seconds": end - start,
            "peak_rss": peak_rss(), "matrix_bytes": vectors.matrix.nbytes,
            "first": [w for w, _ in answers[0]]}


def worker_vectors_gensim(args):
    from gensim.models import KeyedVectors

    queries = json.loads(args.query_words)
    start = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(args.corpus, binary=True)
    loaded = time.perf_counter()
    answers = [kv.most_similar(w, topn=10) for w in queries]
    end = time.perf_counter()
    return {"load_seconds": loaded - start, "query_seconds": end - loaded, "total_seconds": end - start,
            "peak_rss": peak_rss(), "matrix_bytes": kv.vectors.nbytes,
            "first": [w for w, _ in answers[0]]}


def compare_vectors(args):
    """Load a generated W x d binary file and answer `queries` one-word queries, w2v and gensim
    alternately, each run in a fresh process; the medians."""
    W, d = map(int, args.vectors_size.lower().split("x"))
    with tempfile.TemporaryDirectory(dir=args.vectors_dir) as tmp:
        path = os.path.join(tmp, "vectors.bin")
        make_vector_file(path, W, d)
        queries = json.dumps(query_words(path, args.queries))
        runs = {"w2v": [], "gensim": []}
        for _ in range(args.repeats):
            for tool in ("w2v", "gensim"):
                cmd = [sys.executable, os.path.abspath(__file__), "--worker", f"vectors-{tool}",
                       "--corpus", path, "--query-words", queries]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    lines = [line for line in proc.stderr.splitlines() if line.strip()]
                    sys.exit(f"bench.py: the {tool} worker failed: {lines[-1] if lines else proc.returncode}")
                runs[tool].append(json.loads(proc.stdout.strip().splitlines()[-1]))
        size = os.path.getsize(path)
    med = {tool: {k: statistics.median(r[k] for r in rs) for k in rs[0] if k != "first"}
           for tool, rs in runs.items()}
    return {"W": W, "d": d, "file_bytes": size, "queries": args.queries, **med, "runs": runs,
            "same_top10": runs["w2v"][0]["first"] == runs["gensim"][0]["first"]}


def print_vectors(r):
    print(f"\nvector file {r['W']:,} x {r['d']} binary ({r['file_bytes'] / 2 ** 20:,.0f} MB), "
          f"{r['queries']:,} one-word queries, top 10; median of the runs; first query's top 10 "
          f"{'the same' if r['same_top10'] else 'NOT the same'} in both")
    print(f"{'tool':>7} {'load s':>8} {'queries s':>10} {'queries/s':>10} {'total s':>8} "
          f"{'peak RSS':>10} {'RSS/matrix':>10}")
    for tool in ("w2v", "gensim"):
        m = r[tool]
        print(f"{tool:>7} {m['load_seconds']:>8.2f} {m['query_seconds']:>10.2f} "
              f"{r['queries'] / m['query_seconds']:>10,.0f} {m['total_seconds']:>8.2f} "
              f"{m['peak_rss'] / 2 ** 20:>7,.0f} MB {m['peak_rss'] / m['matrix_bytes']:>10.2f}")
    w, g = r["w2v"], r["gensim"]
    print(f"{'w2v/g':>7} {w['load_seconds'] / g['load_seconds']:>7.2f}x "
          f"{w['query_seconds'] / g['query_seconds']:>9.2f}x {'':>10} "
          f"{w['total_seconds'] / g['total_seconds']:>7.2f}x {w['peak_rss'] / g['peak_rss']:>9.2f}x")


def run_worker(tool, args, threads, corpus, processes=1, combine=None, seed=None):
    launch = [] if processes == 1 else [mpiexec(), "-n", str(processes)]
    cmd = [*launch, sys.executable, os.path.abspath(__file__), "--worker", tool, "--corpus", corpus,
           "--threads", str(threads), "--epochs", str(args.epochs), "--dim", str(args.dim),
           "--window", str(args.window), "--negative", str(args.negative),
           "--model", args.model, "--loss", args.loss, "--alpha", str(args.alpha),
           "--min-count", str(args.min_count), "--sample", str(args.sample),
           "--seed", str(args.seed if seed is None else seed)]
    if args.sync_every is not None:
        cmd += ["--sync-every", str(args.sync_every)]
    if combine is not None:
        cmd += ["--combine", str(combine)]
    if not args.score:
        cmd.append("--no-score")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        sys.exit(f"bench.py: the {tool} worker failed: {lines[-1] if lines else proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pword2vec_options(args, threads):
    """pWord2Vec's command-line options for the bench's settings; -batch-size and the rest stay at
    its defaults. -binary 1 only picks the output format (exact floats, quicker to write)."""
    return ["-size", str(args.dim), "-window", str(args.window), "-negative", str(args.negative),
            "-sample", str(args.sample), "-min-count", str(args.min_count), "-iter", str(args.epochs),
            "-alpha", str(args.alpha), "-threads", str(threads), "-binary", "1"]


def pword2vec_build(path):
    """How the binary was built: with MKL's sgemm (as published) or its plain loops."""
    with open(path, "rb") as f:
        return "MKL sgemm" if b"libmkl" in f.read() else "no MKL: its plain loops"


def pword2vec_train_seconds(output, epochs):
    """Training seconds from pWord2Vec's own printout, which has no total of its own.

    It prints `Words in train file: N` (N counts its in-vocabulary tokens and one </s> per line),
    then progress lines ended by a carriage return, `... Words/sec: 40.71k`: its words done so
    far over its clock since training began (after its threads have loaded the corpus, before
    the vectors are saved). The last such rate, over all but the last few thousand words, gives
    the time all its epochs x N words take.
    """
    words = re.search(r"Words in train file: (\d+)", output)
    rates = re.findall(r"Words/sec: ([\d.]+)k", output)
    if words is None or not rates or float(rates[-1]) <= 0:
        return None
    return epochs * int(words.group(1)) / (float(rates[-1]) * 1000)


def run_pword2vec(args, threads, corpus, tokens):
    """One pWord2Vec run in a process of its own: its words/s computed as the other tools' (corpus
    tokens x epochs over training seconds), its wall-clock and CPU time, peak RSS and the quality
    of the vectors it saved."""
    from w2v.vectors import Vectors

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "vectors.bin")
        start = time.perf_counter()
        proc = subprocess.Popen([args.pword2vec, "-train", corpus, "-output", out,
                                 *pword2vec_options(args, threads)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp)
        output = proc.stdout.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(proc.pid, 0)  # its own peak RSS, not the largest child's so far
        total = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        seconds = pword2vec_train_seconds(output, args.epochs)
        if proc.returncode != 0 or seconds is None or not os.path.isfile(out):
            lines = [line for line in re.split(r"[\r\n]", output) if line.strip()]
            sys.exit(f"bench.py: pWord2Vec failed (exit {proc.returncode}): "
                     f"{lines[-1] if lines else 'no output'}")
        words = tokens * args.epochs
        return {"words_per_sec": words / seconds, "train_seconds": seconds, "total_seconds": total,
                "cpu_per_mword": (usage.ru_utime + usage.ru_stime) / words * 1e6,
                "peak_rss": usage.ru_maxrss * 1024,
                **(score(Vectors.load(out)) if args.score else {})}


def count_tokens(path):
    """Whitespace-separated tokens in a plain text file, read a block at a time."""
    count, inside = 0, False
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            count += len(block.split()) - (inside and not block[:1].isspace())
            inside = not block[-1:].isspace()
    return count


def mpiexec():
    """The mpiexec beside this Python (MPICH's wheel, the [mpi] extra), else the one on PATH."""
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if found is None:
        sys.exit("bench.py: --mpi needs mpiexec: pip install -e '.[mpi]'")
    return found


def opener(path):
    return gzip.open if path.endswith(".gz") else bz2.open if path.endswith(".bz2") else open


def plain_copy(path, out):
    """A compressed corpus decompressed: the processes split a plain file by bytes, and pWord2Vec
    reads plain text only."""
    with opener(path)(path, "rb") as f, open(out, "wb") as g:
        while block := f.read(1 << 20):
            g.write(block)
    return out


def compare_mpi(args, corpus):
    """P processes x 1 thread against 1 process x 1 thread, alternating: medians of the repeats
    (their quality scores: means, repeat r with seed --seed + r)."""
    from w2v.config import TrainConfig

    runs = {1: [], args.mpi: []}
    for r in range(args.repeats):
        for processes in runs:
            runs[processes].append(run_worker("w2v", args, 1, corpus, processes,
                                              seed=args.seed + r))
    rows = {processes: summary(results) for processes, results in runs.items()}
    one, many = rows[1], rows[args.mpi]
    sync_every = args.sync_every or TrainConfig.sync_every
    print(f"\n{args.mpi} processes x 1 thread vs 1 process x 1 thread (--sync-every "
          f"{sync_every:,})")
    print(f"  {'':>12} {'words/s':>10} {'WordSim':>8} {'analogy':>8} {'averages':>9} "
          f"{'MB averaged':>12} {'s merging':>10}")
    for processes, r in rows.items():
        print(f"  {processes:>3} process{'es' if processes > 1 else '  '} {r['words_per_sec']:>10,.0f} "
              f"{r.get('spearman', float('nan')):>8.3f} {r.get('analogy', float('nan')):>8.3f} "
              f"{r.get('averages', 0):>9.0f} {r.get('bytes_averaged', 0) / 2**20:>12.1f} "
              f"{r.get('averaging_seconds', 0):>10.2f}")
    print(f"  speed-up {many['words_per_sec'] / one['words_per_sec']:.2f}x; full averages per epoch "
          f"{many['averages'] / args.epochs:.1f}; MB moved per full average and process "
          f"{many['bytes_averaged'] / max(many['averages'], 1) / args.mpi / 2**20:.1f} "
          "(hot-row averages included)")
    return {str(k): v for k, v in rows.items()}


def short_lines(path, out, seed=0):
    """The corpus's tokens re-cut into lines of 3 to 8 tokens."""
    rng = np.random.default_rng(seed)
    with opener(path)(path, "rt", encoding="utf-8") as f:
        tokens = f.read().split()
    with open(out, "w", encoding="utf-8") as f:
        i = 0
        while i < len(tokens):
            n = int(rng.integers(3, 9))
            f.write(" ".join(tokens[i:i + n]) + "\n")
            i += n
    return out


def tools(args):
    """The table's tools, in the order they run: w2v once per --combine value, gensim, and
    pWord2Vec when its binary is given; each a (name, run(threads, corpus, tokens, seed)) pair
    (pWord2Vec takes no seed)."""
    w2v = [(f"w2v C={c}" if c is not None else "w2v",
            lambda threads, corpus, tokens, seed, c=c: run_worker("w2v", args, threads, corpus,
                                                                   combine=c, seed=seed))
           for c in args.combine]
    gensim = [("gensim", lambda threads, corpus, tokens, seed: run_worker("gensim", args, threads,
                                                                         corpus, seed=seed))]
    pword2vec = [("pWord2Vec", lambda threads, corpus, tokens, seed: run_pword2vec(args, threads,
                                                                                  corpus, tokens))]
    return w2v + gensim + (pword2vec if args.pword2vec else [])


def compare(args, corpus):
    tokens = count_tokens(corpus) if args.pword2vec else None  # a plain file then
    runs = {threads: {name: [] for name, _ in tools(args)} for threads in args.threads}
    for r in range(args.repeats):  # tools and thread counts alternate: load drift hurts all alike
        for threads in args.threads:
            for name, run in tools(args):
                runs[threads][name].append(run(threads, corpus, tokens, args.seed + r))
    return [{"threads": threads, **{name: summary(rs) for name, rs in by_tool.items()},
             "runs": by_tool}
            for threads, by_tool in runs.items()]


QUALITY = ("spearman", "simlex", "analogy")


def summary(runs):
    """One row from the repeats' results: the median of each figure, the mean of each quality
    score (the repeats ran with different seeds; see the module's docstring)."""
    return {k: (statistics.mean if k in QUALITY else statistics.median)(r[k] for r in runs)
            for k in runs[0] if isinstance(runs[0][k], (int, float))}


COLUMNS = {"words_per_sec": ("words/s", "{:,.0f}"), "cpu_per_mword": ("CPU s/Mword", "{:.3f}"),
           "total_seconds": ("total s", "{:.2f}"), "peak_rss": ("peak RSS MB", "{:,.0f}"),
           "spearman": ("WordSim-353", "{:.3f}"), "simlex": ("SimLex-999", "{:.3f}"),
           "analogy": ("analogy", "{:.3f}")}
RATIOS = ("words_per_sec", "cpu_per_mword", "total_seconds", "peak_rss")  # the rest: differences


def print_compare(rows, title, names):
    print(f"\n{title}")
    print(f"{'threads':>7} {'tool':>18} " + " ".join(f"{head:>12}" for head, _ in COLUMNS.values()))
    for row in rows:
        for name in names:
            vals = []
            for c, (_, fmt) in COLUMNS.items():
                v = row[name].get(c)
                v = v / 2 ** 20 if c == "peak_rss" and v is not None else v
                vals.append(fmt.format(v) if v is not None else "-")
            print(f"{row['threads']:>7} {name:>18} " + " ".join(f"{v:>12}" for v in vals))
        for name in (n for n in names if n.startswith("w2v")):
            for other in (n for n in names if not n.startswith("w2v")):
                w, o = row[name], row[other]
                vals = [f"{w[c] / o[c]:.2f}x" if c in RATIOS and o.get(c)
                        else (f"{w[c] - o[c]:+.3f}" if c in w and c in o else "-") for c in COLUMNS]
                print(f"{row['threads']:>7} {name + '/' + other:>18} " + " ".join(f"{v:>12}" for v in vals))
    for name in names if len(rows) > 1 else ():
        first = rows[0]
        print(f"{name} words/s against {first['threads']} thread(s): " + ", ".join(
            f"{row['threads']} threads {row[name]['words_per_sec'] / first[name]['words_per_sec']:.2f}x"
            for row in rows[1:]))


def softmax_rates(args):
    """Words/s of the full-softmax step at W = 10k and 50k, and its FLOP rate against numpy's
    own float32 matrix product of the same shape, measured here in the same run."""
    from w2v import TrainConfig, corpus, native
    from w2v.steps import STEPS
    from w2v.train import DEFAULT_CORPUS
    from w2v.vocab import Vocab

    stream = corpus.load_stream(args.corpus or DEFAULT_CORPUS)
    out = []
    for W in (10_000, 50_000):
        config = TrainConfig(loss="softmax", dim=args.dim, window=args.window, min_count=1, max_vocab=W,
                             batch_words=args.batch_words)
        vocab = Vocab.from_counts(stream.words, stream.counts, 1, W)
        W = len(vocab)
        remap = np.full(len(stream.words), -1, np.int32)
        remap[:W] = np.arange(W)
        keep = vocab.keep_probabilities(config.sample).astype(np.float32)
        raw = stream.read(0, args.softmax_tokens)
        sen, state = native.prepare_chunk(raw, remap, keep, np.uint64(1))
        rng = np.random.default_rng(0)
        V = (rng.random((W, args.dim), dtype=np.float32) - 0.5) / args.dim
        U = np.zeros((W, args.dim), np.float32)
        step = STEPS["skipgram", "softmax"](config, vocab)
        step(sen[:200], V, U, 0.0, np.uint64(state))  # warm up
        start = time.perf_counter()
        _, pairs, _ = step(sen, V, U, 0.01, np.uint64(state))
        seconds = time.perf_counter() - start
        tokens = int((raw != corpus.SENTENCE_END).sum())
        flops = pairs * 6 * args.dim * W  # three (B, d, W) products of 2 flops per multiply-add
        a = rng.random((args.batch_words, args.dim), dtype=np.float32)
        b = rng.random((args.dim, W), dtype=np.float32)
        a @ b
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < 1.0:
            a @ b
            reps += 1
        matmul = 2 * args.batch_words * args.dim * W * reps / (time.perf_counter() - start)
        out.append({"W": W, "words_per_sec": tokens / seconds, "gflops": flops / seconds / 1e9,
                    "matmul_gflops": matmul / 1e9, "ratio": flops / seconds / matmul})
    return out


def memory(args, corpus):
    """w2v's peak RSS on the corpus and on the same corpus four times over (1 epoch each)."""
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "x4.txt")
        with opener(corpus)(corpus, "rb") as f:
            text = f.read()
        with open(big, "wb") as f:
            for _ in range(4):
                f.write(text)
        one = run_worker("w2v", argparse.Namespace(**{**vars(args), "epochs": 1, "score": False}), 1, corpus)
        four = run_worker("w2v", argparse.Namespace(**{**vars(args), "epochs": 1, "score": False}), 1, big)
    return {"x1": one["peak_rss"], "x4": four["peak_rss"]}


FMA_LOOPS = r"""
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <time.h>
#include "kernels.c"  /* copied beside this file */

/* kernels.c's own block update (block_update: scores, sigmoid, the inputs' gradients and the
   outputs' updates) on a block of R inputs and T outputs whose rows stay in L1 cache. With no
   cache misses and no random numbers this is the ceiling of the kernel's loops on this CPU; its
   FLOPs are counted as 6d a pair (2d for each of the three products; the sigmoid's are not). */
int main(int argc, char **argv) {
    int d = atoi(argv[1]), R = 16, T = 13;
    long reps = atol(argv[2]);
    init_tables();
    float *V = aligned_alloc(64, 64 * ((R * d * 4 + 63) / 64)), *U = aligned_alloc(64, 64 * ((T * d * 4 + 63) / 64));
    float *grad = aligned_alloc(64, 64 * ((R * d * 4 + 63) / 64)), G[16 * 13], *in[16], *out[13];
    for (int i = 0; i < R * d; i++) { V[i] = (float)(i % 7) * 1e-3f; }
    for (int i = 0; i < T * d; i++) { U[i] = (float)(i % 5) * 1e-3f; }
    for (int a = 0; a < R; a++) { in[a] = V + a * d; }
    for (int t = 0; t < T; t++) { out[t] = U + t * d; }
    struct timespec t0, t1;
    double check = 0.0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long r = 0; r < reps; r++) {
        check += block_update(in, R, out, T, NULL, NULL, d, 1e-6f, grad, G);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    printf("%.6f %.9g\n", 6.0 * d * R * T * reps / seconds / 1e9, check);
    return 0;
}
"""


def fma_gflops(d, seconds=2.0):
    """GFLOP/s of one core running FMA_LOOPS, which includes w2v/kernels.c and is compiled as the
    kernels are (w2v/native.py's compiler and flags): the best of 5 runs of about `seconds` / 5
    each."""
    from w2v import native

    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "fma.c"), os.path.join(tmp, "fma")
        with open(src, "w") as f:
            f.write(FMA_LOOPS)
        flags = [f for f in native.FLAGS if f not in ("-shared", "-fPIC", "-std=c99")] + native.NATIVE_FLAGS
        shutil.copy(native.SOURCE, os.path.join(tmp, "kernels.c"))
        subprocess.run([*native.compiler(), *flags, "-std=c11", "-o", exe, src, "-lm"], check=True)
        reps = 1000
        while True:  # size the run to about seconds / 5
            start = time.perf_counter()
            subprocess.run([exe, str(d), str(reps)], check=True, capture_output=True)
            if time.perf_counter() - start > seconds / 5:
                break
            reps *= 4
        return max(float(subprocess.run([exe, str(d), str(reps)], check=True, capture_output=True,
                                         text=True).stdout.split()[0]) for _ in range(5))


def kept_fraction(corpus, min_count, sample):
    """The share of the corpus's tokens that training keeps: in the vocabulary (lowercased, as w2v
    counts by default) and through subsampling (docs/math.md section 11), in expectation."""
    from collections import Counter

    from w2v.vocab import Vocab

    counts = Counter()
    with opener(corpus)(corpus, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            counts.update(line.lower().split())
    kept = {w: c for w, c in counts.items() if c >= min_count}
    vocab = Vocab(list(kept), np.array(list(kept.values()), dtype=np.int64))
    return float(np.sum(vocab.counts * vocab.keep_probabilities(sample)) / sum(counts.values()))


def flops_per_token(args, combine):
    """FLOPs of skip-gram with shared negatives per kept token, ignoring sentence ends (an upper
    bound): 6d a pair (docs/math.md section 9a); window + 1 positive pairs (the mean of 2b for b
    uniform in 1..window); the K negatives meet each position of a block of C centres once, about
    C + window + 1 positions (2b for C = 1, where the centre is not one of them)."""
    positions = args.window + 1 if combine == 1 else (combine + args.window + 1) / combine
    return 6 * args.dim * (args.window + 1 + args.negative * positions)


def print_fma_bound(args, rows, corpus):
    """How close w2v's words/s come to the bound FMA_LOOPS's rate sets, at each --combine."""
    from w2v.config import DEFAULT_COMBINE

    gflops = fma_gflops(args.dim)
    kept = kept_fraction(corpus, args.min_count, args.sample)
    print(f"\nFMA bound: the kernel's block update on cached rows runs {gflops:.1f} GFLOP/s on one "
          f"core here; training keeps {kept:.3f} of the corpus tokens (vocabulary and subsampling)")
    out = []
    for name in (n for n in rows[0] if n.startswith("w2v")):
        c = DEFAULT_COMBINE if name == "w2v" else int(name.split("=")[1])
        per_word = kept * flops_per_token(args, c)  # FLOPs per corpus token
        for row in rows:
            bound = row["threads"] * gflops * 1e9 / per_word
            rate = row[name]["words_per_sec"]
            out.append({"tool": name, "threads": row["threads"], "flops_per_word": per_word,
                        "bound": bound, "fraction": rate / bound})
            print(f"  {name:>10}, {row['threads']} thread(s): {per_word / 1e3:.1f}k FLOPs per corpus "
                  f"token, bound {bound:,.0f} words/s, reached {rate / bound:.2f} of it")
    return {"gflops": gflops, "kept_fraction": kept, "rows": out}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=None, help="a text, .gz or .bz2 file [default: the shipped one]")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--model", choices=["skipgram", "cbow"], default="skipgram")
    p.add_argument("--loss", choices=["neg", "hs"], default="neg",
                   help="gensim has no full softmax to compare with")
    p.add_argument("--alpha", type=float, default=None,
                   help="both tools' learning rate [default: w2v's for the model, 0.025 for "
                        "skip-gram and the C tool's 0.05 for CBOW, given to gensim too]")
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--short-lines", action="store_true", help="also re-cut the corpus into 3-8 token lines")
    p.add_argument("--softmax", action="store_true", help="measure the full-softmax loss too")
    p.add_argument("--softmax-tokens", type=int, default=20_000)
    p.add_argument("--batch-words", type=int, default=1024)
    p.add_argument("--memory", action="store_true", help="w2v peak RSS at 1x and 4x the corpus")
    p.add_argument("--vectors", action="store_true",
                   help="instead of training: load a generated binary vector file and query it")
    p.add_argument("--vectors-size", default="200000x300", help="W x d of the generated file")
    p.add_argument("--vectors-dir", default=None, help="where to write it [default: the temp dir]")
    p.add_argument("--queries", type=int, default=1000, help="one-word queries after loading")
    p.add_argument("--query-words", help=argparse.SUPPRESS)
    p.add_argument("--mpi", type=int, default=None, metavar="P",
                   help="P processes x 1 thread (mpiexec) against 1 x 1, instead of gensim")
    p.add_argument("--sync-every", type=int, default=None,
                   help="with --mpi: w2v's --sync-every [default: w2v's]")
    p.add_argument("--combine", default=None, metavar="LIST",
                   help="comma-separated --combine values: w2v runs once per value [default: "
                        "w2v's default, one run]")
    p.add_argument("--pword2vec", default=None, metavar="PATH",
                   help="a pWord2Vec binary (scripts/build_pword2vec.sh) to run as a third tool")
    p.add_argument("--fma", action="store_true",
                   help="also the fraction of this CPU's FMA bound that w2v's words/s reach")
    p.add_argument("--no-score", dest="score", action="store_false", help="skip the quality scores")
    p.add_argument("--json", default=None, help="write the results to this file as well")
    p.add_argument("--worker", choices=["w2v", "gensim", "vectors-w2v", "vectors-gensim"],
                   help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.worker in ("vectors-w2v", "vectors-gensim"):
        worker = worker_vectors_w2v if args.worker == "vectors-w2v" else worker_vectors_gensim
        print(json.dumps(worker(args)))
        return
    if args.worker:
        args.threads = int(args.threads)
        args.combine = None if args.combine is None else int(args.combine)
        result = (worker_w2v if args.worker == "w2v" else worker_gensim)(args)
        print(json.dumps(result))
        return

    from w2v.atomic import atomic_write, check_writable
    from w2v.train import DEFAULT_CORPUS

    corpus = args.corpus or DEFAULT_CORPUS
    if not os.path.isfile(corpus) and not args.vectors:
        sys.exit(f"bench.py: corpus not found: {corpus}")
    for option, example in (("combine", "1,8,16"), ("threads", "1,2")):
        text = getattr(args, option)
        try:
            setattr(args, option, [None] if text is None else [int(c) for c in text.split(",")])
        except ValueError:
            sys.exit(f"bench.py: --{option} takes comma-separated whole numbers ({example}), not {text}")
    if (args.pword2vec or args.combine != [None]) and (args.mpi or args.vectors):
        sys.exit("bench.py: --pword2vec and --combine compare training runs, not --mpi or --vectors")
    if args.pword2vec and not (os.path.isfile(args.pword2vec) and os.access(args.pword2vec, os.X_OK)):
        sys.exit(f"bench.py: no pWord2Vec binary at {args.pword2vec} (build one with "
                 "scripts/build_pword2vec.sh)")
    if args.pword2vec and (args.model, args.loss) != ("skipgram", "neg"):
        sys.exit("bench.py: pWord2Vec trains skip-gram with negative sampling only")
    if args.pword2vec:
        args.pword2vec = os.path.abspath(args.pword2vec)  # it runs in a directory of its own
    if args.json:
        try:
            check_writable(args.json)  # now, not after the runs
        except OSError as e:
            sys.exit(f"bench.py: cannot write {args.json}: {e.strerror}")
    if args.vectors:
        results = {"vectors": compare_vectors(args)}
        print_vectors(results["vectors"])
        if args.json:
            with atomic_write(args.json, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=2)
        return
    if args.alpha is None:
        from w2v.config import DEFAULT_ALPHA
        args.alpha = DEFAULT_ALPHA[args.model]
    print(f"corpus {corpus}; {args.model} with {args.loss}, alpha {args.alpha}; "
          f"dim {args.dim}, window {args.window}, negative {args.negative}, "
          f"min_count {args.min_count}, sample {args.sample}, epochs {args.epochs}; "
          f"median of {args.repeats} alternating runs, each in a fresh process (quality: their "
          f"mean, run r with seed {args.seed} + r)")
    if args.pword2vec:
        print(f"pWord2Vec {args.pword2vec} ({pword2vec_build(args.pword2vec)}): "
              f"{' '.join(pword2vec_options(args, 'T'))}; -batch-size and its other options at "
              "their defaults, its seeds its own; all tools read the corpus as one plain text file; "
              "its training seconds are its own clock's (from its threads' start, the corpus "
              "loaded, to its last progress line), scaled to all its words")
    if not simlex_path() and args.score:
        print("SimLex-999 is read from gensim's test data: gensim is not installed, so it is left out")
    if args.mpi:
        with tempfile.TemporaryDirectory() as tmp:
            results = {"settings": {k: v for k, v in vars(args).items() if k != "worker"},
                       "mpi": compare_mpi(args, plain_copy(corpus, os.path.join(tmp, "c.txt")))}
        if args.json:
            with atomic_write(args.json, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=2)
        return
    results = {"settings": {k: v for k, v in vars(args).items() if k != "worker"}}
    if args.pword2vec:
        results["settings"]["pword2vec_build"] = pword2vec_build(args.pword2vec)
    names = [name for name, _ in tools(args)]
    with tempfile.TemporaryDirectory() as tmp:
        plain = plain_copy(corpus, os.path.join(tmp, "corpus.txt")) if args.pword2vec else corpus
        results["corpus"] = compare(args, plain)
        print_compare(results["corpus"], "as it is", names)
        if args.fma and args.model == "skipgram" and args.loss == "neg":
            results["fma"] = print_fma_bound(args, results["corpus"], corpus)
        if args.short_lines:
            short = short_lines(corpus, os.path.join(tmp, "short.txt"))
            results["short_lines"] = compare(args, short)
            print_compare(results["short_lines"], "re-cut into lines of 3-8 tokens", names)
    if args.softmax:
        results["softmax"] = softmax_rates(args)
        print("\nfull softmax (one thread of w2v's loop; numpy's BLAS threads as configured)")
        for r in results["softmax"]:
            print(f"  W={r['W']:>6,}: {r['words_per_sec']:>9,.0f} words/s, {r['gflops']:6.1f} GFLOP/s, "
                  f"numpy float32 matmul {r['matmul_gflops']:6.1f} GFLOP/s, ratio {r['ratio']:.2f}")
    if args.memory:
        results["memory"] = memory(args, corpus)
        m = results["memory"]
        print(f"\nw2v peak RSS, 1 epoch: corpus {m['x1'] / 2**20:,.0f} MB, "
              f"4x corpus {m['x4'] / 2**20:,.0f} MB")
    if args.json:
        with atomic_write(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
