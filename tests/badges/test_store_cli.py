"""``badges list``, ``badges award`` and ``badges revoke``: what they print, write and exit with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.commands import main
from tests.badges.store import SUBJECT, make_badges
from tests.conftest import World


def test_list_award_and_revoke(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    badges = make_badges(world, tmp_path)
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("BADGE_KEY_FILE", str(tmp_path / "keys" / "badge-issuer.key"))
    monkeypatch.setenv("PUBLIC_URL", "https://map.example.org")
    assert main(["badges", "list", "--city", "Kranj"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [f"{badges.robotics}\tpublished\tactivity\tKranj\tCode club\tissued 0, revoked 0"]

    out = tmp_path / "badge.json"
    assert main(["badges", "award", str(badges.robotics), "--subject", SUBJECT, "--out", str(out)]) == 0
    credential = json.loads(out.read_text(encoding="utf-8"))
    assert badges.verify(credential, datetime.now(UTC)).valid and credential["credentialSubject"]["id"] == SUBJECT
    assert main(["badges", "award", str(badges.robotics), "--subject", SUBJECT, "--out", str(out)]) == 2  # no overwrite
    assert "exists already" in capsys.readouterr().err
    # `badges verify` checks the deployment's own revocation list, read from its database.
    assert main(["badges", "verify", str(out)]) == 0
    assert capsys.readouterr().out.startswith("valid\n")

    assert main(["badges", "revoke", credential["id"], "--reason", "awarded to the wrong learner"]) == 0
    assert "revoked urn:uuid:" in capsys.readouterr().out
    assert badges.verify(credential, datetime.now(UTC)).state == "revoked"
    assert main(["badges", "verify", str(out)]) == 1
    assert capsys.readouterr().out.startswith("revoked\n")
    assert main(["badges", "revoke", credential["id"], "--reason", "again"]) == 2
    assert capsys.readouterr().err == "error: This badge was revoked already.\n"
    assert main(["badges", "list", "--city", "Kranj"]) == 0
    assert capsys.readouterr().out.endswith("issued 1, revoked 1\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--subject", "ana@example.org", "--out", "x.json"], "identifier made by your browser"),
        (["--subject", SUBJECT], "--subject needs --out FILE"),
        (["--emails", "list.csv"], "No mail server is set up"),
    ],
)
def test_award_refuses_with_a_reason(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], message: str) -> None:  # fmt: skip
    badges = make_badges(world, tmp_path)
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("BADGE_KEY_FILE", str(tmp_path / "keys" / "badge-issuer.key"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "list.csv").write_text("ana@example.org,sv\n", encoding="utf-8")
    assert main(["badges", "award", str(badges.code_club), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
