"""Where w2v keeps what it caches between runs: $W2V_HOME, else the platform cache directory.

Below it: `ids/` (token-id caches of corpora), `corpora/` (downloads), `kernels/` (the compiled
training kernels, when the package directory is not writable). Nothing here reads or writes files.
"""
import os


def default_home():
    """$W2V_HOME, else $XDG_CACHE_HOME/w2v, else ~/.cache/w2v."""
    home = os.environ.get("W2V_HOME")
    if home:
        return home
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "w2v")
