"""Past one machine: streaming training data, many training files, and multi-worker training (TF_CONFIG)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support import SMALL, assert_clean_error, cli, topic_rows, write_csv

from textclf.config import load_config
from textclf.io.streaming import Sample, scan, unit_hash
from textclf.training.stream import epoch_stream

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------------
# The streaming reader, on numbered rows


class RowIds:
    """Encodes each text, the row's number as a string, into one token: that number (to see which rows came)."""

    def encode(self, texts):
        from textclf.model.vocabulary import Encoded, _offsets  # imports TensorFlow: not at collection

        ids = np.asarray([int(t) for t in texts], dtype=np.int32)
        return Encoded(ids, _offsets(np.ones(len(ids), dtype=np.int64)))


@pytest.fixture(scope="module")
def numbered(tmp_path_factory):
    """Three files of numbered rows (text = the row number), 1,000 rows in all, labels a/b."""
    d = tmp_path_factory.mktemp("numbered")
    paths, start = [], 0
    for i, n in enumerate((300, 450, 250)):
        rows = [(str(r), "ab"[r % 2]) for r in range(start, start + n)]
        paths.append(write_csv(d / f"part-{i}.csv", ["text", "label"], rows))
        start += n
    return paths


def _config(paths, **data):
    sets = [f"data.{k}={v}" for k, v in data.items()]
    return load_config(None, [f"data.train={json.dumps([str(p) for p in paths])}", *sets])


def _rows_of_epoch(sc, cfg, epoch, **kw):
    rows, sizes = [], []
    for inputs, y in epoch_stream(sc, cfg, RowIds(), "binary", ["a", "b"], epoch=epoch, **kw):
        rows += inputs["tokens"][:, 0].tolist()
        sizes.append(len(y))
        assert (y[:, 0] == (inputs["tokens"][:, 0] % 2)).all()  # targets travel with their rows
    return rows, sizes


def test_scan_holds_out_validation_and_samples(numbered):
    cfg = _config(numbered, valid_fraction=0.2, vocab_sample_rows=100, valid_max_rows=50)
    sc = scan(numbered, cfg, split_valid=True)
    assert sc.rows == 1000 and sc.file_rows == [300, 450, 250]
    assert 150 < sc.valid_rows < 250 and sc.train_rows == 1000 - sc.valid_rows
    assert len(sc.sample) == 100 and len(sc.valid) == 50  # bounded samples
    held = {int(t) for t in sc.valid.texts}
    assert not held & {int(t) for t in sc.sample}  # the vocabulary sample comes from training rows only
    assert sc.cells == {
        "a": sum(1 for r in range(1000) if r % 2 == 0 and unit_hash(13, 1, np.array([r]))[0] >= 0.2),
        "b": sum(1 for r in range(1000) if r % 2 == 1 and unit_hash(13, 1, np.array([r]))[0] >= 0.2),
    }


