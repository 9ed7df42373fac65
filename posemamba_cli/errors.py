"""User-facing errors: the CLI prints their message on one line and exits non-zero."""


class PoseMambaError(Exception):
    """An error caused by the user's input (a file, an option, a checkpoint), not by a bug."""

    exit_code = 2


class CheckpointError(PoseMambaError):
    """A checkpoint that cannot be read, or does not fit the model."""


class PoseMambaWarning(UserWarning):
    """A doubtful input that still gives a result: `infer` reports it as one warning line with its video."""
