"""Who can sign in: the roles and a signed-in person (``User``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PROVIDER = "provider"  # a member of one organisation
    CITY_LEAD = "city_lead"  # reviews for one or more cities
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """A person who can sign in, as of the moment it was read."""

    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    city_ids: tuple[int, ...]
    disabled: bool
    language: str = "en"
    confirmed: bool = True  # False: a self-registration whose address is not confirmed yet

    @property
    def label(self) -> str:
        """How the audit log and pages name this person."""
        return self.name or self.email
