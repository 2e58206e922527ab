"""RDF Dataset Canonicalization (RDFC-1.0, the URDNA2015 output) of a JSON-LD document, strictly.

PyLD's ``normalize`` drops a property its contexts do not define, and a relative IRI, without a word,
so a verifier would accept data no signature covers. Digital Bazaar's libraries refuse both ("safe
mode"); :func:`canonize` does the same: a term that does not expand to an absolute IRI raises
``BadgeError("undefined_term")``. Contexts come only from :mod:`opportunities.badges.contexts`.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.jsonld import _resolved_context_cache as _shared_cache

from opportunities.badges.contexts import document_loader
from opportunities.errors import BadgeError

# Characters RDFC-1.0's canonical N-Quads writes as \uXXXX that PyLD does not escape: refused up
# front (no badge text needs them) instead of signing a form other verifiers would not produce.
_UNESCAPED_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CLONES: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=1000)
_INLINE: LRUCache[int, tuple[dict[str, Any], Any]] = LRUCache(maxsize=2000)
_LOCK = threading.Lock()
_IRIS: LRUCache[tuple[Any, ...], Any] = LRUCache(maxsize=20000)
_NONE = object()
Loader = Callable[[str, Mapping[str, Any] | None], dict[str, Any]]


class _UndefinedTermError(Exception):
    def __init__(self, term: str) -> None:
        super().__init__(term)
        self.term = term


class _Resolver(ContextResolver):  # type: ignore[misc]
    """PyLD's context resolver, which names an inline (scoped) context by its canonical JSON text,
    computed again at every use: a quarter of a signature's time. The scoped contexts of the
    bundled documents are the same objects every time, so they are looked up by identity first."""

    def resolve(self, active_ctx: Any, context: Any, base: Any, cycles: Any = None) -> Any:
        if not isinstance(context, dict) or "@context" in context:
            return super().resolve(active_ctx, context, base, cycles)
        hit = _INLINE.get(id(context))
        if hit is not None and hit[0] is context:
            return [hit[1]]
        resolved = super().resolve(active_ctx, context, base, cycles)
        _INLINE[id(context)] = (context, resolved[0])  # the context is kept, so its id is not reused
        return resolved


class _StrictProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """Expansion that fails where PyLD would silently drop a term or keep a relative IRI.

    Only the keys and values of an object being expanded count (``_expand_object``); ``_expand``
    first looks at the keys before the type-scoped contexts apply, which must not count."""

    _strict = False

    def _expand(self, *args: Any, **kwargs: Any) -> Any:
        outer, self._strict = self._strict, False
        try:
            return super()._expand(*args, **kwargs)
        finally:
            self._strict = outer

    def _expand_object(self, *args: Any, **kwargs: Any) -> Any:
        outer, self._strict = self._strict, True
        try:
            return super()._expand_object(*args, **kwargs)
        finally:
            self._strict = outer

    def _process_context(self, active_ctx: Any, local_ctx: Any, options: Any, **kwargs: Any) -> Any:
        # A type-scoped context (propagate=False) starts from a clone of the active context that PyLD
        # gives a new identifier in every operation, so its processed result is never found in the
        # cache again; one clone per active context, kept, makes it found.
        if kwargs.get("propagate") is False and not active_ctx.get("previousContext") and "_uuid" in active_ctx:
            clone = _CLONES.get(active_ctx["_uuid"])
            if clone is None:
                clone = self._clone_active_context(active_ctx)
                clone["previousContext"] = active_ctx
                clone["_uuid"] = str(uuid.uuid4())
                _CLONES[active_ctx["_uuid"]] = clone
            active_ctx = clone
        return super()._process_context(active_ctx, local_ctx, options, **kwargs)

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        if local_ctx is not None or not isinstance(value, str):  # context processing: as PyLD does it
            return super()._expand_iri(active_ctx, value, base=base, vocab=vocab, local_ctx=local_ctx, defined=defined)
        # outside context processing the answer depends only on the (immutable, identified) active
        # context and the arguments: a quarter of the time went into working it out again
        context_id = active_ctx.get("_uuid")
        key = (context_id, value, base, vocab)
        expanded = _IRIS.get(key) if context_id is not None else None
        if expanded is None:
            expanded = super()._expand_iri(active_ctx, value, base=base, vocab=vocab)
            if context_id is not None:
                _IRIS[key] = expanded if expanded is not None else _NONE
        elif expanded is _NONE:
            expanded = None
        absolute = isinstance(expanded, str) and (":" in expanded or expanded.startswith("@"))
        if self._strict and not value.startswith("@") and not absolute:
            raise _UndefinedTermError(value)
        return expanded


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if _UNESCAPED_CONTROLS.search(value):
            raise BadgeError("malformed", field="text with control characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def _undefined(error: BaseException) -> _UndefinedTermError | BadgeError | None:
    seen: BaseException | None = error
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, _UndefinedTermError | BadgeError):
            return seen
        details = getattr(seen, "details", None)
        cause = details.get("cause") if isinstance(details, dict) else None
        seen = cause if isinstance(cause, BaseException) else seen.__cause__ or seen.__context__
    return None


def canonize(document: Mapping[str, Any], *, loader: Loader = document_loader) -> str:
    """The canonical N-Quads of ``document``. ``BadgeError``: ``undefined_term`` (a term its contexts do
    not define, or a relative IRI), ``unknown_context`` (a context not bundled), ``malformed``."""
    _check_text(document)
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader,
        "contextResolver": _Resolver(_shared_cache, loader),
    }
    try:
        with _LOCK:  # the caches (PyLD's and ours) are not thread-safe; the GIL serialises this anyway
            result = _StrictProcessor().normalize(dict(document), options)
    except jsonld.JsonLdError as error:
        found = _undefined(error)
        if isinstance(found, _UndefinedTermError):
            raise BadgeError("undefined_term", term=found.term[:200]) from None
        if isinstance(found, BadgeError):
            raise found from None
        raise BadgeError("malformed", field="@context") from None
    except _UndefinedTermError as error:
        raise BadgeError("undefined_term", term=error.term[:200]) from None
    except RecursionError:
        raise BadgeError("malformed", field="nesting") from None
    return str(result)
