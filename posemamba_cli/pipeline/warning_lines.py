"""Warnings during `infer`: posemamba's own become warning lines of the video they concern; those of the
libraries underneath (torch, numpy, ultralytics, PyAV) stay off the terminal unless asked for with
`python -W ...` or PYTHONWARNINGS."""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from posemamba_cli.errors import PoseMambaWarning

F = TypeVar("F", bound=Callable[..., Any])


def is_ours(message: Warning | str, category: type[Warning]) -> bool:
    """A warning posemamba raised for the user: a PoseMambaWarning, or one whose text starts "posemamba:"."""
    return issubclass(category, PoseMambaWarning) or str(message).startswith("posemamba:")


@contextlib.contextmanager
def own_warnings() -> Iterator[list[str]]:
    """Inside, posemamba's warnings are appended (once each) to the yielded list instead of shown; the
    others go on to whatever handles warnings outside."""
    lines: list[str] = []
    with warnings.catch_warnings():
        outer = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            if is_ours(message, category):
                if str(message) not in lines:
                    lines.append(str(message))
            else:
                outer(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield lines


def reports_warnings(run: F) -> F:
    """Decorate a function returning a result with a `warnings` list: posemamba's warnings raised during
    the call are added to that list (the CLI prints them with the video they concern)."""

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with own_warnings() as lines:
            result = run(*args, **kwargs)
        result.warnings.extend(line for line in lines if line not in result.warnings)
        return result

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def library_warnings_hidden(report: Callable[[str], None]) -> Iterator[None]:
    """Inside, warnings of other libraries are dropped and posemamba's passed to `report` (once each),
    unless the user chose what to do with warnings (`python -W`, PYTHONWARNINGS): then nothing changes."""
    if sys.warnoptions:
        yield
        return
    seen: set[str] = set()
    with warnings.catch_warnings():

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            if is_ours(message, category) and str(message) not in seen:
                seen.add(str(message))
                report(str(message))

        warnings.showwarning = show
        yield
