"""The library's one exception type for problems a user can fix (bad input, missing files)."""


class W2VError(Exception):
    """A user error: the CLI prints its message as one line and exits non-zero."""
