"""Tests of rnnbook.data against the offline mirror (``RNNBOOK_DATA`` or ../shared/data).

Downloads are forbidden throughout (``RNNBOOK_OFFLINE=1``) and the cache is a temporary folder;
the download path is tested with a fake ``pooch.retrieve`` that copies from the mirror. The error
paths that need no mirror (a tiny fake data set) are in ``test_data_errors.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pooch
import pytest

from rnnbook import data
from rnnbook.data import files as fetch_mod
from rnnbook.data import loaders, registry

REPO = Path(__file__).resolve().parents[1]


def _find_mirror() -> Path | None:
    candidates = [Path(os.environ["RNNBOOK_DATA"])] if os.environ.get("RNNBOOK_DATA") else []
    candidates.append(REPO.parent / "shared" / "data")
    return next((c.resolve() for c in candidates if c.is_dir()), None)


MIRROR = _find_mirror()
needs_mirror = pytest.mark.skipif(MIRROR is None, reason="no data mirror (RNNBOOK_DATA or "
                                                         "../shared/data)")
NAMES = ["tinyshakespeare", "names", "wikitext-2", "rt-polarity", "ud-english-ewt",
         "ud-english-atis", "uner-english-ewt", "tatoeba-eng-fra", "fsdd", "mauna-loa-co2",
         "banking77", "twitter-financial-news-sentiment", "entree-chicago"]


@pytest.fixture(autouse=True)
def offline_env(monkeypatch, tmp_path):
    """Mirror = the real one (if any), cache = a temporary folder, downloads forbidden."""
    if MIRROR is None:
        monkeypatch.delenv("RNNBOOK_DATA", raising=False)
    else:
        monkeypatch.setenv("RNNBOOK_DATA", str(MIRROR))
    monkeypatch.setenv("RNNBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNBOOK_OFFLINE", "1")
    for var in ("HTTPS_PROXY", "https_proxy"):       # safety net: no real HTTPS download
        monkeypatch.setenv(var, "http://127.0.0.1:9")


def _copy(name: str, file: str, root: Path) -> Path:
    """Copy one mirror file to ``root/<folder>/<file>`` (a writable temporary copy)."""
    ds = data.info(name)
    dest = root / ds.folder / file
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MIRROR / ds.folder / file, dest)
    return dest


def _flip_byte(path: Path, offset: int = 100) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


# ---- registry --------------------------------------------------------------------------------

def test_registry_names_and_fields():
    assert data.available() == NAMES
    assert set(data.REGISTRY) == set(NAMES)
    for name in NAMES:
        ds = data.info(name)
        assert ds.name == name and ds.licence and ds.citation and ds.description
        assert ds.source.startswith("http") and ds.size > 0
        for file, digest in ds.files.items():
            assert re.fullmatch(r"[0-9a-f]{64}|blob:[0-9a-f]{40}", digest), (name, file)
            url = ds.url_for(file)
            assert re.search(r"/[0-9a-f]{40}/", url), url            # pinned to a commit
            assert url.endswith(file if file != "_about.txt" else "data/fra-eng/_about.txt")
    blob_only = {(n, f) for n in NAMES for f, d in data.info(n).files.items()
                 if d.startswith("blob:")}
    assert blob_only == {("wikitext-2", "train.txt"), ("ud-english-ewt", "en_ewt-ud-train.conllu"),
                         ("uner-english-ewt", "en_ewt-ud-train.iob2")}


def test_each_entry_names_its_loader():
    for name in NAMES:
        ds = data.info(name)
        fn = loaders._loader(ds)
        assert ds.loader in data.__all__ and fn is getattr(data, ds.loader), name
    assert data.info("ud-english-ewt").loader_args == ("ewt",)
    assert data.info("ud-english-atis").loader_args == ("atis",)
    assert not hasattr(loaders, "_LOADERS") and not hasattr(data, "_LOADERS")


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        data.REGISTRY["names"] = data.info("tinyshakespeare")     # type: ignore[index]
    assert data.REGISTRY is registry.REGISTRY


def test_public_names():
    assert sorted(data.__all__) == sorted(set(data.__all__))
    for name in data.__all__:
        assert getattr(data, name) is not None, name
    assert callable(data.fetch) and callable(data.load)


def test_fsdd_checksums_are_package_data():
    from importlib import resources
    raw = resources.files("rnnbook").joinpath("_checksums").joinpath("fsdd.sha256").read_bytes()
    # sha256 of SHA256SUMS.recordings as given in fsdd/SOURCE.md
    assert hashlib.sha256(raw).hexdigest() == (
        "1801eae019c063377d98f831d3f93574f259475df7332bb0e3d1b080fb5e6959")
    files = data.info("fsdd").files
    assert len(files) == 3001 and "README.md" in files
    assert files["recordings/0_george_0.wav"] == (
        "228ab63fccdf262d2e05817b6ec918b15e7d9e4bfb6bb20183c46ae088405240")


def test_unknown_name():
    with pytest.raises(data.UnknownDataSet) as err:
        data.info("imdb")
    assert isinstance(err.value, KeyError) and isinstance(err.value, data.DataError)
    message = str(err.value)
    assert "imdb" in message and all(name in message for name in NAMES)
    with pytest.raises(data.UnknownDataSet):
        data.load("imdb")
    with pytest.raises(data.UnknownDataSet):
        data.fetch("imdb", "x.txt")


def test_unknown_file_and_bad_choices():
    with pytest.raises(ValueError, match="input.txt"):
        data.fetch("tinyshakespeare", "nope.txt")
    with pytest.raises(ValueError, match="'train', 'valid', 'test'"):
        data.load_wikitext2("validation")
    with pytest.raises(ValueError, match="'atis', 'ewt'"):
        data.load_ud("gum", "train")
    with pytest.raises(ValueError, match="'train', 'dev', 'test'"):
        data.load_ud("atis", "valid")
    with pytest.raises(ValueError, match="'train', 'test'"):
        data.load_banking77("valid")
    with pytest.raises(ValueError, match="'train', 'valid'"):
        data.load_twitter_financial_news("test")


def test_git_blob_id_matches_git_hash_object():
    # names.txt's git blob id from names/SOURCE.md; the blob check is what train files use
    if MIRROR is None:
        pytest.skip("no data mirror")
    path = MIRROR / "names" / "names.txt"
    digest = fetch_mod._digest(path, "blob:", path.stat().st_size)
    assert digest == "blob:736d88e18b70b292750a30e5cca6a92b0b333bd2"


# ---- the mirror ------------------------------------------------------------------------------

@needs_mirror
@pytest.mark.parametrize("name", NAMES)
def test_mirror_files_match_their_hashes(name):
    ds = data.info(name)
    present = [f for f in ds.files if (MIRROR / ds.folder / f).is_file()]
    missing = sorted(set(ds.files) - set(present))
    # only the files pinned by git blob id are allowed to be absent from the mirror
    assert all(ds.files[f].startswith("blob:") for f in missing), missing
    paths = fetch_mod._fetch_many(name, present)
    assert paths == [MIRROR / ds.folder / f for f in present]
    for file, path in zip(present, paths, strict=True):             # independent check of sha256
        expected = ds.files[file]
        if not expected.startswith("blob:"):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == expected, path
    if not missing:
        assert sum(p.stat().st_size for p in paths) == ds.size


@needs_mirror
def test_table():
    rows = {row["name"]: row for row in data.table()}
    assert list(rows) == NAMES
    assert rows["tinyshakespeare"]["size"] == "1.1 MB"
    assert rows["fsdd"]["files"] == 3001
    assert {n for n, r in rows.items() if not r["offline"]} == {"wikitext-2", "ud-english-ewt",
                                                                 "uner-english-ewt"}
    assert rows["wikitext-2"]["size"].startswith("≥")
    assert all(set(r) == {"name", "files", "size", "licence", "source", "offline"}
               for r in rows.values())


# ---- loaders against the facts in SOURCE.md --------------------------------------------------

@needs_mirror
def test_text_loaders():
    text = data.load_tinyshakespeare()
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    names = data.load_names()
    assert len(names) == 32_033 and all(n and n == n.strip().lower() for n in names)
    names.clear()                                   # the caller's copy, not the cache
    assert len(data.load_names()) == 32_033
    assert data.load_wikitext2("valid").count("\n") == 3_760
    assert data.load_wikitext2("test").count("\n") == 4_358


@needs_mirror
def test_wikitext2_train_offline_is_a_clear_error():
    with pytest.raises(data.DataUnavailable) as err:
        data.load_wikitext2("train")
    message = str(err.value)
    assert "wikitext-2" in message and "train.txt" in message
    assert data.info("wikitext-2").url_for("train.txt") in message
    assert "git blob" in message and "RNNBOOK_DATA" in message


@needs_mirror
def test_rt_polarity():
    pairs = data.load_rt_polarity()
    labels = [label for _, label in pairs]
    assert labels == [1] * 5_331 + [0] * 5_331
    assert all(text and text == text.strip() for text, _ in pairs)
    assert any("\u2026" in t for t, _ in pairs) and not any("\x85" in t for t, _ in pairs)


@needs_mirror
def test_ud_atis():
    counts = {split: len(data.load_ud("atis", split)) for split in ("train", "dev", "test")}
    assert counts == {"train": 4_274, "dev": 572, "test": 586}
    dev = data.load_ud("atis", "dev")
    assert sum(len(s) for s in dev) == 6_644
    assert {tok["upos"] for s in dev for tok in s} >= {"NOUN", "VERB", "ADP"}
    dev[0][0]["form"] = "CHANGED"                   # independent objects on every call
    assert data.load("ud-english-atis", split="dev")[0][0]["form"] != "CHANGED"


@needs_mirror
def test_ud_ewt_dev_and_missing_train():
    # load_ud is exercised on ATIS above; here count sentences without the (slow) parse
    for split, count in (("dev", 2_001), ("test", 2_077)):
        text = data.fetch("ud-english-ewt", f"en_ewt-ud-{split}.conllu").read_text("utf-8")
        assert text.count("# sent_id") == count
    with pytest.raises(data.DataUnavailable, match="ud-english-atis"):
        data.load_ud("ewt", "train")


def test_ud_without_conllu(monkeypatch):
    monkeypatch.setitem(sys.modules, "conllu", None)
    with pytest.raises(ImportError, match="pip install conllu"):
        data.load_ud("atis", "dev")


@needs_mirror
def test_tatoeba():
    pairs = data.load_tatoeba_eng_fra()
    assert len(pairs) == 167_130 and all(len(p) == 2 for p in pairs)
    # French punctuation is spaced with U+0020, U+202F or U+00A0 (as upstream; not normalised)
    assert pairs[:3] == [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours\u202f!")]


@needs_mirror
def test_fsdd():
    recs = data.load_fsdd()
    assert len(recs) == 3_000
    assert {rate for _, rate, _, _ in recs} == {8_000}
    assert sorted({digit for _, _, digit, _ in recs}) == list(range(10))
    assert {s for *_, s in recs} == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    wave0, _, digit0, speaker0 = recs[0]
    assert (digit0, speaker0) == (0, "george") and wave0.dtype == np.float32
    assert all(-1.0 <= w.min() and w.max() <= 1.0 for w, *_ in recs)
    wave0[:] = 0                                    # a copy: the cache is untouched
    assert data.load_fsdd()[0][0].any()
    test, train = data.load_fsdd("test"), data.load_fsdd("train")
    assert len(test) == 300 and len(train) == 2_700


@needs_mirror
def test_mauna_loa_co2():
    co2 = data.load_mauna_loa_co2()
    assert {"year", "month", "decimal_date", "average", "trend"} <= set(co2)
    assert all(len(v) == 787 for v in co2.values())
    assert (co2["year"][0], co2["month"][0]) == (1958, 3)
    assert (co2["year"][-1], co2["month"][-1]) == (2023, 9)
    assert not np.isnan(co2["average"]).any() and 310 < co2["average"].min()
    assert np.isnan(co2["ndays"][0]) and np.isnan(co2["sdev"][0])    # -1 / -9.99 sentinels


@needs_mirror
def test_banking77():
    train, categories = data.load_banking77("train")
    test, categories_test = data.load_banking77("test")
    assert (len(train), len(test), len(categories)) == (10_003, 3_080, 77)
    assert categories == categories_test
    assert {c for _, c in train} == {c for _, c in test} == set(categories)
    assert all(t == t.strip() and t for t, _ in train + test)


@needs_mirror
def test_twitter_financial_news():
    train = data.load_twitter_financial_news("train")
    valid = data.load("twitter-financial-news-sentiment", split="valid")
    assert (len(train), len(valid)) == (9_543, 2_388)
    assert [sum(y == k for _, y in train) for k in range(3)] == [1_442, 1_923, 6_178]
    assert [sum(y == k for _, y in valid) for k in range(3)] == [347, 475, 1_566]


@needs_mirror
def test_entree():
    sessions = data.load_entree()
    assert len(sessions) == 50_672
    assert sum(map(len, sessions)) == 189_291
    assert min(map(len, sessions)) == 1 and max(map(len, sessions)) == 59
    assert sum(len(s) >= 2 for s in sessions) == 33_520
    assert len({rid for s in sessions for rid, _ in s}) == 642
    ops = {op for s in sessions for _, op in s}
    assert ops == set("LMNPQRS") and ops <= set(data.ENTREE_OPS)
    assert sessions[0] == [(560, "L"), (110, "L")]          # first line of session.1996-Q3
    with_end = data.load_entree(include_end=True)
    assert sum(len(b) - len(a) for a, b in zip(sessions, with_end, strict=True)) == 50_672 - 6_092
    assert with_end[0][-1] == (110, "")


@needs_mirror
def test_uner():
    dev, test = data.load_uner("dev"), data.load("uner-english-ewt", split="test")
    assert (len(dev), len(test)) == (2_001, 2_077)
    assert sum(len(w) for w, _ in dev) == 25_149 and sum(len(w) for w, _ in test) == 25_097
    assert all(len(w) == len(t) > 0 for w, t in dev + test)
    begins = {}
    for _, tags in test:
        for tag in tags:
            if tag.startswith("B-"):
                begins[tag[2:]] = begins.get(tag[2:], 0) + 1
    assert begins == {"PER": 449, "ORG": 322, "LOC": 317}       # SOURCE.md's counts
    dev[0][0][0] = "CHANGED"
    assert data.load_uner("dev")[0][0][0] != "CHANGED"            # a fresh copy each call
    with pytest.raises(ValueError, match="split"):
        data.load_uner("validation")


def test_uner_parser(tmp_path):
    from rnnbook.data import loaders
    good = tmp_path / "good.iob2"
    good.write_text("# sent_id = a\n1\tMeet\tO\t-\n2\tAnn\tB-PER\t-\tx\n\n"
                    "# sent_id = b\n1\tin\tO\n2\tNew\tB-LOC\n3\tYork\tI-LOC\n", "utf-8")
    assert loaders._uner(loaders._stamp(good)) == (
        (("Meet", "Ann"), ("O", "B-PER")), (("in", "New", "York"), ("O", "B-LOC", "I-LOC")))
    bad = tmp_path / "bad.iob2"
    bad.write_text("1\tMeet\tO\n2\tAnn\tB-MISC\n", "utf-8")
    with pytest.raises(data.DataError, match="line 2 .*IOB2 tag"):
        loaders._uner(loaders._stamp(bad))


# ---- error paths on temporary copies ---------------------------------------------------------

@needs_mirror
def test_corrupt_mirror_file(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    path = _copy("names", "names.txt", mirror)
    _flip_byte(path)
    monkeypatch.setenv("RNNBOOK_DATA", str(mirror))
    with pytest.raises(data.ChecksumMismatch) as err:
        data.load_names()
    message = str(err.value)
    assert "'names'" in message and str(path) in message and "re-copy" in message
    assert data.info("names").files["names.txt"] in message
    assert err.value.actual == hashlib.sha256(path.read_bytes()).hexdigest()


@needs_mirror
def test_corrupt_cache_file_is_not_replaced_silently(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNBOOK_DATA")
    path = _copy("mauna-loa-co2", "co2_mm_mlo.txt", tmp_path / "cache")
    _flip_byte(path, 2000)
    with pytest.raises(data.ChecksumMismatch, match="Delete") as err:
        data.load_mauna_loa_co2()
    assert "mauna-loa-co2" in str(err.value) and str(path) in str(err.value)


@needs_mirror
def test_missing_file_offline(tmp_path, monkeypatch):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("RNNBOOK_DATA", str(empty))
    with pytest.raises(data.DataUnavailable) as err:
        data.fetch("names", "names.txt")
    message = str(err.value)
    assert "'names'" in message and "names.txt" in message
    assert str(empty / "names" / "names.txt") in message
    assert str(tmp_path / "cache" / "names" / "names.txt") in message
    assert data.info("names").url_for("names.txt") in message
    assert err.value.url == data.info("names").url_for("names.txt")


@needs_mirror
def test_found_in_cache_without_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNBOOK_DATA")
    cached = _copy("names", "names.txt", tmp_path / "cache")
    assert data.fetch("names", "names.txt") == cached
    assert len(data.load_names()) == 32_033


@needs_mirror
def test_verification_is_memoised(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNBOOK_DATA", str(tmp_path / "mirror"))
    path = _copy("names", "names.txt", tmp_path / "mirror")
    calls = []
    digest = fetch_mod._digest
    monkeypatch.setattr(fetch_mod, "_digest", lambda *a: calls.append(a) or digest(*a))
    for _ in range(3):
        data.fetch("names", "names.txt")
    assert len(calls) == 1
    os.utime(path, ns=(0, 0))                       # a changed file is checked again
    data.fetch("names", "names.txt")
    assert len(calls) == 2


def _fake_retrieve(calls, corrupt=False):
    """A stand-in for pooch.retrieve that copies the file from the mirror by its URL."""
    by_url = {ds.url_for(f): (ds, f) for ds in data.REGISTRY.values() for f in ds.files}

    def retrieve(url, known_hash=None, fname=None, path=None, **kwargs):
        ds, file = by_url[url]
        calls.append((url, known_hash))
        dest = Path(path) / fname
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MIRROR / ds.folder / file, dest)
        if corrupt:
            _flip_byte(dest)
        return str(dest)

    return retrieve


@needs_mirror
def test_download_is_attempted_and_verified(tmp_path, monkeypatch):
    (tmp_path / "empty-mirror").mkdir()
    monkeypatch.setenv("RNNBOOK_DATA", str(tmp_path / "empty-mirror"))
    monkeypatch.setenv("RNNBOOK_OFFLINE", "0")
    calls = []
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(calls))
    path = data.fetch("names", "names.txt")
    ds = data.info("names")
    assert path == tmp_path / "cache" / "names" / "names.txt"
    assert calls == [(ds.url_for("names.txt"), "sha256:" + ds.files["names.txt"])]
    assert len(data.load_names()) == 32_033 and len(calls) == 1     # now served by the cache
    # many files at once (FSDD's official test split: 300 downloads in a thread pool)
    recs = data.load_fsdd("test")
    assert len(recs) == 300 and len(calls) == 301
    assert all("/26eb9aaf76e81b692f806f9140c2d2777410d7a1/recordings/" in u for u, _ in calls[1:])


@needs_mirror
def test_corrupt_download_is_rejected_and_deleted(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNBOOK_DATA")
    monkeypatch.delenv("RNNBOOK_OFFLINE")
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve([], corrupt=True))
    with pytest.raises(data.ChecksumMismatch) as err:
        data.fetch("wikitext-2", "valid.txt")
    assert "wikitext-2" in str(err.value)
    assert not (tmp_path / "cache" / "wikitext-2" / "valid.txt").exists()


@needs_mirror
def test_blob_only_file_download_is_checked_by_blob_id(tmp_path, monkeypatch):
    # There is no real train.txt offline: serve valid.txt under its URL, which must be rejected.
    monkeypatch.delenv("RNNBOOK_DATA")
    monkeypatch.delenv("RNNBOOK_OFFLINE")
    ds = data.info("wikitext-2")
    calls = []

    def retrieve(url, known_hash=None, fname=None, path=None, **kwargs):
        calls.append((url, known_hash))
        dest = Path(path) / fname
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MIRROR / "wikitext-2" / "valid.txt", dest)
        return str(dest)

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    with pytest.raises(data.ChecksumMismatch, match="git blob") as err:
        data.load_wikitext2("train")
    assert calls == [(ds.url_for("train.txt"), None)]
    assert "2d84b35af79e411d73ea7cae83c73964c6ac83b4" in str(err.value)
    assert not (tmp_path / "cache" / "wikitext-2" / "train.txt").exists()


def test_network_failure_is_data_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNBOOK_DATA", raising=False)
    monkeypatch.delenv("RNNBOOK_OFFLINE")

    def retrieve(url, **kwargs):
        raise ConnectionError(f"cannot reach {url}")

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    with pytest.raises(data.DataUnavailable, match="download failed") as err:
        data.fetch("banking77", "categories.json")
    assert data.info("banking77").url_for("categories.json") in str(err.value)


@needs_mirror
def test_real_pooch_download_from_a_loopback_server(tmp_path, monkeypatch):
    """pooch itself (not a fake) downloads from 127.0.0.1; a wrong file is refused."""
    import dataclasses
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    _copy("names", "names.txt", served)
    _flip_byte(_copy("mauna-loa-co2", "co2_mm_mlo.txt", served))
    wavs = ["recordings/0_george_0.wav", "recordings/7_jackson_32.wav", "recordings/9_theo_49.wav"]
    for wav in wavs:
        _copy("fsdd", wav, served)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(served))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    except OSError as err:
        pytest.skip(f"cannot open a loopback server: {err}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    for name in ("names", "mauna-loa-co2", "rt-polarity", "fsdd"):     # never the real URLs
        ds = data.info(name)
        monkeypatch.setitem(registry._ENTRIES, name, dataclasses.replace(ds, url=base + name + "/"))
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    monkeypatch.delenv("RNNBOOK_DATA")
    monkeypatch.delenv("RNNBOOK_OFFLINE")
    try:
        assert data.fetch("names", "names.txt") == tmp_path / "cache" / "names" / "names.txt"
        assert len(data.load_names()) == 32_033
        got = fetch_mod._fetch_many("fsdd", wavs)          # into a subfolder, 8 threads at a time
        assert got == [tmp_path / "cache" / "fsdd" / wav for wav in wavs]
        with pytest.raises(data.ChecksumMismatch, match="mauna-loa-co2"):
            data.load_mauna_loa_co2()
        assert not (tmp_path / "cache" / "mauna-loa-co2" / "co2_mm_mlo.txt").exists()
        with pytest.raises(data.DataUnavailable, match="404"):
            data.load_rt_polarity()                              # not served
    finally:
        server.shutdown()
        server.server_close()


def test_entree_dates_parse_real_lines():
    import datetime

    from rnnbook.data.loaders import _entree_date, _entree_line
    # line 3 of session.1996-Q3 as in the tarball (its host field replaced), and the
    # date of the latest session of session.1999-Q2
    line = "07/Sep/1996:12:23:36 \tHOST\t0\t633N\t633N\t159P\t159P\t475\n"
    events, end, date = _entree_line(line)
    assert events == ((633, "N"), (633, "N"), (159, "P"), (159, "P")) and end == 475
    assert date == datetime.datetime(1996, 9, 7, 12, 23, 36)
    assert _entree_date("18/Apr/1999:23:48:37 ") == datetime.datetime(1999, 4, 18, 23, 48, 37)
    for bad in ("1999-04-18 23:48:37", "18/Foo/1999:23:48:37 ", "18/Apr/99:23:48:37"):
        with pytest.raises(data.DataError, match="dd/Mon/yyyy"):
            _entree_date(bad)
    if MIRROR is None:
        return
    dated = data.load_entree(include_end=True, with_dates=True)
    assert [s for _, s in dated] == data.load_entree(include_end=True)
    assert dated[0] == (datetime.datetime(1996, 9, 7, 12, 17, 5), [(560, "L"), (110, "L"),
                                                                   (110, "")])
    dates = [d for d, _ in dated]
    assert min(dates) == datetime.datetime(1996, 9, 7, 11, 2, 23)
    assert max(dates) == datetime.datetime(1999, 4, 18, 23, 48, 37)
