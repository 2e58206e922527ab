from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from cli.commands import main
from opportunities.db import connection
from opportunities.db.schema import audit_log, cities
from tests.conftest import DATA, sqlite_only


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def write_csv(path: Path, rows: list[str]) -> Path:
    header = "title,provider,city,country,address,latitude,longitude,topics,age_min,age_max,mode,type,start,cost,currency"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


GOOD = "Robotika,MC Kranj,Kranj,SI,,46.2400,14.3600,digital-skills,13,17,in-person,workshop,2026-12-10,free,"


def test_import_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(write_csv(tmp_path / "ok.csv", [GOOD])), "--publish"]) == 0
    assert "stored 1, rejected 0, duplicates 0" in capsys.readouterr().out

    messy = Path(shutil.copy(DATA / "messy_import.csv", tmp_path / "messy.csv"))
    rejects = tmp_path / "out" / "rejects.csv"
    assert main(["import", str(messy), "--rejects", str(rejects)]) == 1
    captured = capsys.readouterr()
    assert "stored 4, rejected 6, duplicates 1" in captured.out
    assert "Row 3: Youngest age (age_min): This is required." in captured.err
    assert rejects.exists()

    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe garbage")
    assert main(["import", str(tmp_path / "bad.csv")]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing.csv")]) == 2


def test_an_import_is_in_the_audit_log_as_an_upload_from_the_app_is(tmp_path: Path, database: str) -> None:
    second = GOOD.replace("Robotika", "Kemija")
    other_city = GOOD.replace("Robotika", "Šah").replace("Kranj,SI,,46.2400,14.3600", "Maribor,SI,,46.5547,15.6459")
    assert main(["import", str(write_csv(tmp_path / "term.csv", [GOOD, second, other_city])), "--publish"]) == 0
    engine = connection.open_database(database)
    with engine.connect() as conn:
        logged = conn.execute(
            select(audit_log.c.actor_label, audit_log.c.action, audit_log.c.note, audit_log.c.after, cities.c.name)
            .join(cities, cities.c.id == audit_log.c.city_id)
            .order_by(cities.c.name)
        ).all()
    engine.dispose()
    assert [(r.actor_label, r.action, r.note, r.name, json.loads(r.after)["status"], len(json.loads(r.after)["ids"]))
            for r in logged] == [("command line", "upload", "term.csv", "Kranj", "published", 2),
                                 ("command line", "upload", "term.csv", "Maribor", "published", 1)]  # fmt: skip


def test_search_prints_json_lines_nearest_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    far = GOOD.replace("Robotika", "Far club").replace("46.2400,14.3600", "46.2800,14.4000")
    pending = GOOD.replace("Robotika", "Pending")
    main(["import", str(write_csv(tmp_path / "a.csv", [far, GOOD])), "--publish"])
    main(["import", str(write_csv(tmp_path / "b.csv", [pending]))])
    capsys.readouterr()
    assert (
        main(["search", "--near", "46.2389,14.3556", "--radius-km", "10", "--topic", "digital-skills", "--age", "15", "--free"])
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [item["title"] for item in lines] == ["Robotika", "Far club"]
    assert lines[0]["distance_km"] < lines[1]["distance_km"]


def test_search_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["search", "--near", "north"])
    assert caught.value.code == 2
    assert main(["search", "--radius-km", "-1", "--near", "46,14"]) == 2
    assert "radius_km" in capsys.readouterr().err


def test_geocode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["geocode", "Göteborg", "--country", "SE"]) == 0
    lat, lon, precision, source = capsys.readouterr().out.split()
    assert (round(float(lat), 2), round(float(lon), 2), precision) == (57.71, 11.97, "locality")
    assert source.startswith("geonames:")
    assert main(["geocode", "Xyzzyville", "--country", "SE"]) == 1
    assert "no place or postcode" in capsys.readouterr().err


