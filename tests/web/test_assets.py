"""Streamlit's bundle compressed once and the map component's content-named files cached for a year
(``web/assets.py``), through Streamlit's own static file handler on real files."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from streamlit.web.server.starlette.starlette_static_routes import create_streamlit_static_handler

from tests.web import asgi
from web.assets import YEAR, CompressedFiles, StaticAssets, accepts_gzip

SCRIPT = b"export function draw(map) { return map.addLayer(layer); }\n" * 200  # 11.6 KB, compressible


@pytest.fixture
def files(tmp_path: Path) -> tuple[Starlette, CompressedFiles]:
    """Streamlit's static handler on a bundle folder, and a component's build folder, behind the middleware."""
    bundle = tmp_path / "bundle"
    (bundle / "static" / "js").mkdir(parents=True)
    (bundle / "index.html").write_text("<html>" + "<p>Streamlit</p>" * 200 + "</html>")  # big enough to compress
    (bundle / "static" / "js" / "index.DormvYxC.js").write_bytes(SCRIPT)
    (bundle / "static" / "js" / "tiny.B3Zf3PTL.js").write_bytes(b"export {};\n")
    (bundle / "static" / "media" / "font.woff2").parent.mkdir()
    (bundle / "static" / "media" / "font.woff2").write_bytes(bytes(range(256)) * 20)
    component = tmp_path / "component"
    (component / "static" / "js").mkdir(parents=True)
    (component / "index.html").write_text("<html></html>")
    (component / "static" / "js" / "main.521860b0.js").write_bytes(SCRIPT)
    (component / "static" / "js" / "helper.js").write_bytes(SCRIPT)
    inner = Starlette(routes=[
        Mount("/component/streamlit_folium.st_folium", StaticFiles(directory=component)),
        Mount("/", create_streamlit_static_handler(directory=str(bundle), base_url=None)),
    ])  # fmt: skip
    cache = CompressedFiles()
    return StaticAssets(inner, cache), cache  # type: ignore[return-value]


def test_the_bundle_is_compressed_once_for_every_visitor(files: tuple[Starlette, CompressedFiles]) -> None:
    app, cache = files
    plain = asgi.get(app, "/static/js/index.DormvYxC.js")
    assert plain.status == 200 and plain.body == SCRIPT and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == ["Accept-Encoding"]
    for visitor in range(3):
        answer = asgi.get(app, "/static/js/index.DormvYxC.js", headers={"Accept-Encoding": "gzip, deflate, br"})
        assert answer.status == 200 and answer.headers["content-encoding"] == ["gzip"], visitor
        assert gzip.decompress(answer.body) == SCRIPT and len(answer.body) < len(SCRIPT) / 10
        assert answer.headers["content-length"] == [str(len(answer.body))]
        assert answer.headers["vary"] == ["Accept-Encoding"]
        assert answer.headers["cache-control"] == ["public, immutable, max-age=31536000"]  # Streamlit's, kept
        assert answer.headers["etag"][0].startswith('W/"')  # another representation of the file
    assert cache.compressed == 1


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/static/js/tiny.B3Zf3PTL.js", {"Accept-Encoding": "gzip"}),  # too small to gain anything
     ("/static/media/font.woff2", {"Accept-Encoding": "gzip"}),  # compressed already
     ("/static/js/index.DormvYxC.js", {"Accept-Encoding": "gzip;q=0, identity"}),
     ("/static/js/index.DormvYxC.js", {"Accept-Encoding": "gzip", "Range": "bytes=0-99"})],
)  # fmt: skip
def test_what_gains_nothing_or_was_not_asked_for_is_sent_as_it_is(
    files: tuple[Starlette, CompressedFiles], path: str, headers: dict[str, str]
) -> None:
    app, cache = files
    answer = asgi.get(app, path, headers=headers)
    assert answer.status in (200, 206) and "content-encoding" not in answer.headers
    assert cache.compressed == 0


def test_a_revalidation_and_a_missing_file_are_not_compressed(files: tuple[Starlette, CompressedFiles]) -> None:
    app, cache = files
    first = asgi.get(app, "/static/js/index.DormvYxC.js", headers={"Accept-Encoding": "gzip"})
    again = asgi.get(
        app, "/static/js/index.DormvYxC.js", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"][0]}
    )
    assert again.status == 304 and again.body == b""
    # Streamlit answers a path it does not hold with its index page (not kept per path asked for).
    for name in ("missing.C0FFEE00.js", "other.DEADBEEF.js"):
        missing = asgi.get(app, f"/static/js/{name}", headers={"Accept-Encoding": "gzip"})
        assert missing.headers["cache-control"] == ["no-cache"] and "content-encoding" not in missing.headers
    assert cache.compressed == 1


def test_the_map_components_content_named_files_are_kept_for_a_year(files: tuple[Starlette, CompressedFiles]) -> None:
    app, _cache = files
    named = asgi.get(app, "/component/streamlit_folium.st_folium/static/js/main.521860b0.js")
    assert named.status == 200 and named.headers["cache-control"] == [YEAR.decode()]
    for path in ("/component/streamlit_folium.st_folium/index.html", "/component/streamlit_folium.st_folium/static/js/helper.js"):
        assert "immutable" not in " ".join(asgi.get(app, path).headers.get("cache-control", [])), path
    assert asgi.get(app, "/component/streamlit_folium.st_folium/static/js/gone.0badc0de.js").headers.get("cache-control") is None


def test_the_cache_keeps_at_most_its_limit() -> None:
    cache = CompressedFiles(limit=2_000)
    bodies = [random.Random(i).randbytes(1000) for i in range(3)]  # incompressible: about 1 KB each once gzipped
    for i, body in enumerate(bodies):
        cache.compress((f"/static/{i}.js", b""), body)
    assert cache.get(("/static/0.js", b"")) is None and cache.get(("/static/2.js", b"")) is not None


def test_the_server_does_not_use_it_yet() -> None:
    # Off: with it, a lazy chunk of Streamlit's front end resolved to nothing now and then in the
    # browser tests (React error #306 instead of a page's "Sign in" link; docs/development/speed.md).
    server = Path(__file__).parents[2] / "server.py"
    assert "Middleware(StaticAssets)" not in server.read_text()


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [(b"gzip, deflate, br, zstd", True), (b"br;q=1.0, gzip;q=0.8", True), (b"*", True), (b"GZIP", True),
     (b"gzip;q=0", False), (b"gzip; q=0.0, identity", False), (b"identity", False), (b"br", False), (b"", False)],
)  # fmt: skip
def test_accept_encoding_is_read_with_its_weights(header: bytes, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok
