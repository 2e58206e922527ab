"""A database of 620 opportunities of every kind the feeds emit, for the validators."""

import sys
from datetime import UTC, datetime

from sqlalchemy import update

from opportunities.db import schema
from opportunities.db.connection import open_database, writing
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import open_geocoder
from opportunities.settings import load_settings
from tests.conftest import template_row

url = sys.argv[1]
engine = open_database(url)
geo = open_geocoder(load_settings({}).cache_dir)
here = {"latitude": "57.6969", "longitude": "11.9795"}
kinds = [
    {},  # weekly series in person
    {"mode": "online", "address": "", "latitude": "", "longitude": ""},
    {"mode": "hybrid"},
    {"schedule": "", "start": "2026-12-05 10:00", "end": "2026-12-05 12:00"},  # one-off with times
    {"schedule": "", "start": "2027-07-01", "end": "2027-07-05", "type": "camp"},  # one-off all-day
    {"schedule": "FREQ=MONTHLY;BYDAY=-1FR", "start": "2026-12-01 18:00", "end": ""},
    {"schedule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"},
    {
        "topics": "sport-outdoors",
        "title": "Klättring",
        "cost": "50",
        "currency": "SEK",
        "accessibility": "Rullstol och hörslinga",
    },
    {"topics": "sport-outdoors", "title": "Orientering", "schedule": "", "start": "2026-12-06 09:00", "end": ""},
    {"title": "Kodklubb"},  # no OpenActive activity: a deleted item in both feeds
]
rows = []
for n in range(620):
    extra = dict(kinds[n % len(kinds)])
    title = extra.pop("title", "Dans")
    located = {} if extra.get("mode") == "online" else here
    rows.append(template_row(**{**located, **extra, "title": f"{title} {n}"}))
report = import_records(engine, rows, geo, publish=True)
print("stored", len(report.stored_ids), "rejected", [(r.row, r.errors) for r in report.rejected][:3])
with writing(engine) as conn:  # a few withdrawn: deletions
    conn.execute(
        update(schema.opportunities)
        .where(schema.opportunities.c.id.in_(report.stored_ids[:5]))
        .values(status="archived", updated_at=datetime.now(UTC))
    )
