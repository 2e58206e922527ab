"""The learner's badge wallet in the browser: claiming with a code, and the "My badges" list.

Both are one ``st.components.v2`` component (``badge_wallet.js``): it runs in the app's own page,
so the browser's ``localStorage`` is the app origin's and ``fetch`` reaches ``POST /badges/claim``
on the same site. The server sees a claim (the code and a pseudonymous ``urn:uuid:`` made in the
browser) and nothing else: the credentials stay in this browser. The texts go to the script as data
and are set as text there, never as HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from opportunities.badges.achievements import achievement_url
from opportunities.badges.playlists import Playlist, Rule, RuleKind
from opportunities.i18n import topic_label, translator

_JS = (Path(__file__).with_name("badge_wallet.js")).read_text(encoding="utf-8")
_CSS = """
.col-badges { font-family: var(--st-font); color: var(--st-text-color); line-height: 1.5; }
.col-badges label { display: block; font-weight: 600; margin: 0.5rem 0 0.25rem; }
.col-row { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.col-badges input[type="text"] {
  font: inherit; font-size: 1.25rem; padding: 0.5rem 0.75rem; min-width: 12rem; flex: 1 1 12rem; max-width: 24rem;
  color: var(--st-text-color); background: var(--st-secondary-background-color);
  border: 1px solid var(--st-border-color); border-radius: var(--st-base-radius);
}
.col-badges button {
  font: inherit; padding: 0.5rem 1rem; min-height: 2.75rem; cursor: pointer; color: #ffffff; background: #c53948;
  border: 1px solid #c53948; border-radius: var(--st-button-radius, 0.5rem);
}
.col-badges button:disabled { opacity: 0.6; cursor: progress; }
.col-badges button.col-delete { color: var(--st-text-color); background: transparent; border-color: var(--st-border-color); }
.col-badges a { color: var(--st-link-color, var(--st-primary-color)); }
.col-status { margin-top: 0.75rem; }
.col-status.col-good, .col-status.col-bad, .col-warning {
  padding: 0.75rem 1rem; border-radius: var(--st-base-radius); border: 1px solid var(--st-border-color);
}
.col-status.col-good { border-left: 0.4rem solid #2e7d32; }
.col-status.col-bad { border-left: 0.4rem solid #c53948; }
.col-warning { border-left: 0.4rem solid #b26a00; }
.col-cards { list-style: none; padding: 0; margin: 0; display: grid; gap: 1rem; }
.col-card {
  display: flex; gap: 1rem; align-items: flex-start; padding: 1rem;
  border: 1px solid var(--st-border-color); border-radius: var(--st-base-radius);
}
.col-card img { flex: 0 0 auto; width: 96px; height: 96px; object-fit: contain; }
.col-card h3 { margin: 0 0 0.25rem; font-size: 1.2rem; }
.col-card h4 { margin: 0 0 0.25rem; font-size: 1.1rem; }
.col-playlists { margin-top: 1.5rem; }
.col-about { flex: 1 1 auto; min-width: 0; overflow-wrap: anywhere; }
.col-about p { margin: 0.25rem 0; }
.col-facts { font-size: 0.9rem; }
.col-actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.5rem 0; }
.col-name summary { cursor: pointer; padding: 0.25rem 0; }
.col-import { margin-top: 1rem; position: relative; }
.col-file { position: absolute; width: 1px; height: 1px; opacity: 0; overflow: hidden; }
.col-badges label.col-file-button {
  display: inline-block; font-weight: 400; padding: 0.5rem 1rem; min-height: 2.75rem; box-sizing: border-box; cursor: pointer;
  border: 1px solid var(--st-border-color); border-radius: var(--st-button-radius, 0.5rem);
}
.col-file:focus-visible + label.col-file-button { outline: 2px solid var(--st-primary-color); outline-offset: 2px; }
@media (max-width: 480px) { .col-card { flex-direction: column; } }
"""
_wallet = st.components.v2.component("col_badge_wallet", html="", css=_CSS, js=_JS)

# The wallet's address in the app (pages/my_badges.py), relative to the app's root.
WALLET_PATH = "my_badges"


def claim_texts(language: str) -> dict[str, str]:
    """What the claim form says, in ``language``."""
    _ = translator(language).gettext
    return {
        "codeLabel": _("Claim code"),
        "fromLink": _("Your badge is waiting: claim it into this browser."),
        "claim": _("Claim the badge"),
        "empty": _("Type the code you were given."),
        "working": _("Claiming…"),
        "claimed": _("“{name}” is now in your badges, in this browser."),
        "openWallet": _("Open My badges"),
        "refused": _("This code cannot be used. Check it and try again."),
        "tooMany": _("Too many tries. Wait a few minutes and try again."),
        "offline": _("The badge service does not answer. Try again in a minute."),
    }


def wallet_texts(language: str) -> dict[str, Any]:
    """What the wallet says, in ``language``."""
    _ = translator(language).gettext
    return {
        "check": _("Check it"),
        "working": _("Checking…"),
        "offline": _("The badge service does not answer. Try again in a minute."),
        "states": verdicts(language),
        "clearingLoses": _(
            "Your badges are kept only in this browser. Clearing the browser's data, or using another device, "
            "loses them unless you download them first."
        ),
        "empty": _("No badges in this browser yet. Claim one with the code you get at an activity."),
        "count": _("Badges in this browser: {count}"),
        "untitled": _("A badge"),
        "issuedBy": _("Issued by {issuer}"),
        "issuedOn": _("on {day}"),
        "validUntil": _("valid until {day}"),
        "yourName": _("Your name on your copy: {name}"),
        "downloadJson": _("Download (JSON)"),
        "downloadPng": _("Download (PNG image)"),
        "delete": _("Delete"),
        "confirmDelete": _("Delete “{name}” from this browser? Without a downloaded copy it is gone."),
        "addName": _("Add your name to your own copy"),
        "nameStays": _(
            "Your name stays on this device: it is shown here and drawn on the PNG you download, "
            "never sent to us and not part of the signed badge."
        ),
        "nameLabel": _("Your name"),
        "saveName": _("Save"),
        "exportAll": _("Download all (one JSON file)"),
        "importLabel": _("Add badges from a file you downloaded before"),
        "imported": _("Added: {count}"),
        "importFailed": _("That file holds no badge."),
        "playlists": _("Playlists your badges count towards"),
        "progress": _("Badges of this playlist in this browser: {have}; the rule asks for {need}."),
        "claimPlaylist": _("Claim the playlist badge"),
        "playlistHeld": _("You have this playlist's badge."),
        "mapLink": _("See its activities on the map"),
        "claimed": _("“{name}” is now in your badges, in this browser."),
        "refused": _("This code cannot be used. Check it and try again."),
        "tooMany": _("Too many tries. Wait a few minutes and try again."),
    }


def verdicts(language: str) -> dict[str, str]:
    """What a verification found, said plainly (the Verify page and the wallet's "Check it")."""
    _ = translator(language).gettext
    return {
        "valid": _("Valid: this badge was issued here and has not been changed."),
        "revoked": _("Revoked: the issuer withdrew this badge."),
        "expired": _("Expired: this badge was valid, but its time has passed."),
        "invalid": _("Not valid: this badge cannot be trusted."),
    }


def claim_form(language: str, *, code: str = "", token: str = "") -> None:
    """The claim form: the code (from a QR code's ``?code=``), or a mailed link's one-time
    ``token`` (claimed with one button, no code to type); the browser does the rest."""
    _wallet(
        key="badge_claim",
        data={"view": "claim", "lang": language, "code": code, "token": token, "texts": claim_texts(language),
              "walletUrl": f"{WALLET_PATH}?lang={language}"},
    )  # fmt: skip


def rule_text(rule: Rule, language: str) -> str:
    """A playlist's rule in words: "Any 3 of them", "One from each of: Arts, Science"."""
    _ = translator(language).gettext
    if rule.kind is RuleKind.ANY_N:
        return _("Any {n} of them").format(n=rule.count)
    return _("One from each of: {topics}").format(topics=", ".join(topic_label(t, language) for t in rule.topics))


def playlist_offers(found: list[Playlist], *, public_url: str, language: str) -> list[dict[str, Any]]:
    """What the wallet needs of each playlist: its words, its rule, how many badges it asks for and
    its members' achievement ids (as credentials carry them), to show progress in the browser."""
    return [
        {
            "id": playlist.id,
            "name": playlist.achievement.text(language).name,
            "description": playlist.achievement.text(language).description,
            "rule": rule_text(playlist.rule, language),
            "need": playlist.rule.count,
            "badge": achievement_url(public_url, playlist.achievement.id),
            "members": [achievement_url(public_url, member) for member in playlist.members],
        }
        for playlist in found
    ]


def wallet(language: str, offers: list[dict[str, Any]]) -> None:
    """The badges kept in this browser, with their downloads, and the playlists they count towards."""
    _wallet(key="badge_wallet", data={"view": "wallet", "lang": language, "texts": wallet_texts(language), "playlists": offers})
