"""Download classic public text-classification datasets and convert them to ``train.csv`` / ``test.csv``.

``download_dataset("trec", "data/trec")`` fetches the original files from their canonical addresses,
verifies each against a SHA-256 checksum, reads the archive members as streams (nothing is ever extracted
to disk) and writes ``train.csv`` and ``test.csv`` with columns ``text,label`` (TREC adds ``label_fine``),
plus ``SOURCE.md`` with the addresses, citation, terms, checksums, conversion and per-class counts.

Layout of the destination folder::

    DIR/downloads/<file>   the verified original file(s); reused on the next run (the cache)
    DIR/train.csv          text,label
    DIR/test.csv           text,label
    DIR/SOURCE.md          written last: a folder without it is incomplete

Guarantees:

* Downloads stream into a temporary ``.part`` file next to their final name and are renamed only after the
  checksum matched; the CSVs and SOURCE.md are written the same way (temp file, fsync, rename), so a kill
  leaves no half file under a final name.
* A checksum mismatch deletes the download and fails (exit 3); nothing else is written.
* Archive members with an absolute path, a drive letter or ``..`` (or links pointing there) are refused.
* Only the standard library (urllib) is used. Mirrors: ``base_url`` (CLI ``--url``) holds this dataset's
  files at ``BASE/<file>``; the environment variable ``TEXTCLF_DATASETS_MIRROR`` holds every dataset at
  ``MIRROR/<name>/<file>``. ``file://`` addresses work too.

Checksums: the SHA-256 values below are the ones published by TensorFlow Datasets
(``imdb_reviews/checksums.tsv``) and by Hugging Face ``datasets`` (``dataset_infos.json`` of ``ag_news``,
``glue``/sst2 and ``trec``) for these exact addresses. The SMS Spam archive at its current UCI address has
no published SHA-256: it is downloaded unverified and its computed SHA-256 is printed and recorded, unless
it equals the published checksum of the older UCI archive.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import os
import posixpath
import random
import re
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, UsageError, closest
from ..io.files import atomic_write, clean_stale_temp_files, sha256_file, write_error, write_text
from ..run.outputs import check_output

log = logging.getLogger(__name__)
MIRROR_ENV = "TEXTCLF_DATASETS_MIRROR"
DOWNLOADS = "downloads"
SOURCE_FILE = "SOURCE.md"
SPLITS = ("train", "test")
DEFAULT_TIMEOUT = 60.0
DEFAULT_SEED = 13
MAX_MEMBER_BYTES = 1 << 30  # a declared member size above this is refused (decompression bomb)
CHUNK = 1 << 16
_SCHEMES = ("http", "https", "file", "ftp")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class DownloadError(DataError):
    """The data could not be fetched: HTTP error, unreachable host, timeout, cut connection (exit 3)."""


class UnsafeArchive(DataError):
    """An archive member that would land outside the destination folder (exit 3)."""


# --------------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset at its canonical address.

    ``sha256``/``size`` are the published values for that address, or None when none is known with
    certainty. ``also_known`` maps other published SHA-256 values of acceptable copies to a description.
    """

    url: str
    sha256: str | None
    size: int | None
    approx_size: int | None = None  # only for display when ``size`` is unknown
    also_known: tuple[tuple[str, str], ...] = ()

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset textclf knows how to fetch and convert."""

    name: str
    title: str
    description: str  # one line, for ``textclf datasets list``
    files: tuple[RemoteFile, ...]
    archive: str  # "tar.gz", "zip", "csv" or "text"
    columns: tuple[str, ...]
    documented: str  # documented counts
    splits_note: str
    conversion: str
    citation: str
    terms: str
    homepage: str
    converter: Callable[..., list[str]] = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def download_bytes(self) -> int | None:
        sizes = [f.size or f.approx_size for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[misc]

    @property
    def size_is_exact(self) -> bool:
        return all(f.size is not None for f in self.files)


# --------------------------------------------------------------------------------------------------
# Archive safety and decoding helpers


def _unsafe_name(name: str) -> bool:
    n = name.replace("\\", "/")
    parts = n.split("/")
    return n.startswith("/") or re.match(r"^[A-Za-z]:", n) is not None or ".." in parts or "\x00" in n


def _refuse(archive: Path, member: str, why: str = "has an absolute path or '..'") -> UnsafeArchive:
    return UnsafeArchive(
        f"{archive.name}: refused the archive: member {member!r} {why}, so it would land outside the "
        "destination folder (path traversal). Nothing was extracted; the archive was deleted. Expected members "
        "under a relative folder; download from the canonical address (leave out --url) or check the mirror"
    )


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    if _unsafe_name(member.name):
        raise _refuse(archive, member.name)
    if member.issym() or member.islnk():
        target = member.linkname
        resolved = (
            posixpath.normpath(posixpath.join(posixpath.dirname(member.name), target)) if member.issym() else target
        )
        if _unsafe_name(target.replace("..", "_")) or _unsafe_name(resolved):
            raise _refuse(archive, member.name, f"is a link to {target!r} outside the archive")


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(
            f"{path.name}: received a file that is not a readable zip archive ({exc}); "
            "expected the dataset's original .zip: check the address or mirror"
        ) from None
    for info in zf.infolist():
        if _unsafe_name(info.filename):
            zf.close()
            raise _refuse(path, info.filename)
        if info.file_size > MAX_MEMBER_BYTES:
            zf.close()
            raise DataError(
                f"{path.name}: member {info.filename!r} declares {info.file_size:,} bytes, expected "
                f"at most {MAX_MEMBER_BYTES:,}; refused (a decompression bomb?)"
            )
    return zf


def _find_member(zf: zipfile.ZipFile, archive: Path, wanted: str) -> zipfile.ZipInfo:
    """The member whose path ends with ``wanted`` (``__MACOSX`` resource forks ignored)."""
    hits = [
        i
        for i in zf.infolist()
        if not i.is_dir()
        and "__MACOSX" not in i.filename
        and (i.filename == wanted or i.filename.endswith("/" + wanted))
    ]
    if not hits:
        names = ", ".join(i.filename for i in zf.infolist()[:10])
        raise DataError(
            f"{archive.name}: no member {wanted!r} in the archive (it holds: {names}); expected the "
            "original archive: check the address or mirror"
        )
    return sorted(hits, key=lambda i: len(i.filename))[0]


def _lines(binary, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) from a binary stream; UTF-8 lines that fail fall back to latin-1."""
    for number, raw in enumerate(binary, start=1):
        raw = raw.rstrip(b"\r\n")
        try:
            yield number, raw.decode(encoding)
        except UnicodeDecodeError:
            yield number, raw.decode("latin-1")


