"""The run directory: manifest, verified loading, and refusal of tampered or foreign run directories.

Every tampering test works on a private copy of the session's multiclass run (fixture ``run_copy``) and
checks the refusal through the CLI: exit 4 and a message that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support import assert_clean_error, cli

from textclf.errors import ModelRejected, UsageError
from textclf.run import directory as artifacts
from textclf.run import layout

PACKAGE = Path(__file__).resolve().parents[1] / "textclf"


def predict_cli(run: Path, data: Path, tmp: Path):
    return cli("predict", "--model", run, "--input", data, "--output", tmp / "out.csv")


def assert_refused(run: Path, multiclass_run, tmp_path: Path, *needles: str) -> str:
    out = assert_clean_error(predict_cli(run, multiclass_run.predict_input, tmp_path), 4, *needles)
    assert not (tmp_path / "out.csv").exists()
    # eval refuses the same way
    assert_clean_error(cli("eval", "--model", run, "--data", multiclass_run.test), 4, *needles)
    return out


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def edit_json(path: Path, change) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    change(obj)
    path.write_text(json.dumps(obj), encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# What a finished run holds


def test_manifest_lists_every_file_with_its_hash(multiclass_run):
    run = multiclass_run.run
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "textclf-run" and manifest["format_version"] == layout.FORMAT_VERSION
    on_disk = {
        p.relative_to(run).as_posix()
        for p in run.rglob("*")
        if p.is_file() and not p.relative_to(run).as_posix().startswith("evaluations/")
    } - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, meta in manifest["files"].items():
        data = (run / name).read_bytes()
        assert meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["size"] == len(data)


def test_run_files_are_plain_formats(multiclass_run):
    run = multiclass_run.run
    for name in ("model.json", "vocab.json", "labels.json", "metrics.json", "manifest.json"):
        json.loads((run / name).read_text(encoding="utf-8"))
    with np.load(run / "weights.npz", allow_pickle=False) as arrays:
        assert arrays.files and all(arrays[k].dtype.kind == "f" for k in arrays.files)
    hp = json.loads((run / "model.json").read_text())["hyperparameters"]
    assert "class_name" not in json.dumps(hp) and "config" not in hp  # no layer graph on disk


def test_verify_and_load_a_good_run(run_copy):
    files = artifacts.verify(run_copy)
    assert "weights.npz" in files
    loaded = artifacts.load_run(run_copy)
    assert loaded.task == "multiclass" and loaded.classes == ["food", "sports", "tech"]
    assert loaded.hyperparameters.units == 8 and loaded.hyperparameters.embedding_dim == 16


def test_files_written_with_normal_permissions(multiclass_run):
    # atomic writes go through mkstemp (0600); the final files must be readable like any other file
    umask = os.umask(0)
    os.umask(umask)
    for name in ("weights.npz", "manifest.json", "config.yaml"):
        mode = (multiclass_run.run / name).stat().st_mode & 0o777
        assert mode == 0o666 & ~umask, (name, oct(mode))


def test_package_never_unpickles():
    # RELIABILITY A8: no pickle, joblib, dill or cloudpickle, and never allow_pickle=True
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(pickle|cPickle|joblib|dill|cloudpickle)\b", text, re.M), path
        assert "allow_pickle=True" not in text, path
        assert "safe_mode=False" not in text and "yaml.load(" not in text, path


# --------------------------------------------------------------------------------------------------
# Tampering: exit 4, naming the file


@pytest.mark.parametrize("name", ["weights.npz", "vocab.json", "labels.json", "model.json", "config.yaml"])
def test_flipped_byte_refused(run_copy, multiclass_run, tmp_path, name):
    flip_byte(run_copy / name)
    assert_refused(run_copy, multiclass_run, tmp_path, "checksum mismatch", name)


def test_flipped_byte_in_tensorboard_log_refused(run_copy, multiclass_run, tmp_path):
    event = next((run_copy / "logs" / "train").iterdir())
    flip_byte(event)
    assert_refused(run_copy, multiclass_run, tmp_path, "checksum mismatch", event.name)


@pytest.mark.parametrize("extra", ["model.pkl", "layers.py", "logs/train/extra.py", "notes.txt"])
def test_extra_file_refused(run_copy, multiclass_run, tmp_path, extra):
    canary = tmp_path / "canary"
    path = run_copy / extra
    path.write_text(f"import os; os.system('touch {canary}')\n", encoding="utf-8")
    assert_refused(run_copy, multiclass_run, tmp_path, "unexpected file", extra)
    assert not canary.exists()


def test_extra_file_refused_even_when_resealed(run_copy, multiclass_run, tmp_path):
    (run_copy / "model.pkl").write_bytes(b"\x80\x04N.")
    artifacts.write_manifest(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, "model.pkl")


def test_symlink_refused(run_copy, multiclass_run, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_bytes((run_copy / "vocab.json").read_bytes())
    (run_copy / "vocab.json").unlink()
    (run_copy / "vocab.json").symlink_to(outside)
    assert_refused(run_copy, multiclass_run, tmp_path, "vocab.json", "symbolic link")


def test_extra_symlink_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "escape").symlink_to("/etc/passwd")
    assert_refused(run_copy, multiclass_run, tmp_path, "escape", "symbolic link")


def test_symlinked_folder_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "logs2").symlink_to(tmp_path, target_is_directory=True)
    assert_refused(run_copy, multiclass_run, tmp_path, "logs2", "symbolic link")


def test_fifo_refused_without_opening_it(run_copy, multiclass_run, tmp_path):
    os.mkfifo(run_copy / "weights.fifo")  # opening it for reading would block forever
    t0 = time.perf_counter()
    assert_refused(run_copy, multiclass_run, tmp_path, "weights.fifo", "not a regular file")
    assert time.perf_counter() - t0 < 30


def test_missing_manifest_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "manifest.json").unlink()
    assert_refused(run_copy, multiclass_run, tmp_path, "no manifest.json", "incomplete")


def test_file_missing_from_run_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "vocab.json").unlink()
    assert_refused(run_copy, multiclass_run, tmp_path, "vocab.json", "missing")


def test_damaged_manifest_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    assert_refused(run_copy, multiclass_run, tmp_path, "manifest.json", "not a valid textclf manifest")


def test_future_format_version_refused(run_copy, multiclass_run, tmp_path):
    edit_json(run_copy / "manifest.json", lambda m: m.update(format_version=99))
    assert_refused(run_copy, multiclass_run, tmp_path, "format version 99")


def test_truncated_weights_refused(run_copy, multiclass_run, tmp_path):
    w = run_copy / "weights.npz"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    assert_refused(run_copy, multiclass_run, tmp_path, "weights.npz", "truncated")


@pytest.mark.parametrize("content", ["half", "random"])
def test_truncated_or_random_weights_refused_even_when_resealed(run_copy, multiclass_run, tmp_path, content):
    w = run_copy / "weights.npz"
    data = w.read_bytes()[: w.stat().st_size // 2] if content == "half" else os.urandom(4096)
    w.write_bytes(data)
    artifacts.write_manifest(run_copy)
    out = assert_refused(run_copy, multiclass_run, tmp_path, "weights.npz", "truncated or not a valid weights file")
    assert "not found" not in out


def test_hyperparameters_disagree_with_weights_names_both_shapes(run_copy, multiclass_run, tmp_path):
    edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(embedding_dim=24))
    artifacts.write_manifest(run_copy)  # re-sealed: only the shape check can catch it
    out = assert_refused(run_copy, multiclass_run, tmp_path, "weights.npz", "model.json")
    shapes = re.search(r"weight (\S+), model\.json gives shape (\([\d, ]+\)) and weights\.npz holds shape (\([\d, ]+\))", out)
    assert shapes, out
    key, built, saved = shapes.groups()
    with np.load(multiclass_run.run / "weights.npz") as arrays:
        assert str(tuple(arrays[key].shape)) == saved
    assert saved != built and "16" in saved and "24" in built  # embedding_dim 16 trained, 24 claimed


def test_vocab_size_disagreement_names_both_sizes(run_copy, multiclass_run, tmp_path):
    vocab_len = len(json.loads((run_copy / "vocab.json").read_text())["tokens"])
    edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(vocab_size=vocab_len + 5))
    artifacts.write_manifest(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, f"vocabulary of {vocab_len + 5}", f"holds {vocab_len} tokens")


def test_class_count_disagreement_refused(run_copy, multiclass_run, tmp_path):
    edit_json(run_copy / "labels.json", lambda m: m["classes"].append("extra"))
    artifacts.write_manifest(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, "3 outputs", "4 classes")


def test_layer_config_in_model_json_refused(run_copy, multiclass_run, tmp_path):
    canary = tmp_path / "canary"
    lam = {"class_name": "Lambda", "config": {"function": f"lambda x: __import__('os').system('touch {canary}')"}}
    edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(layer=lam))
    artifacts.write_manifest(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, "model.json", "does not describe a textclf model")
    assert not canary.exists()


class _Payload:
    """Pickles to a call that would create the canary file when unpickled."""

    def __init__(self, canary: Path):
        self.canary = canary

    def __reduce__(self):
        return (os.system, (f"touch {self.canary}",))


def test_pickled_object_in_weights_refused_and_never_run(run_copy, multiclass_run, tmp_path):
    canary = tmp_path / "canary"
    with np.load(run_copy / "weights.npz") as arrays:
        weights = {k: arrays[k] for k in arrays.files}
    first = sorted(weights)[0]
    weights[first] = np.array([_Payload(canary)], dtype=object)
    with open(run_copy / "weights.npz", "wb") as f:
        np.savez(f, **weights)
    artifacts.write_manifest(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, "weights.npz")
    assert not canary.exists()


def test_zip_bomb_in_weights_refused_quickly(run_copy, multiclass_run, tmp_path):
    with np.load(run_copy / "weights.npz") as arrays:
        first = sorted(arrays.files)[0]
    member = 80 * (1 << 20)  # 80 MB of zeros, a few hundred KB compressed
    with zipfile.ZipFile(run_copy / "weights.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(first + ".npy", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(member >> 20):
                f.write(block)
    artifacts.write_manifest(run_copy)
    t0 = time.perf_counter()
    with pytest.raises(ModelRejected, match="zip bomb"):
        artifacts.load_run(run_copy)
    assert time.perf_counter() - t0 < 5


def test_oversized_json_refused_unread(run_copy, multiclass_run, tmp_path):
    (run_copy / "config.yaml").write_text("# " + "x" * (1 << 20) + "\n", encoding="utf-8")
    artifacts.write_manifest(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, "config.yaml", "cap")


def test_stale_temp_file_in_run_is_ignored(run_copy, multiclass_run, tmp_path):
    (run_copy / ".weights.npz.abc123.tmp").write_bytes(b"partial")
    result = predict_cli(run_copy, multiclass_run.predict_input, tmp_path)
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------------------------------
# --model that is not a run directory: exit 2


@pytest.mark.parametrize(
    "model", ["https://example.com/run", "hf://someone/model", "s3://bucket/run", "file:///tmp/run"]
)
def test_url_model_refused(multiclass_run, tmp_path, model):
    t0 = time.perf_counter()
    assert_clean_error(predict_cli(model, multiclass_run.predict_input, tmp_path), 2, "must be a textclf run directory")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("name", ["model.keras", "model.h5", "missing.keras"])
def test_single_model_file_refused(multiclass_run, tmp_path, name):
    path = tmp_path / name
    if not name.startswith("missing"):
        path.write_bytes(b"PK\x03\x04 not really a model")
    assert_clean_error(predict_cli(path, multiclass_run.predict_input, tmp_path), 2, "must be a textclf run directory")
    assert_clean_error(
        cli("eval", "--model", path, "--data", multiclass_run.test), 2, "must be a textclf run directory"
    )


def test_plain_file_and_empty_folder_refused(multiclass_run, tmp_path):
    f = tmp_path / "weights.npz"
    f.write_bytes(b"x")
    assert_clean_error(predict_cli(f, multiclass_run.predict_input, tmp_path), 2, "must be a textclf run directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(predict_cli(empty, multiclass_run.predict_input, tmp_path), 2, "textclf run directory")
    assert_clean_error(predict_cli(tmp_path / "nope", multiclass_run.predict_input, tmp_path), 2, "not found")


def test_other_directory_refused(multiclass_run, tmp_path):
    # A6: a folder of data files is not a run: a usage error (exit 2) before anything in it is read
    result = cli(
        "predict",
        "--model",
        multiclass_run.train.parent,
        "--input",
        multiclass_run.test,
        "--output",
        tmp_path / "p.csv",
    )
    assert_clean_error(result, 2, "must be a textclf run directory")
    assert not (tmp_path / "p.csv").exists()


def test_run_without_manifest_is_incomplete(multiclass_run, tmp_path):
    # A2: textclf files but no manifest: an incomplete run, refused with exit 4
    run = tmp_path / "run"
    shutil.copytree(multiclass_run.run, run)
    (run / "manifest.json").unlink()
    result = cli("predict", "--model", run, "--input", multiclass_run.test, "--output", tmp_path / "p.csv")
    assert_clean_error(result, 4, "no manifest.json", "incomplete")


def test_check_run_path_api(tmp_path):
    with pytest.raises(UsageError):
        artifacts.check_run_path("https://x/y")
    assert artifacts.check_run_path(tmp_path) == tmp_path
