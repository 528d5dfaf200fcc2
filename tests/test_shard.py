"""Sharded prediction: `predict --shard I/N` slices the input so that the shards together equal one run."""

from __future__ import annotations

import pandas as pd
import pytest
from support import assert_clean_error, cli, predict_args, topic_rows, write_csv


@pytest.fixture(scope="module")
def big_input(tmp_path_factory):
    d = tmp_path_factory.mktemp("shard")
    rows = [(f"id{i}", t) for i, (t, _) in enumerate(topic_rows(203, seed=11))]
    rows[50] = ("id50", "two\nlines")  # a quoted newline: physical lines and rows differ
    return write_csv(d / "in.csv", ["id", "text"], rows)


@pytest.mark.parametrize("n", [1, 3, 7])
def test_shards_concatenate_to_the_unsharded_output(multiclass_run, big_input, tmp_path, n):
    whole = tmp_path / "whole.csv"
    assert (
        cli(
            "predict", "--model", multiclass_run.run, "--input", big_input, "--output", whole, "--keep-columns", "id"
        ).exit_code
        == 0
    )
    parts = []
    for i in range(1, n + 1):
        out = tmp_path / f"part-{i}.csv"
        result = cli(*predict_args(multiclass_run.run, big_input, out, "--keep-columns", "id", "--shard", f"{i}/{n}"))
        assert result.exit_code == 0, result.output
        parts.append(pd.read_csv(out, dtype=str, keep_default_na=False))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1  # near-equal slices
    joined = pd.concat(parts, ignore_index=True)
    expected = pd.read_csv(whole, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(joined, expected)


def test_shard_with_skipped_bad_rows_keeps_each_bad_row_in_one_shard(multiclass_run, tmp_path):
    src = tmp_path / "bad.csv"
    lines = ["id,text"] + [
        f"r{i},{t}" if i % 40 != 7 else f"r{i},{t},extra" for i, (t, _) in enumerate(topic_rows(120, seed=12))
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected, rows = [], 0
    for i in (1, 2):
        out = tmp_path / f"p{i}.csv"
        result = cli(
            *predict_args(
                multiclass_run.run, src, out, "--shard", f"{i}/2", "--on-bad-rows", "skip", "--max-bad-fraction", "0.1"
            )
        )
        assert result.exit_code == 0, result.output
        rows += len(pd.read_csv(out))
        rej = tmp_path / f"p{i}.csv.rejects.csv"
        rejected += list(pd.read_csv(rej)["line"]) if rej.exists() else []
    assert rows == 117 and sorted(rejected) == [9, 49, 89]


@pytest.mark.parametrize(
    "value, needle", [("0/4", "1 <= I <= N"), ("5/4", "1 <= I <= N"), ("a/b", "expected I/N"), ("3", "expected I/N")]
)
def test_bad_shard_values(multiclass_run, big_input, tmp_path, value, needle):
    assert_clean_error(
        cli(*predict_args(multiclass_run.run, big_input, tmp_path / "o.csv", "--shard", value)),
        2,
        needle,
    )
