"""The `w2v` command line: a thin Click layer over the library.

It parses options, calls the library and prints. Results go to stdout, progress and messages to
stderr. Every user error, from Click or from the library (W2VError), becomes one line on stderr
and a non-zero exit: 2 for bad usage, 1 for everything else.
"""
import dataclasses
import json
import math
import os
import signal
import sys
import typing

import click
from click.core import ParameterSource

from . import __version__
from .aliases import PeerNamesCommand
from .config import TrainConfig
from .errors import W2VError
from .gradcheck import MIN_VOCAB
from .mpi import launched_rank


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="w2v")
def cli():
    """Train, check and query word2vec vectors."""


@cli.command()
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random inputs.")
@click.option("--dim", type=click.IntRange(min=1, max=2000), default=8, show_default=True,
              help="Vector dimension d.")  # the maxima keep a check within seconds and memory
@click.option("--vocab", type=click.IntRange(min=MIN_VOCAB, max=1000), default=20,
              show_default=True, help="Vocabulary size W.")
@click.option("--max-coords", type=click.IntRange(min=1), default=200, show_default=True,
              help="Coordinates to compare one by one in a larger array, after a scan of its rows "
                   "along random directions; every non-zero row gets at least one.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def gradcheck(seed, dim, vocab, max_coords, as_json):
    """Check every analytic gradient against central finite differences.

    The table shows, per parameter, the coordinates compared, how many of them had a non-zero
    derivative, and the largest relative error (it must stay below the tolerance).
    """
    from .gradcheck import TOLERANCE, run_checks

    results = run_checks(seed=seed, dim=dim, vocab=vocab, max_coords=max_coords)
    if as_json:
        click.echo(json.dumps({"tolerance": TOLERANCE, "checks": [r.as_dict() for r in results]},
                              indent=2))
    else:
        width = max(len(r.name) for r in results)
        click.echo(f"{'check':<{width}}  {'coords':>6}  {'nonzero':>7}  {'max rel err':>11}  result")
        for r in results:
            verdict = "PASS" if r.passed else f"FAIL at {r.worst}"
            click.echo(f"{r.name:<{width}}  {r.coords:>6}  {r.nonzero:>7}  {r.max_rel_error:>11.2e}  "
                       f"{verdict}")
    if not all(r.passed for r in results):
        sys.exit(1)


class FiniteFloatRange(click.FloatRange):
    """A float in a range, never nan or ±inf (which pass FloatRange's comparisons)."""
    name = "float range"

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value} is not a finite number.", param, ctx)
        return value


def config_options(fn):
    """Add one Click option per TrainConfig field, with its default, help and bounds."""
    for f in reversed(dataclasses.fields(TrainConfig)):
        meta = f.metadata
        if not meta["cli"]:
            continue
        name = f.name.replace("_", "-")
        if meta["flag"]:
            fn = click.option(f"--{meta['flag']}/--no-{meta['flag']}", f.name, default=f.default,
                              show_default=True, help=meta["help"])(fn)
            continue
        kind = typing.get_args(f.type)[0] if typing.get_origin(f.type) is typing.Union else f.type
        if meta["choices"]:
            ptype = click.Choice(meta["choices"])
        elif kind is int:
            ptype = click.IntRange(min=meta["min"], max=meta["max"])
        elif kind is float:
            ptype = FiniteFloatRange(min=meta["min"], max=meta["max"])
        else:
            ptype = click.STRING
        fn = click.option(f"--{name}", f.name, type=ptype, default=f.default,
                          show_default=f.default is not None, help=meta["help"])(fn)
    return fn


@cli.command(cls=PeerNamesCommand)
@config_options
@click.option("--eval", "evaluate", is_flag=True,
              help="Score the vectors on the shipped analogy and word-pair sets after training and "
                   "record the figures in the JSON sidecar.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages.")
def train(evaluate, quiet, **settings):
    """Train skip-gram vectors on a corpus and save them.

    With --resume, the run continues with the checkpoint's settings; options given beside it may
    change where files go and the threads, and a changed model setting is refused.
    """
    from .train import TrainingInterrupted, train as train_vectors

    ctx = click.get_current_context()
    given = {name for name in settings
             if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT,
                                                       ParameterSource.DEFAULT_MAP)}
    try:
        vectors = train_vectors(TrainConfig(**settings), quiet=quiet, evaluate=evaluate,
                                given=given)
    except TrainingInterrupted as e:
        click.echo(f"w2v: {e}", err=True)
        sys.exit(e.exit_code)
    if evaluate:
        _print_eval(vectors.stats["eval"])


