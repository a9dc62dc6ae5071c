"""The registry: every data set the book uses (pinned URLs, checksums, citation, licence, loader).

Also the errors of :mod:`rnnbook.data`, and :func:`available` and :func:`info`.
:data:`REGISTRY` is read-only; each entry names its loader in :mod:`rnnbook.data.loaders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

__all__ = ["DataError", "UnknownDataSet", "ChecksumMismatch", "DataUnavailable", "DataSet",
           "REGISTRY", "available", "info"]


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
    of the files whose size is known (blob-only files are not counted). ``loader`` names the
    function of :mod:`rnnbook.data.loaders` that :func:`~rnnbook.data.load` calls, with
    ``loader_args`` first (e.g. ``load_ud("ewt", ...)``).
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
    loader: str
    loader_args: tuple = ()
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

_ENTRIES: dict[str, DataSet] = {ds.name: ds for ds in [
    DataSet(
        name="tinyshakespeare", folder="tinyshakespeare",
        files={"input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"},
        url=_gh("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e",
                "data/tinyshakespeare/"),
        licence="MIT (char-rnn); the text is public domain",
        source="https://github.com/karpathy/char-rnn",
        citation="Andrej Karpathy, char-rnn (2015), https://github.com/karpathy/char-rnn",
        description="1,115,394 characters of Shakespeare: char-level language modelling.",
        size=1_115_394,
        loader="load_tinyshakespeare"),
    DataSet(
        name="names", folder="names",
        files={"names.txt": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"},
        url=_gh("karpathy/makemore", "988aa59e4d8fefa526d06f3b453ad116258398d4"),
        licence="MIT (makemore); names from the US SSA 2018 list",
        source="https://github.com/karpathy/makemore",
        citation="Andrej Karpathy, makemore (2022), https://github.com/karpathy/makemore",
        description="32,033 lowercase first names, one per line: NPLM and char-level models.",
        size=228_145,
        loader="load_names"),
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
        size=2_378_130,
        loader="load_wikitext2"),
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
        size=1_238_395,
        loader="load_rt_polarity"),
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
        size=3_661_493,
        loader="load_ud", loader_args=("ewt",)),
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
        size=3_461_043,
        loader="load_ud", loader_args=("atis",)),
    DataSet(
        name="uner-english-ewt", folder="uner-english-ewt",
        files={"en_ewt-ud-train.iob2": "blob:b2423d72f37f2226e56cbe750da76f820e6c36a9",
               "en_ewt-ud-dev.iob2":
                   "0cafd881cf31d39897b6d588420fab8fbbe4423d271725c59921ac9dd49c0713",
               "en_ewt-ud-test.iob2":
                   "821ad826d5f503ac03b4edc3fbc2174f21fbb005ec25863caf2051c434616d6e",
               "LICENSE.txt": "b3d1b0f4c6ae151f7eb78738f46ebd5ee140f8a7f76501ba26af123140d35ae7"},
        url=_gh("UniversalNER/UNER_English-EWT", "8ed072de2fd24022cc62458997fe96a8fe191ea4"),
        licence="CC BY-SA 4.0",
        source="https://github.com/UniversalNER/UNER_English-EWT",
        citation="Stephen Mayhew, Terra Blevins, Shuheng Liu, Marek Suppa, Hila Gonen, Joseph "
                 "Marvin Imperial, Börje Karlsson, Peiqin Lin, Nikola Ljubešić, Lester James "
                 "Miranda, Barbara Plank, Arij Riabi, Yuval Pinter. Universal NER: A Gold-Standard "
                 "Multilingual Named Entity Recognition Benchmark. NAACL 2024. "
                 "https://arxiv.org/abs/2311.09122",
        description="PER, ORG and LOC spans (IOB2) on the UD English-EWT sentences (2,001 dev, "
                    "2,077 test; train by download): named-entity recognition.",
        size=620_415 + 623_751 + 20_014,
        loader="load_uner"),
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
        size=11_671_189,
        loader="load_tatoeba_eng_fra"),
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
        size=21_128_848 + 3_977,
        loader="load_fsdd"),
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
        size=57_158,
        loader="load_mauna_loa_co2"),
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
        size=1_081_070,
        loader="load_banking77"),
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
        size=1_087_956,
        loader="load_twitter_financial_news"),
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
        size=1_074_349,
        loader="load_entree"),
]}

#: Every data set by name, in the book's order (read-only).
REGISTRY: Mapping[str, DataSet] = MappingProxyType(_ENTRIES)

# What to suggest when a file cannot be had offline.
_HINTS = {
    ("wikitext-2", "train.txt"): "The offline mirror of this project lacks train.txt (see its "
                                 "SOURCE.md); download it once while online.",
    ("ud-english-ewt", "en_ewt-ud-train.conllu"): "The offline mirror of this project lacks the "
        "EWT train split; download it once while online, or use the complete "
        "'ud-english-atis' treebank (load_ud('atis', ...)) offline.",
    ("uner-english-ewt", "en_ewt-ud-train.iob2"): "The offline mirror of this project lacks "
        "the UNER EWT train split; download it once while online, or train on 'dev' and score "
        "on 'test' offline.",
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
