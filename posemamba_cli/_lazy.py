"""Package attributes imported on first use (a PEP 562 module `__getattr__`), so importing a package stays light."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_attributes(package: str, table: Mapping[str, str], submodules: tuple[str, ...] = ()) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `name` in `table` -> that attribute of module `table[name]`;
    `name` in `submodules` -> the submodule `package.name`; anything else -> AttributeError."""

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(table[name]), name)
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