def vector_file_options(fn):
    """The options of every command that reads a vector file."""
    fn = click.option("--unicode-errors", type=click.Choice(["strict", "replace", "ignore"]),
                      default="strict", show_default=True,
                      help="Words that are not UTF-8: refuse the file, or decode them as "
                           "gensim's unicode_errors does.")(fn)
    fn = click.option("--no-header", is_flag=True,
                      help="The file has no `W d` first line (GloVe); detected when left out.")(fn)
    fn = click.option("--limit", type=click.IntRange(min=1), default=None,
                      help="Read only the first N vectors (gensim's limit): time and memory in "
                           "proportion to N.")(fn)
    return fn


def _load(path, limit=None, no_header=False, unicode_errors="strict"):
    """The vectors of `path`, scaled to length 1 in place: queries need no second copy."""
    from .vectors import Vectors

    return Vectors.load(path, limit=limit, no_header=no_header,
                        unicode_errors=unicode_errors).normalise_()


def _print_neighbours(title, results, as_json):
    if as_json:
        click.echo(json.dumps({"query": title, "results": [{"word": w, "score": round(s, 6)}
                                                            for w, s in results]}))
        return
    click.echo(f"{title}")
    for w, score in results:
        click.echo(f"  {w:<24} {score:.4f}")


def _stdin_batches():
    """Lists of query lines: each list is what standard input had ready (up to 64 KB), so a
    pipe is answered in batches and a person typing gets each answer at once."""
    fd, pending = sys.stdin.fileno(), b""
    while True:
        data = os.read(fd, 1 << 16)
        lines = (pending + data).split(b"\n")
        pending = lines.pop() if data else b""
        yield [line.decode("utf-8", "replace") for line in lines]
        if not data:
            return


@cli.command()
@click.argument("vectors", type=click.Path(dir_okay=False))
@click.argument("words", nargs=-1)
@click.option("-n", "topn", type=click.IntRange(min=1), default=10, show_default=True,
              help="Neighbours to show.")
@click.option("--positive", multiple=True, help="A word to add (analogy); repeatable.")
@click.option("--negative", multiple=True, help="A word to subtract (analogy); repeatable.")
@click.option("--analogy", nargs=3, metavar="A B C", default=None,
              help="A - B + C: `--analogy king man woman` finds queen.")
@click.option("--method", type=click.Choice(["add", "mul"]), default="add", show_default=True,
              help="Analogy scoring: 3CosAdd or 3CosMul.")
@click.option("--restrict", type=click.IntRange(min=1), default=None,
              help="Search only the N most frequent words.")
@vector_file_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
def similar(vectors, words, topn, positive, negative, analogy, method, restrict, limit, no_header,
            unicode_errors, as_json):
    """Nearest neighbours of each WORD, or an analogy; with neither, queries from standard input.

    A line of standard input with several words looks up their sum, as word2vec's `distance`.
    Queries that arrive together are answered with one matrix product.
    """
    vecs = _load(vectors, limit, no_header, unicode_errors)
    if analogy:
        a, b, c = analogy
        positive, negative = (*positive, a, c), (*negative, b)
    if positive or negative:
        title = " ".join([f"+{w}" for w in positive] + [f"-{w}" for w in negative])
        _print_neighbours(title, vecs.most_similar(positive, negative, topn=topn,
                                                   restrict=restrict, method=method), as_json)
        return
    if words:
        vecs.check_words(words)
        for w, results in zip(words, vecs.most_similar_batch([[w] for w in words], topn, restrict)):
            _print_neighbours(w, results, as_json)
        return
    for lines in _stdin_batches():
        queries = []
        for line in lines:
            query = line.split()
            if not query:
                continue
            try:
                vecs.check_words(query)
                queries.append(query)
            except W2VError as e:
                _answer(vecs, queries, topn, restrict, as_json)
                queries = []
                click.echo(f"w2v: {e}", err=True)
        _answer(vecs, queries, topn, restrict, as_json)


def _answer(vecs, queries, topn, restrict, as_json):
    """Print the neighbours of each query (words known to be in the vocabulary), in order."""
    if queries:
        for query, results in zip(queries, vecs.most_similar_batch(queries, topn, restrict)):
            _print_neighbours(" ".join(query), results, as_json)
        sys.stdout.flush()