# --------------------------------------------------------------------------------------------------
# Output files: train.csv and test.csv, both or neither


class _Outputs:
    """train.csv and test.csv, each written through :func:`textclf.io.files.atomic_write`; both are renamed into
    place when the ``with`` block ends without an error, and neither is when it fails."""

    def __init__(self, folder: Path, columns: tuple[str, ...]):
        self.folder = folder
        self.columns = columns
        self.counts: dict[str, Counter] = {s: Counter() for s in SPLITS}
        self._stack = contextlib.ExitStack()
        self._writers: dict = {}

    def __enter__(self) -> _Outputs:
        try:
            for split in SPLITS:
                f = self._stack.enter_context(
                    atomic_write(self.folder / f"{split}.csv", "w", encoding="utf-8", newline="")
                )
                self._writers[split] = csv.writer(f, lineterminator="\n")
                self._writers[split].writerow(self.columns)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc) -> bool:
        return self._stack.__exit__(*exc)

    def write(self, split: str, row: tuple[str, ...]) -> None:
        self._writers[split].writerow(row)
        self.counts[split][row[1]] += 1

    def check(self) -> None:
        for split in SPLITS:
            if not self.counts[split]:
                raise DataError(
                    f"the downloaded files gave no {split} rows; expected the dataset's original "
                    "files: check the address or mirror"
                )

    @property
    def paths(self) -> list[Path]:
        return [self.folder / f"{split}.csv" for split in SPLITS]


# --------------------------------------------------------------------------------------------------
# Converters: (files by name, outputs, seed) -> notes for SOURCE.md


_IMDB_MEMBER = re.compile(r"^aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt$")


def _convert_imdb(files: dict[str, Path], out: _Outputs, seed: int) -> list[str]:
    path = files["aclImdb_v1.tar.gz"]
    fallback = 0
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                _check_tar_member(path, member)
                match = _IMDB_MEMBER.match(member.name)
                if not match or not member.isfile():
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(f"{path.name}: member {member.name!r} is {member.size:,} bytes; refused")
                raw = tar.extractfile(member).read()  # type: ignore[union-attr]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text, fallback = raw.decode("latin-1"), fallback + 1
                out.write(match.group(1), (text, match.group(2)))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise DataError(
            f"{path.name}: received a file that is not a readable tar.gz archive ({exc}); expected "
            "the original aclImdb_v1.tar.gz: check the address or mirror"
        ) from None
    return [f"{fallback} review files were not UTF-8 and were decoded as latin-1."] if fallback else []


AG_CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}


