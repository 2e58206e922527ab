"""The one place where settings are read: every setting, its default and its meaning.

Each setting comes from an environment variable. The defaults run the embedded set-up: an
SQLite file under ``data/``, the offline geocoder only, OpenStreetMap tiles.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opportunities.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Outside the repository: a key must not end up in a commit or in a copy of the code.
_BADGE_KEY_FILE = "~/.local/share/cities-of-learning/badge-issuer.key"
DEFAULT_BADGE_KEY_FILE = Path(_BADGE_KEY_FILE).expanduser()


@dataclass(frozen=True)
class Setting:
    """A documented setting: its environment variable, default and help text."""

    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the database. Empty: an SQLite file `opportunities.db` in DATA_DIR. "
        "PostgreSQL example: `postgresql+psycopg://user:pass@host/db`.",
    ),
    Setting("DATA_DIR", str(PROJECT_ROOT / "data"), "Folder for the SQLite file and rejected-rows files."),
    Setting(
        "CACHE_DIR",
        "",
        "Folder for the geocoder's compact gazetteer index (built once). Empty: `DATA_DIR/cache`.",
    ),
    Setting(
        "ADDRESS_INDEX_DIR",
        "",
        "Folder of the offline street-level address index that `python -m opportunities addresses load` "
        "builds (the demo loads its addresses there too). Empty: `DATA_DIR/addresses`.",
    ),
    Setting(
        "GEOCODER_ONLINE_URL",
        "",
        "Base URL of your own Nominatim server used after the offline gazetteer fails. Empty: "
        "no online geocoding (the default; no request leaves the machine).",
    ),
    Setting(
        "GEOCODER_USER_AGENT",
        "cities-of-learning-map",
        "User agent sent to the online geocoder (only used when GEOCODER_ONLINE_URL is set).",
    ),
    Setting(
        "TILE_URL",
        "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Map tile URL template. Tiles are the only map part loaded from outside; markers draw without them.",
    ),
    Setting(
        "TILE_ATTRIBUTION",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        "Attribution shown for the tile layer.",
    ),
    Setting("DEMO_SEED", "2026", "Seed of the demo data generator (an integer)."),
    Setting(
        "DATABASE_BUSY_TIMEOUT_S",
        "30",
        "Seconds a write to the SQLite file waits while another process writes, before the command "
        "stops with exit code 3 (the page shows an error). PostgreSQL writers queue without a limit.",
    ),
    Setting(
        "IMPORT_MAX_BYTES",
        str(10 * 1024 * 1024),
        "Largest CSV or XLSX file an import reads, in bytes; an XLSX may unpack to at most 10 times this.",
    ),
    Setting("IMPORT_MAX_ROWS", "50000", "Most rows of data one import file (or upload) may hold."),
    Setting("IMPORT_MAX_CELL_CHARS", "32767", "Longest cell an import reads (Excel's own limit); a longer one rejects its row."),
    Setting("PASSWORD_MIN_LENGTH", "12", "Fewest characters a password may have (common passwords are refused at any length)."),
    Setting("SESSION_HOURS", "24", "Hours a sign-in lasts (a page reload keeps it); then the person signs in again."),
    Setting(
        "SIGN_IN_MAX_FAILURES_PER_ACCOUNT",
        "5",
        "Failed sign-ins to one account within SIGN_IN_WINDOW_MINUTES before each further attempt waits, 1 minute, "
        "then 2, 4… up to the window (a client that signed in to it before is not held back).",
    ),
    Setting(
        "SIGN_IN_MAX_FAILURES_PER_CLIENT",
        "20",
        "Failed sign-ins from one client (network address) within SIGN_IN_WINDOW_MINUTES before it is refused.",
    ),
    Setting("SIGN_IN_WINDOW_MINUTES", "15", "The window, in minutes, over which failed sign-ins are counted."),
    Setting(
        "TRUSTED_PROXIES",
        "127.0.0.1",
        "Addresses or networks (comma-separated) of the reverse proxies whose X-Forwarded-For names the visitor, "
        "for the sign-in limits; * trusts any (only when nothing reaches the app but the proxy).",
    ),
    Setting("INVITATION_DAYS", "7", "Days an invitation link to join an organisation stays valid."),
    Setting("PASSWORD_RESET_MINUTES", "60", "Minutes a password-reset link stays valid (it works once)."),
    Setting(
        "SMTP_HOST",
        "",
        "Mail server for invitations, password resets and review results. Empty: mail stays in the outbox, "
        "which admins see on the Account page (they can copy the links).",
    ),
    Setting("SMTP_PORT", "587", "Port of the mail server."),
    Setting("SMTP_USERNAME", "", "User name at the mail server (empty: no login)."),
    Setting("SMTP_PASSWORD", "", "Password at the mail server."),
    Setting("SMTP_SECURITY", "starttls", "How the connection to the mail server is protected: `none`, `starttls` or `tls`."),
    Setting("MAIL_FROM", "", "Sender address of the mail. Empty: `noreply@` the SMTP_HOST."),
    Setting(
        "PUBLIC_URL",
        "http://localhost:8501",
        "Address where people open the app; links in mail (invitations, password resets) start with it.",
    ),
    Setting(
        "WARMUP_WAIT_S",
        "120",
        "Seconds the server waits, as it starts, for its warm-up (the database, the search index, the "
        "gazetteer, the geocoder) before it answers anyone, so no visitor waits for it; past it the port "
        "opens and the warm-up goes on behind (0: open at once; `/ready` says when it is done).",
    ),
    Setting(
        "INDEX_REFRESH_S",
        "1",
        "Seconds between two looks of the app for changed opportunities when PostgreSQL does not announce them "
        "(SQLite, INDEX_LISTEN false, or its connection down); a change is merged into the Explore search index in "
        "the background (0: never, the index stays as loaded).",
    ),
    Setting(
        "INDEX_LISTEN",
        "true",
        "On PostgreSQL, whether each app process listens for changes the database announces (LISTEN/NOTIFY) and "
        "merges them into its search index at once; it then looks by itself only every 30 s (or INDEX_REFRESH_S when "
        "longer). `false` behind a pooler that cannot pass notifications on (PgBouncer in transaction mode).",
    ),
    Setting(
        "INDEX_OVERLAP_S",
        "60",
        "Seconds before the newest change already merged from which changed rows are read again: covers "
        "writers whose clocks run behind, or that waited for the write lock after stamping a row. The OpenActive "
        "feeds likewise show a change once it is this old, so a feed never passes a row still being written.",
    ),
    Setting(
        "INDEX_REBUILD_S",
        "3600",
        "Seconds after which the next change rebuilds the search index whole (in the background), "
        "catching any change the merges could not see.",
    ),
    Setting(
        "FRESHNESS_MONTHS",
        "6",
        "Months after which a listing not confirmed as still running is flagged to its provider and the city lead.",
    ),
    Setting(
        "FEED_LICENSE",
        "https://creativecommons.org/licenses/by/4.0/",
        "URL of the licence of the open data feeds (OpenActive), stated on every feed page and on the dataset site.",
    ),
    Setting(
        "FEED_PUBLISHER",
        "Cities of Learning",
        "Name of the organisation that publishes the open data feeds, shown on the dataset site.",
    ),
    Setting(
        "FEED_CONTACT",
        "",
        "Where users of the open data feeds reach the publisher: an e-mail address or an https:// page. Empty: PUBLIC_URL.",
    ),
    Setting(
        "BADGE_KEY_FILE",
        _BADGE_KEY_FILE,
        "The issuer's Ed25519 private key that signs badges (PEM), created on first use with mode 0600 in a "
        "folder with mode 0700. Keep it outside the repository and in the backups; retired keys stay beside it.",
    ),
    Setting(
        "BADGE_ISSUER_DID",
        "key",
        "How badges name their issuer: `key` (did:key, the public key itself; verifiable offline by anyone) or "
        "`web` (did:web of PUBLIC_URL's host, its DID document served at /.well-known/did.json).",
    ),
    Setting(
        "BADGE_CLAIM_MAX_FAILURES_PER_CLIENT",
        "10",
        "Wrong, expired or used badge claim codes from one client (network address, stored hashed) within "
        "BADGE_CLAIM_WINDOW_MINUTES before its claims are refused for the rest of the window.",
    ),
    Setting(
        "BADGE_CLAIM_MAX_FAILURES",
        "1000",
        "Wrong badge claim codes from all clients together within BADGE_CLAIM_WINDOW_MINUTES before every claim "
        "by code is refused for the rest of the window (a guessing storm from many addresses).",
    ),
    Setting("BADGE_CLAIM_WINDOW_MINUTES", "15", "The window, in minutes, over which failed badge claims are counted."),
    Setting("BADGE_CLAIM_LINK_DAYS", "30", "Days a badge claim link sent by mail stays valid (it works once)."),
    Setting(
        "RATE_LIMIT_PER_MINUTE",
        "300",
        "Requests one client (network address) may make per minute to the public routes (feeds, APIs), in bursts of "
        "up to as many; beyond, a 429 with Retry-After. Counted per app process.",
    ),
    Setting(
        "RATE_LIMIT_COSTLY_PER_MINUTE",
        "30",
        "The same for the costly public routes (printable lists, calendar subscriptions), counted apart.",
    ),
    Setting(
        "RATE_LIMIT_CLIENTS",
        "10000",
        "Clients whose request counts each app process keeps; beyond, the longest unseen is forgotten.",
    ),
    Setting(
        "HARVEST_INTERVAL_S",
        "0",
        "Seconds between two harvests of the registered external feeds (OpenActive RPDE) by the running app, in a "
        "background thread (0: never; harvest with `python -m opportunities feeds harvest`, e.g. from cron). 900 is every 15 minutes.",
    ),
    Setting("HARVEST_MAX_PAGES", "50", "Most pages of one feed a harvest reads; the next harvest goes on from there."),
    Setting(
        "HARVEST_MAX_PAGE_BYTES",
        str(10 * 1024 * 1024),
        "Most bytes one page of an external feed may have; a larger page is refused (and stops being read at this size).",
    ),
    Setting(
        "HARVEST_TIMEOUT_S",
        "30",
        "Seconds one page of an external feed may take, redirects and a slow server included; each read waits at most 10 of them.",
    ),
    Setting(
        "HARVEST_ALLOW_PRIVATE",
        "false",
        "`true` lets feeds on private, loopback and link-local addresses be harvested (a feed on your own network, the "
        "tests). Otherwise they are refused, so a feed URL cannot reach the machine's own or its network's services.",
    ),
)
BADGE_ISSUER_DIDS = ("key", "web")
SMTP_SECURITY = ("none", "starttls", "tls")
# A wait longer than this is a hung process, not a busy database.
MAX_BUSY_TIMEOUT_S = 3600.0
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`load_settings`."""

    database_url: str
    data_dir: Path
    cache_dir: Path
    geocoder_online_url: str
    geocoder_user_agent: str
    tile_url: str
    tile_attribution: str
    demo_seed: int
    import_max_bytes: int
    import_max_rows: int
    import_max_cell_chars: int
    database_busy_timeout_s: float = 30.0
    address_dir: Path = PROJECT_ROOT / "data" / "addresses"
    password_min_length: int = 12
    session_hours: int = 24
    sign_in_max_failures_per_account: int = 5
    sign_in_max_failures_per_client: int = 20
    sign_in_window_minutes: int = 15
    trusted_proxies: str = "127.0.0.1"
    invitation_days: int = 7
    password_reset_minutes: int = 60
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: str = "starttls"
    mail_from: str = ""
    public_url: str = "http://localhost:8501"
    warmup_wait_s: float = 120.0
    index_refresh_s: float = 1.0
    index_listen: bool = True
    index_overlap_s: float = 60.0
    index_rebuild_s: float = 3600.0
    freshness_months: int = 6
    feed_license: str = "https://creativecommons.org/licenses/by/4.0/"
    feed_publisher: str = "Cities of Learning"
    feed_contact: str = "http://localhost:8501"
    badge_key_file: Path = DEFAULT_BADGE_KEY_FILE
    badge_issuer_did: str = "key"
    badge_claim_max_failures_per_client: int = 10
    badge_claim_max_failures: int = 1000
    badge_claim_window_minutes: int = 15
    badge_claim_link_days: int = 30
    rate_limit_per_minute: int = 300
    rate_limit_costly_per_minute: int = 30
    rate_limit_clients: int = 10000
    harvest_interval_s: float = 0.0
    harvest_max_pages: int = 50
    harvest_max_page_bytes: int = 10 * 1024 * 1024
    harvest_timeout_s: float = 30.0
    harvest_allow_private: bool = False


