"""Data: reading CSV/TSV/JSONL/Parquet as strings, located errors, and the checks before training."""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import (
    SMALL,
    OpenRecorder,
    assert_clean_error,
    assert_refused_with,
    cli,
    topic_rows,
    write_csv,
    write_jsonl,
)

from textclf.config import load_config
from textclf.errors import DataError, UsageError
from textclf.io.labeled import (
    RowPolicy,
    check_classes,
    describe_unseen,
    infer_task,
    read_labeled,
    split_labels,
    stratified_split,
    unseen_labels,
)
from textclf.io.tables import iter_chunks
from textclf.training.inputs import load_training_data

pytestmark = pytest.mark.fast  # no training, no TensorFlow: every test here is in the quick subset

TRAPS = ["NA", "null", "00123", "True", "None", "nan", "N/A", "1.0", " 1", "#N/A", "-nan", ""]


def cfg_for(train: Path, *overrides: str, **paths: Path):
    sets = [f"data.train={train}"] + [f"data.{k}={v}" for k, v in paths.items()] + list(overrides)
    return load_config(None, sets)


def train_cli(tmp_path: Path, train: Path, *extra: str):
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {train.name}\n", encoding="utf-8")
    return cli("train", "--config", conf, "--run-dir", tmp_path / "run", *SMALL, *extra)


# --------------------------------------------------------------------------------------------------
# Everything is a string, in every format


def trap_rows():
    # texts and labels that pandas would turn into NaN, numbers or booleans
    texts = [t if t else "empty-looking" for t in TRAPS]
    labels = [t for t in TRAPS if t.strip()]
    return [(texts[i % len(texts)], labels[i % len(labels)]) for i in range(len(TRAPS))]


def write_format(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")) -> Path:
    fmt = path.suffix
    t_name, y_name = header
    if fmt == ".csv":
        write_csv(path, list(header), rows)
    elif fmt == ".tsv":
        write_csv(path, list(header), rows, delimiter="\t")
    elif fmt == ".jsonl":
        write_jsonl(path, [{t_name: t, y_name: y} for t, y in rows])
    elif fmt == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({t_name: [t for t, _ in rows], y_name: [y for _, y in rows]}), path)
    return path


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_values_read_verbatim_as_strings(tmp_path, ext):
    rows = trap_rows()
    p = write_format(tmp_path / f"d{ext}", rows)
    data = read_labeled(p, "text", "label")
    assert data.texts == [t for t, _ in rows]
    assert data.labels == [y for _, y in rows]
    assert all(type(x) is str for x in data.texts + data.labels)
    assert {"NA", "null", "00123", "True"} <= set(data.labels)


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_chunks_are_str_frames_with_line_numbers(tmp_path, ext):
    rows = [(f"text {i}", "NA" if i % 2 else "00123") for i in range(10)]
    p = write_format(tmp_path / f"d{ext}", rows)
    chunks = list(iter_chunks(p, ["label", "text"], chunk_rows=4))
    assert [len(c.frame) for c in chunks] == [4, 4, 2]
    assert list(chunks[0].frame.columns) == ["label", "text"]
    labels = [v for c in chunks for v in c.frame["label"].tolist()]
    assert labels == [y for _, y in rows]
    lines = [n for c in chunks for n in c.lines]
    assert lines == (list(range(2, 12)) if ext in (".csv", ".tsv") else list(range(1, 11)))


def test_jsonl_non_string_values_become_text(tmp_path):
    p = write_jsonl(
        tmp_path / "d.jsonl",
        [{"text": None, "label": 1}, {"text": 2.5, "label": True}, {"text": "x", "label": ["a", "b"]}],
    )
    data = read_labeled(p, "text", "label")
    assert data.texts == ["", "2.5", "x"]
    assert data.labels == ["1", "true", "a|b"]


