"""Baking: a credential carried inside its badge image (Open Badges 3.0, §Badge Baking).

PNG: an ``iTXt`` chunk with keyword ``openbadgecredential``, uncompressed, holding the credential's
JSON, before ``IEND``; a rebaked image loses its old chunk. SVG: an ``<openbadges:credential>``
element (namespace ``https://purl.imsglobal.org/ob/v3p0``) right after the opening ``<svg>``, the
JSON in CDATA. Unbaking reads both (and a zlib-compressed iTXt) without an XML parser: no entity
can expand, no external reference is followed.
"""

from __future__ import annotations

import html
import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from opportunities.errors import BadgeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
MAX_TEXT_BYTES = 1024 * 1024
_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.IGNORECASE)
_SVG_CREDENTIAL = re.compile(r"<(?:([\w.-]+):)?credential\b[^>]*>(.*?)</(?:[\w.-]+:)?credential\s*>", re.DOTALL)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def looks_like_image(data: bytes) -> bool:
    """Whether ``data`` is a PNG or an SVG (rather than a JSON file)."""
    if data.startswith(PNG_SIGNATURE):
        return True
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not png.startswith(PNG_SIGNATURE):
        raise BadgeError("no_baked_credential")
    position = len(PNG_SIGNATURE)
    while position < len(png):
        if position + 8 > len(png):
            raise BadgeError("no_baked_credential")
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        data = png[position + 8 : position + 8 + length]
        crc = png[position + 8 + length : position + 12 + length]
        if len(data) != length or len(crc) != 4 or struct.unpack(">I", crc)[0] != zlib.crc32(kind + data):
            raise BadgeError("no_baked_credential")
        yield kind, data
        position += 12 + length
        if kind == b"IEND":
            return
    raise BadgeError("no_baked_credential")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _credential_text(credential: Mapping[str, Any] | str) -> str:
    return credential if isinstance(credential, str) else json.dumps(credential, ensure_ascii=False)


def bake_png(png: bytes, credential: Mapping[str, Any] | str) -> bytes:
    """``png`` with ``credential`` (a credential, or its JSON text) baked in, replacing any credential
    baked before. ``BadgeError("no_baked_credential")`` when ``png`` is not a whole PNG."""
    text = _credential_text(credential).encode("utf-8")
    # keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL
    itxt = _chunk(b"iTXt", KEYWORD + b"\0\0\0\0\0" + text)
    out = [PNG_SIGNATURE]
    for kind, data in _chunks(png):
        if kind == b"iTXt" and data.split(b"\0", 1)[0] == KEYWORD:
            continue
        if kind == b"IEND":
            out.append(itxt)
        out.append(_chunk(kind, data))
    return b"".join(out)


def _itxt_text(data: bytes) -> str | None:
    keyword, _, rest = data.partition(b"\0")
    if keyword != KEYWORD or len(rest) < 2:
        return None
    compressed, method, rest = rest[0], rest[1], rest[2:]
    _language, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    if compressed:
        if method != 0:
            raise BadgeError("no_baked_credential")
        unpacker = zlib.decompressobj()
        try:
            text = unpacker.decompress(text, MAX_TEXT_BYTES + 1)
        except zlib.error:
            raise BadgeError("no_baked_credential") from None
        if len(text) > MAX_TEXT_BYTES:
            raise BadgeError("too_large", limit=MAX_TEXT_BYTES)
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise BadgeError("not_json") from None


def unbake_png(png: bytes) -> str:
    """The credential text baked in ``png``; ``BadgeError("no_baked_credential")`` when there is none."""
    for kind, data in _chunks(png):
        if kind == b"iTXt":
            text = _itxt_text(data)
            if text is not None:
                return text
    raise BadgeError("no_baked_credential")


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def bake_svg(svg: str, credential: Mapping[str, Any] | str) -> str:
    """``svg`` with ``credential`` baked in right after its opening tag (an older one removed)."""
    svg = _SVG_CREDENTIAL.sub("", svg, count=1) if "openbadges:credential" in svg else svg
    opening = _SVG_OPEN.search(svg)
    if opening is None:
        raise BadgeError("no_baked_credential")
    tag = opening.group(0)
    if "xmlns:openbadges" not in tag:
        closing = "/>" if tag.endswith("/>") else ">"
        tag = tag[: -len(closing)].rstrip() + f' xmlns:openbadges="{SVG_NAMESPACE}"' + closing
    element = f"<openbadges:credential>{_cdata(_credential_text(credential))}</openbadges:credential>"
    return svg[: opening.start()] + tag + element + svg[opening.end() :]


def unbake_svg(svg: str) -> str:
    """The credential text baked in ``svg``; ``BadgeError("no_baked_credential")`` when there is none."""
    for found in _SVG_CREDENTIAL.finditer(svg):
        body = found.group(2)
        parts = _CDATA.findall(body)
        text = "".join(parts) if parts else html.unescape(body)
        if text.strip():
            return text.strip()
    raise BadgeError("no_baked_credential")


def unbake(data: bytes) -> str:
    """The credential text baked in a PNG or SVG image."""
    if data.startswith(PNG_SIGNATURE):
        return unbake_png(data)
    try:
        return unbake_svg(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BadgeError("no_baked_credential") from None
