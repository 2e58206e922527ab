"""The JSON-LD contexts a badge may name, bundled with the code: a document loader that never fetches.

:func:`document_loader` has PyLD's loader shape. It answers only the URLs of :data:`CONTEXT_FILES`,
from ``data/credentials/contexts/``, parsed once; any other URL is refused with a reason
(:class:`~opportunities.errors.BadgeError` ``unknown_context``). Its answers carry PyLD's ``tag``
``"static"``, which lets PyLD keep the processed context between operations: the difference between
about ten and a few hundred signatures a second (see ``benchmarks/badges.py``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from opportunities.errors import BadgeError
from opportunities.settings import PROJECT_ROOT

CONTEXTS_DIR = PROJECT_ROOT / "data" / "credentials" / "contexts"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
CONTEXT_FILES: Mapping[str, str] = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3P0: "ob-v3p0-context-3.0.3.json",
    OB_V3P0_EXTENSIONS: "ob-v3p0-extensions.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}
# What an Open Badge names, in this order (VC 2.0 first, as the data model requires).
BADGE_CONTEXT: tuple[str, ...] = (VC_V2, OB_V3P0)


@cache
def context_document(url: str) -> dict[str, Any]:
    """The bundled context for ``url``, parsed once; ``BadgeError("unknown_context")`` for any other URL."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise BadgeError("unknown_context", url=url[:200])
    loaded: dict[str, Any] = json.loads((CONTEXTS_DIR / name).read_text(encoding="utf-8"))
    return loaded


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """PyLD's loader shape over the bundled contexts only; nothing is fetched. The result is tagged
    ``static`` so PyLD caches the processed context across operations."""
    return {"contextUrl": None, "documentUrl": url, "document": context_document(url), "tag": "static"}


def uncached_document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The naive loader, for the benchmark's baseline only: reads and parses the file on every call,
    untagged, so PyLD processes the context again in every operation."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise BadgeError("unknown_context", url=url[:200])
    document = json.loads(Path(CONTEXTS_DIR / name).read_text(encoding="utf-8"))
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}
