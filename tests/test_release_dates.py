"""Release dates for ``--exclude-newer auto``: parsers, a local index, and the real one."""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from isocell.envs._release_dates import (
    PYPI_SIMPLE,
    exclude_newer_for,
    release_time,
    uv_exclude_newer,
)
from isocell.envs._simple_pages import (
    ACCEPT,
    newest_upload,
    upload_times_from_html,
    upload_times_from_json,
)
from isocell.errors import BuildError

UTC = datetime.timezone.utc
PANDAS_144_LAST = datetime.datetime(2022, 8, 31, 12, 22, 41, 78552, tzinfo=UTC)

HTML_PAGE = """<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"></head><body>
<h1>Links for demo-pkg</h1>
<a href="https://files.example/demo_pkg-1.0-py3-none-any.whl#sha256=00"
   data-requires-python="&gt;=3.8" data-upload-time="2022-08-31T12:00:00.5Z"
   >demo_pkg-1.0-py3-none-any.whl</a><br/>
<a href="https://files.example/demo-pkg-1.0.tar.gz#sha256=11"
   data-upload-time="2022-08-31T12:22:41.078552Z">demo-pkg-1.0.tar.gz</a><br/>
<a href="https://files.example/demo_pkg-1.0-cp39-cp39-win32.whl"
   >demo_pkg-1.0-cp39-cp39-win32.whl</a><br/>
<a href="https://files.example/demo_pkg-1.0.1-py3-none-any.whl"
   data-upload-time="2023-01-01T00:00:00Z">demo_pkg-1.0.1-py3-none-any.whl</a><br/>
<a href="https://files.example/demo-pkg-1.0.exe"
   data-upload-time="2024-01-01T00:00:00Z">demo-pkg-1.0.exe</a><br/>
<a href="https://files.example/demo_pkg-2.0-py3-none-any.whl"
   data-upload-time="2024-05-01T00:00:00+02:00"></a>
</body></html>
"""

JSON_PAGE = json.dumps(
    {
        "meta": {"api-version": "1.1"},
        "name": "demo-pkg",
        "files": [
            {"filename": "demo_pkg-1.0-py3-none-any.whl", "upload-time": "2022-08-31T12:00:00Z"},
            {"filename": "demo-pkg-1.0.zip", "upload-time": "2022-08-31T13:30:00.123Z"},
            {"filename": "demo_pkg-1.0+cpu-cp39-cp39-linux_x86_64.whl"},
            {"filename": "demo_pkg-1.1-py3-none-any.whl", "upload-time": "2023-03-01T00:00:00Z"},
            {"filename": "not a distribution", "upload-time": "2030-01-01T00:00:00Z"},
        ],
    }
)


class _Index:
    """A Simple API served from a dict on localhost: path -> (content type, body)."""

    def __init__(self, pages: dict[str, tuple[str, str]]) -> None:
        self.pages = pages
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append((self.path, self.headers.get("Accept", "")))
                index.authorizations.append(self.headers.get("Authorization"))
                if self.path not in index.pages:
                    self.send_error(404)
                    return
                content_type, body = index.pages[self.path]
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def local_index() -> Iterator[_Index]:
    index = _Index(
        {
            "/simple/demo-pkg/": ("text/html; charset=utf-8", HTML_PAGE),
            "/simple/json-pkg/": ("application/vnd.pypi.simple.v1+json", JSON_PAGE),
        }
    )
    yield index
    index.stop()


@pytest.fixture(scope="module")
def pypi() -> str:
    try:
        request = urllib.request.Request(PYPI_SIMPLE + "pip/", headers={"Accept": ACCEPT})
        with urllib.request.urlopen(request, timeout=15):
            pass
    except OSError as error:
        pytest.skip(f"the package index {PYPI_SIMPLE} is unreachable: {error}")
    return PYPI_SIMPLE


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple/"


# --- parsers, no network --------------------------------------------------------------------


