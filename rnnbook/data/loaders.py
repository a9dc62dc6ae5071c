"""The ``load_*`` functions, which return ready-to-use Python objects, and :func:`load`.

Parsed results are cached by (path, size, mtime); every call returns a fresh copy, so a caller may
change the result freely. :func:`load` calls the loader that a data set's registry entry names.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import pickle
import re
import tarfile
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from .files import _fetch_many, fetch
from .registry import DataError, DataSet, info

if TYPE_CHECKING:  # imported lazily at run time (an optional dependency)
    import conllu

__all__ = [
    "ENTREE_OPS", "load", "load_tinyshakespeare", "load_names", "load_wikitext2",
    "load_rt_polarity", "load_ud", "load_uner", "load_tatoeba_eng_fra", "load_fsdd",
    "load_mauna_loa_co2", "load_banking77", "load_twitter_financial_news", "load_entree",
]


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


@functools.lru_cache(maxsize=3)
def _uner(stamp: tuple[str, int, int]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    sentences, words, tags = [], [], []
    for number, line in enumerate(_lines(Path(stamp[0]).read_bytes().decode("utf-8")), 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if words:
                sentences.append((tuple(words), tuple(tags)))
            words, tags = [], []
            continue
        fields = line.split("\t")
        if len(fields) < 3 or not re.fullmatch(r"O|[BI]-(PER|ORG|LOC)", fields[2]):
            raise DataError(f"rnnbook.data: {stamp[0]} line {number} is not 'index<TAB>form"
                            f"<TAB>IOB2 tag': {line!r}. Delete the file so that it is fetched "
                            "again, or check the mirror.")
        words.append(fields[1])
        tags.append(fields[2])
    if words:
        sentences.append((tuple(words), tuple(tags)))
    return tuple(sentences)


def load_uner(split: str) -> list[tuple[list[str], list[str]]]:
    """Universal NER English-EWT: one ``(words, tags)`` pair per sentence, in file order.

    Tags are IOB2 over ``PER``, ``ORG`` and ``LOC`` (``"B-PER"``, ``"I-PER"``, ..., ``"O"``).
    ``split`` is ``"train"`` (12,543 sentences; needs a download), ``"dev"`` (2,001) or
    ``"test"`` (2,077). The file's other columns (annotation bookkeeping) are left out.
    """
    _check_choice("split", split, ("train", "dev", "test"))
    path = fetch("uner-english-ewt", f"en_ewt-ud-{split}.iob2")
    return [(list(w), list(t)) for w, t in _uner(_stamp(path))]


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


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"), start=1)}


def _entree_date(field: str) -> datetime.datetime:
    """``"07/Sep/1996:12:17:05 "`` (day/month/year:time, a trailing space) as a naive datetime.

    The log gives no time zone. Month names are read from a fixed table, not the locale."""
    m = re.fullmatch(r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ?", field)
    if m is None or m.group(2) not in _MONTHS:
        raise DataError(f"rnnbook.data: an Entree session date reads 'dd/Mon/yyyy:hh:mm:ss', "
                        f"not {field!r}")
    day, month, year, hh, mm, ss = m.groups()
    return datetime.datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss))


def _entree_line(line: str) -> tuple[tuple[tuple[int, str], ...], int, datetime.datetime]:
    """One session line as (events, end point, date); host and entry point are dropped."""
    fields = line.rstrip("\n").split("\t")
    events = tuple((int(tok[:-1]), tok[-1]) for tok in fields[3:-1])
    return events, int(fields[-1]), _entree_date(fields[0])


@functools.lru_cache(maxsize=2)
def _entree(stamp: tuple[str, int, int]
            ) -> tuple[tuple[tuple[tuple[int, str], ...], int, datetime.datetime], ...]:
    sessions = []
    with tarfile.open(stamp[0], "r:gz") as tar:
        members = sorted((m for m in tar.getmembers()
                          if re.fullmatch(r"entree/session/session\.\d{4}-Q\d", m.name)),
                         key=lambda m: m.name)
        for member in members:
            data = tar.extractfile(member)
            assert data is not None
            for line in io.TextIOWrapper(data, encoding="ascii", newline="\n"):
                sessions.append(_entree_line(line))
    return tuple(sessions)


def load_entree(include_end: bool = False, with_dates: bool = False
                ) -> list[list[tuple[int, str]]] | list[tuple[datetime.datetime,
                                                               list[tuple[int, str]]]]:
    """Entree Chicago sessions, read from the tarball without unpacking.

    One list per session (file order: 1996-Q3 first), each a list of ``(restaurant_id, op)`` in
    click order: the Chicago restaurants the user rated and the navigation operation applied to
    each (a letter of :data:`ENTREE_OPS`, e.g. ``"L"`` browse, ``"N"`` nicer). That gives 50,672
    sessions and 189,291 events over 642 restaurant IDs (the IDs of ``data/chicago.txt``).

    A line of the logs is tab-separated: ``date, host, entry point, rated restaurant 1, ...,
    rated restaurant N, end point``, e.g. ``07/Sep/1996:12:17:05 <TAB>host<TAB>0<TAB>560L
    <TAB>110L<TAB>110``. The session's *end point* is the restaurant the user saw last, after
    the last operation (-1 when unknown, in 6,092 sessions). With ``include_end=True`` a known
    end point is appended as ``(end_id, "")``. With ``with_dates=True`` each session comes as
    ``(date, session)``, the date a naive :class:`datetime.datetime` (the log names no time
    zone) of the session's start; sessions stay in file order, which is not quite date order.
    Host and entry point are left out (the host is a 1996-99 client address; the entry point
    may be a restaurant of another city, or 0 for a query form). One token upstream is
    malformed (``"                  0L"``); it reads as ``(0, "L")``.
    """
    out: list = []
    for events, end, date in _entree(_stamp(fetch("entree-chicago", "entree_data.tar.gz"))):
        session = list(events)
        if include_end and end != -1:
            session.append((end, ""))
        out.append((date, session) if with_dates else session)
    return out



# --------------------------------------------------------------------------------------------
# Generic dispatch: each registry entry names its loader
# --------------------------------------------------------------------------------------------

def _loader(ds: DataSet) -> Callable[..., Any]:
    """The function of this module that the entry ``ds`` names."""
    fn = globals().get(ds.loader) if ds.loader.startswith("load_") else None
    if not callable(fn):
        raise DataError(f"rnnbook.data: data set {ds.name!r} names the loader {ds.loader!r}, "
                        "which rnnbook.data.loaders does not define.")
    return fn


def load(name: str, **kwargs: Any) -> Any:
    """Load data set ``name`` with its loader, e.g. ``load("wikitext-2", split="valid")``."""
    ds = info(name)
    return _loader(ds)(*ds.loader_args, **kwargs)