def test_jsonl_bad_line_named(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: not a JSON object"):
        read_labeled(p, "text", "label")


def test_parquet_null_and_numbers_become_strings(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["a", None, "c"], "label": pa.array([1, 2, 1], pa.int64())}), p)
    data = read_labeled(p, "text", "label")
    assert data.texts == ["a", "", "c"] and data.labels == ["1", "2", "1"]


# --------------------------------------------------------------------------------------------------
# Columns


def test_missing_column_case_hint(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["Text", "label"], [("a", "x")])
    with pytest.raises(DataError, match=r"did you mean 'Text'"):
        read_labeled(p, "text", "label")


@pytest.mark.parametrize(
    "case",
    [
        "missing_column.csv",
        "missing_column.tsv",
        "missing_column.parquet",
        "missing_key.jsonl",
        "duplicate_header.csv",
        "header_only.csv",
        "header_only.tsv",
        "empty.csv",
        "empty.tsv",
        "empty.jsonl",
    ],
)
def test_column_problems_and_empty_files_are_named_with_the_likely_fix(tmp_path, case):
    """``textclf train`` stops with exit 3 before any run directory exists; the message names the file."""
    kind, ext = case.split(".")
    path = tmp_path / case
    if kind in ("missing_column", "missing_key"):
        write_format(path, [("goal", "sports"), ("chip", "tech")], header=("body", "label"))
        found = "keys" if ext == "jsonl" else "columns"
        patterns = [rf"{found[:-1]} 'text' not found; {found} found: 'body', 'label'", r"data\.text_column"]
    elif kind == "duplicate_header":
        path.write_text("text,text,label\na,b,sports\n", encoding="utf-8")
        patterns = [r"line 1: the header names column 'text' more than once"]
    elif kind == "header_only":
        write_format(path, [])
        patterns = [r"has a header but no data rows"]
    else:
        path.write_bytes(b"")
        patterns = [r"is empty: expected (a header line|one JSON object per line)"]
    result = train_cli(tmp_path, path)
    assert_refused_with(result, 3, re.escape(str(path)), *patterns)
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------------
# Ragged rows, quoting, line ends


