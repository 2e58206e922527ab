"""The audit log: who changed what, when, before and after. Append-only: this module only adds
and reads, and the database refuses UPDATE and DELETE on the table (a trigger, migration 0006)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from opportunities.accounts.identity import Role
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import queries
from opportunities.db.schema import audit_log

if TYPE_CHECKING:
    from opportunities.accounts.identity import User

COMMAND_LINE = "command line"  # the actor label of changes made with ``python -m opportunities``
MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor: str  # the actor's email then, or the label ("command line")
    action: str
    entity: str
    entity_id: int | None
    city_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str


def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def record(
    conn: Connection,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    city_id: int | None = None,
    before: Any = None,
    after: Any = None,
    note: str = "",
    actor_label: str = "",
) -> int:
    """Append one entry in the caller's transaction (so it is kept exactly when the change is).

    ``actor`` None: ``actor_label`` names who acted (default: the command line). ``before`` and
    ``after`` are anything JSON can hold (dates and decimals become text). Returns the entry's id.
    """
    label = actor.email if actor is not None else (actor_label or COMMAND_LINE)
    values = {
        "at": now, "actor_id": actor.id if actor is not None else None, "actor_label": label[:100], "action": action,
        "entity": entity, "entity_id": entity_id, "city_id": city_id, "before": _json(before), "after": _json(after),
        "note": note[:MAX_NOTE_LENGTH],
    }  # fmt: skip
    return int(conn.execute(insert(audit_log).returning(audit_log.c.id).values(**values)).scalar_one())


def entries(
    conn: Connection,
    user: User | None,
    *,
    city_id: int | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """The newest entries ``user`` may read: an admin all, a city lead those of their cities.

    Raises :class:`ForbiddenError` for anyone else (and a city lead asking for another city).
    """

    reader = authorise(user, Action.READ_AUDIT, city_id=city_id)
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if city_id is not None:
        query = query.where(audit_log.c.city_id == city_id)
    elif reader.role is Role.CITY_LEAD:
        query = query.where(audit_log.c.city_id.in_(reader.city_ids))
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    if entity_id is not None:
        query = query.where(audit_log.c.entity_id == entity_id)
    return [_entry(r) for r in conn.execute(query)]


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(id=r.id, at=queries.aware(r.at) or r.at, actor_id=r.actor_id, actor=r.actor_label, action=r.action,
                      entity=r.entity, entity_id=r.entity_id, city_id=r.city_id, before=json.loads(r.before) if r.before else None,
                      after=json.loads(r.after) if r.after else None, note=r.note)  # fmt: skip
