"""Rebuild w2v/data/wordnet-glosses.txt.gz from WordNet 3.0 (Debian package `wordnet-base`).

Each synset line of data.noun, data.verb, data.adj and data.adv ends with `| gloss`: a definition
followed by example sentences, separated by semicolons. Every definition and example becomes one
line of the corpus, lowercased, with everything that is not an ASCII letter turned into a space.

    apt-get install wordnet-base
    python scripts/make_default_corpus.py [--wordnet /usr/share/wordnet] [--out w2v/data/wordnet-glosses.txt.gz]
"""
import argparse
import gzip
import os
import re

NON_LETTERS = re.compile(r"[^a-z]+")


def gloss_sentences(path):
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  ") or "|" not in line:  # the licence header
                continue
            for piece in line.split("|", 1)[1].split(";"):
                words = NON_LETTERS.sub(" ", piece.lower()).split()
                if words:
                    yield " ".join(words)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "w2v", "data",
                                                      "wordnet-glosses.txt.gz"))
    args = parser.parse_args()
    tokens = lines = 0
    tmp = args.out + ".tmp"
    # mtime=0 keeps the gzip bytes identical from one rebuild to the next
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        for part in ["noun", "verb", "adj", "adv"]:
            for sentence in gloss_sentences(os.path.join(args.wordnet, f"data.{part}")):
                out.write(sentence.encode() + b"\n")
                tokens += sentence.count(" ") + 1
                lines += 1
    os.replace(tmp, args.out)
    print(f"{args.out}: {lines:,} lines, {tokens:,} tokens")


if __name__ == "__main__":
    main()
