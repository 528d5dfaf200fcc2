"""``textclf datasets download/list``: real downloads from a local HTTP server on 127.0.0.1.

Each test builds tiny archives in the dataset's ORIGINAL format (aclImdb tar.gz, char-CNN AG News CSVs, GLUE
SST-2 zip, TREC label files in latin-1, UCI SMS zip), serves them with ``http.server`` in a thread and
downloads them through the CLI. Nothing here reaches the internet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import assert_clean_error, cli, last_line, read_csv_rows

pytestmark = pytest.mark.fast  # no training, no TensorFlow: every test here is in the quick subset

# --------------------------------------------------------------------------------------------------
# A local HTTP server


class Server:
    """Serves ``routes`` (path -> bytes). ``/slow/...`` waits before answering, ``/cut/...`` announces more
    bytes than it sends, ``/nolen/...`` sends no Content-Length (the end of the body is the end of the
    connection)."""

    def __init__(self):
        self.routes: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.hits.append(self.path)
                if self.path.startswith("/slow/"):
                    time.sleep(3)
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                if not self.path.startswith("/nolen/"):
                    extra = 1000 if self.path.startswith("/cut/") else 0
                    self.send_header("Content-Length", str(len(body) + extra))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes) -> str:
        self.routes[path] = body
        return self.base + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "TEXTCLF_DATASETS_MIRROR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows_of(path: Path) -> list[tuple[str, ...]]:
    header, rows = read_csv_rows(path)
    return [tuple(r[c] for c in header) for r in rows]


def assert_no_parts(folder: Path) -> None:
    parts = [p for p in folder.rglob("*") if p.name.endswith(".part")]
    assert not parts, parts


# --------------------------------------------------------------------------------------------------
# Tiny archives in the original formats


def tar_gz(members: dict[str, bytes | None], extra=None) -> bytes:
    """A .tar.gz; a member whose content is None is a folder; ``extra`` adds raw TarInfo objects."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


IMDB_MEMBERS = {
    "aclImdb": None,
    "aclImdb/README": b"Large Movie Review Dataset v1.0\n",
    "aclImdb/imdb.vocab": b"the\nand\n",
    "aclImdb/train/pos/0_9.txt": b'Bromwell High is a cartoon comedy.<br /><br />Loved it, "really".',
    "aclImdb/train/neg/1_2.txt": b"Story of a man who has unnatural feelings for a pig.",
    "aclImdb/train/unsup/2_0.txt": b"unlabeled, left out",
    "aclImdb/train/urls_pos.txt": b"http://www.imdb.com/title/tt0453418/usercomments\n",
    "aclImdb/test/pos/0_10.txt": "Na\u00efve caf\u00e9 charm, a 10/10".encode("utf-8"),
    "aclImdb/test/neg/3_1.txt": b"Once again Mr. Costner has dragged out a movie",
}
IMDB_TRAIN = [
    ('Bromwell High is a cartoon comedy.<br /><br />Loved it, "really".', "pos"),
    ("Story of a man who has unnatural feelings for a pig.", "neg"),
]
IMDB_TEST = [("Na\u00efve caf\u00e9 charm, a 10/10", "pos"), ("Once again Mr. Costner has dragged out a movie", "neg")]


def ag_csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


AG_TRAIN = ag_csv(
    [
        [
            "3",
            "Wall St. Bears Claw Back Into the Black (Reuters)",
            "Reuters - Short-sellers, Wall Street's dwindling\\band of ultra-cynics, are seeing green again.",
        ],
        ["2", "Phelps Wins", 'He said "gold", and won.'],
        ["1", "Talks in Gaza", "Leaders meet."],
        ["4", "New chip", "Faster &#39;cores&#39;."],
    ]
)
AG_TEST = ag_csv(
    [["4", "Calif. Aims to Limit Farm-Related Smog (AP)", "AP - smog-fighting rules"], ["1", "Vote", "Polls open."]]
)

