from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opportunities.cli import main
from tests.conftest import DATA


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
    assert "row 3: age_min: is required" in captured.err
    assert rejects.exists()

    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe garbage")
    assert main(["import", str(tmp_path / "bad.csv")]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing.csv")]) == 2


def test_search_prints_json_lines_nearest_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    far = GOOD.replace("Robotika", "Far club").replace("46.2400,14.3600", "46.2800,14.4000")
    pending = GOOD.replace("Robotika", "Pending")
    main(["import", str(write_csv(tmp_path / "a.csv", [far, GOOD])), "--publish"])
    main(["import", str(write_csv(tmp_path / "b.csv", [pending]))])
    capsys.readouterr()
    assert main(["search", "--near", "46.2389,14.3556", "--radius-km", "10", "--topic", "digital-skills", "--age", "15", "--free"]) == 0
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