def test_html_page_gives_filenames_and_upload_times() -> None:
    files = upload_times_from_html(HTML_PAGE)
    assert files[0] == (
        "demo_pkg-1.0-py3-none-any.whl",
        datetime.datetime(2022, 8, 31, 12, 0, 0, 500000, tzinfo=UTC),
    )
    assert files[2] == ("demo_pkg-1.0-cp39-cp39-win32.whl", None)
    # An empty anchor falls back to its URL's last segment; offsets are turned into UTC.
    assert files[-1] == (
        "demo_pkg-2.0-py3-none-any.whl",
        datetime.datetime(2024, 4, 30, 22, 0, tzinfo=UTC),
    )


def test_html_release_time_is_its_newest_file_and_ignores_other_versions() -> None:
    files = upload_times_from_html(HTML_PAGE)
    assert newest_upload(files, "1.0") == PANDAS_144_LAST
    assert newest_upload(files, "1.0.0") == PANDAS_144_LAST  # PEP 440: 1.0 == 1.0.0
    assert newest_upload(files, "1.0.1") == datetime.datetime(2023, 1, 1, tzinfo=UTC)
    assert newest_upload(files, "3.0") is None


def test_json_page_gives_filenames_and_upload_times() -> None:
    files = upload_times_from_json(JSON_PAGE)
    assert ("demo_pkg-1.0+cpu-cp39-cp39-linux_x86_64.whl", None) in files
    expected = datetime.datetime(2022, 8, 31, 13, 30, 0, 123000, tzinfo=UTC)
    assert newest_upload(files, "1.0") == expected
    assert newest_upload(files, "1.1") == datetime.datetime(2023, 3, 1, tzinfo=UTC)


def test_a_page_without_upload_times_gives_none() -> None:
    page = '<a href="../files/x-1.0-py3-none-any.whl#sha256=00">x-1.0-py3-none-any.whl</a>'
    assert newest_upload(upload_times_from_html(page), "1.0") is None


def test_uv_cut_off_admits_the_last_file() -> None:
    # uv drops a file whose upload time is >= the cut-off, so the cut-off must lie after it.
    assert uv_exclude_newer(PANDAS_144_LAST) == "2022-08-31T12:22:42Z"
    on_the_second = datetime.datetime(2022, 8, 31, 12, 22, 41)
    assert uv_exclude_newer(on_the_second) == "2022-08-31T12:22:42Z"


# --- a local index ----------------------------------------------------------------------------


def test_release_time_reads_html_and_json_from_an_index(local_index: _Index) -> None:
    assert release_time("Demo_Pkg", "1.0", local_index.url) == PANDAS_144_LAST
    expected = datetime.datetime(2022, 8, 31, 13, 30, 0, 123000, tzinfo=UTC)
    assert release_time("json.pkg", "1.0", local_index.url) == expected
    paths = [path for path, _ in local_index.requests]
    assert paths == ["/simple/demo-pkg/", "/simple/json-pkg/"]  # names normalized (PEP 503)
    assert all(accept == ACCEPT for _, accept in local_index.requests)


def test_release_time_reads_a_file_index(tmp_path: Path) -> None:
    project = tmp_path / "simple" / "demo-pkg"
    project.mkdir(parents=True)
    (project / "index.html").write_text(HTML_PAGE)
    index_url = (tmp_path / "simple").as_uri()
    assert release_time("demo-pkg", "1.0", index_url) == PANDAS_144_LAST


def test_network_errors_name_the_package_and_index(local_index: _Index) -> None:
    with pytest.raises(BuildError, match=r"missing-pkg .*127\.0\.0\.1") as caught:
        release_time("missing-pkg", "1.0", local_index.url)
    assert "404" in caught.value.log
    unreachable = _closed_port_url()
    with pytest.raises(BuildError, match="demo-pkg") as caught:
        release_time("demo-pkg", "1.0", unreachable, timeout=5)
    assert unreachable in str(caught.value)


def test_credentials_in_the_url_are_sent_and_kept_out_of_messages(local_index: _Index) -> None:
    port = local_index.server.server_address[1]
    private = f"http://user:s3cret@127.0.0.1:{port}/simple/"
    assert release_time("demo-pkg", "1.0", private) == PANDAS_144_LAST
    expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert local_index.authorizations == [expected]
    with pytest.raises(BuildError) as caught:
        release_time("missing-pkg", "1.0", private)
    assert "s3cret" not in str(caught.value)
    assert f"http://***@127.0.0.1:{port}/simple/" in str(caught.value)


