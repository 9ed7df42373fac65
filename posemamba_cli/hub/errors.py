"""Errors of the weights hub: each carries one line the CLI prints as is."""

from __future__ import annotations

from posemamba_cli.errors import PoseMambaError


class RegistryError(PoseMambaError):
    """The registry file is malformed, or a name is not in it."""


class DownloadError(PoseMambaError):
    """A file could not be fetched: network, server, disk or folder trouble."""


class VerificationError(PoseMambaError):
    """A fetched file failed its checksum or structural check (and has been deleted)."""
