"""Error paths of rnnbook.data on a tiny fake data set: they run on any machine (no mirror).

The fake set ``fake-set`` (two files with known sha256) is added to the registry for each test by
monkeypatching its private dict; ``pooch.retrieve`` is replaced by :class:`FakeNet`, which serves
the files from a temporary "upstream" folder and records every call (so a test can check that no
download was attempted). One test runs the real pooch against a loopback HTTP server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pooch
import pytest

from rnnbook import data
from rnnbook.data import files as fetch_mod
from rnnbook.data import loaders, registry

NAME = "fake-set"
FILES = {"a.txt": b"alpha beta gamma\n" * 64, "sub/b.bin": bytes(range(256)) * 8}
URL = "https://example.invalid/fake/"


class FakeNet:
    """A stand-in for ``pooch.retrieve``: serves ``upstream/<file>``; ``mode`` picks a failure."""

    def __init__(self, upstream: Path):
        self.upstream, self.calls, self.mode = upstream, [], "serve"

    def __call__(self, url, known_hash=None, fname=None, path=None, **kwargs):
        self.calls.append(url)
        file = url.removeprefix(URL)
        dest = Path(path) / fname
        os.makedirs(dest.parent, exist_ok=True)        # as pooch does
        raw = (self.upstream / file).read_bytes()
        if self.mode == "partial":                     # the connection drops half-way
            dest.write_bytes(raw[: len(raw) // 2])
            raise ConnectionError(f"connection reset while reading {url}")
        if self.mode == "denied":
            raise PermissionError(13, "Permission denied", str(dest))
        dest.write_bytes(raw if self.mode == "serve" else raw[::-1])
        return str(dest)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Register ``fake-set``; no mirror, cache in tmp_path, offline; pooch.retrieve faked."""
    upstream = tmp_path / "upstream"
    for file, raw in FILES.items():
        (upstream / file).parent.mkdir(parents=True, exist_ok=True)
        (upstream / file).write_bytes(raw)
    ds = data.DataSet(
        name=NAME, folder=NAME, url=URL,
        files={f: hashlib.sha256(raw).hexdigest() for f, raw in FILES.items()},
        licence="CC0", source="https://example.invalid/", citation="A test.",
        description="Two small files for the tests.", size=sum(map(len, FILES.values())),
        loader="load_fake", loader_args=("first",))
    monkeypatch.setitem(registry._ENTRIES, NAME, ds)
    monkeypatch.delenv("RNNBOOK_DATA", raising=False)
    monkeypatch.setenv("RNNBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNBOOK_OFFLINE", "1")
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # safety net: no real download
    net = FakeNet(upstream)
    monkeypatch.setattr(pooch, "retrieve", net)
    return ds, net, tmp_path


def _place(root: Path, file: str, raw: bytes | None = None) -> Path:
    """Write ``file`` of the fake set under ``root/<folder>/`` (its true content by default)."""
    path = root / NAME / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(FILES[file] if raw is None else raw)
    return path


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ---- registry and dispatch -------------------------------------------------------------------

def test_unknown_name_lists_the_known_names(fake):
    with pytest.raises(data.UnknownDataSet) as err:
        data.fetch("no-such-set", "a.txt")
    message = str(err.value)
    assert "'no-such-set'" in message and "Available:" in message
    assert all(name in message for name in data.available()) and NAME in message
    with pytest.raises(data.UnknownDataSet):
        data.load("no-such-set")
    assert data.info("FAKE_SET") is fake[0]          # names are forgiving about case and _


def test_load_goes_through_the_entry(fake, monkeypatch):
    def load_fake(which, upper=False):
        text = data.fetch(NAME, "a.txt").read_text()
        return (which, text.upper() if upper else text)

    monkeypatch.setattr(loaders, "load_fake", load_fake, raising=False)
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    assert data.load(NAME, upper=True) == ("first", FILES["a.txt"].decode().upper())
    bad = dataclasses.replace(fake[0], loader="not_a_loader")
    monkeypatch.setitem(registry._ENTRIES, NAME, bad)
    with pytest.raises(data.DataError, match="not_a_loader"):
        data.load(NAME)


def test_unknown_file(fake):
    with pytest.raises(ValueError, match="a.txt, sub/b.bin"):
        data.fetch(NAME, "c.txt")


# ---- mirror, then cache, then download -------------------------------------------------------

