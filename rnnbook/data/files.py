"""Locating, verifying and downloading the files of a data set: :func:`fetch`.

A file is looked for in the mirror ``$RNNBOOK_DATA``, then in the download cache
``$RNNBOOK_CACHE``, and downloaded with pooch into the cache unless ``RNNBOOK_OFFLINE=1``.
Every copy is checked against its pinned checksum (see the :mod:`rnnbook.data` docstring).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import pooch

from .registry import (
    _HINTS,
    REGISTRY,
    ChecksumMismatch,
    DataError,
    DataSet,
    DataUnavailable,
    info,
)

__all__ = ["fetch", "table"]

_VERIFIED: set[tuple[str, int, int, str]] = set()   # (path, size, mtime_ns, expected hash)


def _env_path(var: str) -> Optional[Path]:
    """The folder named by environment variable ``var`` as an absolute path (None if unset)."""
    value = os.environ.get(var, "").strip()
    return Path(os.path.abspath(os.path.expanduser(value))) if value else None


def _mirror() -> Optional[Path]:
    """The mirror folder ``$RNNBOOK_DATA`` (None if unset or empty).

    Raises :class:`DataError` when the variable names something that is not a folder (a missing
    path, or a file): a mistyped mirror must not silently turn into downloads.
    """
    mirror = _env_path("RNNBOOK_DATA")
    if mirror is not None and not mirror.is_dir():
        what = "is a file, not a folder" if mirror.exists() else "does not exist"
        raise DataError(
            f"rnnbook.data: RNNBOOK_DATA={os.environ['RNNBOOK_DATA'].strip()!r} names {mirror}, "
            f"which {what}. To fix: set RNNBOOK_DATA to the folder of a data mirror (laid out "
            "as <folder>/<file>, like the project's shared/data), or unset it to use the "
            "download cache.")
    return mirror


def _cache() -> Path:
    return _env_path("RNNBOOK_CACHE") or Path(pooch.os_cache("rnnbook"))


def _offline() -> bool:
    return os.environ.get("RNNBOOK_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _is_writable(folder: Path) -> bool:
    """Whether files can be created in ``folder``, or (while it does not exist) can be created
    by making it: its nearest existing parent must be a writable folder."""
    path = folder
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _candidates(ds: DataSet, file: str) -> list[Path]:
    """Where ``file`` may be, in look-up order: the mirror (if set), then the cache."""
    mirror = _mirror()
    return ([mirror / ds.folder / file] if mirror else []) + [_cache() / ds.folder / file]


def _digest(path: Path, expected: str, size: int) -> str:
    """Hash ``path`` the way ``expected`` is written (sha256 hex, or ``blob:`` + git SHA-1)."""
    if expected.startswith("blob:"):
        h, prefix = hashlib.sha1(b"blob %d\0" % size), "blob:"
    else:
        h, prefix = hashlib.sha256(), ""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return prefix + h.hexdigest()


def _describe(expected: str) -> str:
    if expected.startswith("blob:"):
        return f"git blob id (SHA-1 of 'blob <size>\\0' + content) {expected[5:]}"
    return f"sha256 {expected}"


def _verify(ds: DataSet, file: str, path: Path, downloaded: bool = False) -> None:
    """Check ``path`` against the pinned hash of ``file``; memoised by (path, size, mtime)."""
    expected = ds.files[file]
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, expected)
    if key in _VERIFIED:
        return
    actual = _digest(path, expected, st.st_size)
    if actual != expected:
        url = ds.url_for(file)
        mirror = _mirror()
        if downloaded:
            path.unlink(missing_ok=True)
            todo = (f"The download from {url} does not match and was deleted. Try again; if it "
                    "keeps failing, the upstream file has changed: please report it.")
        elif mirror is not None and _inside(path, mirror):
            todo = (f"It is in the read-only mirror RNNBOOK_DATA={mirror}: re-copy it there "
                    f"from {url} (or restore the mirror), or unset RNNBOOK_DATA to use the "
                    "download cache instead.")
        else:
            todo = f"Delete {path}; the next call downloads it again from {url}."
        raise ChecksumMismatch(
            f"rnnbook.data: data set {ds.name!r}: file {path} is corrupt or not the pinned "
            f"version: expected {_describe(expected)}, got {actual.removeprefix('blob:')}. "
            + todo, dataset=ds.name, path=path, expected=expected, actual=actual)
    _VERIFIED.add(key)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _unavailable(ds: DataSet, file: str, tried: list[Path], why: str) -> DataUnavailable:
    url = ds.url_for(file)
    mirror = _mirror()
    mirror_note = "not set" if mirror is None else str(mirror)
    lines = [
        f"rnnbook.data: data set {ds.name!r}: file {file!r} is not available ({why}).",
        "Looked in: " + ", ".join(str(p) for p in tried) + f" (RNNBOOK_DATA {mirror_note}).",
        f"Canonical URL: {url}",
    ]
    if why.startswith("download failed"):
        lines.append(f"To fix: check the internet connection and try again, or set RNNBOOK_DATA "
                     f"to a mirror folder that holds {ds.folder}/{file}.")
    else:
        lines.append(f"To fix: set RNNBOOK_DATA to a mirror folder that holds {ds.folder}/{file}, "
                     f"or go online (unset RNNBOOK_OFFLINE) to download it into "
                     f"{_cache() / ds.folder}.")
    if ds.files[file].startswith("blob:"):
        lines.append("Only the git blob id of this file is pinned; a download is checked "
                     "against it.")
    if (ds.name, file) in _HINTS:
        lines.append(_HINTS[ds.name, file])
    return DataUnavailable("\n".join(lines), dataset=ds.name, file=file, tried=tried, url=url)


def _not_writable(ds: DataSet, file: str, folder: Path) -> DataUnavailable:
    """The error for a download that cannot be written into the cache ``folder``."""
    url = ds.url_for(file)
    return DataUnavailable(
        f"rnnbook.data: data set {ds.name!r}: cannot download {file!r}: the cache {folder} is "
        f"not writable. To fix: set RNNBOOK_CACHE to a writable folder, or set RNNBOOK_DATA to "
        f"a mirror folder that holds {ds.folder}/{file}. Canonical URL: {url}",
        dataset=ds.name, file=file, tried=_candidates(ds, file), url=url)


def _not_a_file(ds: DataSet, file: str, path: Path, mirror: Optional[Path]) -> DataUnavailable:
    """The error for something other than a file (e.g. a directory) where ``file`` belongs."""
    what = "a directory" if path.is_dir() else "not a regular file"
    url = ds.url_for(file)
    if mirror is not None and _inside(path, mirror):
        where = f"in the mirror RNNBOOK_DATA={mirror}"
        todo = (f"put the file there (from {url}), or unset RNNBOOK_DATA to use the download "
                "cache.")
    else:
        where = "in the download cache"
        todo = f"remove it; the next call downloads the file from {url}."
    return DataUnavailable(
        f"rnnbook.data: data set {ds.name!r}: {path} {where} is {what}, expected the file "
        f"{file!r} ({_describe(ds.files[file])}). To fix: {todo}",
        dataset=ds.name, file=file, tried=[path], url=url)


def _discard(path: Path) -> None:
    """Remove what a failed download may have left at ``path`` (a partial file)."""
    try:
        if path.is_file() or path.is_symlink():
            path.unlink()
    except OSError:
        pass


def _download(ds: DataSet, file: str, dest: Path) -> Path:
    """Download ``file`` into the cache with pooch (pooch checks sha256, we check again).

    Whatever a failed download leaves at ``dest`` is deleted, so the next call tries again.
    """
    expected = ds.files[file]
    known = None if expected.startswith("blob:") else "sha256:" + expected
    try:
        got = pooch.retrieve(ds.url_for(file), known_hash=known, fname=dest.name,
                             path=dest.parent, progressbar=False)
    except BaseException as err:
        _discard(dest)           # a partial file must never pass for a cached copy
        if not isinstance(err, Exception):
            raise
        if isinstance(err, PermissionError):
            raise _not_writable(ds, file, dest.parent) from err
        match = (re.search(r"does not match the known hash.* but got ([0-9a-f]+)", str(err))
                 if isinstance(err, ValueError) else None)
        if match is None:      # network errors come from requests, urllib3, OSError ...
            raise _unavailable(ds, file, _candidates(ds, file), f"download failed: {err}") from err
        raise ChecksumMismatch(
            f"rnnbook.data: data set {ds.name!r}: the download of {ds.url_for(file)} into "
            f"{dest} does not match: expected {_describe(expected)}, got {match[1]}. It was not "
            "kept. Try again; if it keeps failing, the upstream file has changed: please report "
            "it.", dataset=ds.name, path=dest, expected=expected, actual=match[1]) from err
    path = Path(got)
    _verify(ds, file, path, downloaded=True)
    return path


@contextmanager
def _quiet_pooch(quiet: bool) -> Iterator[None]:
    """Silence pooch's log (info level) inside the block when ``quiet``."""
    logger = pooch.get_logger()
    level = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _expected_file(ds: DataSet, file: str) -> str:
    if file not in ds.files:
        names = sorted(ds.files)
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} files)" if len(names) > 8 else "")
        raise ValueError(f"rnnbook.data: data set {ds.name!r} has no file {file!r}; "
                         f"its files are: {shown}")
    return ds.files[file]


