"""A map page that works offline: Leaflet's scripts, style sheets and images embedded in the HTML.

Used by the ``map`` command and the Coverage page's download; only the tiles still come from the network.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# A map built with this asset_base gets its scripts and style sheets embedded by inline_assets.
INLINE_BASE = "col-inline-asset:"
_ASSET_TAG = re.compile(r'<script src="(?P<js>[^"]*)"></script>|<link rel="stylesheet" href="(?P<css>[^"]*)"\s*/?>')
_CSS_IMAGE = re.compile(r"url\((?P<path>images/[\w.-]+\.png)\)")


def _vendored_text(relative: str, static_dir: Path) -> tuple[Path, str]:
    path = (static_dir / relative).resolve()
    if not path.is_relative_to(static_dir.resolve()):
        raise ValueError(f"asset {relative!r} is outside {static_dir}")
    return path, path.read_text(encoding="utf-8")


def inline_assets(page: str, *, static_dir: Path = STATIC_DIR) -> str:
    """``page`` with every script and style sheet under the inline marker embedded from ``static_dir``.

    The images the Leaflet style sheet names become data: URIs, so the page loads nothing but tiles.
    """

    def embed(match: re.Match[str]) -> str:
        url = match["js"] if match["js"] is not None else match["css"]
        if not url.startswith(INLINE_BASE):
            return match[0]
        path, text = _vendored_text(url.removeprefix(INLINE_BASE).lstrip("/"), static_dir)
        closing = "</script" if match["js"] is not None else "</style"
        if closing in text.lower():  # would end the inline element early; the vendored files have none
            raise ValueError(f"{path} contains {closing!r} and cannot be inlined")
        if match["js"] is not None:
            return f"<script>/* {path.relative_to(static_dir.resolve())} */\n{text}</script>"

        def data_uri(image: re.Match[str]) -> str:
            data = base64.b64encode((path.parent / image["path"]).read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{data})"

        return f"<style>/* {path.relative_to(static_dir.resolve())} */\n{_CSS_IMAGE.sub(data_uri, text)}</style>"

    embedded = _ASSET_TAG.sub(embed, page)
    if INLINE_BASE in embedded:
        raise ValueError("an asset reference was left in the page after inlining")
    return embedded
