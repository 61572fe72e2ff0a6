"""The `w2v` command line: a thin Click layer over the library.

It parses options, calls the library and prints. Results go to stdout, progress and messages to
stderr. Every user error, from Click or from the library (W2VError), becomes one line on stderr
and a non-zero exit: 2 for bad usage, 1 for everything else.
"""
import dataclasses
import json
import sys
import typing

import click

from .config import TrainConfig
from .errors import W2VError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="w2v")
def cli():
    """Train, check and query word2vec vectors."""


@cli.command()
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random inputs.")
@click.option("--dim", type=click.IntRange(min=1), default=8, show_default=True,
              help="Vector dimension d.")
@click.option("--vocab", type=click.IntRange(min=10), default=20, show_default=True,
              help="Vocabulary size W.")
@click.option("--max-coords", type=click.IntRange(min=1), default=200, show_default=True,
              help="Check a random sample of this many coordinates of larger arrays.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def gradcheck(seed, dim, vocab, max_coords, as_json):
    """Check every analytic gradient against central finite differences."""
    from .gradcheck import TOLERANCE, run_checks

    results = run_checks(seed=seed, dim=dim, vocab=vocab, max_coords=max_coords)
    if as_json:
        click.echo(json.dumps({"tolerance": TOLERANCE, "checks": [r.as_dict() for r in results]},
                              indent=2))
    else:
        width = max(len(r.name) for r in results)
        click.echo(f"{'check':<{width}}  {'coords':>6}  {'max rel err':>11}  result")
        for r in results:
            verdict = "PASS" if r.passed else f"FAIL at {r.worst}"
            click.echo(f"{r.name:<{width}}  {r.coords:>6}  {r.max_rel_error:>11.2e}  {verdict}")
    if not all(r.passed for r in results):
        sys.exit(1)


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
            ptype = click.INT if meta["min"] is None else click.IntRange(min=meta["min"])
        elif kind is float:
            ptype = click.FLOAT if meta["min"] is None else click.FloatRange(min=meta["min"])
        else:
            ptype = click.STRING
        fn = click.option(f"--{name}", f.name, type=ptype, default=f.default,
                          show_default=f.default is not None, help=meta["help"])(fn)
    return fn


@cli.command()
@config_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages.")
def train(quiet, **settings):
    """Train skip-gram vectors on a corpus and save them."""
    from .train import TrainingInterrupted, train as train_vectors

    try:
        train_vectors(TrainConfig(**settings), quiet=quiet)
    except TrainingInterrupted as e:
        click.echo(f"w2v: {e}", err=True)
        sys.exit(130)


def main(argv=None):
    """Entry point: run the CLI, turning every user error into one line and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="w2v", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("w2v: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        click.echo(f"w2v: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except W2VError as e:
        click.echo(f"w2v: error: {e}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