def test_only_exact_pins_count(tmp_path: Path) -> None:
    unpinned = [
        Requirement("numpy>=1"),
        Requirement("pandas==1.4.*"),
        Requirement("scipy>=1.0,==1.9.1"),
        Requirement("requests"),
        Requirement("demo @ https://example.invalid/demo-1.0.tar.gz"),
    ]
    # An unreachable index proves nothing was looked up.
    assert exclude_newer_for(unpinned, _closed_port_url(), cache_dir=tmp_path) is None
    assert exclude_newer_for([], _closed_port_url(), cache_dir=tmp_path) is None


def test_newest_pin_wins_and_the_cache_answers_later(local_index: _Index, tmp_path: Path) -> None:
    requirements = [
        Requirement("demo-pkg==1.0"),
        Requirement("json-pkg===1.1"),
        Requirement("numpy>=1"),
    ]
    newest = (datetime.datetime(2023, 3, 1, tzinfo=UTC), "json-pkg===1.1")
    assert exclude_newer_for(requirements, local_index.url, cache_dir=tmp_path) == newest
    assert len(local_index.requests) == 2
    local_index.stop()

    assert exclude_newer_for(requirements, local_index.url, cache_dir=tmp_path) == newest
    # The index really is gone: a pin the cache does not know needs it, and fails.
    with pytest.raises(BuildError, match="demo-pkg"):
        exclude_newer_for([Requirement("demo-pkg==1.0.1")], local_index.url, cache_dir=tmp_path)


def test_found_times_are_kept_when_another_look_up_fails(
    local_index: _Index, tmp_path: Path
) -> None:
    with pytest.raises(BuildError, match="missing-pkg"):
        pins = [Requirement("demo-pkg==1.0"), Requirement("missing-pkg==1.0")]
        exclude_newer_for(pins, local_index.url, cache_dir=tmp_path)
    local_index.stop()
    found = exclude_newer_for([Requirement("demo-pkg==1.0")], local_index.url, cache_dir=tmp_path)
    assert found == (PANDAS_144_LAST, "demo-pkg==1.0")


def test_the_cache_key_includes_the_index(local_index: _Index, tmp_path: Path) -> None:
    pins = [Requirement("demo-pkg==1.0")]
    assert exclude_newer_for(pins, local_index.url, cache_dir=tmp_path) is not None
    with pytest.raises(BuildError):
        exclude_newer_for(pins, _closed_port_url(), cache_dir=tmp_path, timeout=5)


def test_a_pin_without_upload_times_gives_none(tmp_path: Path) -> None:
    project = tmp_path / "simple" / "bare"
    project.mkdir(parents=True)
    (project / "index.html").write_text('<a href="bare-1.0.tar.gz">bare-1.0.tar.gz</a>')
    index_url = (tmp_path / "simple").as_uri()
    assert exclude_newer_for([Requirement("bare==1.0")], index_url, cache_dir=tmp_path) is None


# --- the real index ---------------------------------------------------------------------------


@pytest.mark.network
def test_pandas_1_4_4_was_released_on_2022_08_31(pypi: str) -> None:
    released = release_time("pandas", "1.4.4", pypi)
    assert released is not None
    assert released.tzinfo is not None and released.utcoffset() == datetime.timedelta(0)
    assert released.date() == datetime.date(2022, 8, 31)


@pytest.mark.network
def test_exclude_newer_for_the_old_pin_trap(pypi: str, tmp_path: Path) -> None:
    requirements = [Requirement("pandas==1.4.4"), Requirement("numpy>=1")]
    found = exclude_newer_for(requirements, pypi, cache_dir=tmp_path)
    assert found is not None
    when, pin = found
    assert pin == "pandas==1.4.4"
    assert when == release_time("pandas", "1.4.4", pypi)
    assert when.date() == datetime.date(2022, 8, 31)
