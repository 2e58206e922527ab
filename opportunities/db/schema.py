"""The tables: what is stored, declared once (SQLAlchemy Core); migrations change it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)

metadata = MetaData()
# Longest folded name a city or provider can be stored under (validation rejects longer names).
CITY_KEY_LENGTH = 100
PROVIDER_KEY_LENGTH = 200

cities = Table(
    "cities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("name_key", String(CITY_KEY_LENGTH), nullable=False),
    Column("country", String(2), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("boundary", Text),
    Column("geonameid", Integer, unique=True),
    UniqueConstraint("country", "name_key", name="uq_cities_country_name"),
)

districts = Table(
    "districts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("boundary", Text, nullable=False),  # a GeoJSON Polygon or MultiPolygon in EPSG:4326
    Column("population", Integer),  # residents; NULL when not known
    Column("population_by_age", Text, nullable=False, default="{}"),  # JSON: age group id -> residents
    Column("population_year", Integer),
    Column("source", Text, nullable=False, default=""),  # where the boundary and figures come from
)

providers = Table(
    "providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(PROVIDER_KEY_LENGTH), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("city_id", Integer, ForeignKey("cities.id")),
    Column("website", String(2000), nullable=False, default=""),
    Column("contact_email", String(254), nullable=False, default=""),
    # Organisations are providers: one registered in the app waits for a city lead's verification
    # before any of its listings is published. Providers imported by an admin count as verified.
    Column("verified_at", DateTime(timezone=True)),
    Column("verified_by", Integer),  # a user id; no foreign key, which would make a cycle with users
    Column("registered_at", DateTime(timezone=True)),  # NULL: not registered in the app
)

# Trust is granted per city, by a lead of that city: a trusted organisation's listings in that
# city are published without review; elsewhere they are reviewed like any other.
organisation_trust = Table(
    "organisation_trust",
    metadata,
    Column("provider_id", Integer, ForeignKey("providers.id"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id"), primary_key=True),
    Column("granted_by", Integer),  # a user id (NULL: the command line or a migration)
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False, index=True),
    Column("city_id", Integer, ForeignKey("cities.id"), nullable=False),
    Column("venue", String(200), nullable=False, default=""),
    Column("address", String(300), nullable=False, default=""),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("location_precision", String(10)),
    Column("location_source", String(100), nullable=False, default=""),
    Column("location_uncertainty_m", Integer),
    Column("age_min", Integer, nullable=False),
    Column("age_max", Integer),
    Column("mode", String(10), nullable=False),
    Column("type", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("start_time", Time),
    Column("end_date", Date),
    Column("end_time", Time),
    Column("schedule", String(500), nullable=False, default=""),
    Column("cost", Numeric(10, 2), nullable=False, default=0),
    Column("currency", String(3), nullable=False, default=""),
    Column("url", String(2000), nullable=False, default=""),
    Column("contact_email", String(254), nullable=False, default=""),
    Column("accessibility", Text, nullable=False, default=""),
    Column("status", String(10), nullable=False),
    Column("dedup_key", String(40), nullable=False, unique=True),
    # fold(title + " " + description): free-text search is a LIKE on it, so SQLite and PostgreSQL
    # match case, accents and every script alike (see search_text()).
    Column("search_text", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("verified_at", DateTime(timezone=True)),
    Column("review_note", Text, nullable=False, default=""),  # the city lead's reason or request, for the provider
    Column("archive_reason", String(20), nullable=False, default=""),  # "ended", "withdrawn", ...
    Column("submitted_by", Integer, ForeignKey("users.id", name="fk_opportunities_submitted_by")),
    Index("ix_opportunities_status_city", "status", "city_id"),
    Index("ix_opportunities_lat_lon", "latitude", "longitude"),
    Index("ix_opportunities_start", "start_date"),
    # (updated_at, id): the OpenActive feed's order (opportunities.feeds.rpde); the search index's
    # look for changes uses its first column.
    Index("ix_opportunities_updated_at_id", "updated_at", "id"),
)


_TZ = DateTime(timezone=True)

# --- accounts (see opportunities/accounts.py, organisations.py, audit.py, mail.py) ------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # normalised: accounts.normalise_email
    Column("name", String(100), nullable=False, default=""),
    Column("password_hash", String(200)),  # NULL: signs in through OpenID Connect only
    Column("role", String(20), nullable=False),
    Column("organisation_id", Integer, ForeignKey("providers.id"), index=True),
    Column("oidc_subject", String(255), unique=True),
    Column("language", String(2), nullable=False, default="en"),
    Column("created_at", _TZ, nullable=False),
    Column("disabled_at", _TZ),
    # NULL: the address is not confirmed yet (a self-registration): no sign-in until a link mailed
    # to it is opened; removed after accounts.UNCONFIRMED_DAYS.
    Column("confirmed_at", _TZ),
)

city_leads = Table(
    "city_leads",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_city_leads_city_id", "city_id"),
)

sign_in_sessions = Table(
    "sign_in_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the token; the token is only in the cookie
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("last_seen_at", _TZ, nullable=False),
    # A single-use ticket, valid a minute, that the browser trades at /auth/session for the cookie:
    # the server sets it HttpOnly, so no page script ever holds the session's token.
    Column("ticket_hash", String(64), unique=True),
    Column("ticket_expires_at", _TZ),
)

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", _TZ, nullable=False),
    Column("email", String(254), nullable=False),
    Column("client_key", String(64), nullable=False),  # SHA-256 of the client's address, not the address
    Column("succeeded", Boolean, nullable=False),
    Index("ix_sign_in_attempts_email_at", "email", "at"),
    Index("ix_sign_in_attempts_client_at", "client_key", "at"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("organisation_id", Integer, ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("invited_by", Integer, ForeignKey("users.id")),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("accepted_at", _TZ),
)

# A link mailed to a self-registered account's address: opening it proves the address is theirs.
address_confirmations = Table(
    "address_confirmations",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("used_at", _TZ),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("used_at", _TZ),
)

# Append-only: the code has no update or delete, and a trigger refuses both (migration 0006).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", _TZ, nullable=False),
    Column("actor_id", Integer, ForeignKey("users.id")),
    Column("actor_label", String(100), nullable=False, default=""),  # e.g. "command line" when no user
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("entity_id", Integer),
    Column("city_id", Integer, ForeignKey("cities.id")),
    Column("before", Text, nullable=False, default=""),  # JSON
    Column("after", Text, nullable=False, default=""),  # JSON
    Column("note", Text, nullable=False, default=""),
    Index("ix_audit_log_city_at", "city_id", "at"),
    Index("ix_audit_log_entity", "entity", "entity_id"),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", _TZ, nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", _TZ),  # NULL: not sent (no SMTP server configured, or sending failed: see error)
    Column("error", Text, nullable=False, default=""),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("organisation_id", Integer, ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE")),  # editing a listing
    Column("data", Text, nullable=False, default="{}"),  # JSON of the form's fields
    Column("created_at", _TZ, nullable=False),
    Column("updated_at", _TZ, nullable=False),
)

participation_reports = Table(
    "participation_reports",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("age_group", String(20), primary_key=True),
    Column("participants", Integer, nullable=False),
    Column("reported_at", _TZ, nullable=False),
    Column("reported_by", Integer, ForeignKey("users.id")),
)


def _values_table(name: str, column: str, length: int) -> Table:
    """A multi-valued field of opportunities: one row per (opportunity, value), indexed by value."""
    return Table(
        name,
        metadata,
        Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
        Column(column, String(length), primary_key=True),
        Index(f"ix_{name}_{column}", column, "opportunity_id"),
    )


opportunity_topics = _values_table("opportunity_topics", "topic", 30)
opportunity_languages = _values_table("opportunity_languages", "language", 2)

# --- an import's rows on their way in (see opportunities/listings/importing.py) ----------
# A large import writes its rows here in short transactions, then moves them into
# ``opportunities`` in one statement: nobody else's write waits for its validation or geocoding.
# Nothing reads these tables but the import that wrote them; rows of an import that died are
# swept by the next one.

staged_opportunities = Table(
    "staged_opportunities",
    metadata,
    Column("import_id", String(32), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("staged_at", DateTime(timezone=True), nullable=False),
    # the columns of ``opportunities`` but its id; the ids of cities and providers the import adds
    # are negative until the import is stored
    *(Column(c.name, c.type, default=getattr(c.default, "arg", None)) for c in opportunities.c if c.name != "id"),
)

staged_values = Table(
    "staged_values",
    metadata,
    Column("import_id", String(32), nullable=False),
    Column("dedup_key", String(40), nullable=False),
    Column("kind", String(10), nullable=False),  # "topic" or "language"
    Column("value", String(30), nullable=False),
    Index("ix_staged_values_import_id", "import_id", "kind"),
)

staged_ids = Table(
    "staged_ids",
    metadata,
    Column("import_id", String(32), primary_key=True),
    Column("kind", String(10), primary_key=True),  # "city" or "provider"
    Column("stand_in", Integer, primary_key=True),  # negative, in staged_opportunities
    Column("id", Integer, nullable=False),  # the city or provider added when the import is stored
)

# --- badges (see opportunities/badges/): what is stored of recognition ------------------------
# No learner's personal data: a credential's subject (a pseudonymous identifier made in the
# learner's browser), name, email or network address is never stored with an issuance.

badge_achievements = Table(
    "badge_achievements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),  # "activity" or "playlist"
    # One badge per activity; NULL for a playlist's own badge.
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), unique=True),
    Column("organisation_id", Integer, ForeignKey("providers.id")),  # NULL for a playlist's badge
    Column("city_id", Integer, ForeignKey("cities.id"), nullable=False),
    Column("texts", Text, nullable=False),  # JSON: language -> {"name", "description", "criteria"}
    Column("image_url", String(2000), nullable=False, default=""),
    Column("tags", Text, nullable=False, default="[]"),  # JSON list of free words
    Column("topics", Text, nullable=False, default="[]"),  # JSON list of topic ids (vocabulary.TOPICS)
    Column("status", String(10), nullable=False),  # reviewed like listings: pending, published, rejected, archived
    Column("review_note", Text, nullable=False, default=""),
    Column("created_by", Integer, ForeignKey("users.id", name="fk_badge_achievements_created_by")),
    Column("created_at", _TZ, nullable=False),
    Column("updated_at", _TZ, nullable=False),
    Index("ix_badge_achievements_city_status", "city_id", "status"),
    Index("ix_badge_achievements_organisation_id", "organisation_id"),
)

badge_playlists = Table(
    "badge_playlists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id"), nullable=False, index=True),
    # The playlist's own badge, issued when the rule is met.
    Column("achievement_id", Integer, ForeignKey("badge_achievements.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("rule_kind", String(10), nullable=False),  # "any_n" or "per_topic"
    Column("rule_count", Integer, nullable=False),  # any_n: n; per_topic: the number of topics
    Column("rule_topics", Text, nullable=False, default="[]"),  # per_topic: JSON list of topic ids
    Column("created_by", Integer, ForeignKey("users.id", name="fk_badge_playlists_created_by")),
    Column("created_at", _TZ, nullable=False),
    Column("updated_at", _TZ, nullable=False),
)

badge_playlist_members = Table(
    "badge_playlist_members",
    metadata,
    Column("playlist_id", Integer, ForeignKey("badge_playlists.id", ondelete="CASCADE"), primary_key=True),
    Column("achievement_id", Integer, ForeignKey("badge_achievements.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_badge_playlist_members_achievement_id", "achievement_id"),
)

badge_claim_codes = Table(
    "badge_claim_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),  # SHA-256 of the code; the code itself is never stored
    Column("kind", String(10), nullable=False),  # "code" (shown at the activity) or "link" (mailed, used once)
    Column("achievement_id", Integer, ForeignKey("badge_achievements.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("label", String(100), nullable=False, default=""),  # a session or participant label, never a name
    Column("created_by", Integer, ForeignKey("users.id", name="fk_badge_claim_codes_created_by")),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("uses", Integer, nullable=False, default=0),
)

# A W3C Bitstring Status List: each issued credential holds one position of one list. Positions
# are handed out in a scrambled order (index = (position * stride + shift) mod size, stride odd,
# size a power of two), so an index tells nothing of the order of issuance.
badge_status_lists = Table(
    "badge_status_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id")),  # NULL: the deployment's own list
    # The DID of the key that signs the list and its credentials: a key rotation starts new lists.
    Column("issuer", String(300), nullable=False),
    Column("size", Integer, nullable=False),
    Column("next_position", Integer, nullable=False, default=0),
    Column("stride", Integer, nullable=False),
    Column("shift", Integer, nullable=False),
    Column("created_at", _TZ, nullable=False),
    Index("ix_badge_status_lists_city_id", "city_id"),
)

badge_issuances = Table(
    "badge_issuances",
    metadata,
    Column("credential_id", String(100), primary_key=True),  # urn:uuid:…
    Column("achievement_id", Integer, ForeignKey("badge_achievements.id"), nullable=False),
    Column("via", String(10), nullable=False),  # "code", "link", "award" (offline), "playlist"
    Column("issued_at", _TZ, nullable=False),
    Column("status_list_id", Integer, ForeignKey("badge_status_lists.id"), nullable=False),
    Column("status_index", Integer, nullable=False),
    Column("revoked_at", _TZ),
    Column("revoke_reason", Text, nullable=False, default=""),
    UniqueConstraint("status_list_id", "status_index", name="uq_badge_issuances_status"),
    Index("ix_badge_issuances_achievement_issued", "achievement_id", "issued_at"),
    # a list's revoked indexes (its status list credential) in one range of one index, covering
    Index("ix_badge_issuances_list_revoked", "status_list_id", "revoked_at", "status_index"),
)

# Failed claims (wrong, expired or used codes), for the limits against guessing: per client (a
# hash of its address, never the address) and over all clients. Rows older than the window go.
badge_claim_attempts = Table(
    "badge_claim_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", _TZ, nullable=False),
    Column("client_key", String(64), nullable=False),
    Index("ix_badge_claim_attempts_client_at", "client_key", "at"),
    Index("ix_badge_claim_attempts_at", "at"),
)

# --- external RPDE feeds a city harvests (see opportunities/feeds/harvesting.py) ----------

harvest_feeds = Table(
    "harvest_feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2000), nullable=False),  # the feed's first page
    Column("organisation_id", Integer, ForeignKey("providers.id"), nullable=False),  # whose items they are
    Column("city_id", Integer, ForeignKey("cities.id"), nullable=False, index=True),  # whose leads manage it
    Column("license", String(2000), nullable=False),  # the licence's URL
    Column("attribution", String(300), nullable=False),  # "From <attribution>, <licence>" on Explore
    Column("next_url", String(2000), nullable=False),  # where the next harvest starts
    Column("created_at", _TZ, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id")),  # NULL: the command line
    # health: the last run, the last run that reached the end or a page cap without error, what it did
    Column("last_run_at", _TZ),
    Column("last_success_at", _TZ),
    Column("items_seen", Integer, nullable=False, default=0),  # items read by the last run
    Column("items_stored", Integer, nullable=False, default=0),  # opportunities stored, in total
    Column("items_rejected", Integer, nullable=False, default=0),  # items refused, in total (see harvested_items.problem)
    Column("last_error", Text, nullable=False, default=""),  # JSON of the reason ({"text", "values"}); "" when none
    Column("errors", Integer, nullable=False, default=0),  # runs that ended in an error, in a row
    Column("caught_up_at", _TZ),  # the last run that reached the feed's end (its last page)
    Column("lag_s", Float),  # how far behind the feed's end the harvest is, in seconds (0: caught up); NULL: never caught up
    Column("retry_after", _TZ),  # the feed asked to wait (503 and Retry-After) until then
    Column("gone_at", _TZ),  # the feed answered 410 Gone: no longer harvested
    # the lease: the replica harvesting the feed now, and until when its claim holds
    Column("lease_owner", String(64), nullable=False, default=""),
    Column("lease_until", _TZ),
)

# One row per upstream item ever seen: its last ``modified`` (an update only when newer), the
# opportunity it became (NULL when deleted upstream or refused) and why it was refused.
harvested_items = Table(
    "harvested_items",
    metadata,
    Column("feed_id", Integer, ForeignKey("harvest_feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", String(300), primary_key=True),  # the RPDE item's id (a deletion carries no data)
    Column("kind", String(100), nullable=False, default=""),
    Column("modified", BigInteger, nullable=False),  # RPDE's modified (a whole number, given or as text)
    Column("upstream_id", String(2000), nullable=False, default=""),  # the data's @id
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="SET NULL"), unique=True),
    Column("state", String(10), nullable=False),  # "updated" or "deleted"
    Column("problem", Text, nullable=False, default=""),  # JSON of the reason it was refused; "" when stored
    Column("harvested_at", _TZ, nullable=False),
)