def _print_eval(report):
    if "analogies" in report:
        a = report["analogies"]
        for s in a["sections"]:
            click.echo(f"{s['section']:<30} {s['correct']:>6} / {s['total']:<6} "
                       f"{s['correct'] / s['total'] if s['total'] else 0:.3f}")
        click.echo(f"{'analogies total':<30} {a['correct']:>6} / {a['total']:<6} {a['accuracy']:.4f}"
                   f"   ({a['oov']} of {a['questions']} questions, {a['oov_percent']:.1f}%, "
                   f"with a word out of vocabulary)")
    if "pairs" in report:
        p = report["pairs"]
        click.echo(f"{'word pairs Spearman':<30} {p['spearman']:.4f}   ({p['pairs']} pairs scored, "
                   f"{p['oov_percent']:.1f}% out of vocabulary)")
        click.echo(f"{'word pairs Pearson':<30} {p['pearson']:.4f}")
    for name, part in report.items():
        lines = part["invalid_lines"]
        if lines:
            what = "questions" if name == "analogies" else "pairs"
            click.echo(f"w2v: {name}: skipped {len(lines)} line(s) that are not {what} "
                       f"(line {lines[0]})", err=True)


@cli.command(name="eval")
@click.argument("vectors", type=click.Path(dir_okay=False))
@click.option("--analogies", type=click.Path(dir_okay=False), default=None,
              help="Analogy questions [default: questions-words.txt, shipped in w2v/data/].")
@click.option("--pairs", type=click.Path(dir_okay=False), default=None,
              help="Scored word pairs [default: wordsim353.tsv, shipped in w2v/data/].")
@click.option("--restrict", type=click.IntRange(min=1), default=300_000, show_default=True,
              help="Only the N most frequent words take part, in analogies and pairs (gensim's "
                   "restrict_vocab).")
@click.option("--case-sensitive", is_flag=True,
              help="Compare words as written; by default King and king are one word, as in gensim.")
@vector_file_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_(vectors, analogies, pairs, restrict, case_sensitive, limit, no_header, unicode_errors,
          as_json):
    """Score vectors on analogies (accuracy) and word pairs (Spearman, Pearson), with gensim's
    defaults."""
    from .evaluate import evaluate_all

    report = evaluate_all(_load(vectors, limit, no_header, unicode_errors), analogies, pairs,
                          restrict, not case_sensitive)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_eval(report)


@cli.command()
@click.argument("corpus")
@click.option("--dir", "home", type=click.Path(file_okay=False), default=None,
              help="Cache directory [default: $W2V_HOME, else ~/.cache/w2v].")
@click.option("--sha256", default=None, help="Expected sha256 of the download (URLs).")
@click.option("--offline", is_flag=True, help="Never download: only check the cache.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=20 * 10 ** 9, show_default=True,
              help="Refuse archives that unpack to more bytes.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Seconds to wait for the server to connect or send.")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Retries after connection errors, timeouts and 5xx answers.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def download(corpus, home, sha256, offline, max_bytes, timeout, retries, quiet):
    """Download and unpack a named corpus (see `w2v corpora`) or an http(s) URL into the cache."""
    from .download import Retry, resolve

    path = resolve(corpus, offline=offline, home=home, sha256=sha256, quiet=quiet,
                   retry=Retry(retries=retries, timeout=(timeout, timeout)), max_bytes=max_bytes)
    click.echo(path)


@cli.command()
@click.option("--dir", "home", type=click.Path(file_okay=False), default=None,
              help="Cache directory [default: $W2V_HOME, else ~/.cache/w2v].")
def corpora(home):
    """List the named corpora: size, source, and whether each is cached."""
    from .download import list_corpora

    for c in list_corpora(home):
        size = f"{c['size'] / 1e6:.1f} MB" if c["size"] else "size unknown"
        click.echo(f"{c['name']:<8} {'cached' if c['cached'] else 'not cached':<11} {size:<13} "
                   f"{c['url']}\n         {c['description']}")


def _bytes_text(n):
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e3:,.1f} kB"


@cli.command()
@click.option("--dir", "home", type=click.Path(file_okay=False), default=None,
              help="Cache directory [default: $W2V_HOME, else ~/.cache/w2v].")
@click.option("--clear", is_flag=True,
              help="Remove the token-id caches and the unpacked archives (both are rebuilt when "
                   "needed); downloads are kept.")
