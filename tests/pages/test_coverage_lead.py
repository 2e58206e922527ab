"""Who sees what on the Coverage page: a city lead their cities with the pending listings, everyone
else the public view (published only, every city). The review world has only pending listings:
three in Göteborg, one in Kranj."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from opportunities.accounts.identity import Role, User
from opportunities.accounts.permissions import coverage_view
from opportunities.vocabulary import Status
from tests.conftest import World, page

PUBLIC = ((Status.PUBLISHED,), None)
LEAD = (Status.PUBLISHED, Status.PENDING)


def person(role: Role, cities: tuple[int, ...] = (), disabled: bool = False) -> User:
    return User(id=1, email="x@example.org", name="X", role=role, organisation_id=1 if role is Role.PROVIDER else None,
                city_ids=cities, language="en", disabled=disabled)  # fmt: skip


@pytest.mark.parametrize(("user", "expected"), [
    (None, PUBLIC),
    (person(Role.PROVIDER), PUBLIC),
    (person(Role.CITY_LEAD, (2,), disabled=True), PUBLIC),
    (person(Role.CITY_LEAD, (9,)), PUBLIC),  # a city no longer known
    (person(Role.CITY_LEAD, (2, 3)), (LEAD, (2, 3))),
    (person(Role.CITY_LEAD, (3,)), (LEAD, (3,))),
    (person(Role.ADMIN), (LEAD, None)),
])  # fmt: skip
def test_coverage_view(user: User | None, expected: tuple[object, object]) -> None:
    assert coverage_view(user, (1, 2, 3)) == expected


def counted(at: AppTest) -> int:
    """Opportunities on the map plus those kept apart (approximate, online), from the page."""
    on_map = int(at.dataframe[0].value["Opportunities"].sum())
    apart = re.search(r"Not on the map: (\d+) .*?, (\d+) online", "\n".join(c.value for c in at.caption))
    assert apart is not None
    return on_map + int(apart[1]) + int(apart[2])


def test_a_city_lead_sees_their_city_with_its_pending_listings(signed_in: World) -> None:
    at = page("coverage", signed_in.lead_gbg, signed_in)
    assert not at.exception
    assert at.sidebar.selectbox(key="coverage_city").options == ["Göteborg"]
    assert "Published and pending opportunities of your cities." in at.caption[0].value
    assert counted(at) == 3


@pytest.mark.parametrize("who", ["nobody", "librarian", "disabled_lead"])
def test_everyone_else_sees_the_public_view(signed_in: World, who: str) -> None:
    at = page("coverage", None if who == "nobody" else getattr(signed_in, who), signed_in)
    assert not at.exception
    assert {"Göteborg", "Kranj"} <= set(at.sidebar.selectbox(key="coverage_city").options)
    assert at.caption[0].value.startswith("Published opportunities only.")
    at.sidebar.selectbox(key="coverage_city").set_value("Göteborg").run()
    assert counted(at) == 0


@pytest.mark.parametrize(
    ("who", "shown"), [("lead_gbg", True), ("admin", True), ("lead_kranj", False), ("librarian", False), ("nobody", False)]
)
def test_the_boundary_upload_is_offered_to_the_citys_leads_and_admins(signed_in: World, who: str, shown: bool) -> None:
    at = page("coverage", None if who == "nobody" else getattr(signed_in, who), signed_in)
    if who == "admin":
        at.sidebar.selectbox(key="coverage_city").set_value("Göteborg").run()
    assert not at.exception
    assert ("District boundaries of Göteborg" in [s.value for s in at.subheader]) is shown