def test_mirror_first_then_cache_then_download(fake, monkeypatch):
    _, net, tmp = fake
    mirror = tmp / "mirror"
    in_mirror, in_cache = _place(mirror, "a.txt"), _place(tmp / "cache", "a.txt")
    monkeypatch.setenv("RNNBOOK_DATA", str(mirror))
    assert data.fetch(NAME, "a.txt") == in_mirror
    in_mirror.unlink()
    assert data.fetch(NAME, "a.txt") == in_cache
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    in_cache.unlink()
    assert net.calls == []
    got = fetch_mod._fetch_many(NAME, ["a.txt", "sub/b.bin"])     # both into the cache
    assert got == [tmp / "cache" / NAME / f for f in ("a.txt", "sub/b.bin")]
    assert sorted(net.calls) == [URL + "a.txt", URL + "sub/b.bin"]
    assert [p.read_bytes() for p in got] == [FILES["a.txt"], FILES["sub/b.bin"]]
    assert data.fetch(NAME, "sub/b.bin") == got[1] and len(net.calls) == 2   # cached now


# ---- checksum mismatch -----------------------------------------------------------------------

def test_checksum_mismatch_in_the_mirror(fake, monkeypatch):
    ds, net, tmp = fake
    path = _place(tmp / "mirror", "a.txt", b"not the pinned text\n")
    _place(tmp / "cache", "a.txt")                  # a good copy: not used instead
    monkeypatch.setenv("RNNBOOK_DATA", str(tmp / "mirror"))
    with pytest.raises(data.ChecksumMismatch) as err:
        data.fetch(NAME, "a.txt")
    message = str(err.value)
    assert f"'{NAME}'" in message and str(path) in message and ds.files["a.txt"] in message
    assert "re-copy" in message and "unset RNNBOOK_DATA" in message and URL + "a.txt" in message
    assert (err.value.dataset, err.value.path) == (NAME, path)
    assert err.value.actual == hashlib.sha256(b"not the pinned text\n").hexdigest()
    assert net.calls == []


def test_checksum_mismatch_in_the_cache(fake, monkeypatch):
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    path = _place(tmp / "cache", "sub/b.bin", b"\0" * 10)
    with pytest.raises(data.ChecksumMismatch, match="Delete") as err:
        data.fetch(NAME, "sub/b.bin")
    assert f"'{NAME}'" in str(err.value) and str(path) in str(err.value)
    assert path.exists() and net.calls == []        # not replaced silently
    path.unlink()                                   # as the message says
    assert data.fetch(NAME, "sub/b.bin") == path and len(net.calls) == 1


def test_corrupt_download_is_not_kept(fake, monkeypatch):
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    net.mode = "corrupt"
    with pytest.raises(data.ChecksumMismatch, match="was deleted"):
        data.fetch(NAME, "a.txt")
    assert _files_under(tmp / "cache") == []


# ---- offline, failed and partial downloads ---------------------------------------------------

def test_offline_and_missing_is_a_clear_error_without_network(fake):
    _, net, tmp = fake
    with pytest.raises(data.DataUnavailable) as err:
        data.fetch(NAME, "a.txt")
    message = str(err.value)
    assert f"'{NAME}'" in message and "'a.txt'" in message and "RNNBOOK_OFFLINE=1" in message
    assert str(tmp / "cache" / NAME / "a.txt") in message and URL + "a.txt" in message
    assert "RNNBOOK_DATA not set" in message
    assert err.value.tried == [tmp / "cache" / NAME / "a.txt"] and err.value.url == URL + "a.txt"
    with pytest.raises(data.DataUnavailable, match=r"and 1 more files"):
        fetch_mod._fetch_many(NAME, ["a.txt", "sub/b.bin"])
    assert net.calls == []


def test_partial_download_leaves_nothing_and_the_next_call_retries(fake, monkeypatch):
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    net.mode = "partial"
    with pytest.raises(data.DataUnavailable, match="download failed") as err:
        data.fetch(NAME, "sub/b.bin")
    assert "connection reset" in str(err.value) and "internet connection" in str(err.value)
    assert _files_under(tmp / "cache") == []        # no half file passes for a cached copy
    net.mode = "serve"
    path = data.fetch(NAME, "sub/b.bin")
    assert path.read_bytes() == FILES["sub/b.bin"] and len(net.calls) == 2


# ---- reliability of the locations ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["missing", "file"])
def test_rnnbook_data_that_is_not_a_folder_raises(fake, monkeypatch, kind):
    _, net, tmp = fake
    bad = tmp / "mirorr"                            # a typo
    if kind == "file":
        bad.write_text("not a folder")
    _place(tmp / "cache", "a.txt")                  # a fallback is there: not used silently
    monkeypatch.setenv("RNNBOOK_DATA", str(bad))
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    for call in (lambda: data.fetch(NAME, "a.txt"), lambda: data.fetch(NAME, "sub/b.bin"),
                 data.table):
        with pytest.raises(data.DataError) as err:
            call()
        message = str(err.value)
        assert "RNNBOOK_DATA" in message and str(bad) in message and "unset it" in message
        assert ("does not exist" if kind == "missing" else "is a file") in message
    assert net.calls == []