def cache(home, clear):
    """List what w2v caches: token-id entries and unpacked archives with their sizes and corpora,
    and downloads with their sources."""
    import os

    from .corpus import cache_entries, clear_cache
    from .download import cached_corpora, clear_unpacked
    from .home import default_home

    home = home or default_home()
    ids = os.path.join(home, "ids")
    if clear:
        freed = clear_cache(ids) + clear_unpacked(home)
        click.echo(f"freed {_bytes_text(freed)} in {home}", err=True)
        return
    total = 0
    for e in cache_entries(ids):
        how = f"{e['tokenizer']}, {'lowercased' if e['lowercase'] else 'case kept'}"
        what = {"ok": f"{e['corpus']} ({how})", "building": "(being built, or left by a killed run)",
                "damaged": "(damaged: rebuilt when its corpus is next read)",
                "old": "(made by an earlier w2v: never read again)"}[e["state"]]
        click.echo(f"ids       {_bytes_text(e['bytes']):>12}  {what}")
        total += e["bytes"]
    for c in cached_corpora(home):
        click.echo(f"{c['kind']:<9} {_bytes_text(c['bytes']):>12}  {c['source'] or c['path']}")
        total += c["bytes"]
    click.echo(f"total     {_bytes_text(total):>12}  in {home}")


@cli.command()
@click.argument("vectors", type=click.Path(dir_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option("-o", "--out", default="words.png", show_default=True,
              help="The picture to write; its suffix (.png, .svg, .pdf, ...) names the format.")
@vector_file_options
def plot(vectors, words, out, limit, no_header, unicode_errors):
    """Draw WORDS projected to two dimensions by PCA, as a labelled scatter plot."""
    from .plot import check_output, plot_words

    check_output(out)  # before reading a large file
    missing = plot_words(_load(vectors, limit, no_header, unicode_errors), words, out)
    if missing:
        click.echo(f"w2v: not drawn: {'; '.join(f'{w} ({why})' for w, why in missing)}", err=True)
    click.echo(f"wrote {out}", err=True)


@cli.command()
@click.argument("source")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--threshold", type=click.FloatRange(min=0), default=100.0, show_default=True,
              help="Join a and b when (count(ab) - min_count) / (count(a) count(b)) x tokens is "
                   "above this.")
@click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True,
              help="Ignore words and pairs seen fewer times.")
@click.option("--passes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Passes over the text: each can join phrases found by the one before.")
@click.option("--max-table", type=click.IntRange(min=1000), default=20_000_000, show_default=True,
              help="Words and pairs counted at once: past it the rarest are dropped, as "
                   "word2phrase does (about 16 bytes a pair, 100 a word).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def phrases(source, out, threshold, min_count, passes, max_table, quiet):
    """Join frequent pairs of words in SOURCE into single tokens (new york -> new_york), as
    word2phrase does, and write the text to OUT.

    SOURCE is a text, .gz or .bz2 file or a directory of them; lines are kept as they are.
    """
    from .phrases import write_phrases

    stats = write_phrases(source, out, passes=passes, threshold=threshold, min_count=min_count,
                          max_table=max_table, quiet=quiet)
    for p, s in enumerate(stats, 1):
        click.echo(f"pass {p}: joined {s['joined']:,} pairs, {s['phrases']:,} distinct", err=True)
    click.echo(f"wrote {out}", err=True)


class _Terminated(BaseException):
    """SIGTERM outside the training loop (which checkpoints instead): unwinds like Ctrl-C, so
    temporary files are removed, and exits 143 as a process the signal ended."""


def _terminate(signum, frame):
    raise _Terminated()


def main(argv=None):
    """Entry point: run the CLI, turning every user error into one line and an exit code."""
    # Not if SIGTERM is ignored (inherited) or handled by a program that calls main().
    unwind = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if unwind:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        _run(argv)
    finally:
        if unwind:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(argv):
    try:
        code = cli.main(args=argv, prog_name="w2v", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("w2v: aborted", err=True)
        sys.exit(130)
    except _Terminated:
        click.echo("w2v: terminated (SIGTERM)", err=True)
        sys.exit(143)
    except click.ClickException as e:
        if launched_rank() == 0:  # under mpiexec every process meets it: process 0 says it
            click.echo(f"w2v: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except W2VError as e:
        click.echo(f"w2v: error: {e}", err=True)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
