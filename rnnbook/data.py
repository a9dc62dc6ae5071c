"""Every data set the book uses, known by name, pinned and checked.

Each data set in :data:`REGISTRY` has a canonical URL pinned to a git commit and a checksum for
every file (sha256; a git blob id where only that is known). :func:`fetch` finds a file in this
order:

1. ``$RNNBOOK_DATA/<folder>/<file>``: a read-only, pre-seeded mirror with the layout of the
   project's ``shared/data`` folder (CI and offline machines set ``RNNBOOK_DATA``; a relative
   path is taken from the current directory);
2. the download cache ``$RNNBOOK_CACHE/<folder>/<file>`` (default ``pooch.os_cache("rnnbook")``,
   e.g. ``~/.cache/rnnbook``), downloading the pinned URL with pooch when the file is missing.
   ``RNNBOOK_OFFLINE=1`` forbids downloads.

The first copy found is the one used, and it must match its checksum: a mismatch raises
:class:`ChecksumMismatch` rather than silently falling back to another copy. A missing file that
cannot be downloaded raises :class:`DataUnavailable`. Both messages name the data set, the paths
and what to do. A verified file is not hashed again in the same process unless its size or
modification time changes.

Files pinned only by git blob id (WikiText-2 ``train.txt``, UD EWT train: absent from the offline
mirror) are checked after download with ``git hash-object``'s SHA-1. FSDD's 3,000 sha256 sums
ship with the package (``rnnbook/_checksums/fsdd.sha256``); its recordings are downloaded one by
one (8 at a time) from raw URLs at the pinned commit, since the release zip has no pinned hash.

The ``load_*`` functions return ready-to-use Python objects. They cache what they parsed, but each
call returns a fresh copy, so a caller may change the result freely.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import logging
import os
import pickle
import re
import tarfile
import wave
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import numpy as np
import pooch

if TYPE_CHECKING:  # imported lazily at run time (an optional dependency)
    import conllu

__all__ = [
    "DataError", "UnknownDataSet", "ChecksumMismatch", "DataUnavailable", "DataSet", "REGISTRY",
    "ENTREE_OPS", "available", "info", "fetch", "table", "load", "load_tinyshakespeare",
    "load_names", "load_wikitext2", "load_rt_polarity", "load_ud", "load_tatoeba_eng_fra",
    "load_fsdd", "load_mauna_loa_co2", "load_banking77", "load_twitter_financial_news",
    "load_entree",
]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

class DataError(RuntimeError):
    """Base class of every rnnbook.data error; the message says what to do."""


class UnknownDataSet(DataError, KeyError):
    """No data set of that name; the message lists the available names."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class ChecksumMismatch(DataError):
    """A file's content does not match its pinned checksum."""

    def __init__(self, message: str, *, dataset: str, path: Path, expected: str, actual: str):
        super().__init__(message)
        self.dataset, self.path, self.expected, self.actual = dataset, path, expected, actual


class DataUnavailable(DataError):
    """A file is in no local copy and cannot be downloaded (offline, or the download failed)."""

    def __init__(self, message: str, *, dataset: str, file: str, tried: list, url: str):
        super().__init__(message)
        self.dataset, self.file, self.tried, self.url = dataset, file, tried, url


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataSet:
    """One data set: where it lives, how to check it, and how to credit it.

    ``files`` maps each file (a path relative to ``folder``) to its sha256, or to
    ``"blob:<sha1>"`` when only its git blob id is known. A file is downloaded from
    ``url + file`` unless ``file_urls`` names another URL for it. ``size`` is the total bytes
    of the files whose size is known (blob-only files are not counted).
    """

    name: str
    folder: str
    files: dict[str, str]
    url: str
    licence: str
    source: str
    citation: str
    description: str
    size: int
    file_urls: dict[str, str] = field(default_factory=dict)

    def url_for(self, file: str) -> str:
        """The pinned download URL of ``file``."""
        return self.file_urls.get(file, self.url + file)

    def __repr__(self) -> str:  # short: FSDD alone has 3,001 files
        return (f"DataSet(name={self.name!r}, folder={self.folder!r}, "
                f"files=<{len(self.files)} files>, url={self.url!r}, size={self.size:,})")


