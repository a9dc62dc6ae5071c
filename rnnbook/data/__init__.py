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

``RNNBOOK_DATA`` that names no folder (a missing path, or a file) raises :class:`DataError`
rather than being ignored; so does a mirror or cache entry that is a directory where a file is
expected. A download into a cache folder that is not writable raises :class:`DataUnavailable`
saying so, and a failed download leaves no partial file behind (the next call tries again).

The ``load_*`` functions return ready-to-use Python objects. They cache what they parsed, but each
call returns a fresh copy, so a caller may change the result freely.

The package is split in three modules, all re-exported here: :mod:`rnnbook.data.registry` (the
entries, the errors, :func:`available`, :func:`info`), :mod:`rnnbook.data.files` (the look-up,
verification and download: :func:`fetch`; :func:`table`) and :mod:`rnnbook.data.loaders` (the
``load_*`` functions and :func:`load`, which calls the loader each entry names).
"""

from .files import fetch, table
from .loaders import (
    ENTREE_OPS,
    load,
    load_banking77,
    load_entree,
    load_fsdd,
    load_mauna_loa_co2,
    load_names,
    load_rt_polarity,
    load_tatoeba_eng_fra,
    load_tinyshakespeare,
    load_twitter_financial_news,
    load_ud,
    load_uner,
    load_wikitext2,
)
from .registry import (
    REGISTRY,
    ChecksumMismatch,
    DataError,
    DataSet,
    DataUnavailable,
    UnknownDataSet,
    available,
    info,
)

__all__ = [
    "DataError", "UnknownDataSet", "ChecksumMismatch", "DataUnavailable", "DataSet", "REGISTRY",
    "ENTREE_OPS", "available", "info", "fetch", "table", "load", "load_tinyshakespeare",
    "load_names", "load_wikitext2", "load_rt_polarity", "load_ud", "load_uner",
    "load_tatoeba_eng_fra", "load_fsdd", "load_mauna_loa_co2", "load_banking77",
    "load_twitter_financial_news", "load_entree",
]
