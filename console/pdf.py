"""HTML → PDF for the printable pages (the weekly sitrep), with WeasyPrint.

The page is rendered from the same template as its HTML version; the stylesheets are handed over as
files, and every other URL the document names is refused, so making a PDF never reaches the network.
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"
STYLES = (STATIC / "console.css", STATIC / "sitrep.css")


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"the PDF renderer fetches nothing ({url[:80]})")


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML  # imported on first use: it loads Pango

    sheets = [CSS(filename=str(p), url_fetcher=_no_fetch) for p in STYLES]
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf(stylesheets=sheets)