def _proxies(text: str) -> str:
    """TRUSTED_PROXIES checked: ``*`` or addresses and networks, as uvicorn's FORWARDED_ALLOW_IPS takes them."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if parts == ["*"]:
        return "*"
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise SettingsError(
                "TRUSTED_PROXIES", text, f"{part!r} is not an address or network such as 10.0.0.5 or 10.0.0.0/24"
            ) from None
    return ",".join(parts) or "127.0.0.1"


def _positive_int(values: Mapping[str, str], name: str) -> int:
    try:
        number = int(values[name].replace("_", ""))
    except ValueError:
        raise SettingsError(name, values[name], "expected a whole number") from None
    if number < 1:
        raise SettingsError(name, values[name], "expected a number above 0")
    return number


def _seconds(values: Mapping[str, str], name: str) -> float:
    try:
        seconds = float(values[name])
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= 7 * 24 * 3600:  # NaN too
        raise SettingsError(name, values[name], "expected seconds from 0 to 604800 (a week)")
    return seconds


def _flag(values: Mapping[str, str], name: str) -> bool:
    text = values[name].lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise SettingsError(name, values[name], "expected true or false")
    return text in ("true", "1", "yes")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``environ`` (default: the process environment).

    Raises :class:`SettingsError` naming the variable when a value is unusable.
    """
    env = os.environ if environ is None else environ
    values = {s.name: env.get(s.name, "").strip() or s.default for s in SETTINGS}

    data_dir = Path(values["DATA_DIR"]).expanduser()
    cache_dir = Path(values["CACHE_DIR"]).expanduser() if values["CACHE_DIR"] else data_dir / "cache"
    address_dir = Path(values["ADDRESS_INDEX_DIR"]).expanduser() if values["ADDRESS_INDEX_DIR"] else data_dir / "addresses"
    database_url = values["DATABASE_URL"] or f"sqlite:///{data_dir / 'opportunities.db'}"
    if "://" not in database_url:
        raise SettingsError("DATABASE_URL", database_url, "expected a URL such as sqlite:///path/to/file.db")
    online = values["GEOCODER_ONLINE_URL"]
    if online and not online.startswith(("http://", "https://")):
        raise SettingsError("GEOCODER_ONLINE_URL", online, "expected an http:// or https:// URL")
    tile_url = values["TILE_URL"]
    if not all(part in tile_url for part in ("{z}", "{x}", "{y}")):
        raise SettingsError("TILE_URL", tile_url, "a tile URL needs {z}, {x} and {y} placeholders")
    try:
        seed = int(values["DEMO_SEED"])
    except ValueError:
        raise SettingsError("DEMO_SEED", values["DEMO_SEED"], "expected an integer") from None
    try:
        busy_timeout = float(values["DATABASE_BUSY_TIMEOUT_S"])
    except ValueError:
        busy_timeout = math.nan
    if not 0 <= busy_timeout <= MAX_BUSY_TIMEOUT_S:  # NaN too
        raise SettingsError(
            "DATABASE_BUSY_TIMEOUT_S", values["DATABASE_BUSY_TIMEOUT_S"], f"expected seconds from 0 to {MAX_BUSY_TIMEOUT_S:g}"
        )
    security = values["SMTP_SECURITY"].lower()
    if security not in SMTP_SECURITY:
        raise SettingsError("SMTP_SECURITY", values["SMTP_SECURITY"], "expected none, starttls or tls")
    public_url = values["PUBLIC_URL"].rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise SettingsError("PUBLIC_URL", values["PUBLIC_URL"], "expected an http:// or https:// URL")
    feed_license = values["FEED_LICENSE"]
    if not feed_license.startswith(("http://", "https://")):
        raise SettingsError("FEED_LICENSE", feed_license, "expected the licence's http:// or https:// URL")
    feed_contact = values["FEED_CONTACT"] or public_url
    if not (feed_contact.startswith(("http://", "https://")) or _EMAIL.fullmatch(feed_contact)):
        raise SettingsError("FEED_CONTACT", feed_contact, "expected an e-mail address or an http:// or https:// URL")
    badge_issuer_did = values["BADGE_ISSUER_DID"].lower()
    if badge_issuer_did not in BADGE_ISSUER_DIDS:
        raise SettingsError("BADGE_ISSUER_DID", values["BADGE_ISSUER_DID"], "expected key or web")
    return Settings(
        badge_key_file=Path(values["BADGE_KEY_FILE"]).expanduser(),
        badge_issuer_did=badge_issuer_did,
        feed_license=feed_license,
        feed_publisher=values["FEED_PUBLISHER"],
        feed_contact=feed_contact,
        badge_claim_max_failures_per_client=_positive_int(values, "BADGE_CLAIM_MAX_FAILURES_PER_CLIENT"),
        badge_claim_max_failures=_positive_int(values, "BADGE_CLAIM_MAX_FAILURES"),
        badge_claim_window_minutes=_positive_int(values, "BADGE_CLAIM_WINDOW_MINUTES"),
        badge_claim_link_days=_positive_int(values, "BADGE_CLAIM_LINK_DAYS"),
        rate_limit_per_minute=_positive_int(values, "RATE_LIMIT_PER_MINUTE"),
        rate_limit_costly_per_minute=_positive_int(values, "RATE_LIMIT_COSTLY_PER_MINUTE"),
        rate_limit_clients=_positive_int(values, "RATE_LIMIT_CLIENTS"),
        password_min_length=_positive_int(values, "PASSWORD_MIN_LENGTH"),
        session_hours=_positive_int(values, "SESSION_HOURS"),
        sign_in_max_failures_per_account=_positive_int(values, "SIGN_IN_MAX_FAILURES_PER_ACCOUNT"),
        sign_in_max_failures_per_client=_positive_int(values, "SIGN_IN_MAX_FAILURES_PER_CLIENT"),
        sign_in_window_minutes=_positive_int(values, "SIGN_IN_WINDOW_MINUTES"),
        trusted_proxies=_proxies(values["TRUSTED_PROXIES"]),
        invitation_days=_positive_int(values, "INVITATION_DAYS"),
        password_reset_minutes=_positive_int(values, "PASSWORD_RESET_MINUTES"),
        smtp_host=values["SMTP_HOST"],
        smtp_port=_positive_int(values, "SMTP_PORT"),
        smtp_username=values["SMTP_USERNAME"],
        smtp_password=values["SMTP_PASSWORD"],
        smtp_security=security,
        mail_from=values["MAIL_FROM"] or (f"noreply@{values['SMTP_HOST']}" if values["SMTP_HOST"] else "noreply@localhost"),
        public_url=public_url,
        freshness_months=_positive_int(values, "FRESHNESS_MONTHS"),
        database_url=database_url,
        data_dir=data_dir,
        cache_dir=cache_dir,
        address_dir=address_dir,
        geocoder_online_url=online,
        geocoder_user_agent=values["GEOCODER_USER_AGENT"],
        tile_url=tile_url,
        tile_attribution=values["TILE_ATTRIBUTION"],
        demo_seed=seed,
        database_busy_timeout_s=busy_timeout,
        import_max_bytes=_positive_int(values, "IMPORT_MAX_BYTES"),
        import_max_rows=_positive_int(values, "IMPORT_MAX_ROWS"),
        import_max_cell_chars=_positive_int(values, "IMPORT_MAX_CELL_CHARS"),
        warmup_wait_s=_seconds(values, "WARMUP_WAIT_S"),
        index_refresh_s=_seconds(values, "INDEX_REFRESH_S"),
        index_listen=_flag(values, "INDEX_LISTEN"),
        index_overlap_s=_seconds(values, "INDEX_OVERLAP_S"),
        index_rebuild_s=_seconds(values, "INDEX_REBUILD_S"),
        harvest_interval_s=_seconds(values, "HARVEST_INTERVAL_S"),
        harvest_max_pages=_positive_int(values, "HARVEST_MAX_PAGES"),
        harvest_max_page_bytes=_positive_int(values, "HARVEST_MAX_PAGE_BYTES"),
        harvest_timeout_s=max(_seconds(values, "HARVEST_TIMEOUT_S"), 0.1),
        harvest_allow_private=_flag(values, "HARVEST_ALLOW_PRIVATE"),
    )
