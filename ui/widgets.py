"""Widgets more than one page shows, written once."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from opportunities.accounts import accounts
from opportunities.i18n import N_
from opportunities.text import safe_file_name
from ui import access


def new_password(first: str = N_("New password"), again: str = N_("New password again")) -> tuple[str, str]:
    """The two inputs of a new password (inside the caller's form): the password and its repetition.
    ``first`` and ``again`` are msgids of their labels. Check them with :func:`passwords_match`."""
    _ = access.translations().gettext
    rule = _("At least {count} characters; not a common password.").format(count=access.settings().password_min_length)
    password = st.text_input(
        _(first), type="password", max_chars=accounts.MAX_PASSWORD_LENGTH, help=rule, autocomplete="new-password"
    )
    repeated = st.text_input(_(again), type="password", max_chars=accounts.MAX_PASSWORD_LENGTH, autocomplete="new-password")
    return password, repeated


def passwords_match(password: str, repeated: str) -> bool:
    """Whether the two inputs of :func:`new_password` agree; says so on the page when they do not."""
    if password != repeated:
        st.error(access.translations().gettext("The two passwords differ."))
        return False
    return True


@contextlib.contextmanager
def uploaded_file(upload: UploadedFile) -> Iterator[Path]:
    """An uploaded file as a file on disk under its own name (the readers of GeoPackages and
    Shapefiles need a path), in a private temporary folder removed afterwards. Only the name's
    last part is used: a name such as ``../../x`` cannot write outside the folder."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / safe_file_name(upload.name, "upload")
        path.write_bytes(upload.getvalue())
        yield path
