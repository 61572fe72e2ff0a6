"""The library's exception types for problems a user can fix (bad input, missing files)."""


class W2VError(Exception):
    """A user error: the CLI prints its message as one line and exits with exit_code."""
    exit_code = 1


class SettingError(W2VError):
    """A setting no run can use, or one a resumed run may not change: bad usage, exit 2."""
    exit_code = 2