SST2_ZIP = zip_bytes(
    {
        "SST-2/train.tsv": b"sentence\tlabel\nhide new secretions from the parental units \t0\n"
        b"contains no wit , only labored gags \t0\nthat loves its characters \t1\n",
        "SST-2/dev.tsv": b"sentence\tlabel\nit 's a charming and often affecting journey . \t1\n"
        b"unflinchingly bleak and desperate \t0\n",
        "SST-2/test.tsv": b"index\tsentence\n0\tuneasy mishmash of styles and genres .\n",
        "SST-2/original/README.txt": b"original SST files\n",
    }
)

TREC_TRAIN = (
    b"DESC:manner How did serfdom develop in and then leave Russia ?\n"
    b"ENTY:cremat What films featured the character Popeye Doyle ?\n"
    b"HUM:ind Who was the sister\xf0city founder ?\n"
)
TREC_TEST = b"NUM:dist How far is it from Denver to Aspen ?\nLOC:city What county is Modesto , California in ?\n"

SMS_ROWS = [(f"ham message number {i}", "ham") for i in range(10)] + [
    (f"WINNER!! claim prize {i} now", "spam") for i in range(5)
]
random.Random(5).shuffle(SMS_ROWS)
SMS_ZIP = zip_bytes(
    {
        "SMSSpamCollection": "".join(f"{lab}\t{t}\n" for t, lab in SMS_ROWS).encode("utf-8"),
        "readme": b"SMS Spam Collection v.1\n",
    }
)


# --------------------------------------------------------------------------------------------------
# Each dataset, downloaded and converted


def test_imdb_tar_gz_is_read_in_memory_and_converted(server, tmp_path):
    archive = tar_gz(IMDB_MEMBERS)
    server.add("/imdb/aclImdb_v1.tar.gz", archive)
    out = tmp_path / "imdb"
    result = cli("datasets", "download", "imdb", "--to", out, "--url", server.base + "/imdb", "--sha256", sha(archive))
    assert result.exit_code == 0, result.output
    assert rows_of(out / "train.csv") == IMDB_TRAIN
    assert rows_of(out / "test.csv") == IMDB_TEST
    assert read_csv_rows(out / "train.csv")[0] == ["text", "label"]
    assert last_line(result.stdout) == str(out)
    assert "train.csv: 2 rows (neg 1, pos 1)" in result.stdout
    # the final status line on stderr (no TTY, so no bar)
    assert f"aclImdb_v1.tar.gz: {len(archive):,} bytes, downloaded in" in result.stderr
    assert f"sha256 {sha(archive)}; SHA-256 verified against --sha256" in result.stderr
    # only the CSVs, SOURCE.md and the cached original: nothing extracted
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "SOURCE.md",
        "downloads",
        "downloads/aclImdb_v1.tar.gz",
        "test.csv",
        "train.csv",
    ]
    source = (out / "SOURCE.md").read_text(encoding="utf-8")
    assert source.startswith('# IMDB Large Movie Review Dataset v1.0 (textclf dataset "imdb")')
    assert f"<{server.base}/imdb/aclImdb_v1.tar.gz>" in source
    assert "canonical address <https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz>" in source
    assert f"sha256 `{sha(archive)}` (verified against the SHA-256 given with --sha256)" in source
    assert "Maas" in source and "| train.csv | 2 | neg: 1, pos: 1 |" in source


def test_ag_news_csvs_two_files_each_with_its_checksum(server, tmp_path):
    server.add("/ag/train.csv", AG_TRAIN)
    server.add("/ag/test.csv", AG_TEST)
    out = tmp_path / "ag"
    result = cli(
        "datasets",
        "download",
        "ag_news",
        "--to",
        out,
        "--url",
        server.base + "/ag/",
        "--sha256",
        f"train.csv={sha(AG_TRAIN)}",
        "--sha256",
        f"test.csv={sha(AG_TEST)}",
    )
    assert result.exit_code == 0, result.output
    assert rows_of(out / "train.csv") == [
        (
            "Wall St. Bears Claw Back Into the Black (Reuters) Reuters - Short-sellers, Wall Street's dwindling\\band "
            "of ultra-cynics, are seeing green again.",
            "Business",
        ),
        ('Phelps Wins He said "gold", and won.', "Sports"),
        ("Talks in Gaza Leaders meet.", "World"),
        ("New chip Faster &#39;cores&#39;.", "Sci/Tech"),
    ]
    assert rows_of(out / "test.csv") == [
        ("Calif. Aims to Limit Farm-Related Smog (AP) AP - smog-fighting rules", "Sci/Tech"),
        ("Vote Polls open.", "World"),
    ]
    assert_no_parts(out)


