"""Keys folded in every script, and a folded search column.

``fold()`` used to keep only ``[0-9a-z]``: every Cyrillic provider had the key ``""`` and
"C# course" and "C++ course" had one dedup key. This revision recomputes, with the current
``fold()``, the keys stored from it (``cities.name_key``, ``providers.name_key``,
``opportunities.dedup_key``) and adds ``opportunities.search_text`` (the folded title and
description that free-text search matches on both databases).

What the old folding merged at import time stays merged: the rows it dropped as duplicates were
never stored. Recomputing never breaks a unique constraint:

* keys are first moved out of the way, then set, so a row may take a key that another row is
  giving up in the same step;
* in the rare case that the new folding makes two stored rows equal that the old one kept apart
  (a soft hyphen inside a word, Arabic-Indic digits), the row with the lowest id takes the key and
  the others keep their data under a spare key that no ``fold()`` result can equal
  (``"<key> #<id>"`` for names, a hash of the key and id for dedup keys). Look-ups by name then
  find the first row; nothing is deleted.

The downgrade drops the column and recomputes the keys with the old folding (frozen below), under
the same rules.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from opportunities.model import dedup_key
from opportunities.text import fold

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("search_text", sa.Text, nullable=False, server_default=""))
    _rekey(fold)
    conn = op.get_bind()
    update = sa.text("UPDATE opportunities SET search_text = :s WHERE id = :i")
    for rows in _batches(conn, "SELECT id, title, description FROM opportunities"):
        conn.execute(update, [{"i": r.id, "s": fold(f"{r.title} {r.description}")} for r in rows])


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("search_text")
    _rekey(_fold_0003)


def _rekey(folding: Callable[[str], str]) -> None:
    """Recompute every stored key with ``folding``."""
    conn = op.get_bind()
    cities = conn.execute(sa.text("SELECT id, name, country, name_key FROM cities ORDER BY id")).all()
    # Cut to the column (100, 200): only names that validation now rejects fold longer.
    _set_keys(conn, "cities", [(r.id, r.country, r.name_key, folding(r.name)[:100]) for r in cities], _spare_name)
    providers = conn.execute(sa.text("SELECT id, name, name_key FROM providers ORDER BY id")).all()
    _set_keys(conn, "providers", [(r.id, None, r.name_key, folding(r.name)[:200]) for r in providers], _spare_name)
    keyed = []
    for rows in _batches(
        conn,
        "SELECT o.id, o.title, o.start_date, o.start_time, o.latitude, o.longitude, o.address, o.mode, "
        "o.dedup_key, p.name AS provider FROM opportunities o JOIN providers p ON p.id = o.provider_id",
        id_column="o.id",
    ):
        for r in rows:
            start = _as_date(r.start_date) if r.start_time is None else _combine(r.start_date, r.start_time)
            keyed.append((r.id, None, r.dedup_key, _dedup_key(folding, r, start)))
    _set_keys(conn, "opportunities", keyed, _spare_dedup_key, column="dedup_key")


def _set_keys(
    conn: Any,
    table: str,
    rows: list[tuple[int, Hashable, str, str]],
    spare: Callable[[str, int], str],
    column: str = "name_key",
) -> None:
    """Give each ``(id, scope, old key, new key)`` row its new key, unique within its scope."""
    taken: set[tuple[Hashable, str]] = set()
    final: dict[int, str] = {}
    for row_id, scope, _old, new in rows:  # by id: the oldest row keeps a contested key
        key = new if (scope, new) not in taken else spare(new, row_id)
        taken.add((scope, key))
        final[row_id] = key
    changed = [(row_id, final[row_id]) for row_id, _scope, old, _new in rows if final[row_id] != old]
    # Two steps: out of the way first (a temporary key no fold() result or SHA-1 can equal), so
    # that a row may take a key another row is about to give up.
    update = sa.text(f"UPDATE {table} SET {column} = :k WHERE id = :i")  # table and column are ours
    for step in ({"i": i, "k": f"~{i}"} for i, _ in changed), ({"i": i, "k": k} for i, k in changed):
        params = list(step)
        for start in range(0, len(params), _BATCH):
            conn.execute(update, params[start : start + _BATCH])


def _batches(conn: Any, select: str, *, id_column: str = "id", size: int = 5_000) -> Iterator[list[Any]]:
    """The rows of ``select`` in id order, a batch at a time (bounded memory on large tables)."""
    last = -1
    while True:
        rows = conn.execute(
            sa.text(f"{select} WHERE {id_column} > :last ORDER BY {id_column} LIMIT {size}"), {"last": last}
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _spare_name(key: str, row_id: int) -> str:
    # fold() never writes " #": `#` is kept only at the end of a word. Short enough for name_key.
    return f"{key[:80]} #{row_id}"


def _spare_dedup_key(key: str, row_id: int) -> str:
    return hashlib.sha1(f"{key}|spare {row_id}".encode()).hexdigest()


def _as_date(value: Any) -> Any:
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _combine(day: Any, moment: Any) -> Any:
    from datetime import datetime, time

    moment = moment if isinstance(moment, time) else time.fromisoformat(str(moment))
    return datetime.combine(_as_date(day), moment)


def _dedup_key(folding: Callable[[str], str], row: Any, start: Any) -> str:
    if folding is fold:
        return dedup_key(provider=row.provider, title=row.title, start=start, latitude=row.latitude,
                         longitude=row.longitude, address=row.address, mode=row.mode)  # fmt: skip
    # The 0003 formula, with the 0003 folding.
    from datetime import datetime, time

    moment = start if isinstance(start, datetime) else datetime.combine(start, time())
    if row.latitude is not None and row.longitude is not None:
        place = f"{row.latitude:.4f},{row.longitude:.4f}"
    else:
        place = folding(row.address) or row.mode
    text = "|".join((folding(row.provider), folding(row.title), moment.isoformat(), place))
    return hashlib.sha1(text.encode()).hexdigest()


_EXTRA_FOLDS_0003 = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th", "ð": "d", "ı": "i"})
_NON_ALNUM_0003 = re.compile(r"[^0-9a-z]+")


def _fold_0003(text: str) -> str:
    """``fold()`` as it was up to revision 0003 (ASCII letters and digits only), for the downgrade."""
    lowered = text.casefold().translate(_EXTRA_FOLDS_0003)
    decomposed = unicodedata.normalize("NFKD", lowered)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM_0003.sub(" ", ascii_only).strip()
