"""The browser wallet's own logic (ui/badge_wallet.js) run in Node: a PNG baked in the browser is
one our Python reads back (opportunities.badges.baking), byte for byte the credential, with valid
chunk checksums; and the wallet's texts exist in every language."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from opportunities.badges.baking import unbake_png
from opportunities.i18n import LANGUAGES
from ui.badge_wallet import claim_texts, verdicts, wallet_texts

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ui" / "badge_wallet.js"
# A 1 x 1 white PNG (IHDR, IDAT, IEND).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4f60000000049454e44ae426082"
)
BAKE = """
import { bakePng, crc32 } from %s;
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const { png, credential } = JSON.parse(input);
  const baked = bakePng(Uint8Array.from(Buffer.from(png, "base64")), credential);
  process.stdout.write(JSON.stringify({ baked: Buffer.from(baked).toString("base64"), crc: crc32(Buffer.from("IEND")) }));
});
"""


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is needed to run the wallet's script")
    return found


@pytest.mark.parametrize("name", ["Kodklubb", "Šahovski krožek ✓", 'quote " and </script>'])
def test_a_png_baked_in_the_browser_is_read_back_by_the_server(name: str, tmp_path: Path) -> None:
    credential = json.dumps({"id": "urn:uuid:00000000-0000-4000-8000-000000000000", "name": name}, ensure_ascii=False)
    script = tmp_path / "bake.mjs"
    script.write_text(BAKE % json.dumps(SCRIPT.as_uri()), encoding="utf-8")
    request = json.dumps({"png": base64.b64encode(PNG).decode(), "credential": credential})
    done = subprocess.run([node(), str(script)], input=request, capture_output=True, text=True, check=True, timeout=60)
    answer = json.loads(done.stdout)
    assert answer["crc"] == zlib.crc32(b"IEND")
    baked = base64.b64decode(answer["baked"])
    assert unbake_png(baked) == credential  # every chunk's CRC is checked on the way
    assert baked.startswith(PNG[:33]) and baked.endswith(PNG[33:])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_wallet_speaks_every_language(language: str) -> None:
    english = {**claim_texts("en"), **wallet_texts("en")}
    for texts in (claim_texts(language), wallet_texts(language), {"states": verdicts(language)}):
        flat = {**texts, **texts.get("states", {})}
        flat.pop("states", None)
        assert all(isinstance(v, str) and v.strip() for v in flat.values())
        if language != "en":
            english_flat = {**english, **english["states"]}
            untranslated = [k for k, v in flat.items() if v == english_flat[k]]
            assert not untranslated, untranslated
