"""The interface language of every page: which it is, its translations, and telling the browser.

There is one :func:`language`: chosen per session (the language menu), else the link's ``?lang=``,
else the browser's Accept-Language (read here only, by :func:`browser_language`); kept in
``st.session_state[session.LANGUAGE]`` from a session's first page on.
"""

from __future__ import annotations

import gettext
from collections.abc import Collection
from typing import NoReturn

import streamlit as st

from opportunities.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    browser_locale,
    negotiate_language,
    streamlit_pattern_relabels,
    streamlit_relabels,
    translator,
)
from ui import session

# How each language writes a date in a date input.
DATE_FORMATS = {"en": "DD/MM/YYYY", "sv": "YYYY-MM-DD", "sl": "DD.MM.YYYY", "pl": "DD.MM.YYYY"}

# The page's language for the browser: <html lang>, the locale react-aria (Streamlit's date inputs)
# formats and names its fields in, and the labels of Streamlit's own controls, relabelled as they
# appear. The script runs in the page itself (a v2 component is no iframe); every text arrives as
# data and is set as an attribute or a text node's value, never as HTML.
_PAGE_LANGUAGE_JS = """
export default function (component) {
  const { data } = component;
  document.documentElement.lang = data.lang;
  // react-aria reads this before navigator.language, and again on "languagechange".
  window[Symbol.for("react-aria.i18n.locale")] = data.locale;
  const state = window.__colPageLanguage || (window.__colPageLanguage = {});
  if (state.locale !== data.locale) {
    state.locale = data.locale;
    window.dispatchEvent(new Event("languagechange"));
  }
  state.texts = new Map(data.texts);
  // "Help for {label}": a whole text matched against a form's fixed parts, its values kept (as
  // text, never HTML).
  state.patterns = (data.patterns || []).map(([shown, wanted]) => ({
    wanted, parts: shown.split(/\\{\\w+\\}/), names: [...shown.matchAll(/\\{(\\w+)\\}/g)].map((m) => m[1]),
    same: shown === wanted,
  }));
  const values = (p, text) => {
    if (!text.startsWith(p.parts[0])) return undefined;
    const found = [];
    let at = p.parts[0].length;
    for (let i = 1; i < p.parts.length; i++) {
      const last = i === p.parts.length - 1;
      const next = last ? (text.endsWith(p.parts[i]) ? text.length - p.parts[i].length : -1) : text.indexOf(p.parts[i], at + 1);
      if (next <= at) return undefined;
      found.push(text.slice(at, next));
      at = next + p.parts[i].length;
    }
    return found;
  };
  const fromPattern = (text) => {
    for (const p of state.patterns) {
      const found = p.same ? undefined : values(p, text);
      if (found) return p.names.reduce((out, name, i) => out.replace("{" + name + "}", () => found[i]), p.wanted);
    }
    return undefined;
  };
  const attributes = ["aria-label", "title", "placeholder"];
  // Only the texts of lists (an empty list's "No results"), of the calendar, of a file drop
  // zone and of the "Skip to main content" link are replaced as text: a provider's title
  // elsewhere stays as written.
  const lists = '[role="listbox"], [data-baseweb="menu"], [data-baseweb="popover"], [data-testid="stDateInputCalendar"], ' +
    '[data-testid="stFileUploaderDropzone"], [data-testid="stSkipToContent"]';
  const relabel = (root) => {
    if (!(root instanceof Element)) return;
    for (const el of [root, ...root.querySelectorAll("[aria-label], [title], [placeholder]")]) {
      for (const name of attributes) {
        const shown = el.getAttribute(name);
        if (!shown) continue;
        let wanted = state.texts.get(shown);
        const comma = shown.indexOf(", ");  // "year, From", "Choose date, November 2026"
        if (!wanted && name === "aria-label" && comma > 0 && state.texts.has(shown.slice(0, comma))) {
          wanted = state.texts.get(shown.slice(0, comma)) + shown.slice(comma);
        }
        if (!wanted && name === "aria-label") wanted = fromPattern(shown);
        if (wanted && wanted !== shown) el.setAttribute(name, wanted);
      }
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue.trim();
      const wanted = state.texts.get(text) || fromPattern(text);
      if (wanted && wanted !== text && node.parentElement && node.parentElement.closest(lists)) {
        node.nodeValue = wanted;
      }
    }
  };
  if (!state.observer) {
    state.observer = new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === "attributes") relabel(record.target);
        else if (record.type === "characterData") relabel(record.target.parentElement);
        else for (const node of record.addedNodes) relabel(node.nodeType === Node.TEXT_NODE ? node.parentElement : node);
      }
    });
    state.observer.observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: attributes,
    });
  }
  relabel(document.body);
}
"""
_page_language = st.components.v2.component("col_page_language", html="", js=_PAGE_LANGUAGE_JS)


def translations(language_code: str | None = None) -> gettext.NullTranslations:
    """The UI texts in ``language_code`` (default: the session's :func:`language`); English while
    a catalog is missing, rather than no page. ``_ = translations().gettext``."""
    try:
        return translator(language_code or language())
    except OSError:
        return gettext.NullTranslations()


def browser_language() -> str:
    """The UI language the browser asks for (Accept-Language), or English."""
    header = st.context.headers.get("Accept-Language") or ""
    return negotiate_language([header]) if header else "en"


# Session-state key: this run has told the browser its language (app.py tells it for any page
# that did not, after the page ran).


def set_page_language(language: str) -> None:
    """Tell the browser the page's language (call last on a page: its block is empty)."""
    st.session_state[session.LANGUAGE_TOLD] = True
    _page_language(
        key="page_language",
        data={
            "lang": language,
            "locale": browser_locale(language),
            "texts": streamlit_relabels(language),
            "patterns": streamlit_pattern_relabels(language),
        },
    )


def stop_page(language: str) -> NoReturn:
    """End the page here (``st.stop()``), having told the browser its language: nothing can be
    added to a page once it is stopped, so app.py could not tell it after."""
    if not st.session_state.get(session.LANGUAGE_TOLD):
        set_page_language(language)
    st.stop()


def language() -> str:
    """The session's interface language; on a session's first page, from ``?lang=`` or the browser."""
    chosen = st.session_state.get(session.LANGUAGE)
    if chosen in LANGUAGES:
        return str(chosen)
    asked = st.query_params.get("lang", "")
    found = asked if asked in LANGUAGES else browser_language()
    st.session_state[session.LANGUAGE] = found
    return found


def switcher(keys: Collection[str]) -> str:
    """The language menu at the top of the sidebar; returns the language chosen.

    Changing it hands every widget value under ``keys`` back to its widget. A browser holds a
    selectbox's or multiselect's choice as its label ("Digital skills") and sends that label back
    on every rerun; the server maps it to an option through the labels of that run. Labels in a
    new language would no longer match, so the choices fell away at the visitor's next change. A
    value set in session state is sent to the browser again, formatted by this run's labels (and
    a date input, whose format differs by language, is a new widget that starts from it).
    """

    def keep_choices() -> None:
        for key in keys:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]

    language()  # the session's language is the menu's first value
    st.sidebar.selectbox(
        "Language · Språk · Jezik · Język",
        LANGUAGES,
        key=session.LANGUAGE,
        format_func=lambda code: LANGUAGE_NAMES[code],
        on_change=keep_choices,
    )
    return str(st.session_state[session.LANGUAGE])
