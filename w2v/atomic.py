"""Writing files so that nothing half-written ever stands under the final name.

A file is written under a temporary name beside its final one, flushed to the disk (fsync) and
renamed over the final name, so a crash leaves the old file or the new one, never a mix. It gets
the permissions a plain open() would give it: an existing file's mode, else 0666 less the umask.
A write that fails (disk full, a file-size limit, a vanished directory) is one W2VError, and
nothing is left behind.
"""
import contextlib
import errno
import os
import stat
import tempfile

from .errors import W2VError

# Errors only a write gives; other OSErrors inside the caller's block (reading its source) are
# the caller's to report.
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _open_mode(path):
    """The permission bits open(path, "w") would leave: the file's own, or 0666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None):
    """Open a temporary file beside `path`; on success fsync it and rename it over `path`, else
    delete it. Raises W2VError (one line) when the file cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=directory)
    except OSError as e:
        raise W2VError(f"cannot write {path}: {e.strerror}") from None
    written = False  # past the caller's block: every OSError from here on is the write's
    try:
        os.fchmod(fd, _open_mode(path))
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            written = True
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and (written or e.errno in _FULL):
            raise W2VError(f"cannot write {path}: {e.strerror or e}") from None
        raise


def check_writable(path):
    """Raise OSError now, not after training, if `path` cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".probe", dir=directory)
    os.close(fd)
    os.remove(tmp)