def test_unwritable_cache_says_so(fake, monkeypatch):
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    cache = tmp / "read-only-cache"
    cache.mkdir()
    cache.chmod(0o500)
    monkeypatch.setenv("RNNBOOK_CACHE", str(cache))
    if os.geteuid() == 0:                           # root writes anyway: simulate the check
        real = fetch_mod._is_writable
        monkeypatch.setattr(fetch_mod, "_is_writable",
                            lambda p: real(p) and not fetch_mod._inside(p, cache))
    try:
        with pytest.raises(data.DataUnavailable) as err:
            data.fetch(NAME, "a.txt")
    finally:
        cache.chmod(0o700)
    message = str(err.value)
    assert f"the cache {cache / NAME} is not writable" in message
    assert "set RNNBOOK_CACHE to a writable folder" in message
    assert "internet" not in message and net.calls == []


def test_cache_under_a_file_is_not_writable(fake, monkeypatch):
    # Unwritable for root too: RNNBOOK_CACHE lies below a file.
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    (tmp / "a-file").write_text("x")
    monkeypatch.setenv("RNNBOOK_CACHE", str(tmp / "a-file" / "cache"))
    with pytest.raises(data.DataUnavailable, match="is not writable") as err:
        data.fetch(NAME, "sub/b.bin")
    assert "RNNBOOK_CACHE" in str(err.value) and "internet" not in str(err.value)
    assert net.calls == []


def test_permission_error_during_download_says_not_writable(fake, monkeypatch):
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    net.mode = "denied"
    with pytest.raises(data.DataUnavailable, match="is not writable") as err:
        data.fetch(NAME, "a.txt")
    assert "RNNBOOK_CACHE" in str(err.value) and "internet" not in str(err.value)


@pytest.mark.parametrize("where", ["mirror", "cache"])
def test_a_directory_where_a_file_belongs(fake, monkeypatch, where):
    _, net, tmp = fake
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    monkeypatch.setenv("RNNBOOK_DATA", str(tmp / "mirror"))
    (tmp / "mirror").mkdir()
    folder = tmp / where / NAME / "a.txt"
    folder.mkdir(parents=True)
    if where == "mirror":
        _place(tmp / "cache", "a.txt")              # a good copy: not used instead
    with pytest.raises(data.DataUnavailable) as err:
        data.fetch(NAME, "a.txt")
    message = str(err.value)
    assert f"{folder} in the {'mirror' if where == 'mirror' else 'download cache'}" in message
    assert "is a directory, expected the file 'a.txt'" in message and f"'{NAME}'" in message
    assert "not available" not in message and net.calls == []
    assert err.value.tried == [folder]


# ---- the real pooch ------------------------------------------------------------------------

def test_real_pooch_partial_download_from_a_loopback_server(fake, monkeypatch):
    """pooch itself downloads from 127.0.0.1; a response cut short leaves no file behind."""
    import functools
    import http.server
    import threading

    ds, _, tmp = fake
    monkeypatch.undo()                              # the real pooch.retrieve, the real env
    monkeypatch.setitem(registry._ENTRIES, NAME, ds)
    upstream = tmp / "upstream"

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):                           # noqa: N802 (http.server's name)
            if self.path.endswith("b.bin"):         # promise 2,048 bytes, send 1,000
                self.send_response(200)
                self.send_header("Content-Length", "2048")
                self.end_headers()
                self.wfile.write(FILES["sub/b.bin"][:1000])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    try:
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(upstream)))
    except OSError as err:
        pytest.skip(f"cannot open a loopback server: {err}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setitem(registry._ENTRIES, NAME, dataclasses.replace(ds, url=base))
    monkeypatch.delenv("RNNBOOK_DATA", raising=False)
    monkeypatch.delenv("RNNBOOK_OFFLINE", raising=False)
    monkeypatch.setenv("RNNBOOK_CACHE", str(tmp / "cache"))
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    try:
        assert data.fetch(NAME, "a.txt").read_bytes() == FILES["a.txt"]
        with pytest.raises(data.DataError):
            data.fetch(NAME, "sub/b.bin")
        assert _files_under(tmp / "cache") == [tmp / "cache" / NAME / "a.txt"]
    finally:
        server.shutdown()
        server.server_close()