def _convert_ag_news(files: dict[str, Path], out: _Outputs, seed: int) -> list[str]:
    for split in SPLITS:
        path = files[f"{split}.csv"]
        with open(path, encoding="utf-8", errors="strict", newline="") as f:
            reader = csv.reader(f)
            try:
                for row in reader:
                    if len(row) != 3:
                        raise DataError(
                            f"{path.name} line {reader.line_num}: received {len(row)} fields, expected 3 "
                            "(class index, title, description); is this the char-CNN AG News CSV?"
                        )
                    label = AG_CLASSES.get(row[0].strip())
                    if label is None:
                        raise DataError(
                            f"{path.name} line {reader.line_num}: received class index {row[0]!r}, "
                            "expected 1-4 (World, Sports, Business, Sci/Tech)"
                        )
                    out.write(split, (f"{row[1]} {row[2]}", label))
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path.name} line {reader.line_num + 1}: not UTF-8 ({exc.reason}); expected the original UTF-8 CSV"
                ) from None
            except csv.Error as exc:
                raise DataError(f"{path.name} line {reader.line_num}: unreadable CSV ({exc})") from None
    return []


SST2_LABELS = {"0": "negative", "1": "positive"}


def _convert_sst2(files: dict[str, Path], out: _Outputs, seed: int) -> list[str]:
    path = files["SST-2.zip"]
    with _open_zip(path) as zf:
        for split, member_name in (("train", "train.tsv"), ("test", "dev.tsv")):
            info = _find_member(zf, path, f"SST-2/{member_name}")
            where = f"{path.name}:{info.filename}"
            with zf.open(info) as binary:
                for number, line in _lines(binary, "utf-8"):
                    if number == 1:
                        if line.strip().split("\t") != ["sentence", "label"]:
                            raise DataError(
                                f"{where} line 1: received header {line!r}, expected "
                                "'sentence<TAB>label' (the GLUE SST-2 format)"
                            )
                        continue
                    if not line.strip():
                        continue
                    text, sep, label = line.rpartition("\t")
                    if not sep or label.strip() not in SST2_LABELS:
                        raise DataError(
                            f"{where} line {number}: received {line[:60]!r}, expected "
                            "'sentence<TAB>0' or 'sentence<TAB>1'"
                        )
                    out.write(split, (text.strip(), SST2_LABELS[label.strip()]))
    return []


def _convert_trec(files: dict[str, Path], out: _Outputs, seed: int) -> list[str]:
    for split, name in (("train", "train_5500.label"), ("test", "TREC_10.label")):
        path = files[name]
        with open(path, "rb") as binary:
            for number, line in _lines(binary, "latin-1"):
                if not line.strip():
                    continue
                tag, _, text = line.partition(" ")
                coarse, colon, fine = tag.partition(":")
                if not colon or not coarse or not fine or not text.strip():
                    raise DataError(
                        f"{name} line {number}: received {line[:60]!r}, expected "
                        "'COARSE:fine question text' (e.g. 'DESC:manner How did ...')"
                    )
                out.write(split, (text.strip(), coarse, tag))
    return []


def _convert_sms_spam(files: dict[str, Path], out: _Outputs, seed: int) -> list[str]:
    path = files["sms+spam+collection.zip"]
    rows: list[tuple[str, str]] = []
    with _open_zip(path) as zf:
        info = _find_member(zf, path, "SMSSpamCollection")
        where = f"{path.name}:{info.filename}"
        with zf.open(info) as binary:
            for number, line in _lines(binary, "utf-8"):
                if not line.strip():
                    continue
                label, sep, text = line.partition("\t")
                if not sep or label not in ("ham", "spam"):
                    raise DataError(
                        f"{where} line {number}: received {line[:60]!r}, expected 'ham<TAB>text' or 'spam<TAB>text'"
                    )
                rows.append((text, label))
    train, test = stratified_80_20(rows, seed)
    for split, part in (("train", train), ("test", test)):
        for row in part:
            out.write(split, row)
    return [f"Split made here with seed {seed} (see Split above): {len(train):,} train / {len(test):,} test."]