def test_sst2_zip_uses_dev_as_test_and_takes_a_full_file_address(server, tmp_path):
    url = server.add("/glue/data/SST-2.zip", SST2_ZIP)
    out = tmp_path / "sst2"
    result = cli("datasets", "download", "SST-2", "--to", out, "--url", url, "--sha256", sha(SST2_ZIP))
    assert result.exit_code == 0, result.output
    assert rows_of(out / "train.csv") == [
        ("hide new secretions from the parental units", "negative"),
        ("contains no wit , only labored gags", "negative"),
        ("that loves its characters", "positive"),
    ]
    assert rows_of(out / "test.csv") == [
        ("it 's a charming and often affecting journey .", "positive"),
        ("unflinchingly bleak and desperate", "negative"),
    ]
    assert (out / "SOURCE.md").read_text(encoding="utf-8").startswith("# SST-2")


def test_trec_latin1_files_through_the_mirror_variable(server, tmp_path, monkeypatch):
    server.add("/mirror/trec/train_5500.label", TREC_TRAIN)
    server.add("/mirror/trec/TREC_10.label", TREC_TEST)
    monkeypatch.setenv("TEXTCLF_DATASETS_MIRROR", server.base + "/mirror")
    out = tmp_path / "trec"
    result = cli(
        "datasets",
        "download",
        "trec",
        "--to",
        out,
        "--sha256",
        f"train_5500.label={sha(TREC_TRAIN)}",
        "--sha256",
        f"TREC_10.label={sha(TREC_TEST)}",
    )
    assert result.exit_code == 0, result.output
    header, _ = read_csv_rows(out / "train.csv")
    assert header == ["text", "label", "label_fine"]
    assert rows_of(out / "train.csv") == [
        ("How did serfdom develop in and then leave Russia ?", "DESC", "DESC:manner"),
        ("What films featured the character Popeye Doyle ?", "ENTY", "ENTY:cremat"),
        ("Who was the sister\u00f0city founder ?", "HUM", "HUM:ind"),
    ]
    assert rows_of(out / "test.csv") == [
        ("How far is it from Denver to Aspen ?", "NUM", "NUM:dist"),
        ("What county is Modesto , California in ?", "LOC", "LOC:city"),
    ]
    assert "/mirror/trec/TREC_10.label" in server.hits


def documented_split(rows, seed):
    """The split as SOURCE.md documents it (and as ../shared/datasets/sms_spam was made)."""
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted({lab for _, lab in rows}):
        group = [r for r in rows if r[1] == label]
        rng.shuffle(group)
        k = round(0.2 * len(group))
        test, train = test + group[:k], train + group[k:]
    random.Random(seed).shuffle(train)
    random.Random(seed).shuffle(test)
    return train, test


def test_sms_spam_gets_a_seeded_stratified_80_20_split(server, tmp_path):
    server.add("/sms/sms+spam+collection.zip", SMS_ZIP)
    out = tmp_path / "sms"
    result = cli("datasets", "download", "sms_spam", "--to", out, "--url", server.base + "/sms")
    assert result.exit_code == 0, result.output
    train, test = rows_of(out / "train.csv"), rows_of(out / "test.csv")
    assert (train, test) == documented_split(SMS_ROWS, 13)
    assert sorted(train + test) == sorted(SMS_ROWS)
    assert sorted(lab for _, lab in test) == ["ham", "ham", "spam"]  # round(0.2 * 10), round(0.2 * 5)
    # no published checksum for this address: the computed one is printed and recorded as not verified
    assert f"sha256 {sha(SMS_ZIP)}; SHA-256 NOT verified" in result.stderr
    assert "NOT verified" in (out / "SOURCE.md").read_text(encoding="utf-8")
    assert "seed 13" in (out / "SOURCE.md").read_text(encoding="utf-8")
    other = tmp_path / "sms7"
    assert (
        cli("datasets", "download", "sms_spam", "--to", other, "--url", server.base + "/sms", "--seed", "7").exit_code
        == 0
    )
    assert (rows_of(other / "train.csv"), rows_of(other / "test.csv")) == documented_split(SMS_ROWS, 7)


