"""The run directory: what a finished run holds, verified loading, and the refusal of tampered or foreign runs.

Every tampering test works on a private copy of the session's multiclass run (fixture ``run_copy``) and
checks the refusal through the CLI, by ``predict`` and by ``eval``: exit 4, one message (regexes on its key
phrases) that names the file, no output written, the run folder unchanged and, where the point is that a
file is refused unread, a record of every file opened that shows it never was. Code hidden in a run (a Keras
Lambda, a pickled object) would create a canary file if it ever ran.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support import OpenRecorder, assert_refused_with, cli, predict_args, tree_hashes

from textclf.errors import UsageError
from textclf.run import directory as artifacts
from textclf.run import layout

PACKAGE = Path(__file__).resolve().parents[1] / "textclf"


def assert_refused(run: Path, multiclass_run, tmp_path: Path, *patterns: str) -> str:
    """``predict`` and ``eval`` both refuse ``run`` with exit 4 and every regex; predict writes nothing."""
    out = assert_refused_with(cli(*predict_args(run, multiclass_run.predict_input, tmp_path / "out.csv")), 4, *patterns)
    assert not (tmp_path / "out.csv").exists()
    assert_refused_with(cli("eval", "--model", run, "--data", multiclass_run.test), 4, *patterns)
    return out


def reseal(run: Path) -> None:
    """Rewrite the manifest after tampering, so that only the check under test can catch the change."""
    artifacts.write_manifest(run)


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


@pytest.mark.fast
def test_the_package_never_imports_pickle_or_calls_an_unsafe_loader():
    """No pickle, joblib, dill, cloudpickle, shelve or marshal anywhere in textclf; ``allow_pickle`` only ever
    False and ``safe_mode`` only ever True; no yaml.load, Keras load_model, eval or exec."""
    banned = {"pickle", "cPickle", "_pickle", "joblib", "dill", "cloudpickle", "shelve", "marshal"}
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) >= 8 and any(p.parent != PACKAGE for p in sources)  # the sub-packages are included
    for path in sources:
        where = path.relative_to(PACKAGE)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            elif isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                if func in ("__import__", "importlib.import_module", "import_module") and node.args:
                    names = [ast.unparse(node.args[0]).strip("'\"").split(".")[0]]
                else:
                    names = []
                for kw in node.keywords:
                    if kw.arg == "allow_pickle":
                        assert isinstance(kw.value, ast.Constant) and kw.value.value is False, (
                            f"{where}:{node.lineno}: allow_pickle={ast.unparse(kw.value)}"
                        )
                    if kw.arg == "safe_mode":
                        assert isinstance(kw.value, ast.Constant) and kw.value.value is True, (
                            f"{where}:{node.lineno}: safe_mode={ast.unparse(kw.value)}"
                        )
                if func in (
                    "yaml.load",
                    "yaml.unsafe_load",
                    "yaml.full_load",
                    "keras.models.load_model",
                    "keras.saving.load_model",
                    "load_model",
                    "eval",
                    "exec",
                ):
                    raise AssertionError(f"{where}:{node.lineno}: calls {func}")
            else:
                continue
            bad = banned.intersection(names)
            assert not bad, f"{where}:{node.lineno}: imports {sorted(bad)}"


# --------------------------------------------------------------------------------------------------
# Tampering: exit 4, naming the file


@pytest.mark.parametrize("name", ["weights.npz", "vocab.json", "labels.json", "model.json", "config.yaml"])
def test_one_flipped_byte_is_a_checksum_mismatch_naming_the_file(run_copy, multiclass_run, tmp_path, name):
    flip_byte(run_copy / name)
    before = tree_hashes(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, rf"checksum mismatch in {re.escape(name)}")
    assert tree_hashes(run_copy) == before


def test_flipped_byte_in_tensorboard_log_refused(run_copy, multiclass_run, tmp_path):
    event = next((run_copy / "logs" / "train").iterdir())
    flip_byte(event)
    assert_refused(run_copy, multiclass_run, tmp_path, "checksum mismatch", re.escape(event.name))


@pytest.mark.parametrize(
    "entry", ["model.pkl", "layers.py", "logs/train/extra.py", "notes.txt", "link_outside", "fifo", "no_manifest"]
)
def test_extra_entries_links_fifos_or_no_manifest_are_refused_unopened(
    run_copy, multiclass_run, tmp_path, monkeypatch, entry
):
    canary = tmp_path / "canary"
    odd = run_copy / entry
    if entry == "link_outside":
        secret = tmp_path / "secret.json"
        secret.write_text("{}", encoding="utf-8")
        odd.symlink_to(secret)
        patterns = [entry, "symbolic link"]
    elif entry == "fifo":
        os.mkfifo(odd)  # opening it for reading would block for ever
        patterns = [entry, "not a regular file"]
    elif entry == "no_manifest":
        odd = run_copy / "manifest.json"
        odd.unlink()
        patterns = ["no manifest.json", "incomplete"]
    else:
        odd.write_text(f"import os; os.system('touch {canary}')\n", encoding="utf-8")
        patterns = [re.escape(entry), "unexpected file"]
    before = tree_hashes(run_copy)
    opens = OpenRecorder(monkeypatch)
    try:
        assert_refused(run_copy, multiclass_run, tmp_path, *patterns)
    finally:
        monkeypatch.undo()
    if entry != "no_manifest":
        assert not opens.opened(odd), f"{entry} was opened"
    assert not opens.opened(run_copy / "weights.npz"), "weights were read although the run was refused"
    assert not canary.exists()
    assert tree_hashes(run_copy) == before


def test_extra_file_refused_even_when_resealed(run_copy, multiclass_run, tmp_path):
    (run_copy / "model.pkl").write_bytes(b"\x80\x04N.")
    reseal(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, r"model\.pkl")


def test_a_run_file_replaced_by_a_link_is_refused(run_copy, multiclass_run, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_bytes((run_copy / "vocab.json").read_bytes())
    (run_copy / "vocab.json").unlink()
    (run_copy / "vocab.json").symlink_to(outside)
    assert_refused(run_copy, multiclass_run, tmp_path, r"vocab\.json", "symbolic link")


def test_a_linked_folder_in_the_run_is_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "logs2").symlink_to(tmp_path, target_is_directory=True)
    assert_refused(run_copy, multiclass_run, tmp_path, "logs2", "symbolic link")


def test_file_missing_from_run_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "vocab.json").unlink()
    assert_refused(run_copy, multiclass_run, tmp_path, r"vocab\.json", "missing")


def test_damaged_manifest_refused(run_copy, multiclass_run, tmp_path):
    (run_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    assert_refused(run_copy, multiclass_run, tmp_path, r"manifest\.json", "not a valid textclf manifest")


def test_future_format_version_refused(run_copy, multiclass_run, tmp_path):
    edit_json(run_copy / "manifest.json", lambda m: m.update(format_version=99))
    assert_refused(run_copy, multiclass_run, tmp_path, "format version 99")


@pytest.mark.parametrize("content", ["truncated", "random"])
def test_truncated_or_random_weights_are_named_as_such_not_as_missing(run_copy, multiclass_run, tmp_path, content):
    w = run_copy / "weights.npz"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2] if content == "truncated" else os.urandom(8192))
    reseal(run_copy)  # checksums match: only the reading of the weights can tell
    out = assert_refused(run_copy, multiclass_run, tmp_path, r"weights\.npz is truncated or not a valid weights file")
    assert not re.search(r"not found|No such file", out), out
    # without re-sealing, the size check already names the file as truncated
    shutil.copyfile(multiclass_run.run / "manifest.json", run_copy / "manifest.json")
    assert_refused(
        run_copy,
        multiclass_run,
        tmp_path,
        r"weights\.npz is \d[\d,]* bytes, the manifest says \d+: the file is truncated",
    )


@pytest.mark.parametrize("what", ["embedding_dim", "vocab_size", "class_count"])
def test_hyperparameters_that_disagree_with_the_weights_name_both_shapes(run_copy, multiclass_run, tmp_path, what):
    hp = json.loads((run_copy / "model.json").read_text())["hyperparameters"]
    if what == "embedding_dim":
        edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(embedding_dim=24))
    elif what == "vocab_size":
        # model.json and vocab.json agree on 5 more tokens; only the weights disagree
        edit_json(run_copy / "vocab.json", lambda v: v["tokens"].extend(f"zz{i}" for i in range(5)))
        edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(vocab_size=hp["vocab_size"] + 5))
    else:
        # model.json and labels.json agree on one more class; only the weights disagree
        edit_json(run_copy / "labels.json", lambda lab: lab["classes"].append("zzz"))
        edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(num_outputs=hp["num_outputs"] + 1))
    reseal(run_copy)  # checksums match: only the shape check can catch it
    out = assert_refused(
        run_copy,
        multiclass_run,
        tmp_path,
        r"weights\.npz array \S+ has shape \([\d, ]+\), but model\.json builds shape \([\d, ]+\)",
    )
    key, saved, built = re.search(
        r"array (\S+) has shape (\([\d, ]+\)), but model\.json builds shape (\([\d, ]+\))", out
    ).groups()
    with np.load(multiclass_run.run / "weights.npz") as arrays:
        assert str(tuple(arrays[key].shape)) == saved, out
    if what == "embedding_dim":
        assert saved != built and "16" in saved and "24" in built, out  # embedding_dim 16 trained, 24 claimed
    elif what == "vocab_size":
        assert saved == f"({hp['vocab_size']}, {hp['embedding_dim']})", out
        assert built == f"({hp['vocab_size'] + 5}, {hp['embedding_dim']})", out
    else:
        assert re.fullmatch(rf"\((\d+, )?{hp['num_outputs']},?\)", saved), out
        assert re.fullmatch(rf"\((\d+, )?{hp['num_outputs'] + 1},?\)", built), out


def test_vocab_size_disagreement_names_both_sizes(run_copy, multiclass_run, tmp_path):
    vocab_len = len(json.loads((run_copy / "vocab.json").read_text())["tokens"])
    edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(vocab_size=vocab_len + 5))
    reseal(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, f"vocabulary of {vocab_len + 5}", f"holds {vocab_len} tokens")


def test_class_count_disagreement_names_both_counts(run_copy, multiclass_run, tmp_path):
    # model.json against labels.json, without touching the weights
    edit_json(run_copy / "labels.json", lambda lab: lab["classes"].append("zzz"))
    reseal(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, r"says 3 outputs, labels\.json has 4 classes")


def _keras_lambda_model(canary: Path):
    """A real Keras model whose Lambda layer creates ``canary`` when the layer is deserialized and run."""
    import keras

    code = f"open({str(canary)!r}, 'w').close()"
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: (exec(code), x)[1])(inputs)  # noqa: S102 - the payload
    model = keras.Model(inputs, outputs)
    canary.unlink(missing_ok=True)  # building the graph called the Lambda once, here in the test
    return model


class _Payload:
    """Pickles to a call that would create the canary file when unpickled."""

    def __init__(self, canary: Path):
        self.canary = canary

    def __reduce__(self):
        return (os.system, (f"touch {self.canary}",))


@pytest.mark.parametrize(
    "attack",
    ["keras_archive_as_weights", "layer_graph_as_model_json", "lambda_in_hyperparameters", "pickle_in_weights"],
)
def test_code_or_foreign_objects_are_refused_before_deserializing(run_copy, multiclass_run, tmp_path, attack):
    canary = tmp_path / "canary"
    if attack == "keras_archive_as_weights":
        # a genuine .keras archive (config.json with a Lambda + weights) put where textclf keeps its weights
        _keras_lambda_model(canary).save(tmp_path / "evil.keras")
        canary.unlink(missing_ok=True)
        shutil.copyfile(tmp_path / "evil.keras", run_copy / "weights.npz")
        patterns = [r"weights\.npz", r"does not match the model|not a valid weights file"]
    elif attack == "layer_graph_as_model_json":
        # the hyperparameters replaced by a serialized Keras layer graph that holds the Lambda
        import keras

        model = _keras_lambda_model(canary)
        graph = json.loads(json.dumps(keras.saving.serialize_keras_object(model), default=str))
        edit_json(run_copy / "model.json", lambda m: m.update(hyperparameters=graph))
        patterns = [r"model\.json", r"does not describe a textclf model"]
    elif attack == "lambda_in_hyperparameters":
        # one more hyperparameter that holds a Lambda layer config
        lam = {"class_name": "Lambda", "config": {"function": f"lambda x: __import__('os').system('touch {canary}')"}}
        edit_json(run_copy / "model.json", lambda m: m["hyperparameters"].update(layer=lam))
        patterns = [r"model\.json", r"does not describe a textclf model"]
    else:
        # an object array in the weights: loading it would unpickle and run os.system
        with np.load(run_copy / "weights.npz") as arrays:
            weights = {k: arrays[k] for k in arrays.files}
        weights[sorted(weights)[0]] = np.array([_Payload(canary)], dtype=object)
        with open(run_copy / "weights.npz", "wb") as f:
            np.savez(f, **weights)
        patterns = [r"weights\.npz", r"not a valid weights file|pickle|dtype object"]
    reseal(run_copy)  # checksums match: only textclf's refusal to deserialize stands in the way
    before = tree_hashes(run_copy)
    assert_refused(run_copy, multiclass_run, tmp_path, *patterns)
    assert not canary.exists(), "the payload ran"
    assert tree_hashes(run_copy) == before


def _zip_bomb(path: Path, members: dict[str, int]) -> None:
    """An .npz whose members are .npy headers followed by zeros: tiny on disk, ``size`` bytes each expanded."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, size in members.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                n = size // 4
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
                f.write(header.getvalue())
                block = bytes(1 << 20)
                left = n * 4
                while left > 0:
                    f.write(block[: min(left, len(block))])
                    left -= len(block)