def stratified_80_20(rows: list[tuple[str, str]], seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The fixed stratified 80/20 split of ``../shared/datasets`` (sms_spam, mr).

    One ``random.Random(seed)``; for each label in sorted order, that label's rows (in file order) are
    shuffled and the first ``round(0.2 * n)`` go to test. Each part is then shuffled with a fresh
    ``random.Random(seed)`` so that the classes are mixed.
    """
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted({r[1] for r in rows}):
        group = [r for r in rows if r[1] == label]
        rng.shuffle(group)
        k = round(0.2 * len(group))
        test += group[:k]
        train += group[k:]
    random.Random(seed).shuffle(train)
    random.Random(seed).shuffle(test)
    return train, test


# --------------------------------------------------------------------------------------------------
# The registry itself


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo(
            name="ag_news",
            title="AG's News Topic Classification",
            description="news topics: World, Sports, Business, Sci/Tech; 120,000 train / 7,600 test",
            files=(
                RemoteFile(
                    "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/train.csv",
                    "76a0a2d2f92b286371fe4d4044640910a04a803fdd2538e0f3f29a5c6f6b672e",
                    29470338,
                ),
                RemoteFile(
                    "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv",
                    "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                    1857427,
                ),
            ),
            archive="csv",
            columns=("text", "label"),
            documented="120,000 train (30,000 per class) / 7,600 test (1,900 per class)",
            splits_note="the official train/test split of Zhang et al. 2015",
            conversion=(
                'CSV rows `"class index","title","description"` parsed with the csv module; '
                'text = title + " " + description, verbatim (including the original `\\` line-break escapes '
                "and `#39;`-style entity remnants); label = class name (1 World, 2 Sports, 3 Business, "
                "4 Sci/Tech). Row order as in the files."
            ),
            citation=(
                "Xiang Zhang, Junbo Zhao, Yann LeCun. Character-level Convolutional Networks for Text "
                "Classification. NIPS 2015. Built from A. Gulli's AG corpus of news articles."
            ),
            terms=(
                "the AG corpus readme says it is provided by the academic community for research purposes and "
                "any other non-commercial activity"
            ),
            homepage="http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html",
            converter=_convert_ag_news,
        ),
        DatasetInfo(
            name="imdb",
            title="IMDB Large Movie Review Dataset v1.0",
            description="movie review sentiment (pos/neg), long texts; 25,000 train / 25,000 test",
            files=(
                RemoteFile(
                    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                    84125825,
                ),
            ),
            archive="tar.gz",
            columns=("text", "label"),
            documented="25,000 train / 25,000 test, 12,500 pos and 12,500 neg in each",
            splits_note="the official train/test split; the 50,000 unlabeled reviews (train/unsup) are left out",
            conversion=(
                "members `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` read from the tar.gz as streams "
                "(nothing extracted to disk); text = the file's content, verbatim (UTF-8, `<br />` tags "
                "kept); label = `pos` or `neg`. Row order = archive order (grouped by class; textclf "
                "shuffles training batches)."
            ),
            citation=(
                "Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng, Christopher Potts. "
                "Learning Word Vectors for Sentiment Analysis. ACL 2011."
            ),
            terms="no explicit license; the dataset README asks users to cite the ACL 2011 paper",
            homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
            converter=_convert_imdb,
        ),
        DatasetInfo(
            name="sms_spam",
            title="SMS Spam Collection v.1",
            description="SMS ham vs spam, imbalanced (13% spam); 5,574 messages, seeded stratified 80/20 split",
            files=(
                RemoteFile(
                    "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
                    None,
                    None,
                    approx_size=203415,
                    also_known=(
                        (
                            "1587ea43e58e82b14ff1f5425c88e17f8496bfcdb67a583dbff9eefaf9963ce3",
                            "the published SHA-256 of the 2011 UCI archive smsspamcollection.zip",
                        ),
                    ),
                ),
            ),
            archive="zip",
            columns=("text", "label"),
            documented="5,574 messages: 4,827 ham, 747 spam",
            splits_note=(
                f"no official split exists (papers use 10-fold CV). A fixed stratified 80/20 split, seed "
                f"{DEFAULT_SEED} by default: one `random.Random(seed)`; for each label in sorted order, that "
                "label's rows (in file order) are shuffled and the first `round(0.2*n)` go to test; train "
                "and test are then each shuffled with a fresh `random.Random(seed)`. The same procedure as "
                "../shared/datasets/sms_spam (4,460 train / 1,114 test)"
            ),
            conversion=(
                "member `SMSSpamCollection` read from the zip as a stream; each line split at the first TAB "
                "into label (`ham`/`spam`) and text; text verbatim (UTF-8; HTML entities such as `&lt;` "
                "kept)."
            ),
            citation=(
                "Tiago A. Almeida, José María Gómez Hidalgo, Akebo Yamakami. Contributions to the Study of SMS "
                "Spam Filtering: New Collection and Results. ACM DocEng 2011."
            ),
            terms=(
                "the bundled readme: free to use, copyright stays with the authors, no warranty, please cite the "
                "paper; the UCI repository lists it under CC BY 4.0 (not re-checked here)"
            ),
            homepage="https://archive.ics.uci.edu/dataset/228/sms+spam+collection",
            converter=_convert_sms_spam,
        ),
        DatasetInfo(
            name="sst2",
            title="SST-2 (Stanford Sentiment Treebank, GLUE binary version)",
            description="movie review sentence sentiment (negative/positive); 67,349 train / 872 test (GLUE dev)",
            files=(
                RemoteFile(
                    "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                    "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
                    7439277,
                ),
            ),
            archive="zip",
            columns=("text", "label"),
            documented="67,349 train / 872 dev / 1,821 test (test unlabeled)",
            splits_note="GLUE train as train.csv and GLUE dev as test.csv (the GLUE test split has no labels)",
            conversion=(
                "members `SST-2/train.tsv` and `SST-2/dev.tsv` (`sentence<TAB>label`, header line) read as "
                "streams; text = sentence with surrounding whitespace stripped (lower-cased, tokenized as "
                "published); label 0 -> `negative`, 1 -> `positive`. Order as in the files."
            ),
            citation=(
                "Richard Socher et al. Recursive Deep Models for Semantic Compositionality Over a Sentiment "
                "Treebank. EMNLP 2013. Alex Wang et al. GLUE: A Multi-Task Benchmark and Analysis Platform for "
                "Natural Language Understanding. ICLR 2019."
            ),
            terms="no explicit license in the GLUE archive; cite SST and GLUE",
            homepage="https://nlp.stanford.edu/sentiment/",
            converter=_convert_sst2,
        ),
        DatasetInfo(
            name="trec",
            title="TREC question classification (Li & Roth)",
            description="question type: 6 coarse classes (50 fine in label_fine); 5,452 train / 500 test",
            files=(
                RemoteFile(
                    "https://cogcomp.seas.upenn.edu/Data/QA/QC/train_5500.label",
                    "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
                    335858,
                ),
                RemoteFile(
                    "https://cogcomp.seas.upenn.edu/Data/QA/QC/TREC_10.label",
                    "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
                    23354,
                ),
            ),
            archive="text",
            columns=("text", "label", "label_fine"),
            documented="5,452 train / 500 test; 6 coarse and 50 fine classes",
            splits_note="the standard split (train_5500 / TREC_10)",
            conversion=(
                "files decoded as latin-1; each line `COARSE:fine question`: label = the part before `:`, "
                "label_fine = the whole `COARSE:fine` tag, text = the rest of the line, stripped (PTB-style "
                "quotes kept). Order as in the files."
            ),
            citation=(
                "Xin Li, Dan Roth. Learning Question Classifiers. COLING 2002 (data from the Cognitive "
                "Computation Group, UIUC)."
            ),
            terms="no explicit license is published with the data; distributed freely for research",
            homepage="https://cogcomp.seas.upenn.edu/Data/QA/QC/",
            converter=_convert_trec,
        ),
    ]
}


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry for ``name`` (case and ``-``/``_`` ignored), or a UsageError that suggests one."""
    key = name.strip().lower().replace("-", "_")
    if key in DATASETS:
        return DATASETS[key]
    squashed = {n.replace("_", ""): n for n in DATASETS}
    if key.replace("_", "") in squashed:
        return DATASETS[squashed[key.replace("_", "")]]
    close = closest(key, DATASETS, cutoff=0.5) or next((n for n in DATASETS if key and (key in n or n in key)), None)
    hint = f"did you mean '{close}'? " if close else ""
    raise UsageError(
        f"received dataset name {name!r}, expected one of {', '.join(DATASETS)}; {hint}see `textclf datasets list`"
    )


def list_datasets() -> list[DatasetInfo]:
    return [DATASETS[n] for n in sorted(DATASETS)]


# --------------------------------------------------------------------------------------------------
# Downloading


@dataclass
class FetchedFile:
    """One downloaded (or cached) file and how it was checked."""

    filename: str
    url: str
    path: Path
    size: int
    sha256: str
    verified: str  # "registry", "--sha256", "also_known: <what>" or "" (not verified)
    cached: bool
    seconds: float = 0.0


@dataclass
class DownloadResult:
    """What ``download_dataset`` produced."""

    name: str
    folder: Path
    outputs: list[Path]
    source: Path
    counts: dict[str, Counter]
    fetched: list[FetchedFile]

    def summary(self) -> str:
        """One line per CSV with its rows per class, then the folder (the last line)."""
        lines = []
        for path in self.outputs:
            counts = self.counts[path.stem]
            per_class = ", ".join(f"{label} {n:,}" for label, n in sorted(counts.items()))
            total = sum(counts.values())
            lines.append(f"{path.name}: {total:,} row{'' if total == 1 else 's'} ({per_class})")
        return "\n".join(lines + [str(self.folder)])


def format_datasets(entries: list[DatasetInfo] | None = None) -> str:
    """``textclf datasets list``: name, download size and description, one per line."""
    entries = entries if entries is not None else list_datasets()
    width = max(len(d.name) for d in entries)
    return "\n".join(
        f"{d.name:<{width}}  {format_size(d.download_bytes, d.size_is_exact):>8}  {d.description}" for d in entries
    )


def no_progress(label: str, total: int | None) -> ContextManager:
    class _Bar:
        def update(self, n: int) -> None:
            pass

    return contextlib.nullcontext(_Bar())


def _file_url(info: DatasetInfo, remote: RemoteFile, base_url: str | None, mirror: str | None) -> str:
    if base_url:
        if (
            len(info.files) == 1
            and not base_url.endswith("/")
            and base_url.rsplit("/", 1)[-1].endswith((".zip", ".tar.gz", ".tgz", ".csv", ".label"))
        ):
            return base_url  # the full address of a one-file dataset
        return base_url.rstrip("/") + "/" + remote.filename
    if mirror:
        return mirror.rstrip("/") + f"/{info.name}/" + remote.filename
    return remote.url


def _check_url(url: str, origin: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in _SCHEMES:
        raise UsageError(
            f"{origin}: received address {url!r}, expected an http://, https://, ftp:// or file:// "
            "address; fix the address"
        )


def _parse_sha256(values: tuple[str, ...] | list[str] | str | None, info: DatasetInfo) -> dict[str, str]:
    if not values:
        return {}
    if isinstance(values, str):
        values = [values]
    names = [f.filename for f in info.files]
    pinned: dict[str, str] = {}
    for value in values:
        fname, eq, hexdigest = value.rpartition("=")
        if not eq:
            if len(names) != 1:
                raise UsageError(
                    f"--sha256 {value}: {info.name} has {len(names)} files ({', '.join(names)}); "
                    "give --sha256 FILE=HEX for each"
                )
            fname = names[0]
        if fname not in names:
            raise UsageError(f"--sha256 {value}: received file name {fname!r}, expected one of {', '.join(names)}")
        if not _HEX64.match(hexdigest.strip()):
            raise UsageError(
                f"--sha256 {value}: received {hexdigest!r}, expected 64 hexadecimal digits "
                "(the output of `sha256sum FILE`)"
            )
        pinned[fname] = hexdigest.strip().lower()
    return pinned


def _network_error(url: str, exc: BaseException, timeout: float) -> DownloadError:
    advice = (
        f"retry, or use a mirror: --url BASE (files at BASE/<file>) or {MIRROR_ENV}=MIRROR "
        "(files at MIRROR/<dataset>/<file>)"
    )
    if isinstance(exc, urllib.error.HTTPError):
        return DownloadError(f"{url}: received HTTP {exc.code} {exc.reason}, expected 200; check the address, {advice}")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return DownloadError(f"{url}: no data for {timeout:g} s (timed out); {advice}, or raise --timeout")
    return DownloadError(f"{url}: download failed ({type(reason).__name__}: {reason}); check the network, {advice}")


def _fetch(url: str, remote: RemoteFile, final: Path, pin: str | None, timeout: float, progress) -> FetchedFile:
    """Download ``url`` to ``final`` through a temporary file, renamed into place only once its SHA-256 checks."""
    start = time.monotonic()
    digest = hashlib.sha256()
    with atomic_write(final, "wb") as sink:
        received = _stream(url, remote, sink, digest, None if pin else remote.size, timeout, progress)
        verified = _verify(digest.hexdigest(), remote, url, pin)  # a mismatch removes the temporary file
    return FetchedFile(
        remote.filename,
        url,
        final,
        received,
        digest.hexdigest(),
        verified,
        cached=False,
        seconds=time.monotonic() - start,
    )


def _stream(url: str, remote: RemoteFile, sink, digest, expected_size: int | None, timeout: float, progress) -> int:
    """Copy the response of ``url`` into ``sink`` and ``digest``; returns the bytes received."""
    from .. import __version__

    opener = urllib.request.build_opener()  # reads the proxy settings of this moment
    request = urllib.request.Request(url, headers={"User-Agent": f"textclf/{__version__} (urllib)"})
    total = None
    received = 0
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if expected_size is not None and total is not None and total != expected_size:
                raise DataError(
                    f"{url}: the server announces {total:,} bytes, expected {expected_size:,} for "
                    f"{remote.filename}: it serves a different file; check the address or mirror, or, if you "
                    f"trust that file, pin it with --sha256 {remote.filename}=HEX"
                )
            with progress(remote.filename, total) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    sink.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (DataError, UsageError):
        raise
    except OSError as exc:
        if exc.errno is not None and not isinstance(exc, (urllib.error.URLError, socket.timeout)):
            raise  # a local file system error (full disk, ...): io.files names it
        raise _network_error(url, exc, timeout) from None
    except ValueError as exc:
        if isinstance(exc, UnicodeError):
            raise _network_error(url, exc, timeout) from None
        raise UsageError(
            f"received address {url!r}, which urllib cannot open ({exc}); fix --url or the mirror"
        ) from None
    except Exception as exc:  # http.client.IncompleteRead, RemoteDisconnected, ...
        raise _network_error(url, exc, timeout) from None
    if total is not None and received != total:
        raise DownloadError(
            f"{url}: the connection closed after {received:,} of {total:,} bytes; retry, or use a mirror (--url BASE)"
        )
    return received


def _verify(digest: str, remote: RemoteFile, url: str, pinned: str | None) -> str:
    """How ``digest`` was verified ("" if it could not be); raise DataError on a mismatch."""
    expected = pinned or remote.sha256
    if expected is not None:
        if digest != expected:
            source = "--sha256" if pinned else "the checksum textclf knows for this file"
            raise DataError(
                f"{url}: checksum mismatch for {remote.filename}: received SHA-256 {digest}, expected {expected} "
                f"({source}); the file was deleted and nothing was written. The download was corrupted or the "
                "server/mirror serves a different file: retry, check the mirror, or, if you trust this file, "
                f"pass --sha256 {remote.filename}={digest}"
            )
        return "--sha256" if pinned else "registry"
    for sha, what in remote.also_known:
        if digest == sha:
            return f"also_known: {what}"
    return ""


def _status_line(f: FetchedFile) -> str:
    what = "cached" if f.cached else f"downloaded in {f.seconds:.1f} s"
    if f.verified == "registry":
        check = "SHA-256 verified"
    elif f.verified == "--sha256":
        check = "SHA-256 verified against --sha256"
    elif f.verified.startswith("also_known: "):
        check = f"SHA-256 verified: {f.verified[len('also_known: ') :]}"
    else:
        check = (
            "SHA-256 NOT verified (textclf knows no published checksum for this address; compare it with a "
            f"trusted source and pin it next time with --sha256 {f.filename}=HEX)"
        )
    return f"{f.filename}: {f.size:,} bytes, {what}; sha256 {f.sha256}; {check}"


def _source_marker(folder: Path) -> str | None:
    path = folder / SOURCE_FILE
    if not path.is_file():
        return None
    match = re.search(r'textclf dataset "([a-z0-9_]+)"', path.read_text(encoding="utf-8", errors="replace")[:500])
    return match.group(1) if match else ""


def download_dataset(
    name: str,
    dest: str | os.PathLike,
    *,
    base_url: str | None = None,
    mirror: str | None = None,
    sha256: tuple[str, ...] | list[str] | str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str, int | None], ContextManager] | None = None,
) -> DownloadResult:
    """Fetch dataset ``name`` into ``dest`` and write ``train.csv``, ``test.csv`` and ``SOURCE.md`` there.

    ``base_url``: this dataset's files are at ``base_url/<file>`` (a one-file dataset also accepts the file's
    full address). ``mirror``: every dataset at ``mirror/<name>/<file>``; defaults to the environment variable
    ``TEXTCLF_DATASETS_MIRROR``. ``sha256``: ``"HEX"`` or ``"FILE=HEX"`` values that replace the registry
    checksums (needed for a mirror that serves other bytes). ``progress(label, total_bytes_or_None)`` returns a
    context manager with ``update(n)`` (``click.progressbar`` fits). One status line per file goes to the
    ``textclf`` logger.

    A verified file already in ``dest/downloads`` is not downloaded again. Raises UsageError (bad name,
    address or option), DownloadError (network), DataError (checksum mismatch, unsafe or malformed archive).
    """
    info = dataset_info(name)
    progress = progress or no_progress
    pinned = _parse_sha256(sha256, info)
    mirror = _check_sources(base_url, mirror, timeout)

    folder = _prepare_folder(Path(dest), info)
    created = [p for p in (folder, folder / DOWNLOADS) if not p.exists()]
    try:
        (folder / DOWNLOADS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, folder, " (--to)") from None
    for name in [f.filename for f in info.files]:
        clean_stale_temp_files(folder / DOWNLOADS / name)
    for name in ("train.csv", "test.csv", SOURCE_FILE):
        clean_stale_temp_files(folder / name)
    succeeded = False
    try:
        fetched = [
            _cached_or_fetched(info, remote, folder / DOWNLOADS, base_url, mirror, pinned, timeout, progress)
            for remote in info.files
        ]
        written, counts, notes = _convert(info, fetched, folder, seed)
        source = folder / SOURCE_FILE
        write_text(source, _source_md(info, fetched, counts, notes, seed))
        succeeded = True
        return DownloadResult(info.name, folder, written, source, counts, fetched)
    finally:
        if not succeeded:
            for path in reversed(created):  # leave no empty folders behind
                with contextlib.suppress(OSError):
                    path.rmdir()


