"""Open a viewer page: file:// in the user's browser, or served from 127.0.0.1 (the folder and the source video)."""

from __future__ import annotations

import json
import os
import webbrowser
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import typer

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.viewer.page import VIEWER_FILE

SOURCE_ROUTE = "/source-video/"  # where the served page finds the source video (outside the folder)


def resolve_page(result: str | Path) -> Path:
    """The viewer.html of a result folder (or the page itself); PoseMambaError (one line) when there is none."""
    path = Path(result)
    if not path.exists():
        raise PoseMambaError(f"{result}: no such result folder")
    page = path / VIEWER_FILE if path.is_dir() else path
    if page.name != VIEWER_FILE or not page.is_file():
        raise PoseMambaError(f"{result}: no {VIEWER_FILE} here (run `posemamba infer` without --no-viewer)")
    return page.resolve()


def open_page(page: Path, query: str = "", open_browser: bool = True) -> None:
    """Print the page's path and open it in the default browser."""
    typer.echo(str(page))
    if open_browser and not webbrowser.open(page.as_uri() + query):
        typer.echo("no browser found: open the file above in one", err=True)


def _source_video(folder: Path) -> Path | None:
    """The source video named in the folder's manifest, when it still exists."""
    try:
        video = Path(json.loads((folder / "posemamba_manifest.json").read_text(encoding="utf-8"))["video"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return video if video.is_file() else None


class _Handler(SimpleHTTPRequestHandler):
    """The folder's files, plus the source video at SOURCE_ROUTE + its name; quiet."""

    source: Path | None = None

    def translate_path(self, path: str) -> str:
        route = unquote(urlsplit(path).path)
        if self.source is not None and route == SOURCE_ROUTE + self.source.name:
            return str(self.source)
        return super().translate_path(path)

    def log_message(self, *args) -> None:
        pass


def page_server(page: Path, query: str = "", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """A server (not yet serving) of the page's folder on 127.0.0.1 (a free port unless `port`), and the
    page's address (`query` kept, plus where the served source video is)."""
    source = _source_video(page.parent)
    handler = type("Handler", (_Handler,), {"source": source})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=os.fspath(page.parent)))
    if source is not None:  # the page's own link to the source leads outside the served folder
        query += ("&" if query else "?") + "source=" + quote(SOURCE_ROUTE + source.name, safe="")
    return server, f"http://127.0.0.1:{server.server_address[1]}/{quote(page.name)}{query}"


def serve_folder(page: Path, query: str = "", open_browser: bool = True, port: int = 0) -> None:
    """Serve the page's folder on 127.0.0.1 until Ctrl-C, printing its address."""
    server, url = page_server(page, query, port)
    typer.echo(f"serving {page.parent} at {url} (Ctrl-C stops)")
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
