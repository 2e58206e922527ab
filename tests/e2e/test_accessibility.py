"""Accessibility of the Explore page, checked by axe-core in headless Chromium.

axe-core (the npm package in ``package.json``) is injected into the page and into the map's
iframe, and run with the WCAG 2.1 A and AA rules on the page as a visitor sees it: the map, a
result list, then the detail dialog open. Light and dark system themes, desktop and phone widths.
Serious and critical violations fail the test; minor and moderate ones are printed.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from opportunities.vocabulary import topic_label
from tests.browser import require_axe
from tests.e2e.conftest import AppServer
from tests.e2e.test_explore import MAP_FRAME, first_card, map_frame, open_explore, settle

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = frozenset({"serious", "critical"})

_RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"], iframes: false});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 160), summary: n.failureSummary}))
    }));
}"""


def axe_violations(page: Page, *, with_map: bool = True) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 AA violations in the page and in each of its frames (the map's among them,
    which must be there unless ``with_map`` is False).

    axe runs in every frame on its own (Streamlit's component frames do not answer axe's
    cross-frame messages), and each violation says which frame it is in.
    """
    script = require_axe()
    violations: list[dict[str, Any]] = []
    frames = [frame for frame in page.frames if not frame.is_detached() and frame.url.startswith("http")]
    assert not with_map or any("st_folium" in frame.url for frame in frames), "the map's frame is not on the page"
    for frame in frames:
        frame.add_script_tag(path=str(script))
        where = "page" if frame == page.main_frame else frame.url.split("?")[0].rsplit("/", 2)[-2]
        for violation in frame.evaluate(_RUN_AXE, WCAG_TAGS):
            violations.append({**violation, "frame": where})
    return violations


# The map's own text over the map: axe leaves it "to review" (tiles are images behind it), so the
# test measures it: text colour against the nearest opaque background, WCAG's formula.
_CONTRASTS = """(body, selectors) => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const out = [];
    for (const selector of selectors) {
        for (const el of body.ownerDocument.querySelectorAll(selector)) {
            if (!el.offsetParent || !el.textContent.trim()) continue;
            let bg = el, colour = rgb(getComputedStyle(el).color);
            while (bg && (rgb(getComputedStyle(bg).backgroundColor)[3] ?? 1) < 1) bg = bg.parentElement;
            const back = bg ? rgb(getComputedStyle(bg).backgroundColor) : [255, 255, 255];
            const [hi, lo] = [lum(colour), lum(back)].sort((a, b) => b - a);
            out.push({selector, text: el.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05)});
        }
    }
    return out;
}"""
MAP_TEXT = [
    ".col-legend summary", ".col-legend div", ".col-map-notice", ".col-area-count", ".col-cluster div",
    ".leaflet-control-attribution", ".leaflet-control-attribution a", ".leaflet-control-scale-line",
]  # fmt: skip


def low_contrast_map_text(page: Page) -> list[str]:
    """The map's legend, notice and labels whose text reads under 4.5:1 on its own background."""
    measured = page.frame_locator(MAP_FRAME).locator("body").evaluate(_CONTRASTS, MAP_TEXT)
    assert any(m["selector"] == ".col-legend div" for m in measured), "no legend text measured"
    return [f"{m['selector']} “{m['text']}”: {m['ratio']:.2f}:1" for m in measured if m["ratio"] < 4.5]


def report(where: str, violations: list[dict[str, Any]]) -> list[str]:
    """Print every violation; return the serious and critical ones as lines for the failure message."""
    failing = []
    for v in violations:
        targets = [" > ".join(map(str, n["target"])) for n in v["nodes"]]
        line = f"{where} ({v['frame']}): [{v['impact']}] {v['id']} ({v['help']}) on {len(targets)} element(s): {targets[:4]}"
        print(line)
        if v["impact"] in FAILING_IMPACTS:
            first = v["nodes"][0]
            failing.append(f"{line}\n    {first['html']}\n    " + (first["summary"] or "").replace("\n", "\n    "))
    return failing


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_explore_has_no_serious_accessibility_violations(
    page: Page, app_server: AppServer, color_scheme: str, viewport: dict[str, int]
) -> None:
    require_axe()
    # Dark on a desktop (the sidebar open): in Swedish with a topic chosen, so the chosen option's
    # chip (white text on a red) is on the page; the dark primary colour alone reads 3:1 behind it.
    lang = "sv" if color_scheme == "dark" and viewport["width"] >= 1000 else "en"
    open_explore(page, app_server, "?lang=sv&topic=digital-skills" if lang == "sv" else "", lang=lang)
    settle(page)
    if lang == "sv":
        chips = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelectTagsContainer")
        chip = chips.get_by_text(topic_label("digital-skills", "sv"))
        expect(chip).to_be_visible()
    frame = map_frame(page)
    expect(frame.locator(".col-legend")).to_be_visible()
    assert page.locator(MAP_FRAME).count() == 1
    failing = report(f"{color_scheme} page", axe_violations(page))
    failing += [f"{color_scheme} map text under 4.5:1: {line}" for line in low_contrast_map_text(page)]

    _, details = first_card(page, lang)
    details.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link").first).to_be_visible()
    failing += report(f"{color_scheme} dialog", axe_violations(page))
    assert not failing, "serious or critical accessibility violations:\n" + "\n".join(failing)