def test_a_verified_cached_file_is_not_downloaded_again(server, tmp_path):
    server.add("/cache/SST-2.zip", SST2_ZIP)
    out = tmp_path / "sst2"
    args = ["datasets", "download", "sst2", "--to", out, "--url", server.base + "/cache", "--sha256", sha(SST2_ZIP)]
    assert cli(*args).exit_code == 0
    first = (out / "train.csv").read_bytes()
    hits = server.hits.count("/cache/SST-2.zip")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert server.hits.count("/cache/SST-2.zip") == hits
    assert f"SST-2.zip: {len(SST2_ZIP):,} bytes, cached;" in result.stderr and "downloaded in" not in result.stderr
    assert (out / "train.csv").read_bytes() == first
    assert "cached from an earlier run" in (out / "SOURCE.md").read_text(encoding="utf-8")


def test_an_unverified_download_that_is_not_an_archive_is_not_cached(server, tmp_path):
    server.add("/portal/sms+spam+collection.zip", b"<html>please log in</html>")
    out = tmp_path / "sms"
    result = cli("datasets", "download", "sms_spam", "--to", out, "--url", server.base + "/portal")
    assert_clean_error(
        result,
        3,
        "sms+spam+collection.zip: received a file that is not a readable zip archive",
        "check the address or mirror",
    )
    assert not out.exists()
    server.add("/portal/sms+spam+collection.zip", SMS_ZIP)  # the next run downloads again
    result = cli("datasets", "download", "sms_spam", "--to", out, "--url", server.base + "/portal")
    assert result.exit_code == 0, result.output
    assert len(rows_of(out / "train.csv")) == 12


def test_a_pinned_file_that_is_not_a_tar_gz_is_a_data_error(server, tmp_path):
    junk = b"not gzip at all" * 10
    server.add("/junk/aclImdb_v1.tar.gz", junk)
    result = cli(
        "datasets", "download", "imdb", "--to", tmp_path / "i", "--url", server.base + "/junk", "--sha256", sha(junk)
    )
    assert_clean_error(result, 3, "aclImdb_v1.tar.gz: received a file that is not a readable tar.gz archive")
    assert not (tmp_path / "i" / "train.csv").exists()


# --------------------------------------------------------------------------------------------------
# Refusals and clean errors


def test_the_published_size_refuses_another_file_before_downloading_it(server, tmp_path):
    archive = tar_gz(IMDB_MEMBERS)
    server.add("/othermirror/aclImdb_v1.tar.gz", archive)
    out = tmp_path / "imdb"
    result = cli("datasets", "download", "imdb", "--to", out, "--url", server.base + "/othermirror")
    assert_clean_error(result, 3, f"announces {len(archive):,} bytes, expected 84,125,825", "--sha256")
    assert list(tmp_path.iterdir()) == []


def test_the_published_checksum_refuses_other_bytes_and_leaves_nothing(server, tmp_path):
    archive = tar_gz(IMDB_MEMBERS)
    server.add("/nolen/aclImdb_v1.tar.gz", archive)
    out = tmp_path / "imdb"
    result = cli("datasets", "download", "imdb", "--to", out, "--url", server.base + "/nolen")
    assert_clean_error(
        result,
        3,
        "checksum mismatch",
        f"received SHA-256 {sha(archive)}",
        "expected c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        "the file was deleted",
        f"--sha256 aclImdb_v1.tar.gz={sha(archive)}",
    )
    assert not out.exists()  # the folder it created is removed again
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_sha256_option_is_refused_and_leaves_no_output(server, tmp_path):
    server.add("/w/SST-2.zip", SST2_ZIP)
    out = tmp_path / "given"
    out.mkdir()
    wrong = "0" * 64
    result = cli("datasets", "download", "sst2", "--to", out, "--url", server.base + "/w", "--sha256", wrong)
    assert_clean_error(result, 3, "checksum mismatch", f"expected {wrong} (--sha256)")
    assert list(out.iterdir()) == []