def _check_sources(base_url: str | None, mirror: str | None, timeout: float) -> str | None:
    """Check the addresses and the timeout; returns the mirror in force (the argument, else the environment's)."""
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    if base_url:
        _check_url(base_url, "--url")
    elif mirror:
        _check_url(mirror, MIRROR_ENV)
    if not timeout or timeout <= 0:
        raise UsageError(f"--timeout: received {timeout}, expected a positive number of seconds")
    return mirror


def _prepare_folder(folder: Path, info: DatasetInfo) -> Path:
    """Refuse a destination that is a file, or holds CSVs of another dataset (nothing is changed)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"--to {folder}: received a file, expected a folder (new or one written by "
            "`textclf datasets download`); choose another --to"
        )
    check_output(folder, "--to", folder=True, overwrite=True, create_parent=True)
    marker = _source_marker(folder) if folder.is_dir() else None
    if marker is None and any((folder / DOWNLOADS / f.filename).is_file() for f in info.files):
        marker = info.name  # an interrupted earlier download of the same dataset
    existing = [p.name for p in (folder / "train.csv", folder / "test.csv") if p.exists()]
    if existing and marker != info.name:
        owner = f"the dataset {marker!r}" if marker else "files textclf datasets did not write"
        raise UsageError(
            f"--to {folder}: already holds {', '.join(existing)} of {owner}, expected a new folder or "
            f"one with {info.name}; choose another --to (nothing was changed)"
        )
    return folder


def _cached_or_fetched(
    info: DatasetInfo,
    remote: RemoteFile,
    downloads: Path,
    base_url: str | None,
    mirror: str | None,
    pinned: dict[str, str],
    timeout: float,
    progress,
) -> FetchedFile:
    """The verified file in ``downloads``: the cached copy when its checksum is right, else a fresh download."""
    url = _file_url(info, remote, base_url, mirror)
    final = downloads / remote.filename
    pin = pinned.get(remote.filename)
    expected = pin or remote.sha256
    if final.is_file():
        digest = sha256_file(final)
        if expected is None or digest == expected:
            verified = _verify(digest, remote, url, pin)
            fetched = FetchedFile(remote.filename, url, final, final.stat().st_size, digest, verified, cached=True)
            log.info(_status_line(fetched))
            return fetched
        log.info(f"{remote.filename}: the cached copy does not match the expected SHA-256; downloading again")
    fetched = _fetch(url, remote, final, pin, timeout, progress)
    log.info(_status_line(fetched))
    return fetched


def _convert(
    info: DatasetInfo, fetched: list[FetchedFile], folder: Path, seed: int
) -> tuple[list[Path], dict[str, Counter], list[str]]:
    """Write train.csv and test.csv from the downloaded files: both, or (on any error) neither."""
    try:
        with _Outputs(folder, info.columns) as outputs:
            notes = info.converter({f.filename: f.path for f in fetched}, outputs, seed)
            outputs.check()
            with contextlib.suppress(FileNotFoundError):
                (folder / SOURCE_FILE).unlink()  # the folder is incomplete until SOURCE.md is back
    except DataError as exc:
        # an unsafe archive goes; so does an unverified download that cannot be read (an error page?), so
        # that the next run fetches it again instead of reusing it from the cache
        for f in fetched:
            if isinstance(exc, UnsafeArchive) or not f.verified:
                with contextlib.suppress(FileNotFoundError):
                    f.path.unlink()
        raise
    return outputs.paths, outputs.counts, notes


# --------------------------------------------------------------------------------------------------
# SOURCE.md


def _source_md(
    info: DatasetInfo, fetched: list[FetchedFile], counts: dict[str, Counter], notes: list[str], seed: int
) -> str:
    lines = [f'# {info.title} (textclf dataset "{info.name}")', ""]
    lines.append("Written by `textclf datasets download`. Original files (kept in `downloads/`):")
    lines.append("")
    by_name = {f.filename: f for f in info.files}
    for f in fetched:
        remote = by_name[f.filename]
        check = {
            "registry": "verified against the published SHA-256",
            "--sha256": "verified against the SHA-256 given with --sha256",
        }.get(f.verified)
        if check is None and f.verified.startswith("also_known: "):
            check = "verified: " + f.verified[len("also_known: ") :]
        if check is None:
            check = "NOT verified: no published checksum is known for this address"
        lines.append(
            f"- `{f.filename}`: "
            + ("cached from an earlier run; this run's address " if f.cached else "downloaded from ")
            + f"<{f.url}>"
            + ("" if f.url == remote.url else f" (canonical address <{remote.url}>)")
            + f"; {f.size:,} bytes; sha256 `{f.sha256}` ({check})"
        )
    lines += [
        "",
        f"**Homepage**: {info.homepage}",
        "",
        f"**Citation**: {info.citation}",
        "",
        f"**License / terms**: {info.terms}.",
        "",
        f"**Documented counts**: {info.documented}.",
        "",
        f"**Split**: {info.splits_note}.",
        "",
        f"**Conversion**: {info.conversion}",
        "",
    ]
    lines += [f"**Note**: {n}" for n in notes] + ([""] if notes else [])
    lines += ["| file | rows | per class |", "|---|---|---|"]
    for split in SPLITS:
        per_class = ", ".join(f"{label}: {n:,}" for label, n in sorted(counts[split].items()))
        lines.append(f"| {split}.csv | {sum(counts[split].values()):,} | {per_class} |")
    lines += ["", f"Columns: `{','.join(info.columns)}` (UTF-8 CSV with a header)."]
    return "\n".join(lines) + "\n"


def format_size(n: int | None, exact: bool = True) -> str:
    if n is None:
        return "?"
    text = f"{n / 1e6:.1f} MB"
    return text if exact else "~" + text
