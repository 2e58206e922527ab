"""``badges keys`` and ``badges verify``: what they print and their exit codes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from cli.commands import main
from tests.badges.conftest import LIST_URL, NOW, Issued


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch, key_path: Path) -> Path:
    monkeypatch.setenv("BADGE_KEY_FILE", str(key_path))
    return key_path


def test_keys_creates_then_shows_then_rotates(key_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["badges", "keys"]) == 0
    first = capsys.readouterr().out
    assert "(created)" in first and "issuer: did:key:z6Mk" in first
    assert stat.S_IMODE(key_env.stat().st_mode) == 0o600
    assert main(["badges", "keys"]) == 0
    assert capsys.readouterr().out == first.replace(" (created)", "")
    assert main(["badges", "keys", "--rotate"]) == 0
    rotated = capsys.readouterr().out
    assert "retired (still verifies)" in rotated
    assert first.splitlines()[1] not in rotated.splitlines()[1]


def test_keys_as_did_web(key_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BADGE_ISSUER_DID", "web")
    monkeypatch.setenv("PUBLIC_URL", "https://map.example.org")
    assert main(["badges", "keys"]) == 0
    assert "issuer: did:web:map.example.org\n" in capsys.readouterr().out


def test_a_bad_key_file_is_a_message_not_a_traceback(key_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_env.parent.mkdir(parents=True)
    key_env.write_text("not a key")
    assert main(["badges", "keys"]) == 2
    assert "cannot be used: not a PEM private key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "code", "first_line"),
    [
        ("activity badge", 0, "valid"),
        ("revoked", 1, "revoked"),
        ("expired", 1, "expired"),
        ("tampered", 1, "invalid"),
    ],
)
def test_verify_prints_the_state_and_exits_0_only_when_valid(
    issued: Issued, key_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, code: int, first_line: str
) -> None:
    credential = tmp_path / "badge.json"
    credential.write_text(json.dumps(issued.credentials[kind]))
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(issued.status_lists[LIST_URL]))
    now = NOW.isoformat()
    assert main(["badges", "verify", str(credential), "--status-list", str(listed), "--now", now]) == code
    out = capsys.readouterr().out
    assert out.splitlines()[0] == first_line
    assert "achievement: Robotics club" in out
    assert main(["badges", "verify", str(credential), "--status-list", str(listed), "--now", now, "--json"]) == code
    assert json.loads(capsys.readouterr().out)["state"] == first_line


def test_verify_without_the_revocation_list_cannot_say_valid(
    issued: Issued, key_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credential = tmp_path / "badge.json"
    credential.write_text(json.dumps(issued.credentials["activity badge"]))
    assert main(["badges", "verify", str(credential), "--now", NOW.isoformat()]) == 1
    assert "could not be read, so revocation cannot be checked" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "code", "said"),
    [(b"{not json", 1, "not JSON"), (b"\x89PNG\r\n\x1a\n", 1, "holds no credential"), (None, 4, "No such file")],
)
def test_verify_files_that_are_not_badges(
    key_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, code: int, said: str
) -> None:
    path = tmp_path / "file"
    if content is not None:
        path.write_bytes(content)
    assert main(["badges", "verify", str(path)]) == code
    captured = capsys.readouterr()
    assert said in captured.out + captured.err
    assert "Traceback" not in captured.err


def test_keys_warns_about_a_key_others_can_read(key_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["badges", "keys"]) == 0
    assert "warning" not in capsys.readouterr().err
    key_env.chmod(0o644)
    assert main(["badges", "keys"]) == 0
    assert "warning: the key can be read or replaced by others: the file has mode 0644" in capsys.readouterr().err


def test_verify_a_jwt_file(issued: Issued, key_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opportunities.badges.jose import to_vc_jwt

    token = tmp_path / "badge.jwt"
    token.write_text(to_vc_jwt(issued.credentials["playlist badge"], issued.key) + "\n")
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(issued.status_lists[LIST_URL]))
    assert main(["badges", "verify", str(token), "--status-list", str(listed), "--now", NOW.isoformat()]) == 0
    assert "achievement: City Explorer" in capsys.readouterr().out