def test_a_404_is_a_clean_error_naming_the_address(server, tmp_path):
    result = cli("datasets", "download", "trec", "--to", tmp_path / "t", "--url", server.base + "/nothing")
    assert_clean_error(result, 3, f"{server.base}/nothing/train_5500.label", "HTTP 404", "--url", "retry")
    assert not (tmp_path / "t").exists()


def test_an_unreachable_host_is_a_clean_error(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("datasets", "download", "sst2", "--to", tmp_path / "s", "--url", f"http://127.0.0.1:{port}/x")
    assert_clean_error(
        result, 3, f"http://127.0.0.1:{port}/x/SST-2.zip", "Connection refused", "TEXTCLF_DATASETS_MIRROR"
    )


def test_a_silent_server_times_out(server, tmp_path):
    # the server waits 3 s before it answers; the message says which timeout fired, so a download that
    # waited for the answer, or a timeout other than --timeout's, cannot pass
    server.add("/slow/SST-2.zip", SST2_ZIP)
    result = cli(
        "datasets",
        "download",
        "sst2",
        "--to",
        tmp_path / "s",
        "--url",
        server.base + "/slow",
        "--timeout",
        "0.5",
        "--sha256",
        sha(SST2_ZIP),
    )
    assert_clean_error(result, 3, "/slow/SST-2.zip", "no data for 0.5 s (timed out)", "--timeout")
    assert not (tmp_path / "s").exists()


def test_a_cut_connection_is_a_clean_error(server, tmp_path):
    server.add("/cut/SST-2.zip", SST2_ZIP)
    result = cli(
        "datasets", "download", "sst2", "--to", tmp_path / "s", "--url", server.base + "/cut", "--sha256", sha(SST2_ZIP)
    )
    assert_clean_error(result, 3, "/cut/SST-2.zip", "retry")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("member", ["../evil.txt", "SST-2/../../evil.txt", "/tmp/evil.txt", "C:\\evil.txt"])
def test_a_zip_member_with_path_traversal_is_refused(server, tmp_path, member):
    bad = zip_bytes(
        {
            "SST-2/train.tsv": b"sentence\tlabel\nfine \t1\n",
            "SST-2/dev.tsv": b"sentence\tlabel\nok \t0\n",
            member: b"pwned",
        }
    )
    server.add("/trav/SST-2.zip", bad)
    out = tmp_path / "work" / "out"
    result = cli("datasets", "download", "sst2", "--to", out, "--url", server.base + "/trav", "--sha256", sha(bad))
    assert_clean_error(result, 3, "refused the archive", repr(member), "path traversal")
    assert not out.exists()  # archive deleted, no CSV, folders removed
    assert list((tmp_path / "work").iterdir()) == []
    assert not Path("/tmp/evil.txt").exists() or Path("/tmp/evil.txt").read_bytes() != b"pwned"


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_a_tar_member_with_path_traversal_is_refused(server, tmp_path, kind):
    members = dict(IMDB_MEMBERS)
    extra = []
    if kind == "absolute":
        members["/etc/evil.txt"] = b"pwned"
    elif kind == "dotdot":
        members["aclImdb/../../evil.txt"] = b"pwned"
    else:
        link = tarfile.TarInfo("aclImdb/train/pos/9_9.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
        extra.append(link)
    archive = tar_gz(members, extra)
    server.add(f"/tar-{kind}/aclImdb_v1.tar.gz", archive)
    out = tmp_path / "out"
    result = cli(
        "datasets", "download", "imdb", "--to", out, "--url", f"{server.base}/tar-{kind}", "--sha256", sha(archive)
    )
    assert_clean_error(result, 3, "refused the archive", "outside the destination folder")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_bad_row_leaves_the_previous_csvs_whole(server, tmp_path):
    out = tmp_path / "ag"
    server.add("/ag1/train.csv", AG_TRAIN)
    server.add("/ag1/test.csv", AG_TEST)
    ok = cli(
        "datasets",
        "download",
        "ag_news",
        "--to",
        out,
        "--url",
        server.base + "/ag1",
        "--sha256",
        f"train.csv={sha(AG_TRAIN)}",
        "--sha256",
        f"test.csv={sha(AG_TEST)}",
    )
    assert ok.exit_code == 0, ok.output
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad_test = AG_TEST + ag_csv([["7", "Odd", "class seven"]])
    server.add("/ag2/train.csv", AG_TRAIN)
    server.add("/ag2/test.csv", bad_test)
    result = cli(
        "datasets",
        "download",
        "ag_news",
        "--to",
        out,
        "--url",
        server.base + "/ag2",
        "--sha256",
        f"train.csv={sha(AG_TRAIN)}",
        "--sha256",
        f"test.csv={sha(bad_test)}",
    )
    assert_clean_error(result, 3, "test.csv line 3", "class index '7'", "expected 1-4")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert_no_parts(out)


def test_a_folder_of_another_dataset_is_not_overwritten(server, tmp_path):
    out = tmp_path / "mixed"
    out.mkdir()
    (out / "train.csv").write_text("text,label\nmine,a\n", encoding="utf-8")
    result = cli("datasets", "download", "sst2", "--to", out, "--url", server.base + "/w", "--sha256", "1" * 64)
    assert_clean_error(result, 2, "already holds train.csv", "choose another --to")
    assert (out / "train.csv").read_text(encoding="utf-8") == "text,label\nmine,a\n"


def test_unknown_name_suggests_the_right_one(tmp_path):
    result = cli("datasets", "download", "ag-nwes", "--to", tmp_path / "x")
    assert_clean_error(result, 2, "'ag-nwes'", "did you mean 'ag_news'?", "textclf datasets list")
    assert "did you mean 'imdb'?" in cli("datasets", "download", "imbd", "--to", tmp_path / "x").stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "value, needle", [("abc", "expected 64 hexadecimal digits"), ("test.csv=" + "a" * 64, "expected one of SST-2.zip")]
)
def test_a_malformed_sha256_option_is_a_usage_error(tmp_path, value, needle):
    result = cli("datasets", "download", "sst2", "--to", tmp_path / "x", "--sha256", value)
    assert_clean_error(result, 2, needle)


def test_several_files_need_named_checksums(tmp_path):
    result = cli("datasets", "download", "trec", "--to", tmp_path / "x", "--sha256", "a" * 64)
    assert_clean_error(result, 2, "trec has 2 files (train_5500.label, TREC_10.label)", "--sha256 FILE=HEX")


def test_an_unsupported_address_is_a_usage_error(tmp_path):
    result = cli("datasets", "download", "trec", "--to", tmp_path / "x", "--url", "gopher://example.org/")
    assert_clean_error(result, 2, "gopher://example.org/", "http://, https://")


# --------------------------------------------------------------------------------------------------
# list, help, registry


def test_list_prints_each_name_with_size_and_description():
    result = cli("datasets", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ag_news", "imdb", "sms_spam", "sst2", "trec"]
    imdb = next(line for line in lines if line.startswith("imdb"))
    assert "84.1 MB" in imdb and "25,000 train / 25,000 test" in imdb
    assert "~0.2 MB" in next(line for line in lines if line.startswith("sms_spam"))


@pytest.mark.parametrize("command", [["datasets"], ["datasets", "download"], ["datasets", "list"]])
def test_help_has_an_example_block(command):
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    after = result.stdout.split("Example:", 1)[1].splitlines()
    examples = [line.strip() for line in after[1:] if line.strip()]
    assert examples[0].startswith("textclf " + " ".join(command)) or examples[0].startswith("textclf datasets")


def test_registry_entries_are_well_formed():
    from textclf.tools.downloads import DATASETS

    assert set(DATASETS) == {"imdb", "ag_news", "sst2", "trec", "sms_spam"}
    for info in DATASETS.values():
        assert info.files and info.converter is not None and info.columns[:2] == ("text", "label")
        for remote in info.files:
            assert remote.url.startswith("https://")
            # a checksum is pinned with its size, or neither is (then the computed one is reported)
            assert (remote.sha256 is None) == (remote.size is None)
            assert remote.sha256 is None or (len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0)
