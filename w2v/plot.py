"""A picture of word vectors: the words projected to 2-D by PCA, as a labelled scatter plot."""
import os

import numpy as np

from .atomic import atomic_write, check_writable
from .errors import W2VError


def pca_2d(X):
    """Rows of X (n, d) projected on their first two principal components: (n, 2)."""
    centred = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)  # Vt: (min(n, d), d)
    return centred @ Vt[:2].T


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise W2VError("plotting needs matplotlib: pip install matplotlib "
                       "(or, in w2v's checkout, pip install -e '.[plot]')") from None
    return plt


def _image_format(out):
    return out.rsplit(".", 1)[-1].lower() if "." in os.path.basename(out) else "png"


def check_output(out):
    """Raise W2VError unless `out` can be written as a picture: not a directory, a format
    matplotlib writes, a directory that takes files."""
    if os.path.isdir(out):
        raise W2VError(f"{out} is a directory: give a file name, such as {os.path.join(out, 'words.png')}")
    _pyplot()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    formats = FigureCanvasAgg.get_supported_filetypes()
    if _image_format(out) not in formats:
        raise W2VError(f"cannot draw {out}: .{_image_format(out)} is not an image format matplotlib "
                       f"writes ({', '.join(sorted(formats))})")
    try:
        check_writable(out)
    except OSError as e:
        raise W2VError(f"cannot write {out}: {e.strerror}") from None


def plot_words(vectors, words, out):
    """Draw the words of `words` that have a usable vector; return the others as (word, why)
    pairs, so that the caller can name them."""
    plt = _pyplot()
    check_output(out)
    placed, missing = [], []
    for w in dict.fromkeys(words):
        if w not in vectors:
            missing.append((w, "not in the vocabulary"))
        elif not np.isfinite(vectors[w]).all():
            missing.append((w, "its vector is not finite"))
        else:
            placed.append(w)
    if len(placed) < 2:
        why = "; ".join(f"{w} ({reason})" for w, reason in missing)
        raise W2VError(f"need at least two words with vectors to plot{'; not drawn: ' + why if why else ''}")
    xy = pca_2d(vectors.unit_vectors(placed))  # (n, d) -> (n, 2)
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), w in zip(xy, placed):
        ax.annotate(w, (x, y), xytext=(3, 3), textcoords="offset points")
    ax.set_title("word vectors, first two principal components")
    with atomic_write(out, "wb") as f:
        fig.savefig(f, format=_image_format(out), dpi=100)
    plt.close(fig)
    return missing