def test_every_training_row_once_per_epoch_in_bounded_shuffled_windows(numbered):
    cfg = _config(numbered, valid_fraction=0.2, shuffle_buffer=128)
    sc = scan(numbered, cfg, split_valid=True)
    valid = {
        int(t)
        for t in scan(
            numbered, _config(numbered, valid_fraction=0.2, valid_max_rows=10**6), split_valid=True
        ).valid.texts
    }
    rows, sizes = _rows_of_epoch(sc, cfg, epoch=1, batch_size=32)
    assert sorted(rows) == sorted(set(range(1000)) - valid)  # each training row once, no validation row
    assert sizes.count(32) == len(sizes) - 1 and len(sizes) == -(-len(rows) // 32)
    again, _ = _rows_of_epoch(sc, cfg, epoch=1, batch_size=32)
    other, _ = _rows_of_epoch(sc, cfg, epoch=2, batch_size=32)
    assert again == rows and other != rows  # seeded per epoch: a resume replays the same batches
    assert rows != sorted(rows)


def test_workers_read_disjoint_shards_with_equal_step_counts(numbered):
    cfg = _config(numbered, valid_fraction=0.1)
    sc = scan(numbered, cfg, split_valid=True)
    steps = (sc.train_rows // 2) // 16
    shards = [
        _rows_of_epoch(sc, cfg, epoch=3, batch_size=16, worker=w, workers=2, steps=steps, drop_remainder=True)
        for w in (0, 1)
    ]
    (r0, s0), (r1, s1) = shards
    assert len(s0) == len(s1) == steps and set(s0) == set(s1) == {16}
    assert not set(r0) & set(r1)
    assert len(r0) + len(r1) >= sc.train_rows - 2 * 16 * 2  # at most a few batches' remainder left out


def test_sample_does_not_depend_on_chunking():
    keys = unit_hash(5, 2, np.arange(1000))
    items = list(range(1000))
    whole = Sample(20)
    whole.add(keys, items)
    pieces = Sample(20)
    for start in range(0, 1000, 7):
        pieces.add(keys[start : start + 7], items[start : start + 7])
    assert whole.items == pieces.items and len(whole.items) == 20


# --------------------------------------------------------------------------------------------------
# Training from several files, and streaming


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("parts")
    rows = topic_rows(240, seed=21)
    for i in range(3):
        write_csv(d / f"train-{i}.csv", ["text", "label"], rows[i * 80 : (i + 1) * 80])
    write_csv(d / "test.csv", ["text", "label"], topic_rows(60, seed=22))
    return d


def test_train_from_a_glob_and_a_list(parts, tmp_path):
    result = cli(
        "train",
        "--config",
        REPO / "configs" / "demo.yaml",
        "--run-dir",
        tmp_path / "glob",
        *SMALL,
        "--set",
        f"data.train={parts}/train-*.csv",
        "--set",
        f"data.test={parts}/test.csv",
    )
    assert result.exit_code == 0, result.output
    assert "train: 216 rows, valid: 24 rows" in result.stdout
    listed = json.dumps([str(parts / "train-0.csv"), str(parts / "train-2.csv")])
    result = cli(
        "train",
        "--config",
        REPO / "configs" / "demo.yaml",
        "--run-dir",
        tmp_path / "list",
        *SMALL,
        "--set",
        f"data.train={listed}",
        "--set",
        f"data.test={parts}/test.csv",
    )
    assert result.exit_code == 0, result.output
    assert "train: 144 rows" in result.stdout


def test_a_glob_that_matches_nothing(tmp_path):
    assert_clean_error(
        cli("train", "--config", REPO / "configs" / "demo.yaml", "--set", f"data.train={tmp_path}/nothing-*.csv"),
        2,
        "matches no file",
    )


def test_streaming_training_end_to_end(parts, tmp_path):
    run = tmp_path / "stream"
    result = cli(
        "train",
        "--config",
        REPO / "configs" / "demo.yaml",
        "--run-dir",
        run,
        *SMALL,
        "--set",
        "train.epochs=4",
        "--set",
        f"data.train={parts}/train-*.csv",
        "--set",
        f"data.test={parts}/test.csv",
        "--set",
        "data.stream=true",
        "--set",
        "data.shuffle_buffer=64",
        "--set",
        "data.vocab_sample_rows=150",
    )
    assert result.exit_code == 0, result.output
    assert "streaming 3 training file(s): 240 rows" in result.stdout
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    dist = metrics["distribution"]
    assert dist["streaming"] and dist["vocab_sample_rows"] == 150 and dist["shuffle_buffer"] == 64
    assert dist["train_rows"] + dist["valid_rows_evaluated"] == 240
    assert metrics["test"]["accuracy"] >= 0.8  # the topics are easy: streaming learns them too
    out = tmp_path / "p.csv"
    assert cli("predict", "--model", run, "--input", parts / "test.csv", "--output", out).exit_code == 0


def test_stream_config_accepts_yaml_booleans():
    assert load_config(None, ["data.stream=true"]).data.stream == "true"
    assert load_config(None, ["data.stream=auto"]).data.stream == "auto"


# --------------------------------------------------------------------------------------------------
# Two workers on this machine (MultiWorkerMirroredStrategy through TF_CONFIG)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _workers(args: list[str], logs: Path) -> list[subprocess.Popen]:
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        out = open(logs / f"worker-{i}.log", "w", encoding="utf-8")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "textclf.cli", "train", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        )
    return procs


def _wait(procs, timeout=240) -> list[int]:
    try:
        return [p.wait(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.mark.slow
def test_two_workers_train_one_run(multiclass_files, multiclass_run, tmp_path):
    run = tmp_path / "two"
    args = ["--config", str(multiclass_files["config"]), "--run-dir", str(run), *SMALL]
    codes = _wait(_workers(args, tmp_path))
    logs = [(tmp_path / f"worker-{i}.log").read_text(encoding="utf-8") for i in range(2)]
    assert codes == [0, 0], logs
    assert "worker 1 of 2 (chief" in logs[0] and "worker 2 of 2: done after" in logs[1]
    assert "device: 2 workers" in logs[0] and "device: 2 workers" in logs[1]
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["distribution"]["workers"] == 2 and metrics["distribution"]["replicas"] == 2
    verify = cli("show", run)
    assert verify.exit_code == 0 and "verified" in verify.stdout
    single = json.loads((multiclass_run.run / "metrics.json").read_text(encoding="utf-8"))
    assert abs(metrics["test"]["accuracy"] - single["test"]["accuracy"]) <= 0.15, (metrics["test"], single["test"])


@pytest.mark.slow
def test_two_workers_stream_their_shards(multiclass_files, tmp_path):
    run = tmp_path / "two-streaming"
    args = [
        "--config",
        str(multiclass_files["config"]),
        "--run-dir",
        str(run),
        *SMALL,
        "--set",
        "data.stream=true",
        "--set",
        "data.shuffle_buffer=64",
    ]
    codes = _wait(_workers(args, tmp_path))
    logs = [(tmp_path / f"worker-{i}.log").read_text(encoding="utf-8") for i in range(2)]
    assert codes == [0, 0], logs
    dist = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["distribution"]
    assert dist["workers"] == 2 and dist["streaming"]
    assert dist["steps_per_epoch"] == (dist["train_rows"] // 2) // dist["batch_per_replica"]
    assert "worker 2 of 2: done after" in logs[1]


@pytest.mark.slow
def test_two_workers_stop_together_and_resume(multiclass_files, tmp_path):
    run = tmp_path / "resumable"
    args = [
        "--config",
        str(multiclass_files["config"]),
        "--run-dir",
        str(run),
        *SMALL,
        "--set",
        "train.epochs=12",
        "--set",
        "train.early_stopping_patience=0",
    ]
    procs = _workers(args, tmp_path)
    deadline = time.time() + 180
    while not list((run / "checkpoints").glob("epoch-00001-*")) and time.time() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGTERM)  # stop the worker that is not the chief: both must stop
    codes = _wait(procs)
    logs = [(tmp_path / f"worker-{i}.log").read_text(encoding="utf-8") for i in range(2)]
    assert codes == [143, 143], logs
    assert "textclf train --resume" in logs[0]
    # the latest complete checkpoint is the one a resume starts from (two may be kept)
    done = max(json.loads(p.read_text())["epoch"] for p in (run / "checkpoints").glob("epoch-*/state.json"))
    assert 1 <= done < 12
    codes = _wait(_workers(["--resume", str(run)], tmp_path))
    logs = [(tmp_path / f"worker-{i}.log").read_text(encoding="utf-8") for i in range(2)]
    assert codes == [0, 0], logs
    assert f"resuming from epoch-{done:05d}" in logs[0] and f"resuming from epoch-{done:05d}" in logs[1]
    history = (run / "history.csv").read_text(encoding="utf-8").strip().splitlines()
    assert len(history) == 1 + 12
    assert (run / "manifest.json").exists() and not (run / "checkpoints").exists()


def test_workers_need_a_run_dir(multiclass_files, monkeypatch):
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert_clean_error(cli("train", "--config", multiclass_files["config"]), 2, "needs --run-dir")


def test_bad_tf_config_is_a_clear_error(multiclass_files, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert_clean_error(cli("train", "--config", multiclass_files["config"]), 2, "TF_CONFIG is not a valid cluster spec")
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": {"ps": ["a:1"], "worker": ["b:2"]}, "task": {"type": "ps", "index": 0}})
    )
    assert_clean_error(cli("train", "--config", multiclass_files["config"]), 2, "chief/worker tasks only")
