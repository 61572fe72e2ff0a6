"""The option names users bring from word2vec.c and gensim, for `w2v train`.

`w2v train -train text8 -output v.bin -size 200 -cbow 0 -hs 0 -binary 1 -iter 15` and
`w2v train --vector_size 200 --workers 4 --min_count 10 --sg 1` mean what they mean to the C tool
and to gensim's Word2Vec. What w2v cannot do (word classes; hierarchical softmax and negative
sampling summed in one model, which the peers train for `-hs 1` with negatives) stops with one
line saying so: a usage error, exit 2. `-hs 1` alone trains hierarchical softmax only, where the
peers would add their default 5 negatives: w2v trains one loss at a time.

The names are rewritten before Click parses the arguments, so they stay out of `--help`. Only
three kinds of token are rewritten, and only when they are not already one of the command's own
options: a peer's name listed below; a C-tool single-dash spelling of a w2v option (-window,
-min-count); an underscore spelling of one (--min_count).
This module knows nothing of training: it maps names.
"""
import click

# A peer's name, dashes and underscores alike -> the w2v option that means the same.
RENAMES = {
    "train": "--corpus",  # word2vec.c
    "output": "--out",  # word2vec.c
    "size": "--dim",  # word2vec.c, gensim before 4.0
    "vector-size": "--dim",  # gensim
    "iter": "--epochs",  # word2vec.c, gensim before 4.0
    "workers": "--threads",  # gensim
    "max-final-vocab": "--max-vocab",  # gensim: keep the N most frequent words
}

# Switches given a value (or as a bare flag, meaning 1): value -> the w2v options it becomes.
SWITCHES = {
    "cbow": {"0": ["--model", "skipgram"], "1": ["--model", "cbow"]},  # word2vec.c; default 1
    "sg": {"1": ["--model", "skipgram"], "0": ["--model", "cbow"]},  # gensim; default 0, CBOW
    "cbow-mean": {"1": [], "0": ["--cbow-sum"]},  # gensim
    "hs": {"0": [], "1": ["--loss", "hs"]},  # word2vec.c and gensim
    "binary": {"1": ["--format", "bin"], "0": ["--format", "text"]},  # word2vec.c
    "debug": {"0": ["--quiet"], "1": [], "2": []},  # word2vec.c's progress output
}

# A peer's name that w2v has no equivalent for -> why, and what is closest.
MISSING = {
    "classes": "word classes (word2vec.c's -classes, k-means on the vectors) are not implemented",
    "max-vocab-size": "gensim's max_vocab_size (pruning rare words while counting) has no "
                      "equivalent: w2v counts every word; --max-vocab keeps the N most frequent",
    "batch-words": "gensim's batch_words (words per worker job) has no equivalent; w2v's "
                   "--batch-words is the number of pairs per softmax matrix product",
}


def translate(args, known):
    """`args` with the peers' option names replaced by w2v's; `known`: the command's own names."""
    out, i, hs = [], 0, False
    while i < len(args):
        token = args[i]
        i += 1
        name, eq, value = token.partition("=")
        if not name.startswith("-") or name in known:
            out.append(token)
            continue
        key = name.lstrip("-").replace("_", "-")
        if key in SWITCHES:
            if not eq and i < len(args) and not args[i].startswith("-"):
                value, i = args[i], i + 1
            elif not eq:
                value = "1"  # a bare flag asks for the thing
            meaning = SWITCHES[key].get(value)
            if meaning is None:
                raise click.UsageError(f"{name} takes {' or '.join(SWITCHES[key])}, got {value!r}")
            out += meaning
            hs = hs or meaning == ["--loss", "hs"]
        elif key in MISSING:
            raise click.UsageError(f"{name}: {MISSING[key]}")
        else:
            target = RENAMES.get(key, f"--{key}")
            out.append(target + eq + value if target in known else token)
    if hs and _negatives(out):
        raise click.UsageError(HS_AND_NEG)
    return out


HS_AND_NEG = ("-hs 1 with negatives: w2v trains one loss, not hierarchical softmax and negative "
              "sampling summed as the C tool and gensim do; give -negative 0 (or --loss neg)")


def _negatives(args):
    """Whether args ask for a non-zero number of negatives (--negative N or --negative=N)."""
    for i, token in enumerate(args):
        name, eq, value = token.partition("=")
        if name == "--negative":
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "0")
            if value.strip() not in ("0", ""):
                return True
    return False


class PeerNamesCommand(click.Command):
    """A Click command that also understands word2vec.c's and gensim's names for its options."""

    def parse_args(self, ctx, args):
        known = {opt for p in self.params for opt in (*p.opts, *p.secondary_opts)}
        return super().parse_args(ctx, translate(args, known))