def _gh(repo: str, commit: str, folder: str = "") -> str:
    """A raw.githubusercontent.com base URL pinned to ``commit``."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{folder}"


def _fsdd_files() -> dict[str, str]:
    """FSDD's 3,000 recordings and their sha256, from the package's ``_checksums/fsdd.sha256``."""
    text = (resources.files("rnnbook").joinpath("_checksums").joinpath("fsdd.sha256")
            .read_text(encoding="ascii"))
    files = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            files["recordings/" + name.strip().lstrip("*")] = digest
    files["README.md"] = "523de3cafa0f54707a0ab2760a2d32b640ccfe834a081d7d35c894f1fb6d79f5"
    return files


_UD_CITATION = "Universal Dependencies; cite the UD release on LINDAT/CLARIAH-CZ"

REGISTRY: dict[str, DataSet] = {ds.name: ds for ds in [
    DataSet(
        name="tinyshakespeare", folder="tinyshakespeare",
        files={"input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"},
        url=_gh("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e",
                "data/tinyshakespeare/"),
        licence="MIT (char-rnn); the text is public domain",
        source="https://github.com/karpathy/char-rnn",
        citation="Andrej Karpathy, char-rnn (2015), https://github.com/karpathy/char-rnn",
        description="1,115,394 characters of Shakespeare: char-level language modelling.",
        size=1_115_394),
    DataSet(
        name="names", folder="names",
        files={"names.txt": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"},
        url=_gh("karpathy/makemore", "988aa59e4d8fefa526d06f3b453ad116258398d4"),
        licence="MIT (makemore); names from the US SSA 2018 list",
        source="https://github.com/karpathy/makemore",
        citation="Andrej Karpathy, makemore (2022), https://github.com/karpathy/makemore",
        description="32,033 lowercase first names, one per line: NPLM and char-level models.",
        size=228_145),
    DataSet(
        name="wikitext-2", folder="wikitext-2",
        files={"train.txt": "blob:2d84b35af79e411d73ea7cae83c73964c6ac83b4",
               "valid.txt": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
               "test.txt": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"},
        url=_gh("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8",
                "word_language_model/data/wikitext-2/"),
        licence="CC BY-SA (HF card: CC BY-SA 3.0 and GFDL)",
        source="https://github.com/pytorch/examples",
        citation="Stephen Merity, Caiming Xiong, James Bradbury, Richard Socher. Pointer "
                 "Sentinel Mixture Models. arXiv:1609.07843, 2016.",
        description="Tokenized WikiText-2 (v1, with <unk>) from pytorch/examples: word-level "
                    "language modelling. train.txt is checked by its git blob id.",
        size=2_378_130),
    DataSet(
        name="rt-polarity", folder="rt-polarity",
        files={"rt-polarity.pos":
                   "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0",
               "rt-polarity.neg":
                   "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"},
        url=_gh("yoonkim/CNN_sentence", "23e0e1f7355705bb083043fda05c031b15acb38c"),
        licence="none stated by the authors; CC BY 4.0 per NLTK",
        source="http://www.cs.cornell.edu/people/pabo/movie-review-data/",
        citation="Bo Pang and Lillian Lee. Seeing stars: Exploiting class relationships for "
                 "sentiment categorization with respect to rating scales. ACL 2005.",
        description="5,331 positive and 5,331 negative movie-review snippets (cp1252): "
                    "sentence sentiment classification.",
        size=1_238_395),
    DataSet(
        name="ud-english-ewt", folder="ud-english-ewt",
        files={"en_ewt-ud-train.conllu": "blob:34731d23bafeeff233fdcee18ffc0254b1aa0e28",
               "en_ewt-ud-dev.conllu":
                   "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
               "en_ewt-ud-test.conllu":
                   "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd",
               "LICENSE.txt": "b3d1b0f4c6ae151f7eb78738f46ebd5ee140f8a7f76501ba26af123140d35ae7",
               "README.md": "099677d6938869b4e855e6ec6548fc24ffeb5fce90e1cd985847f7049664f29e",
               "stats.xml": "1e1e44c4f97b181fc775b42f819895955db4bbda0eaabee01cb590ccf00e89b4"},
        url=_gh("UniversalDependencies/UD_English-EWT", "15d613d8447b3478787d4c278730a1e48a945efb"),
        licence="CC BY-SA 4.0",
        source="https://github.com/UniversalDependencies/UD_English-EWT",
        citation="Natalia Silveira, Timothy Dozat, Marie-Catherine de Marneffe, Samuel Bowman, "
                 "Miriam Connor, John Bauer, Christopher D. Manning. A Gold Standard Dependency "
                 "Corpus for English. LREC 2014.",
        description="English Web Treebank in CoNLL-U (UPOS/XPOS, lemmas, dependencies); the "
                    "train split is checked by its git blob id.",
        size=3_661_493),
    DataSet(
        name="ud-english-atis", folder="ud-english-atis",
        files={"en_atis-ud-train.conllu":
                   "bf34cac75bf90593720fb7e06fcecb4f3fbaf325e7a2ceefbcca10771f56ac72",
               "en_atis-ud-dev.conllu":
                   "ba9ed59a6cf862c695043b64053194277023270ac46ad7b5182b90baee7cfee0",
               "en_atis-ud-test.conllu":
                   "5d076b73ee57d30170f8e43434e14012f472d3af323b4f04d49a57d44c38b59a",
               "LICENSE.txt": "899b1804a12ebc090b96339614eede1b64b686721b650a71430b55b5235f7f79",
               "README.md": "2afe59585e7cdbdad5b1558235e1c19699baedf994f2b10656f9598c55a8a6c1",
               "stats.xml": "052e85d08fa79464933676ecd6d4085417d5a0da8e327b536ddcc7d5a1b979e4"},
        url=_gh("UniversalDependencies/UD_English-Atis",
                "d1b43fe134cae17f65147e69accdf57c521d8af8"),
        licence="CC BY-SA 4.0",
        source="https://github.com/UniversalDependencies/UD_English-Atis",
        citation="UD English-Atis, Universal Dependencies release 2.17 (contributors Aslı "
                  "Kuzgun, Neslihan Cesur, Olcay Taner Yıldız); " + _UD_CITATION,
        description="ATIS flight queries in CoNLL-U (UPOS, no XPOS), 4,274/572/586 sentences: "
                    "complete offline train/dev/test for a BiLSTM tagger.",
        size=3_461_043),
    DataSet(
        name="tatoeba-eng-fra", folder="tatoeba-eng-fra",
        files={"fra.txt": "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
               "_about.txt": "79f39a53dbddaf7ab43c801f231089174a611f23987244056f9e3cb5aa79358b"},
        url=_gh("modelexlab/data", "adddaf33ac35572bcfeb421efec29435e7ea9332"),
        file_urls={"_about.txt": _gh("rebirthmonkey/ai-deep-learning",
                                     "4ab3450d2527dec409ff5bad3b665ecc160af78b",
                                     "data/fra-eng/_about.txt")},
        licence="CC BY 2.0 (Tatoeba: CC BY 2.0 FR)",
        source="http://www.manythings.org/anki/",
        citation="www.manythings.org/anki and tatoeba.org (Tatoeba Project, "
                 "https://tatoeba.org)",
        description="167,130 English-French sentence pairs (manythings.org file of 2019-04-07): "
                    "seq2seq translation.",
        size=11_671_189),
    DataSet(
        name="fsdd", folder="fsdd",
        files=_fsdd_files(),
        url=_gh("Jakobovski/free-spoken-digit-dataset",
                "26eb9aaf76e81b692f806f9140c2d2777410d7a1"),
        licence="CC BY-SA 4.0",
        source="https://github.com/Jakobovski/free-spoken-digit-dataset",
        citation="Free Spoken Digit Dataset (FSDD), v1.0.10, Zohar Jackson et al., "
                 "https://github.com/Jakobovski/free-spoken-digit-dataset",
        description="3,000 recordings of spoken digits 0-9 (6 speakers, 8 kHz mono 16-bit WAV): "
                    "sequence classification of audio.",
        size=21_128_848 + 3_977),
    DataSet(
        name="mauna-loa-co2", folder="mauna-loa-co2",
        files={"co2_mm_mlo.txt":
                   "13ee4e8471a331a9d5f7ca51c8c1dcab2ea1a64f6cf41d20b07bc6a95bace033"},
        url=_gh("KissEmil/mauna_loa", "97a6a20dcbb91b3f5d35e8676f438cd2b0e2d48b"),
        licence="NOAA GML data, freely available (1958 to Apr 1974: Scripps data)",
        source="https://gml.noaa.gov/ccgg/trends/",
        citation="Trends in Atmospheric Carbon Dioxide, Mauna Loa, Hawaii. Dr. Pieter Tans, "
                 "NOAA/GML (gml.noaa.gov/ccgg/trends/) and Dr. Ralph Keeling, Scripps "
                 "Institution of Oceanography (scrippsco2.ucsd.edu/).",
        description="Monthly mean CO2 at Mauna Loa, 1958-03 to 2023-09 (787 rows): time-series "
                    "forecasting.",
        size=57_158),
    DataSet(
        name="banking77", folder="banking77",
        files={"train.csv": "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
               "test.csv": "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d",
               "categories.json":
                   "53261da888122daf2d120d925458631d9619e15d82e56052e7a42e535ce32b63"},
        url=_gh("PolyAI-LDN/task-specific-datasets", "57ec275d8078af65b7731c2a98be812d844a6d6b",
                "banking_data/"),
        licence="CC BY 4.0",
        source="https://github.com/PolyAI-LDN/task-specific-datasets",
        citation="Iñigo Casanueva, Tadas Temčinas, Daniela Gerz, Matthew Henderson, Ivan Vulić. "
                 "Efficient Intent Detection with Dual Sentence Encoders. 2nd Workshop on NLP "
                 "for ConvAI, ACL 2020. https://arxiv.org/abs/2003.04807",
        description="Online-banking queries labelled with 77 intents (10,003 train, 3,080 "
                    "test): intent classification.",
        size=1_081_070),
    DataSet(
        name="twitter-financial-news-sentiment", folder="twitter-financial-news-sentiment",
        files={"sent_train.csv":
                   "184e6322b7f0e84c3103a83d198f1be8203de8b63a857f67a2964321b71c4e8d",
               "sent_valid.csv":
                   "393572beac5064ed60c9f608a57dc66af2b41a91b89c149932d5c57f827e25da"},
        url=_gh("umaima-aman/Twee_Sentiment_Analysis-DeepLearning",
                "0286b19b35c7d658dc28068381c765df4758545a"),
        licence="MIT (HF card); tweet texts come from the Twitter API",
        source="https://huggingface.co/datasets/zeroshot/twitter-financial-news-sentiment",
        citation="Ricky Costa (zeroshot), Twitter Financial News Sentiment Dataset, version "
                 "1.0.0 (2022), "
                 "https://huggingface.co/datasets/zeroshot/twitter-financial-news-sentiment",
        description="Finance tweets labelled 0 bearish, 1 bullish, 2 neutral (9,543 train, "
                    "2,388 valid): 3-class sentiment.",
        size=1_087_956),
    DataSet(
        name="entree-chicago", folder="entree-chicago",
        files={"entree_data.tar.gz":
                   "b825f193b17dde3b0dccc09a771eb5b6e5da14982569807dd9e51c69ab3aa2b7"},
        url=_gh("adityaraute/Restaurant-Recommender", "1614005a768d8d3f04f04f89fc6a61905c716f28"),
        licence="CC BY 4.0 (UCI policy; the tarball states none)",
        source="https://archive.ics.uci.edu/dataset/123/entree+chicago+recommendation+data",
        citation="Robin Burke, Entree Chicago Recommendation Data, UCI KDD Archive / UCI "
                 "Machine Learning Repository (2000), "
                 "https://archive.ics.uci.edu/dataset/123/entree+chicago+recommendation+data",
        description="Entree restaurant-recommender sessions, 1996-99 (50,672 sessions, 189,291 "
                    "events, 642 restaurants): session-based next-item recommendation.",
        size=1_074_349),
]}

# What to suggest when a file cannot be had offline.
_HINTS = {
    ("wikitext-2", "train.txt"): "The offline mirror of this project lacks train.txt (see its "
                                 "SOURCE.md); download it once while online.",
    ("ud-english-ewt", "en_ewt-ud-train.conllu"): "The offline mirror of this project lacks the "
        "EWT train split; download it once while online, or use the complete "
        "'ud-english-atis' treebank (load_ud('atis', ...)) offline.",
}


def available() -> list[str]:
    """Names of all known data sets, in registry order."""
    return list(REGISTRY)


def info(name: str) -> DataSet:
    """The registry entry of ``name``; :class:`UnknownDataSet` if there is none."""
    ds = REGISTRY.get(name) or REGISTRY.get(str(name).strip().lower().replace("_", "-"))
    if ds is None:
        raise UnknownDataSet(f"rnnbook.data: unknown data set {name!r}. "
                             f"Available: {', '.join(available())}.")
    return ds


# --------------------------------------------------------------------------------------------
# Locating, downloading and verifying files
# --------------------------------------------------------------------------------------------

_VERIFIED: set[tuple[str, int, int, str]] = set()   # (path, size, mtime_ns, expected hash)


def _env_path(var: str) -> Optional[Path]:
    """The folder named by environment variable ``var`` as an absolute path (None if unset)."""
    value = os.environ.get(var, "").strip()
    return Path(os.path.abspath(os.path.expanduser(value))) if value else None


def _mirror() -> Optional[Path]:
    return _env_path("RNNBOOK_DATA")


def _cache() -> Path:
    return _env_path("RNNBOOK_CACHE") or Path(pooch.os_cache("rnnbook"))


def _offline() -> bool:
    return os.environ.get("RNNBOOK_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


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
    mirror_note = "not set" if mirror is None else (
        str(mirror) + ("" if mirror.is_dir() else " (no such folder)"))
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


def _download(ds: DataSet, file: str, dest: Path) -> Path:
    """Download ``file`` into the cache with pooch (pooch checks sha256, we check again)."""
    expected = ds.files[file]
    known = None if expected.startswith("blob:") else "sha256:" + expected
    try:
        got = pooch.retrieve(ds.url_for(file), known_hash=known, fname=dest.name,
                             path=dest.parent, progressbar=False)
    except ValueError as err:
        match = re.search(r"does not match the known hash.* but got ([0-9a-f]+)", str(err))
        if match is None:
            raise _unavailable(ds, file, _candidates(ds, file), f"download failed: {err}") from err
        raise ChecksumMismatch(
            f"rnnbook.data: data set {ds.name!r}: the download of {ds.url_for(file)} into "
            f"{dest} does not match: expected {_describe(expected)}, got {match[1]}. It was not "
            "kept. Try again; if it keeps failing, the upstream file has changed: please report "
            "it.", dataset=ds.name, path=dest, expected=expected, actual=match[1]) from err
    except Exception as err:  # network errors come from requests, urllib3, OSError ...
        raise _unavailable(ds, file, _candidates(ds, file), f"download failed: {err}") from err
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


def _fetch_many(name: str, files: list[str]) -> list[Path]:
    """Verified local paths of ``files`` of data set ``name`` (missing ones are downloaded)."""
    ds = info(name)
    mirror, cache = _mirror(), None
    paths: dict[str, Path] = {}
    missing: list[str] = []
    for file in files:
        _expected_file(ds, file)
        found = mirror / ds.folder / file if mirror is not None else None
        if found is None or not found.is_file():
            cache = cache or _cache()      # pooch.os_cache is slow: only when needed
            found = cache / ds.folder / file
        if found.is_file():
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
        # pooch logs one line per file, and a confusing hint for files without a sha256
        quiet = len(missing) > 1 or ds.files[missing[0]].startswith("blob:")
        if quiet:
            print(f"rnnbook.data: downloading {len(missing)} file(s) of {ds.name!r} from "
                  f"{ds.url} into {cache / ds.folder}", flush=True)
        with _quiet_pooch(quiet), ThreadPoolExecutor(max_workers=8) as pool:
            got = pool.map(lambda f: _download(ds, f, cache / ds.folder / f), missing)
            paths.update(zip(missing, got))
    return [paths[f] for f in files]


def fetch(name: str, file: str) -> Path:
    """Verified local path of ``file`` of data set ``name`` (mirror, then cache, then download).

    Raises :class:`UnknownDataSet`, :class:`ChecksumMismatch` or :class:`DataUnavailable`
    (``ValueError`` if the data set has no such file).
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


