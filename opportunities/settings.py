"""The one place where settings are read: every setting, its default and its meaning.

Each setting comes from an environment variable. The defaults run the embedded set-up: an
SQLite file under ``data/``, the offline geocoder only, OpenStreetMap tiles.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opportunities.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        str(50 * 1024 * 1024),
        "Largest CSV or XLSX file an import reads, in bytes; an XLSX may unpack to at most 10 times this.",
    ),
    Setting("IMPORT_MAX_ROWS", "200000", "Most rows of data one import file may hold."),
    Setting("IMPORT_MAX_CELL_CHARS", "32767", "Longest cell an import reads (Excel's own limit); a longer one rejects its row."),
    Setting(
        "INDEX_REFRESH_S",
        "1",
        "Seconds between two looks of the app for changed opportunities; a change is merged into the "
        "Explore search index in the background (0: never, the index stays as loaded).",
    ),
    Setting(
        "INDEX_OVERLAP_S",
        "60",
        "Seconds before the newest change already merged from which changed rows are read again: covers "
        "writers whose clocks run behind, or that waited for the write lock after stamping a row.",
    ),
    Setting(
        "INDEX_REBUILD_S",
        "3600",
        "Seconds after which the next change rebuilds the search index whole (in the background), "
        "catching any change the merges could not see.",
    ),
)
# A wait longer than this is a hung process, not a busy database.
MAX_BUSY_TIMEOUT_S = 3600.0


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
    index_refresh_s: float = 1.0
    index_overlap_s: float = 60.0
    index_rebuild_s: float = 3600.0


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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``environ`` (default: the process environment).

    Raises :class:`SettingsError` naming the variable when a value is unusable.
    """
    env = os.environ if environ is None else environ
    values = {s.name: env.get(s.name, "").strip() or s.default for s in SETTINGS}

    data_dir = Path(values["DATA_DIR"]).expanduser()
    cache_dir = Path(values["CACHE_DIR"]).expanduser() if values["CACHE_DIR"] else data_dir / "cache"
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
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        cache_dir=cache_dir,
        geocoder_online_url=online,
        geocoder_user_agent=values["GEOCODER_USER_AGENT"],
        tile_url=tile_url,
        tile_attribution=values["TILE_ATTRIBUTION"],
        demo_seed=seed,
        database_busy_timeout_s=busy_timeout,
        import_max_bytes=_positive_int(values, "IMPORT_MAX_BYTES"),
        import_max_rows=_positive_int(values, "IMPORT_MAX_ROWS"),
        import_max_cell_chars=_positive_int(values, "IMPORT_MAX_CELL_CHARS"),
        index_refresh_s=_seconds(values, "INDEX_REFRESH_S"),
        index_overlap_s=_seconds(values, "INDEX_OVERLAP_S"),
        index_rebuild_s=_seconds(values, "INDEX_REBUILD_S"),
    )
