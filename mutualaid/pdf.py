"""The one place that turns a template into PDF bytes.

Three things matter for notices printed by the thousand in a worker on a closed network:

* No network, ever. Relative URLs resolve against the project's ``static/`` directory, and the
  fetcher reads only files below it and ``data:`` URLs; anything else is refused (WeasyPrint
  logs a warning and leaves the resource out) before a socket could be opened.
* Flat memory. WeasyPrint's documents hold Pango and HarfBuzz font objects in reference cycles
  that only the cycle collector frees; a worker rendering notice after notice grew by hundreds
  of megabytes between collections. Each render therefore ends with ``gc.collect()``, and one
  ``FontConfiguration`` serves every render of the process (a fresh one per render still crept
  upwards even with collection). Rendering holds a lock because that configuration is shared.
* Speed, for a worker printing a thousand notices. A full collection walks every object in the
  process (Django, WeasyPrint, the fonts: about 90 ms a render in a worker), so after the first
  render, when everything long-lived exists, those objects are frozen out of the collector's
  view (``gc.freeze()``) and each later collection walks only the render's own garbage. The
  fetcher is made once (building one loads the system's TLS certificates, about 25 ms), and the
  template's ``<style>`` is parsed once per distinct text and passed to WeasyPrint as a parsed
  stylesheet (about 15 ms a render).
* Small files. Fonts are embedded as subsets (WeasyPrint's default, done by HarfBuzz).
"""

from __future__ import annotations

import gc
import mimetypes
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

_render_lock = threading.Lock()
_font_config: FontConfiguration | None = None
_fetcher: StaticOnlyFetcher | None = None
_stylesheets: dict[str, CSS] = {}
# A template's style block is the same text on every render; a templated one could vary, so the
# cache is bounded and simply emptied when it fills.
_STYLESHEETS_MAX = 32
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_frozen = False


def static_dir() -> Path:
    """The only directory a template may load files from."""
    return (Path(settings.BASE_DIR) / "static").resolve()


class StaticOnlyFetcher(URLFetcher):
    """Serves ``data:`` URLs and files below ``root``; refuses everything else."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("file", "data"))
        self.root = root.resolve()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(url2pathname(parts.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
                )
        raise ValueError(f"PDF templates may only load static files, refused: {url}")


def _shared_fetcher(root: Path) -> StaticOnlyFetcher:
    global _fetcher
    if _fetcher is None or _fetcher.root != root:
        _fetcher = StaticOnlyFetcher(root)
    return _fetcher


def _parsed_style(html: str, root: Path) -> tuple[str, list[CSS]]:
    """The HTML without its first ``<style>`` block, and that block parsed (once per text)."""
    match = _STYLE_BLOCK.search(html)
    if match is None:
        return html, []
    text = match.group(1)
    sheet = _stylesheets.get(text)
    if sheet is None:
        if len(_stylesheets) >= _STYLESHEETS_MAX:
            _stylesheets.clear()
        sheet = CSS(
            string=text,
            base_url=root.as_uri() + "/",
            url_fetcher=_shared_fetcher(root),
            font_config=_shared_font_config(),
        )
        _stylesheets[text] = sheet
    return html[: match.start()] + html[match.end() :], [sheet]


def _shared_font_config() -> FontConfiguration:
    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
    return _font_config


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render a Django template to PDF bytes.

    The template should extend ``pdf/base.html``, which sets the page, the header, the page
    numbers and the CJK font. Relative URLs in it (``css/x.css``, ``img/seal.png``) point into
    ``static/``.
    """
    global _frozen
    html = render_to_string(template_name, context)
    root = static_dir()
    with _render_lock:
        try:
            html, stylesheets = _parsed_style(html, root)
            document = HTML(
                string=html,
                base_url=root.as_uri() + "/",
                url_fetcher=_shared_fetcher(root),
            )
            return document.write_pdf(font_config=_shared_font_config(), stylesheets=stylesheets)
        finally:
            document = None
            gc.collect()
            if not _frozen:
                gc.freeze()
                _frozen = True
