"""The matches of one search on one version of the index: computed once, shared read-only.

A filter set is asked for again and again (a class clicking "Free only", a visitor toggling it
back): :func:`find_matches` gives what the Explore page needs of a search, in a form that can be
kept in a cache shared by every visitor's thread (the rows as a read-only array).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Matches:
    """The rows of an index that match a search, and what is counted of them."""

    keep: BoolArray  # read-only: shared by every visitor who asked the same
    total: int
    online: int  # matches without coordinates (online only): not on the map
    digest: str  # of ``keep``: equal digests, equal matches (keys the map's layer)


def digest(keep: BoolArray) -> str:
    """A short digest of a mask (a million rows in about a millisecond)."""
    return hashlib.blake2b(np.packbits(keep).tobytes(), digest_size=16).hexdigest()


def find_matches(index: OpportunityIndex, query: SearchQuery, conn: Connection | None = None) -> Matches:
    """The matches of ``query`` in ``index`` (``conn`` for free-text search, see :meth:`OpportunityIndex.mask`)."""
    return from_mask(index, index.mask(query, conn))


def from_mask(index: OpportunityIndex, keep: BoolArray) -> Matches:
    """The matches that ``keep`` (a mask over ``index``'s rows, made read-only here) selects."""
    keep.setflags(write=False)
    return Matches(keep=keep, total=int(keep.sum()), online=int((keep & np.isnan(index.latitude)).sum()), digest=digest(keep))