def test_too_many_fields_names_line_3(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,label\nok,x\nhello, world,y\nfine,y\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_labeled(p, "text", "label")
    message = str(info.value)
    assert "line 3" in message and "expected 2 fields" in message and "found 3" in message
    assert "quoted" in message


def test_too_few_fields_names_line_5(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,label\na,x\nb,y\nc,x\nonly-text\ne,y\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_labeled(p, "text", "label")
    assert "line 5" in str(info.value) and "found 1" in str(info.value)


def test_ragged_line_counts_physical_lines_after_quoted_newlines(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text('text,label\n"two\nlines",x\n"three\nlines\nhere",y\nbad,row,here\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 7:"):
        read_labeled(p, "text", "label")


def test_ragged_rows_via_cli_exit_3(tmp_path):
    rows = topic_rows(30, seed=1)
    p = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[2] = "extra,field," + lines[2]  # line 3
    lines[4] = "no-label-field"  # line 5
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_clean_error(train_cli(tmp_path, p), 3, "line 3", "expected 2 fields")
    assert not (tmp_path / "run").exists()


def test_ragged_rows_skipped_when_asked(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,label\na,x\nb,c,y\nd,x\ne\nf,y\n", encoding="utf-8")
    data = read_labeled(p, "text", "label", policy=RowPolicy(skip=True))
    assert data.texts == ["a", "d", "f"]
    assert [b.line for b in data.report.bad_rows] == [3, 5]
    assert "2 bad rows skipped (lines 3, 5)" in data.report.summary()


def test_skipped_rows_over_the_limit_refused(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,label\na,x\nb,c,y\nd,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"1 of 3 rows are bad"):
        read_labeled(p, "text", "label", policy=RowPolicy(skip=True, max_bad_fraction=0.1))


def test_quoted_newlines_and_doubled_quotes(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text('text,label\n"He said ""hi""\nthen, left",x\n"plain",y\n', encoding="utf-8")
    data = read_labeled(p, "text", "label")
    assert data.texts == ['He said "hi"\nthen, left', "plain"]
    assert data.lines == [2, 4]


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
def test_line_endings(tmp_path, ending):
    p = tmp_path / "d.csv"
    p.write_bytes(ending.join([b"text,label", b"ab,x", b"cd,y"]) + ending)
    data = read_labeled(p, "text", "label")
    assert data.texts == ["ab", "cd"] and data.labels == ["x", "y"]


def test_nul_bytes_removed_from_text(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"text,label\na\x00b,x\n")
    assert read_labeled(p, "text", "label").texts == ["ab"]


def test_unbalanced_quote_is_one_clear_error(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b'text,label\n"abc,x\nfoo,y\n')
    with pytest.raises(DataError, match=r"line 2"):
        read_labeled(p, "text", "label")


# --------------------------------------------------------------------------------------------------
# Encodings


def test_latin1_byte_names_line_and_suggests_encoding(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"text,label\n" + b"plain,x\n" * 6 + b"caf\xe9,y\n")
    with pytest.raises(DataError) as info:
        read_labeled(p, "text", "label")
    message = str(info.value)
    assert "line 8" in message and "0xe9" in message and "encoding" in message
    assert read_labeled(p, "text", "label", encoding="latin-1").texts[-1] == "café"


def test_latin1_via_cli_exit_3(tmp_path):
    p = tmp_path / "train.csv"
    p.write_bytes(b"text,label\n" + b"plain,x\nother,y\n" * 5 + b"caf\xe9,y\n")
    assert_clean_error(train_cli(tmp_path, p), 3, "line 12", "data.encoding")


def test_utf8_bom(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("\ufefftext,label\nhé,x\n".encode("utf-8"))
    data = read_labeled(p, "text", "label")
    assert data.texts == ["hé"] and data.labels == ["x"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, encoding):
    p = tmp_path / "d.csv"
    raw = "text,label\nhé 😀,x\nb,y\n".encode(encoding)
    if encoding != "utf-16":  # add the BOM by hand for the explicit byte orders
        raw = ("\ufeff".encode(encoding)) + raw
    p.write_bytes(raw)
    data = read_labeled(p, "text", "label")
    assert data.texts == ["hé 😀", "b"] and data.labels == ["x", "y"]


def test_jsonl_with_bom(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": "a", "label": "NA"}).encode() + b"\n")
    assert read_labeled(p, "text", "label").labels == ["NA"]


def test_unknown_encoding_is_usage_error(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["text", "label"], [("a", "x")])
    with pytest.raises(UsageError, match="unknown text encoding"):
        read_labeled(p, "text", "label", encoding="no-such-codec")


# --------------------------------------------------------------------------------------------------
# Empty things


def test_empty_labels_named_by_line(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["text", "label"], [("a", "x"), ("b", ""), ("c", "y"), ("d", "  ")])
    with pytest.raises(DataError) as info:
        read_labeled(p, "text", "label")
    message = str(info.value)
    assert "2 rows have an empty label" in message and "lines 3, 5" in message and "'label'" in message


def test_empty_labels_via_cli_exit_3(tmp_path):
    rows = topic_rows(30, seed=2)
    rows[5] = (rows[5][0], "")
    p = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    assert_clean_error(train_cli(tmp_path, p), 3, "empty label", "lines 7")


@pytest.mark.parametrize("case", ["empty_label", "ragged"])
def test_hints_name_only_options_that_exist(tmp_path, case):
    # A hint must be something the user can type: every --flag it names must be an option of `train`.
    import re

    from textclf.cli import train as train_command

    rows = topic_rows(30, seed=2)
    rows[5] = (rows[5][0], "") if case == "empty_label" else (rows[5][0] + '", extra', rows[5][1])
    p = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    if case == "ragged":
        p.write_text(p.read_text(encoding="utf-8").replace('"', ""), encoding="utf-8")
    result = train_cli(tmp_path, p)
    assert result.exit_code == 3, result.output
    options = {o for param in train_command.params for o in param.opts}
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", result.stderr))
    assert named, result.stderr
    assert named <= options, (
        f"the hint names {sorted(named - options)}, which `textclf train` does not have: {result.stderr}"
    )


def test_very_long_text_is_cut_and_counted(tmp_path):
    from textclf.io.tables import MAX_TEXT_CHARS

    long = "word " * (MAX_TEXT_CHARS // 5 + 1000)
    p = write_csv(tmp_path / "d.csv", ["text", "label"], [(long, "x"), ("short", "y")])
    data = read_labeled(p, "text", "label")
    assert len(data.texts[0]) == MAX_TEXT_CHARS and data.texts[1] == "short"
    assert data.report.truncated_texts == 1
    assert f"1 texts longer than {MAX_TEXT_CHARS:,} characters were cut" in data.report.summary()


# --------------------------------------------------------------------------------------------------
# Paths that are not data files


def test_directory_fifo_and_device_are_refused_without_being_opened(tmp_path, monkeypatch):
    # opening the FIFO would block for ever and /dev/zero never ends: each must be refused from its stat
    d = tmp_path / "dir.csv"
    d.mkdir()
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path, needle in (
        (d, "is a directory"),
        (fifo, "not a regular file"),
        (Path("/dev/zero"), "not a regular file"),
    ):
        opens = OpenRecorder(monkeypatch)
        with pytest.raises(DataError, match=needle):
            read_labeled(path, "text", "label")
        monkeypatch.undo()
        assert not opens.opened(path), f"{path} was opened"


def test_fifo_via_cli_exit_3(tmp_path):
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    assert_clean_error(train_cli(tmp_path, fifo), 3, "not a regular file")


def test_missing_file_is_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        read_labeled(tmp_path / "nope.csv", "text", "label")


def test_unknown_extension(tmp_path):
    p = tmp_path / "d.xlsx"
    p.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"extension '\.xlsx'"):
        read_labeled(p, "text", "label")


# --------------------------------------------------------------------------------------------------
# Classes and the validation split: refused before any run directory exists


def test_single_class_refused_before_run_dir(tmp_path, monkeypatch):
    p = write_csv(tmp_path / "train.csv", ["text", "label"], [(f"text {i}", "only") for i in range(30)])
    monkeypatch.chdir(tmp_path)
    assert_clean_error(train_cli(tmp_path, p), 3, "every row has the label 'only'", "at least two")
    assert not (tmp_path / "run").exists()
    conf = tmp_path / "c.yaml"  # without --run-dir: the runs/ folder is not even created
    result = cli("train", "--config", conf, *SMALL)
    assert_clean_error(result, 3, "at least two")
    assert not (tmp_path / "runs").exists()


def test_single_multilabel_label_refused(tmp_path):
    p = write_csv(tmp_path / "train.csv", ["text", "label"], [(f"text {i}", "a|a") for i in range(10)])
    with pytest.raises(DataError, match="only 1 distinct label"):
        load_training_data(cfg_for(p))


def test_class_with_one_row_and_validation_split_refused(tmp_path):
    rows = topic_rows(30, seed=3) + [("a lonely example", "rare")]
    p = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    assert_clean_error(train_cli(tmp_path, p), 3, "class 'rare' has only one row", "data.valid")
    assert not (tmp_path / "run").exists()


def test_class_with_one_row_is_fine_with_a_validation_file(tmp_path):
    rows = topic_rows(30, seed=3) + [("a lonely example", "rare")]
    p = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    v = write_csv(tmp_path / "valid.csv", ["text", "label"], topic_rows(9, seed=4))
    data = load_training_data(cfg_for(p, valid=v))
    assert data.classes == ["food", "rare", "sports", "tech"]
    assert len(data.train) == 31 and len(data.valid) == 9 and not data.split_from_train


def test_binary_task_with_three_labels_refused(tmp_path):
    p = write_csv(tmp_path / "train.csv", ["text", "label"], topic_rows(30, seed=3))
    with pytest.raises(DataError, match="task is binary but 3 labels"):
        load_training_data(cfg_for(p, "task=binary"))


def test_unseen_validation_label_refused(tmp_path):
    p = write_csv(tmp_path / "train.csv", ["text", "label"], topic_rows(30, seed=3))
    v = write_csv(tmp_path / "valid.csv", ["text", "label"], [("x", "sports"), ("y", "music"), ("z", "music")])
    with pytest.raises(DataError, match=r"'music' ×2"):
        load_training_data(cfg_for(p, valid=v))


def test_split_is_seeded_and_stratified(tmp_path):
    p = write_csv(tmp_path / "train.csv", ["text", "label"], topic_rows(90, seed=3))
    data = read_labeled(p, "text", "label")
    a_tr, a_va = stratified_split(data, 0.2, 13, "multiclass", "|", "label")
    b_tr, b_va = stratified_split(data, 0.2, 13, "multiclass", "|", "label")
    c_tr, c_va = stratified_split(data, 0.2, 14, "multiclass", "|", "label")
    assert a_va.lines == b_va.lines and a_va.lines != c_va.lines
    assert Counter(a_va.labels) == {"sports": 6, "tech": 6, "food": 6}
    assert sorted(a_tr.lines + a_va.lines) == data.lines


def test_task_inference_and_label_splitting():
    assert infer_task(["a", "b", "a"], "|") == "binary"
    assert infer_task(["a", "b", "c"], "|") == "multiclass"
    assert infer_task(["a", "a|b"], "|") == "multilabel"
    assert split_labels(["b| a", "a||a", ""], "multilabel", "|") == [["a", "b"], ["a"], []]


def test_unseen_labels_counted_with_number_hint():
    unseen = unseen_labels(["1", "1.0", " 1", "1.0", "2"], ["1", "2"], "multiclass", "|")
    assert unseen == Counter({"1.0": 2, " 1": 1})
    text = describe_unseen(unseen, ["1", "2"])
    assert "'1.0' ×2" in text and "' 1' ×1" in text and "did you mean '1'" in text


def test_check_classes_sorted(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["text", "label"], [("a", "NA"), ("b", "00123"), ("c", "True")])
    data = read_labeled(p, "text", "label")
    assert check_classes(data, "multiclass", "|", "label") == ["00123", "NA", "True"]


# --------------------------------------------------------------------------------------------------
# Property: anything csv.writer writes, iter_chunks reads back unchanged

# Texts are drawn from all of Unicode except surrogates (not encodable as UTF-8, so no file can hold
# them) and NUL, which textclf removes on purpose (a NUL in a CSV field is damage, not text).
_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(_texts, _texts), min_size=1, max_size=12), chunk_rows=st.integers(1, 5))
def test_csv_writer_round_trip(rows, chunk_rows):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "d.csv"
        with open(p, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        chunks = list(iter_chunks(p, ["text", "label"], chunk_rows=chunk_rows))
        got = [(t, y) for c in chunks for t, y in zip(c.frame["text"].tolist(), c.frame["label"].tolist())]
        assert got == [tuple(r) for r in rows]


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(_texts, _texts), min_size=1, max_size=8))
def test_tsv_writer_round_trip(rows):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "d.tsv"
        with open(p, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t")
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        chunks = list(iter_chunks(p, ["text", "label"]))
        got = [(t, y) for c in chunks for t, y in zip(c.frame["text"].tolist(), c.frame["label"].tolist())]
        assert got == [tuple(r) for r in rows]