def _present(ds: DataSet, file: str, path: Path, mirror: Optional[Path]) -> bool:
    """True if ``path`` is a file, False if nothing is there; an error if something else is."""
    if path.is_file():
        return True
    if path.exists():
        raise _not_a_file(ds, file, path, mirror)
    return False


def _fetch_many(name: str, files: list[str]) -> list[Path]:
    """Verified local paths of ``files`` of data set ``name`` (missing ones are downloaded)."""
    ds = info(name)
    mirror, cache = _mirror(), None
    paths: dict[str, Path] = {}
    missing: list[str] = []
    for file in files:
        _expected_file(ds, file)
        found = mirror / ds.folder / file if mirror is not None else None
        if found is None or not _present(ds, file, found, mirror):
            cache = cache or _cache()      # pooch.os_cache is slow: only when needed
            found = cache / ds.folder / file
        if _present(ds, file, found, mirror):
            _verify(ds, file, found)
            paths[file] = found
        else:
            missing.append(file)
    if missing:
        if _offline():
            extra = f" (and {len(missing) - 1} more files)" if len(missing) > 1 else ""
            raise _unavailable(ds, missing[0], _candidates(ds, missing[0]),
                               "downloads are forbidden by RNNBOOK_OFFLINE=1" + extra)
        cache = _cache()
        checked: set[Path] = set()
        for file in missing:           # say so plainly rather than fail in pooch
            folder = (cache / ds.folder / file).parent
            if folder not in checked and not _is_writable(folder):
                raise _not_writable(ds, file, folder)
            checked.add(folder)
        # pooch logs one line per file, and a confusing hint for files without a sha256
        quiet = len(missing) > 1 or ds.files[missing[0]].startswith("blob:")
        if quiet:
            print(f"rnnbook.data: downloading {len(missing)} file(s) of {ds.name!r} from "
                  f"{ds.url} into {cache / ds.folder}", flush=True)
        with _quiet_pooch(quiet), ThreadPoolExecutor(max_workers=8) as pool:
            got = pool.map(lambda f: _download(ds, f, cache / ds.folder / f), missing)
            paths.update(zip(missing, got, strict=True))
    return [paths[f] for f in files]


def fetch(name: str, file: str) -> Path:
    """Verified local path of ``file`` of data set ``name`` (mirror, then cache, then download).

    Raises :class:`UnknownDataSet`, :class:`ChecksumMismatch` or :class:`DataUnavailable`
    (``ValueError`` if the data set has no such file; :class:`DataError` if ``RNNBOOK_DATA``
    names no folder).
    """
    return _fetch_many(name, [file])[0]


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def table() -> list[dict]:
    """One row per data set: name, files (count), size, licence, source, offline.

    ``size`` is human-readable (decimal units, ``"≥ 2.4 MB"`` when some file's size is not
    known); ``offline`` is True when every file is present in the ``RNNBOOK_DATA`` mirror
    (presence only: checksums are checked when a file is used).
    """
    mirror = _mirror()
    rows = []
    for ds in REGISTRY.values():
        partial = any(h.startswith("blob:") for h in ds.files.values())
        offline = mirror is not None and all((mirror / ds.folder / f).is_file() for f in ds.files)
        rows.append({"name": ds.name, "files": len(ds.files),
                     "size": ("≥ " if partial else "") + _human(ds.size),
                     "licence": ds.licence, "source": ds.source, "offline": offline})
    return rows
