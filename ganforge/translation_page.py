"""The page ``ganforge sample --input-dir`` writes beside its translations, as the CycleGAN repository's test script
does: one row per input image, its real, translated and reconstructed versions side by side, each under its file
name."""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import quote

PAGE_NAME = "index.html"
SHOWN_WIDTH = 256  # pixels each image is shown at; small ones are enlarged without smoothing


def _cell(out_dir: Path, image: Path, caption: str) -> str:
    """One image, linked to itself, referenced relative to the page (percent-encoded, then HTML-escaped)."""
    source = escape(quote(image.relative_to(out_dir).as_posix()), quote=True)
    return (
        f'<td><a href="{source}"><img src="{source}" width="{SHOWN_WIDTH}" alt="{escape(caption, quote=True)}"></a>'
        f"<p>{escape(caption, quote=True)}</p></td>"
    )


def write_page(out_dir: Path, title: str, columns: list[str], rows: list[list[Path]]) -> Path:
    """``out_dir/index.html``: a table headed by ``columns`` with one row per entry of ``rows`` (image files under
    ``out_dir``, one per column), each image captioned with its file name."""
    head = "".join(f"<th>{escape(column, quote=True)}</th>" for column in columns)
    body = "\n".join("<tr>" + "".join(_cell(out_dir, image, image.name) for image in row) + "</tr>" for row in rows)
    page = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{escape(title, quote=True)}</title>
<style>img {{ image-rendering: pixelated; }} td, th {{ text-align: center; padding: 4px; }} p {{ margin: 2px; }}</style>
</head>
<body>
<h3>{escape(title, quote=True)}</h3>
<table>
<tr>{head}</tr>
{body}
</table>
</body>
</html>
"""
    path = out_dir / PAGE_NAME
    path.write_text(page, encoding="utf-8")
    return path