@pytest.mark.parametrize("kind", ["one_huge_member", "every_member_just_under_the_cap"])
def test_zip_bomb_weights_are_refused_without_expanding_them(run_copy, multiclass_run, tmp_path, monkeypatch, kind):
    with np.load(run_copy / "weights.npz") as arrays:
        keys = list(arrays.files)
    if kind == "one_huge_member":
        members = {keys[0]: 200 << 20}  # 200 MB of zeros in ~200 KB
        patterns = [r"weights\.npz member \S+ would expand to [\d,]+ bytes; refused \(a zip bomb"]
    else:
        members = {k: 60 << 20 for k in keys}  # each member alone under the 64 MB bomb threshold
        patterns = [r"weights\.npz"]
    assert len(keys) > 2
    _zip_bomb(run_copy / "weights.npz", members)
    assert (run_copy / "weights.npz").stat().st_size < 5 << 20
    reseal(run_copy)  # checksums match: only the caps can catch it
    expanded = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        expanded.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    result = cli(*predict_args(run_copy, multiclass_run.predict_input, tmp_path / "out.csv"))
    monkeypatch.undo()
    assert_refused_with(result, 4, *patterns)
    if kind == "one_huge_member":
        assert sum(expanded) == 0, f"{sum(expanded):,} bytes expanded before the refusal"
    else:
        # refused at the first array whose shape is wrong: never all of them expanded
        assert 0 < sum(expanded) <= 64 << 20, f"{sum(expanded):,} bytes expanded before the refusal"
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "name, size",
    [
        ("model.json", 2 << 20),
        ("config.yaml", 2 << 20),
        ("labels.json", 65 << 20),
        ("vocab.json", 300 << 20),
        ("manifest.json", 5 << 20),
    ],
)
def test_oversized_files_are_refused_by_their_size_cap_unread(
    run_copy, multiclass_run, tmp_path, monkeypatch, name, size
):
    with open(run_copy / name, "r+b") as f:
        f.truncate(size)  # sparse: the size is real, the disk use is not
    if name != "manifest.json":
        # re-seal the size only (hashing 300 MB would take long; the cap must fire before any hashing anyway)
        edit_json(run_copy / "manifest.json", lambda m: m["files"][name].update(size=size))
    opens = OpenRecorder(monkeypatch)
    try:
        assert_refused(
            run_copy, multiclass_run, tmp_path, rf"{re.escape(name)} is {size:,} bytes, over (its|the) [\d,]+-byte cap"
        )
    finally:
        monkeypatch.undo()
    assert not opens.opened(run_copy / name), f"{name} was read although it is over its cap"
    assert not opens.opened(run_copy / "weights.npz"), "weights were read although the run was refused"