# --------------------------------------------------------------------------------------------
# Loaders. Parsed results are cached by (path, size, mtime); every call returns a fresh copy.
# --------------------------------------------------------------------------------------------

def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _read_text(name: str, file: str, encoding: str = "utf-8") -> str:
    """The verified file decoded as ``encoding``, without newline translation."""
    return _decoded(_stamp(fetch(name, file)), encoding)


@functools.lru_cache(maxsize=8)
def _decoded(stamp: tuple[str, int, int], encoding: str) -> str:
    return Path(stamp[0]).read_bytes().decode(encoding)


def _lines(text: str) -> list[str]:
    """Split on ``\\n`` only (never on U+0085 and friends); drop one final empty line."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def load_tinyshakespeare() -> str:
    """The tiny Shakespeare text (1,115,394 characters)."""
    return _read_text("tinyshakespeare", "input.txt")


def load_names() -> list[str]:
    """The 32,033 makemore names, in file order."""
    return _lines(_read_text("names", "names.txt"))


def load_wikitext2(split: str) -> str:
    """WikiText-2 split ``"train"``, ``"valid"`` or ``"test"`` as one string (the file as is)."""
    _check_choice("split", split, ("train", "valid", "test"))
    return _read_text("wikitext-2", f"{split}.txt")


def load_rt_polarity() -> list[tuple[str, int]]:
    """(sentence, label) pairs, label 1 = positive, 0 = negative: all positives, then negatives.

    The files are decoded as cp1252, split on ``\\n`` and stripped; the order is the files'
    (no shuffling).
    """
    out = []
    for suffix, label in (("pos", 1), ("neg", 0)):
        text = _read_text("rt-polarity", f"rt-polarity.{suffix}", encoding="cp1252")
        out += [(line.strip(), label) for line in _lines(text)]
    return out


def _import_conllu() -> Any:
    try:
        import conllu
    except ImportError as err:
        raise ImportError("load_ud needs the `conllu` package: `pip install conllu` "
                          "(or `pip install rnnbook[book]`)") from err
    return conllu


@functools.lru_cache(maxsize=4)
def _ud_pickle(stamp: tuple[str, int, int]) -> bytes:
    text = Path(stamp[0]).read_bytes().decode("utf-8")
    return pickle.dumps(_import_conllu().parse(text), protocol=pickle.HIGHEST_PROTOCOL)


def load_ud(treebank: str, split: str) -> list[conllu.TokenList]:
    """UD English sentences as a list of ``conllu.TokenList``.

    ``treebank`` is ``"atis"`` (complete offline) or ``"ewt"`` (train needs a download);
    ``split`` is ``"train"``, ``"dev"`` or ``"test"``. Needs the ``conllu`` package. The parse
    is cached in pickled form, so each call returns independent objects.
    """
    _check_choice("treebank", treebank, ("atis", "ewt"))
    _check_choice("split", split, ("train", "dev", "test"))
    _import_conllu()
    path = fetch(f"ud-english-{treebank}", f"en_{treebank}-ud-{split}.conllu")
    return pickle.loads(_ud_pickle(_stamp(path)))


@functools.lru_cache(maxsize=2)
def _tatoeba(stamp: tuple[str, int, int]) -> tuple[tuple[str, str], ...]:
    text = Path(stamp[0]).read_bytes().decode("utf-8")
    return tuple(tuple(line.split("\t")) for line in _lines(text))  # type: ignore[misc]


def load_tatoeba_eng_fra() -> list[tuple[str, str]]:
    """The 167,130 (english, french) sentence pairs, in file order (short ones first).

    Text is as upstream: the space before French ``!?:;`` is U+0020, U+202F or U+00A0.
    """
    return list(_tatoeba(_stamp(fetch("tatoeba-eng-fra", "fra.txt"))))


@functools.lru_cache(maxsize=4096)
def _wav(stamp: tuple[str, int, int]) -> tuple[np.ndarray, int]:
    """A mono 16-bit WAV file as (read-only float32 waveform, sample rate)."""
    with wave.open(stamp[0], "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise DataError(f"rnnbook.data: {stamp[0]} is not mono 16-bit PCM")
        frames, rate = w.readframes(w.getnframes()), w.getframerate()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / np.float32(32768.0)
    samples.flags.writeable = False
    return samples, rate


def load_fsdd(split: Optional[str] = None) -> list[tuple[np.ndarray, int, int, str]]:
    """FSDD recordings as (waveform, sample rate, digit, speaker), sorted by file name.

    The waveform is float32 in [-1, 1) (16-bit PCM / 32768). ``split=None`` gives all 3,000;
    ``"train"`` (indices 5-49) or ``"test"`` (indices 0-4) give the README's official split.
    """
    if split is not None:
        _check_choice("split", split, ("train", "test"))
    files = sorted(f for f in info("fsdd").files if f.startswith("recordings/"))
    if split is not None:
        test = [f for f in files if int(Path(f).stem.rsplit("_", 1)[1]) < 5]
        files = test if split == "test" else sorted(set(files) - set(test))
    out = []
    for path in _fetch_many("fsdd", files):
        samples, rate = _wav(_stamp(path))
        digit, speaker, _ = path.stem.split("_")
        out.append((samples.copy(), rate, int(digit), speaker))
    return out


@functools.lru_cache(maxsize=2)
def _co2(stamp: tuple[str, int, int]) -> np.ndarray:
    return np.loadtxt(stamp[0], comments="#", ndmin=2)


def load_mauna_loa_co2() -> dict[str, np.ndarray]:
    """Monthly Mauna Loa CO2 (787 rows, 1958-03 to 2023-09) as a dict of 1-D arrays.

    Keys: ``year``, ``month`` (int64), ``decimal_date``, ``average`` (monthly mean, ppm),
    ``trend`` (the de-seasonalized column; also under ``deseasonalized``), ``ndays``, ``sdev``,
    ``unc`` (float64). NOAA writes "no value" as a negative number (-99.99 for a missing
    average in older files, none in this one; -1 / -9.99 / -0.99 for unknown ndays / sdev /
    unc): every negative value becomes NaN.
    """
    raw = _co2(_stamp(fetch("mauna-loa-co2", "co2_mm_mlo.txt")))
    out = {"year": raw[:, 0].astype(np.int64), "month": raw[:, 1].astype(np.int64),
           "decimal_date": raw[:, 2].copy()}
    for column, key in enumerate(("average", "trend", "ndays", "sdev", "unc"), start=3):
        values = raw[:, column].copy()
        values[values < 0] = np.nan
        out[key] = values
    out["deseasonalized"] = out["trend"].copy()
    return out


@functools.lru_cache(maxsize=4)
def _csv_rows(stamp: tuple[str, int, int], header: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    with open(stamp[0], newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if tuple(rows[0]) != header:
        raise DataError(f"rnnbook.data: {stamp[0]}: expected the header {header}, got {rows[0]}")
    return tuple((text.strip(), label) for text, label in rows[1:])


def load_banking77(split: str) -> tuple[list[tuple[str, str]], list[str]]:
    """((text, intent) pairs of ``"train"`` or ``"test"``, the 77 intent names).

    Texts are stripped of surrounding whitespace (a few contain newlines); file order is kept.
    """
    _check_choice("split", split, ("train", "test"))
    path, cats = _fetch_many("banking77", [f"{split}.csv", "categories.json"])
    categories = json.loads(cats.read_bytes().decode("utf-8"))
    return list(_csv_rows(_stamp(path), ("text", "category"))), list(categories)


def load_twitter_financial_news(split: str) -> list[tuple[str, int]]:
    """(text, label) pairs of ``"train"`` or ``"valid"``: 0 bearish, 1 bullish, 2 neutral.

    Texts are stripped of surrounding whitespace; file order is kept.
    """
    _check_choice("split", split, ("train", "valid"))
    path = fetch("twitter-financial-news-sentiment", f"sent_{split}.csv")
    return [(text, int(label)) for text, label in _csv_rows(_stamp(path), ("text", "label"))]


#: Entree navigation operations (the letter after each rated restaurant ID).
ENTREE_OPS = {"L": "browse", "M": "cheaper", "N": "nicer", "O": "closer",
              "P": "more traditional", "Q": "more creative", "R": "more lively",
              "S": "quieter", "T": "change cuisine"}


@functools.lru_cache(maxsize=2)
def _entree(stamp: tuple[str, int, int]) -> tuple[tuple[tuple[tuple[int, str], ...], int], ...]:
    sessions = []
    with tarfile.open(stamp[0], "r:gz") as tar:
        members = sorted((m for m in tar.getmembers()
                          if re.fullmatch(r"entree/session/session\.\d{4}-Q\d", m.name)),
                         key=lambda m: m.name)
        for member in members:
            data = tar.extractfile(member)
            assert data is not None
            for line in io.TextIOWrapper(data, encoding="ascii", newline="\n"):
                fields = line.rstrip("\n").split("\t")
                events = tuple((int(tok[:-1]), tok[-1]) for tok in fields[3:-1])
                sessions.append((events, int(fields[-1])))
    return tuple(sessions)


def load_entree(include_end: bool = False) -> list[list[tuple[int, str]]]:
    """Entree Chicago sessions, read from the tarball without unpacking.

    One list per session (file order: 1996-Q3 first), each a list of ``(restaurant_id, op)`` in
    click order: the Chicago restaurants the user rated and the navigation operation applied to
    each (a letter of :data:`ENTREE_OPS`, e.g. ``"L"`` browse, ``"N"`` nicer). That gives 50,672
    sessions and 189,291 events over 642 restaurant IDs (the IDs of ``data/chicago.txt``).

    The session's *end point* is the restaurant the user saw last, after the last operation
    (-1 when unknown, in 6,092 sessions). With ``include_end=True`` a known end point is
    appended as ``(end_id, "")``. Date, host and entry point are left out (the host is a
    1996-99 client address; the entry point may be a restaurant of another city, or 0 for a
    query form). One token upstream is malformed (``"                  0L"``); it reads as
    ``(0, "L")``.
    """
    out = []
    for events, end in _entree(_stamp(fetch("entree-chicago", "entree_data.tar.gz"))):
        session = list(events)
        if include_end and end != -1:
            session.append((end, ""))
        out.append(session)
    return out


# --------------------------------------------------------------------------------------------
# Generic dispatch
# --------------------------------------------------------------------------------------------

_LOADERS: dict[str, Callable[..., Any]] = {
    "tinyshakespeare": load_tinyshakespeare,
    "names": load_names,
    "wikitext-2": load_wikitext2,
    "rt-polarity": load_rt_polarity,
    "ud-english-ewt": functools.partial(load_ud, "ewt"),
    "ud-english-atis": functools.partial(load_ud, "atis"),
    "tatoeba-eng-fra": load_tatoeba_eng_fra,
    "fsdd": load_fsdd,
    "mauna-loa-co2": load_mauna_loa_co2,
    "banking77": load_banking77,
    "twitter-financial-news-sentiment": load_twitter_financial_news,
    "entree-chicago": load_entree,
}


def load(name: str, **kwargs: Any) -> Any:
    """Load data set ``name`` with its loader, e.g. ``load("wikitext-2", split="valid")``."""
    return _LOADERS[info(name).name](**kwargs)