def test_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["import", str(write_csv(tmp_path / "ok.csv", [GOOD]))])
    out = tmp_path / "o.geojson"
    assert main(["export", "--format", "geojson", str(out), "--status", "pending"]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 1
    assert main(["export", "--format", "csv", str(tmp_path / "none.csv"), "--status", "published"]) == 0
    assert "exported 0" in capsys.readouterr().out


def test_bad_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DEMO_SEED", "abc")
    assert main(["geocode", "Kranj"]) == 2
    assert "DEMO_SEED" in capsys.readouterr().err


# --- every failure: a message and a documented exit code, never a traceback ---------------

NAN_AGE = GOOD.replace("Robotika", "Nan club").replace(",13,17,", ",nan,17,")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of one command, checked to hold no traceback."""
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.out, captured.err


def published_titles(database_url: str) -> list[str]:
    from opportunities.db.connection import open_database
    from opportunities.explore.search import SearchQuery, search

    engine = open_database(database_url)
    try:
        with engine.connect() as conn:
            return sorted(o.title for o in search(conn, SearchQuery(limit=100)))
    finally:
        engine.dispose()


def test_a_nan_age_rejects_its_row_only(tmp_path: Path, capsys: pytest.CaptureFixture[str], database: str) -> None:
    code, out, err = run(["import", str(write_csv(tmp_path / "nan.csv", [NAN_AGE, GOOD])), "--publish"], capsys)
    assert code == 1
    assert "Row 2: Youngest age (age_min): 'nan' is not a number" in err
    assert "stored 1, rejected 1" in out
    assert published_titles(database) == ["Robotika"]


def test_a_cell_past_the_csv_field_limit_rejects_its_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Past the csv module's own 128 KiB field limit, which used to end the command in a traceback.
    big = GOOD.replace("Robotika", "x" * (128 * 1024 + 1))
    code, out, err = run(["import", str(write_csv(tmp_path / "big.csv", [big]))], capsys)
    assert code == 1
    assert "Traceback" not in err and "more than the 32,767 a cell may hold" in err
    assert out.startswith("stored 0, rejected 1")


@sqlite_only  # PostgreSQL writers queue without a limit
def test_a_busy_database_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   database: str) -> None:  # fmt: skip
    import sqlite3
    import time

    from sqlalchemy.engine import make_url

    from opportunities.db.connection import open_database

    open_database(database).dispose()
    monkeypatch.setenv("DATABASE_BUSY_TIMEOUT_S", "0.2")
    holder = sqlite3.connect(str(make_url(database).database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's import, still writing
    try:
        started = time.monotonic()
        code, _, err = run(["import", str(write_csv(tmp_path / "ok.csv", [GOOD])), "--publish"], capsys)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 3
    assert "error: the database could not be used (database is locked)" in err
    assert waited < 10  # the setting, not the 30 s default
    assert published_titles(database) == []
    assert main(["import", str(tmp_path / "ok.csv"), "--publish"]) == 0  # free again: it works


def test_an_unreachable_or_foreign_database_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    code, _, err = run(["search"], capsys)
    assert code == 3
    assert err.startswith("error: the database could not be used (")
    (tmp_path / "notes.txt").write_text("not a database\n" * 100, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'notes.txt'}")
    code, _, err = run(["search"], capsys)
    assert code == 3
    assert "file is not a database" in err


def test_rejects_never_overwrite_the_file_being_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         database: str) -> None:  # fmt: skip
    source = write_csv(tmp_path / "mine.csv", [NAN_AGE, GOOD])
    before = source.read_bytes()
    code, out, err = run(["import", str(source), "--publish", "--rejects", str(tmp_path / "." / "mine.csv")], capsys)
    assert code == 2
    assert err == "error: the rejected rows would overwrite mine.csv itself; name another file for them\n"
    assert source.read_bytes() == before and out == ""
    assert published_titles(database) == []


def test_an_unwritable_rejects_path_stops_before_importing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           database: str) -> None:  # fmt: skip
    # Tests run as root, which may write anywhere chmod forbids: a folder below a file cannot exist.
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    rejects = tmp_path / "file.txt" / "sub" / "rejects.csv"
    code, out, err = run(
        ["import", str(write_csv(tmp_path / "nan.csv", [NAN_AGE, GOOD])), "--publish", "--rejects", str(rejects)], capsys
    )
    assert code == 4
    assert f"error: cannot use {tmp_path / 'file.txt' / 'sub'}: Not a directory" in err
    assert out == ""
    assert published_titles(database) == []  # nothing imported: run again with another --rejects


def test_rejects_that_fail_after_the_commit_keep_the_summary_and_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: str
) -> None:
    # /dev/full opens, then every write fails with "No space left on device", as a full disk does.
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run(
        ["import", str(write_csv(tmp_path / "nan.csv", [NAN_AGE, GOOD])), "--publish", "--rejects", "/dev/full"], capsys
    )
    assert code == 4
    assert "stored 1, rejected 1, duplicates 0" in out
    assert "Row 2: Youngest age (age_min): 'nan' is not a number" in err
    assert "error: the rejected rows could not be written: /dev/full: No space left on device" in err
    assert published_titles(database) == ["Robotika"]
    assert list((tmp_path / "cache" / "search-index").glob("*.npz"))  # refreshed after the commit


@pytest.mark.parametrize("setting", ["DATA_DIR", "CACHE_DIR"])
def test_unwritable_data_and_cache_folders_are_exit_4(setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    monkeypatch.delenv("DATABASE_URL")  # the SQLite file in DATA_DIR
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(setting, str(tmp_path / "file.txt" / "sub"))
    code, _, err = run(["import", str(write_csv(tmp_path / "ok.csv", [GOOD]))], capsys)
    assert code == 4
    assert f"error: cannot use {tmp_path / 'file.txt' / 'sub'}" in err
    assert "Not a directory" in err


def test_export_and_map_to_an_unwritable_path_are_exit_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    for fmt in ("csv", "geojson", "parquet"):
        code, out, err = run(["export", "--format", fmt, str(tmp_path / "file.txt" / f"out.{fmt}")], capsys)
        assert code == 4, fmt
        assert f"error: cannot use {tmp_path / 'file.txt'}" in err
        assert out == ""
    code, out, err = run(["map", str(tmp_path / "file.txt" / "map.html")], capsys)
    assert code == 4
    assert f"error: cannot use {tmp_path / 'file.txt'}" in err


def test_a_missing_or_unreadable_import_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["import", str(tmp_path / "missing.csv")], capsys)
    assert (code, err) == (2, f"error: {tmp_path / 'missing.csv'} does not exist\n")
    (tmp_path / "folder.csv").mkdir()
    code, _, err = run(["import", str(tmp_path / "folder.csv")], capsys)
    assert code in (2, 4)
    assert "folder.csv" in err


def test_not_a_number_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["search", "--near", "nan,14"], ["search", "--near", "46,14", "--radius-km", "inf"], ["demo", "--size", "-5"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
        assert "is not" in capsys.readouterr().err


def test_an_unexpected_error_is_exit_70_and_ctrl_c_is_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    main(["import", str(write_csv(tmp_path / "ok.csv", [GOOD])), "--publish"])
    capsys.readouterr()

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the library broke")

    # The JSON library stands in for any third-party failure nobody foresaw.
    monkeypatch.setattr(json, "dumps", broken)
    code, _, err = run(["search"], capsys)
    assert code == 70
    assert err == "error: internal error (RuntimeError: the library broke); please report this with the command you ran\n"

    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dumps", interrupted)
    code, _, err = run(["search"], capsys)
    assert (code, err) == (130, "interrupted\n")


def test_archive_ended_archives_what_has_passed_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database: str
) -> None:
    from sqlalchemy import select

    from opportunities.db.connection import open_database
    from opportunities.db.schema import opportunities

    past = GOOD.replace("Robotika", "Robotika 2020").replace("2026-12-10", "2020-03-01")
    future = GOOD.replace("2026-12-10", "2030-12-10")
    assert main(["import", str(write_csv(tmp_path / "a.csv", [past, future])), "--publish"]) == 0
    capsys.readouterr()
    assert main(["archive-ended"]) == 0
    assert "1 ended listings archived" in capsys.readouterr().out
    engine = open_database(database)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(opportunities.c.title, opportunities.c.archive_reason)).all())
    engine.dispose()
    assert rows == {"Robotika 2020": "ended", "Robotika": ""}
    assert main(["archive-ended"]) == 0
    assert "0 ended listings archived" in capsys.readouterr().out
