"""A picture of word vectors: the words projected to 2-D by PCA, as a labelled scatter plot."""
import numpy as np

from .atomic import atomic_write
from .errors import W2VError


def pca_2d(X):
    """Rows of X (n, d) projected on their first two principal components: (n, 2)."""
    centred = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)  # Vt: (min(n, d), d)
    return centred @ Vt[:2].T


def plot_words(vectors, words, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise W2VError("plotting needs matplotlib: pip install matplotlib "
                       "(or, in w2v's checkout, pip install -e '.[plot]')") from None
    words = [w for w in words if w in vectors]
    if len(words) < 2:
        raise W2VError("need at least two words that are in the vocabulary to plot")
    xy = pca_2d(vectors.unit[[vectors.index[w] for w in words]])
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), w in zip(xy, words):
        ax.annotate(w, (x, y), xytext=(3, 3), textcoords="offset points")
    ax.set_title("word vectors, first two principal components")
    fmt = out.rsplit(".", 1)[-1] if "." in out else "png"
    with atomic_write(out, "wb") as f:
        fig.savefig(f, format=fmt, dpi=100)
    plt.close(fig)
