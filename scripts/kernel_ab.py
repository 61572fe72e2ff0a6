"""Time two versions of the training kernels (w2v/kernels.c) on the same chunks, in one process.

On a shared VM whose speed moves by tens of percent from one minute to the next, two training runs
timed one after the other cannot tell a 5% change in a kernel from noise. This script can:

1. A training run on the corpus (one thread) records the first --chunks chunks its step is given
   (the prepared ids, the learning rate, the random state), and V and U before the first.
2. Both kernel files are compiled as w2v compiles kernels.c, and the same step (w2v/steps.py)
   trains those chunks from the same V and U on each library in turn: A B, then B A, and so on,
   --repeats times, each timed by the thread's CPU time.
3. It prints each library's median time and the median of the paired ratios B/A (below 1: B is
   faster), and the largest difference between the two final V and U: 0 when B changed the
   speed and not the arithmetic.

    git show HEAD~1:w2v/kernels.c > /tmp/old.c
    python scripts/kernel_ab.py /tmp/old.c w2v/kernels.c --model skipgram --loss hs
    python scripts/kernel_ab.py /tmp/old.c w2v/kernels.c --model skipgram --loss neg --chunks 6

Both files must declare the same interface (w2v/native.py reads each file's own). Nothing else
should run on the machine meanwhile.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from w2v import TrainConfig, native, steps, train  # noqa: E402
from w2v.errors import W2VError  # noqa: E402
from w2v.train import TrainingInterrupted  # noqa: E402

DEFAULT_CORPUS = os.path.join(ROOT, "w2v", "data", "wordnet-glosses.txt.gz")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="kernels.c file A (the baseline)")
    parser.add_argument("b", help="kernels.c file B")
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--model", default="skipgram", choices=("skipgram", "cbow"))
    parser.add_argument("--loss", default="neg", choices=("neg", "hs", "softmax"))
    parser.add_argument("--chunks", type=at_least_1, default=4, help="chunks trained per timed run")
    parser.add_argument("--repeats", type=at_least_1, default=40,
                        help="timed runs of each library")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        for path in (args.a, args.b):
            if not os.path.isfile(path):
                raise W2VError(f"{path}: no such file")
        chunks, start, step = record(args)
        with tempfile.TemporaryDirectory() as folder:
            libraries = {name: build(source, os.path.join(folder, f"{name}.so"))
                         for name, source in (("A", args.a), ("B", args.b))}
            if libraries["A"].functions.keys() != libraries["B"].functions.keys():
                differ = sorted(libraries["A"].functions.keys() ^ libraries["B"].functions.keys())
                raise W2VError(f"{args.a} and {args.b} declare different kernels ({differ[0]})")
            times, final = race(libraries, chunks, start, step, args.repeats)
    except W2VError as e:
        sys.exit(f"kernel_ab: {e}")
    report(times, final, chunks, args)


def at_least_1(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def record(args):
    """Train the corpus's first chunks once: ([(ids, alpha, state)], (V, U) before them, step)."""
    made, chunks, start = {}, [], {}

    def recording(make):
        def make_recording(config, vocab):
            step = made["step"] = make(config, vocab)

            def recorded(sen, V, U, alpha, state):
                if alpha > 0:  # not train's warm-up call, which trains nothing
                    if not start:
                        start["V"], start["U"] = V.copy(), U.copy()
                    chunks.append((sen.copy(), alpha, state))
                return step(sen, V, U, alpha, state)
            return recorded
        return make_recording

    key = (args.model, args.loss)
    original = steps.STEPS[key]
    steps.STEPS[key] = recording(original)
    try:
        with tempfile.TemporaryDirectory() as folder:
            train(TrainConfig(corpus=args.corpus, out=None, threads=1, epochs=1, seed=args.seed,
                              model=args.model, loss=args.loss,
                              cache_dir=os.path.join(folder, "ids")),
                  quiet=True, stop_when=lambda epoch, chunk: chunk >= args.chunks)
    except TrainingInterrupted:
        pass  # stopped after the chunks it needs
    finally:
        steps.STEPS[key] = original
    if not chunks:
        raise W2VError(f"{args.corpus}: training ran no chunk")
    return chunks, (start["V"], start["U"]), made["step"]


def build(source, path):
    """kernels.c's file `source` compiled to `path` with w2v's own flags, loaded."""
    try:
        native.build(path, source)
        return native.Library(path, source)
    except (W2VError, OSError, ValueError) as e:  # a compiler error, a kernel missing, a bad comment
        raise W2VError(f"{source}: {e}") from None


def race(libraries, chunks, start, step, repeats):
    """Train the chunks from `start` on each library in turn: ({name: [CPU seconds]},
    {name: (V, U) after its last run})."""
    times, final = {name: [] for name in libraries}, {}
    for r in range(repeats):
        for name in ("AB" if r % 2 == 0 else "BA"):
            V, U = native.padded_zeros(*start[0].shape), native.padded_zeros(*start[1].shape)
            V[:], U[:] = start
            previous = native.use(libraries[name])
            try:
                began = time.thread_time()
                for sen, alpha, state in chunks:
                    step(sen, V, U, alpha, state)
                times[name].append(time.thread_time() - began)
            finally:
                native.use(previous)
            final[name] = (V, U)
    return times, final


def report(times, final, chunks, args):
    ids = sum(len(sen) for sen, _, _ in chunks)
    fewer = f" (all the corpus has; --chunks {args.chunks})" if len(chunks) < args.chunks else ""
    print(f"{args.model} with {args.loss}: {len(chunks)} chunks{fewer} ({ids:,} training ids) of "
          f"{os.path.basename(args.corpus)}, {args.repeats} alternating runs of each library")
    for name, source in (("A", args.a), ("B", args.b)):
        median = statistics.median(times[name])
        print(f"  {name} {source}: median {median:.4f} s ({ids / median:,.0f} ids/s), "
              f"fastest {min(times[name]):.4f} s")
    ratios = sorted(b / a for a, b in zip(times["A"], times["B"]))
    print(f"  B/A time: median {statistics.median(ratios):.3f} of the paired runs "
          f"(quartiles {ratios[len(ratios) // 4]:.3f}-{ratios[3 * len(ratios) // 4]:.3f})")
    for i, matrix in enumerate("VU"):
        diff = float(np.max(np.abs(final["A"][i] - final["B"][i])))
        print(f"  largest |A - B| in {matrix}: {diff:.3g}")


if __name__ == "__main__":
    main()
