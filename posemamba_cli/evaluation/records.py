"""The JSON result file of `posemamba eval`: checked before the work starts, written atomically after it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.paths import check_output_file

#: keys every record of ours holds (a checkpoint's or a prediction file's scores on a data set)
_RECORD_KEYS = ("data",)


def is_eval_record(path: str | os.PathLike) -> bool:
    """Whether `path` holds a JSON result this tool wrote (so it may be replaced by a new one)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and all(k in doc for k in _RECORD_KEYS) and ("checkpoint" in doc or
                                                                              "predictions" in doc)


def check_record_path(out: str | os.PathLike | None) -> None:
    """Raise a one-line PoseMambaError unless the record can be written to `out` (None: nothing to write)."""
    if out is not None:
        check_output_file(out, "result file", replaceable=is_eval_record)


def write_record(out: str | os.PathLike, record: dict[str, Any]) -> None:
    """Write `record` as indented JSON to `out`, atomically (an OSError is one line naming `out`)."""
    with atomic_path(Path(out)) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