def test_stale_temp_file_in_run_is_ignored(run_copy, multiclass_run, tmp_path):
    (run_copy / ".weights.npz.abc123.tmp").write_bytes(b"partial")
    result = cli(*predict_args(run_copy, multiclass_run.predict_input, tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------------------------------
# --model that is not a run directory: exit 2


@pytest.mark.parametrize(
    "model",
    [
        "https://example.com/run",
        "hf://someone/model",
        "s3://bucket/run",
        "file:///tmp/run",
        "model.keras",
        "model.h5",
        "missing.keras",
        "other_directory",
    ],
)
def test_urls_model_files_and_other_folders_are_not_run_directories(multiclass_run, tmp_path, monkeypatch, model):
    import keras

    calls: list = []

    def no_network(*a, **k):
        calls.append(("network", a))
        raise OSError("network access in a test")

    def no_keras_load(*a, **k):
        calls.append(("keras load", a))
        raise AssertionError("keras load called")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(keras.models, "load_model", no_keras_load)
    monkeypatch.setattr(keras.saving, "load_model", no_keras_load)
    canary = tmp_path / "canary"
    if model in ("model.keras", "model.h5"):
        # a genuine Keras archive whose Lambda layer would create the canary if it were loaded
        _keras_lambda_model(canary).save(tmp_path / "m.keras")
        canary.unlink(missing_ok=True)
        shutil.copyfile(tmp_path / "m.keras", tmp_path / model)
        model = str(tmp_path / model)
    elif model == "missing.keras":
        model = str(tmp_path / model)
    elif model == "other_directory":
        model = str(multiclass_run.train.parent)  # a folder of data files
    out_file = tmp_path / "out.csv"
    for args in (
        predict_args(model, multiclass_run.predict_input, out_file),
        ["eval", "--model", model, "--data", multiclass_run.test],
    ):
        assert_refused_with(cli(*args), 2, r"must be a textclf run directory")
    assert calls == []
    assert not out_file.exists() and not canary.exists()


@pytest.mark.fast
def test_a_plain_file_or_a_missing_path_is_not_a_run(multiclass_files, tmp_path):
    data = multiclass_files["predict"]
    f = tmp_path / "weights.npz"
    f.write_bytes(b"x")
    assert_refused_with(cli(*predict_args(f, data, tmp_path / "out.csv")), 2, "must be a textclf run directory")
    assert_refused_with(cli(*predict_args(tmp_path / "nope", data, tmp_path / "out.csv")), 2, "not found")
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_folder_is_not_a_run(multiclass_files, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(*predict_args(empty, multiclass_files["predict"], tmp_path / "out.csv"))
    assert_refused_with(result, 2, "must be a textclf run directory", "holds no textclf files")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.fast
def test_check_run_path_refuses_an_address_and_accepts_a_folder(tmp_path):
    with pytest.raises(UsageError):
        artifacts.check_run_path("https://x/y")
    assert artifacts.check_run_path(tmp_path) == tmp_path
