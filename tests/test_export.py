"""textclf export: SavedModel and TFLite exports of the session runs, reloaded and compared with `textclf predict`.

Each session run (multiclass, binary, multilabel) is exported once in both formats through the CLI (module
fixture); the tests then reload the exports the way a user would (tf.saved_model.load, the TFLite
interpreter, and once in a fresh interpreter without textclf) and compare their probabilities and labels
with the CSV that `textclf predict` writes for the same texts.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import assert_clean_error, cli, last_line, predict_args, read_csv_rows, tree_hashes

TASKS = ("multiclass", "binary", "multilabel")
FORMATS = ("savedmodel", "tflite")


@dataclass
class Exported:
    path: Path
    run: Path
    stdout: str
    seconds: float


@pytest.fixture(scope="module")
def trained(multiclass_run, binary_run, multilabel_run):
    return {"multiclass": multiclass_run, "binary": binary_run, "multilabel": multilabel_run}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def mc_copy(multiclass_run, export_dir):
    """A copy of the multiclass run (exported with the default output, beside it) and its hashes before."""
    copy = export_dir / "mc-run"
    shutil.copytree(multiclass_run.run, copy)
    return copy, tree_hashes(copy)


@pytest.fixture(scope="module")
def exports(trained, mc_copy, export_dir) -> dict[tuple[str, str], Exported]:
    """Every session run exported in both formats with `textclf export` (timings printed with -s)."""
    (export_dir / "binary-tflite").mkdir()  # an existing empty output folder is fine
    stale = export_dir / ".binary-tflite.999999999.abc.tmp"  # left by a killed export (no such pid)
    stale.mkdir()
    (stale / "model.tflite").write_bytes(b"partial")
    out = {}
    for task in TASKS:
        run = mc_copy[0] if task == "multiclass" else trained[task].run
        for fmt in FORMATS:
            args = ["export", "--model", run, "--format", fmt]
            if task != "multiclass":  # multiclass: the default output, RUN/../<run-name>-<format>
                args += ["--output", export_dir / f"{task}-{fmt}"]
            if task == "multilabel" and fmt == "tflite":
                args += ["--threshold", "0.3"]
            t0 = time.perf_counter()
            result = cli(*args)
            seconds = time.perf_counter() - t0
            assert result.exit_code == 0, result.output
            out[task, fmt] = Exported(Path(last_line(result.stdout)), run, result.stdout, seconds)
            print(f"\nexport {task} {fmt}: {seconds:.1f}s\n{result.stdout}")
    return out


@pytest.fixture(scope="module")
def predicted(trained, export_dir) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """`textclf predict` on each run's predict input: (texts, output rows)."""
    out = {}
    for task in TASKS:
        dst = export_dir / f"predict-{task}.csv"
        result = cli(*predict_args(trained[task].run, trained[task].predict_input, dst, "--no-safe-csv"))
        assert result.exit_code == 0, result.output
        _, inputs = read_csv_rows(trained[task].predict_input)
        _, rows = read_csv_rows(dst)
        assert len(rows) == len(inputs)
        out[task] = ([r["text"] for r in inputs], rows)
    return out


def _classes(run: Path) -> list[str]:
    return json.loads((Path(run) / "labels.json").read_text(encoding="utf-8"))["classes"]


def _predict_probs(rows, classes) -> np.ndarray:
    return np.asarray([[float(r[f"p_{c}"]) for c in classes] for r in rows])


def _tflite_runner(path: Path):
    import warnings

    from textclf.runtime import import_tensorflow

    import_tensorflow()
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path / "model.tflite"))
    return interpreter


def _tflite_probs(path: Path, run: Path, texts: list[str]) -> np.ndarray:
    from textclf.run import directory as artifacts
    from textclf.use.export import tflite_feed, tflite_shapes

    loaded = artifacts.load_run(run)
    encoded = loaded.vocab.encoder().encode(texts)
    shapes = tflite_shapes(loaded.vocab, encoded.ngram_values is not None)
    runner = _tflite_runner(path).get_signature_runner("serving_default")
    return np.asarray([runner(**tflite_feed(encoded, i, shapes))["probabilities"][0] for i in range(len(texts))])


def _labels_agree(task, got_labels, rows, probs, thresholds: dict[str, float], classes) -> None:
    """The export's labels equal `textclf predict`'s, except where a probability sits on the threshold."""
    for i, (label, row) in enumerate(zip(got_labels, rows)):
        if task == "multiclass":
            top = np.sort(probs[i])[::-1]
            if top[0] - top[1] < 1e-5:
                continue
        else:
            values = probs[i, 1:] if task == "binary" else probs[i]
            if np.any(np.abs(values - np.asarray(list(thresholds.values()))) < 1e-5):
                continue
        assert label == row["prediction"], (i, label, row)


# --------------------------------------------------------------------------------------------------
# SavedModel


@pytest.mark.parametrize("task", TASKS)
def test_savedmodel_reproduces_textclf_predict(task, exports, predicted):
    import tensorflow as tf

    exp = exports[task, "savedmodel"]
    texts, rows = predicted[task]
    classes = _classes(exp.run)
    loaded = _loaded_savedmodel(exp.path)
    out = loaded.signatures["serving_default"](text=tf.constant(texts, dtype=tf.string))
    probs = out["probabilities"].numpy()
    np.testing.assert_allclose(probs, _predict_probs(rows, classes), atol=2e-6)
    assert out["classes"].numpy().tolist() == [[c.encode() for c in classes]] * len(texts)
    meta = json.loads((exp.path / "textclf_export.json").read_text(encoding="utf-8"))
    labels = [b.decode("utf-8") for b in out["label"].numpy()]
    _labels_agree(task, labels, rows, probs, meta["thresholds"], classes)
    # the alias signature gives the same
    again = loaded.signatures["predict"](text=tf.constant(texts[:3], dtype=tf.string))
    np.testing.assert_allclose(again["probabilities"].numpy(), probs[:3], atol=1e-6)  # (padded less: rounding)


@pytest.mark.parametrize("task", TASKS)
def test_savedmodel_signature_names_dtypes_and_metadata(task, exports):
    import tensorflow as tf

    exp = exports[task, "savedmodel"]
    classes = _classes(exp.run)
    loaded = _loaded_savedmodel(exp.path)
    assert set(loaded.signatures) == {"serving_default", "predict"}
    sig = loaded.signatures["serving_default"]
    args, kwargs = sig.structured_input_signature
    assert args == () and set(kwargs) == {"text"}
    assert kwargs["text"].dtype == tf.string and kwargs["text"].shape.as_list() == [None]
    outs = sig.structured_outputs
    assert set(outs) == {"probabilities", "classes", "label"}
    assert outs["probabilities"].dtype == tf.float32 and outs["probabilities"].shape.as_list() == [None, len(classes)]
    assert outs["classes"].dtype == tf.string and outs["classes"].shape.as_list() == [None, len(classes)]
    assert outs["label"].dtype == tf.string and outs["label"].shape.as_list() == [None]
    # the class names are in the export itself, and in its metadata file
    assert [c.decode() for c in loaded.class_names.numpy()] == classes
    assert loaded.task.numpy().decode() == task
    meta = json.loads((exp.path / "textclf_export.json").read_text(encoding="utf-8"))
    assert meta["classes"] == classes and meta["task"] == task and meta["signatures"] == ["serving_default", "predict"]
    assert meta["checked"]["max_difference"] <= meta["checked"]["tolerance"] == 1e-5
    assert meta["checked"]["texts"] >= 50
    assert {"saved_model.pb", "variables", "README.txt"} <= {p.name for p in exp.path.iterdir()}
    # an empty batch is answered, not an error
    empty = sig(text=tf.constant([], dtype=tf.string))
    assert empty["probabilities"].shape.as_list() == [0, len(classes)]
    # the CLI listed the signature
    assert "input  text           string  [None]" in exp.stdout
    assert f"output probabilities  float32 [None, {len(classes)}]" in exp.stdout
    assert "checked on" in exp.stdout


def test_savedmodel_binary_and_multilabel_labels_follow_the_run_thresholds(exports, trained):
    """The SavedModel's threshold is the run's (tuned or 0.5) per output, as `textclf predict` applies it."""
    from textclf.run import directory as artifacts
    from textclf.use.decisions import resolve_thresholds

    for task in ("binary", "multilabel"):
        run = artifacts.load_run(trained[task].run)
        loaded = _loaded_savedmodel(exports[task, "savedmodel"].path)
        value = resolve_thresholds(task, run.classes, run.thresholds).value
        expected = np.broadcast_to(
            np.asarray(value, np.float32).reshape(-1), (1 if task == "binary" else len(run.classes),)
        )
        np.testing.assert_array_equal(loaded.threshold.numpy(), expected)


_WORDS = "ball goal team match score computer code pizza bread cheese the a and".split()
_texts = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(_WORDS + ["Goal", "PIZZA", "!", "...", "é", "😀", "\u2028", "\t"]), max_size=30).map(
            " ".join
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=_texts)
def test_in_graph_encoding_equals_textclf_encoder(texts, exports, multiclass_run):
    """The SavedModel's own encoding (its saved `encode` function) gives textclf's Encoder ids and TF-IDF weights."""
    graph = _loaded_savedmodel(exports["multiclass", "savedmodel"].path)
    vocab = _vocab(multiclass_run.run)
    import tensorflow as tf

    got = {k: v.numpy() for k, v in graph.encode(tf.constant(texts, dtype=tf.string)).items()}
    enc = vocab.encoder().encode(texts)
    for i in range(len(texts)):
        want = enc.batch(np.asarray([i]))
        n = want["tokens"].shape[1]
        np.testing.assert_array_equal(got["tokens"][i, :n], want["tokens"][0])
        assert not got["tokens"][i, n:].any()
        k = want["ngrams"].shape[1]
        np.testing.assert_array_equal(got["ngrams"][i, :k], want["ngrams"][0])
        np.testing.assert_allclose(got["ngram_weights"][i, :k], want["ngram_weights"][0], rtol=0, atol=1e-7)
        assert not got["ngram_weights"][i, k:].any() and not got["ngrams"][i, k:].any()


_CACHE: dict = {}


def _loaded_savedmodel(path: Path):
    if path not in _CACHE:
        import tensorflow as tf

        _CACHE[path] = tf.saved_model.load(str(path))
    return _CACHE[path]


def _vocab(run: Path):
    from textclf.model.vocabulary import Vocabulary

    return Vocabulary.from_json(json.loads((Path(run) / "vocab.json").read_text(encoding="utf-8")))


# --------------------------------------------------------------------------------------------------
# TFLite


@pytest.mark.parametrize("task", TASKS)
def test_tflite_reproduces_textclf_predict(task, exports, predicted):
    exp = exports[task, "tflite"]
    texts, rows = predicted[task]
    classes = _classes(exp.run)
    probs = _tflite_probs(exp.path, exp.run, texts)
    np.testing.assert_allclose(probs, _predict_probs(rows, classes), atol=2e-6)
    if task != "multilabel":  # (the multilabel export was made with --threshold 0.3, predict used the run's)
        vocab = json.loads((exp.path / "vocab.json").read_text(encoding="utf-8"))
        if task == "multiclass":
            labels = [classes[j] for j in probs.argmax(axis=1)]
        else:
            labels = [classes[int(p[1] >= vocab["thresholds"][classes[1]])] for p in probs]
        _labels_agree(task, labels, rows, probs, vocab["thresholds"], classes)


@pytest.mark.parametrize("task", TASKS)
def test_tflite_inputs_vocab_json_and_readme(task, exports):
    exp = exports[task, "tflite"]
    vocab = json.loads((exp.path / "vocab.json").read_text(encoding="utf-8"))
    run_vocab = json.loads((exp.run / "vocab.json").read_text(encoding="utf-8"))
    classes = _classes(exp.run)
    assert sorted(p.name for p in exp.path.iterdir()) == ["README.txt", "model.tflite", "vocab.json"]
    assert vocab["format"] == "textclf-tflite" and vocab["task"] == task and vocab["classes"] == classes
    for key in ("tokens", "ngram_tokens", "ngram_idf", "standardize", "sequence_length", "ngram_length"):
        assert vocab[key] == run_vocab[key], key
    T, K = run_vocab["sequence_length"], run_vocab["ngram_length"]
    assert vocab["inputs"] == {
        "tokens": {"dtype": "int32", "shape": [1, T]},
        "ngrams": {"dtype": "int32", "shape": [1, K]},
        "ngram_weights": {"dtype": "float32", "shape": [1, K]},
    }
    assert vocab["outputs"] == {"probabilities": {"dtype": "float32", "shape": [1, len(classes)]}}
    if task == "multilabel":
        assert vocab["thresholds"] == {c: 0.3 for c in classes}  # --threshold 0.3
    elif task == "multiclass":
        assert vocab["thresholds"] == {}
    interpreter = _tflite_runner(exp.path)
    assert list(interpreter.get_signature_list()) == ["serving_default"]
    details = interpreter.get_signature_runner("serving_default").get_input_details()
    assert {k: (d["dtype"].__name__, d["shape"].tolist()) for k, d in details.items()} == {
        "tokens": ("int32", [1, T]),
        "ngrams": ("int32", [1, K]),
        "ngram_weights": ("float32", [1, K]),
    }
    readme = (exp.path / "README.txt").read_text(encoding="utf-8")
    assert f"tokens         int32   [1, {T}]" in readme and "ngram_weights" in readme and "(1 + ln(count))" in readme
    assert f"input  ngrams         int32   [1, {K}]" in exp.stdout


def test_exports_load_in_a_fresh_python_without_textclf(exports, predicted):
    """Both exports are self-contained: a plain TensorFlow process loads and runs them."""
    texts, rows = predicted["multiclass"]
    sm, tfl = exports["multiclass", "savedmodel"].path, exports["multiclass", "tflite"].path
    from textclf.run import directory as artifacts
    from textclf.use.export import tflite_feed, tflite_shapes

    run = artifacts.load_run(exports["multiclass", "tflite"].run)
    encoded = run.vocab.encoder().encode(texts[:5])
    shapes = tflite_shapes(run.vocab, True)
    feeds = [{k: v.tolist() for k, v in tflite_feed(encoded, i, shapes).items()} for i in range(5)]
    job = sm.parent / "fresh.json"
    job.write_text(json.dumps({"texts": texts, "feeds": feeds}), encoding="utf-8")
    code = textwrap.dedent(f"""
        import json, sys, warnings
        import numpy as np
        import tensorflow as tf
        job = json.load(open({str(job)!r}, encoding="utf-8"))
        m = tf.saved_model.load({str(sm)!r})
        sm = m.signatures["serving_default"](text=tf.constant(job["texts"]))["probabilities"].numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runner = tf.lite.Interpreter(model_path={str(tfl / "model.tflite")!r}).get_signature_runner()
        lite = [runner(tokens=np.asarray(f["tokens"], np.int32), ngrams=np.asarray(f["ngrams"], np.int32),
                       ngram_weights=np.asarray(f["ngram_weights"], np.float32))["probabilities"][0].tolist()
                for f in job["feeds"]]
        assert "textclf" not in sys.modules
        print(json.dumps({{"sm": sm.tolist(), "lite": lite}}))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=sm.parent, env=env, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = _predict_probs(rows, _classes(exports["multiclass", "savedmodel"].run))
    np.testing.assert_allclose(out["sm"], expected, atol=2e-6)
    np.testing.assert_allclose(out["lite"], expected[:5], atol=2e-6)


# --------------------------------------------------------------------------------------------------
# Where exports go, and what is refused


def test_default_output_is_beside_the_run_which_stays_untouched(exports, mc_copy):
    from textclf.run import directory as artifacts

    copy, before = mc_copy
    for fmt in FORMATS:
        assert exports["multiclass", fmt].path == copy.parent / f"mc-run-{fmt}"
        mode = stat.S_IMODE(exports["multiclass", fmt].path.stat().st_mode)
        assert mode & 0o055, oct(mode)  # not the 0700 of a temporary folder
    assert tree_hashes(copy) == before
    artifacts.verify(copy)  # the manifest still holds: nothing was added inside the run
    assert not [p.name for p in copy.parent.iterdir() if p.name.endswith(".tmp")]


def test_the_temporary_folder_of_a_killed_export_is_cleaned_up(exports, export_dir):
    assert exports["binary", "tflite"].path == export_dir / "binary-tflite"
    assert not (export_dir / ".binary-tflite.999999999.abc.tmp").exists()
    assert not [p.name for p in export_dir.iterdir() if p.name.endswith(".tmp")]


def test_refuses_an_existing_non_empty_output(exports, multiclass_run, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = cli("export", "--model", multiclass_run.run, "--format", "tflite", "--output", out)
    assert_clean_error(result, 2, f"--output {out} exists and is not empty", "never overwrites")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    # the default output of a run that was exported before
    mc = exports["multiclass", "savedmodel"]
    result = cli("export", "--model", mc.run, "--format", "savedmodel")
    assert_clean_error(result, 2, f"--output {mc.path} exists and is not empty")


def test_refuses_an_output_inside_the_run(run_copy):
    from textclf.run import directory as artifacts

    result = cli("export", "--model", run_copy, "--format", "savedmodel", "--output", run_copy / "export")
    assert_clean_error(result, 2, "is inside the run directory", f"{run_copy.parent / 'run-savedmodel'}")
    result = cli("export", "--model", run_copy, "--format", "tflite", "--output", run_copy)
    assert_clean_error(result, 2, "is inside the run directory")
    assert not (run_copy / "export").exists()
    artifacts.verify(run_copy)


def test_refuses_bad_output_paths_format_and_threshold(multiclass_run, tmp_path):
    file = tmp_path / "a-file"
    file.write_text("x", encoding="utf-8")
    result = cli("export", "--model", multiclass_run.run, "--format", "tflite", "--output", file)
    assert_clean_error(result, 2, "exists and is a file")
    result = cli("export", "--model", multiclass_run.run, "--format", "tflite", "--output", tmp_path / "no" / "dir")
    assert_clean_error(result, 2, f"the folder {tmp_path / 'no'} does not exist; create it first")
    result = cli("export", "--model", multiclass_run.run, "--format", "onnx", "--output", tmp_path / "x")
    assert result.exit_code == 2 and "'onnx' is not one of 'savedmodel', 'tflite'" in result.output
    result = cli(
        "export", "--model", multiclass_run.run, "--format", "tflite", "--output", tmp_path / "x", "--threshold", "0.3"
    )
    assert_clean_error(result, 2, "--threshold applies to binary and multi-label models; this run is multiclass")
    assert not (tmp_path / "x").exists()


def test_refuses_a_tampered_run_and_writes_nothing(run_copy, tmp_path):
    vocab = run_copy / "vocab.json"
    vocab.write_text(vocab.read_text(encoding="utf-8").replace('"the"', '"eht"', 1), encoding="utf-8")
    result = cli("export", "--model", run_copy, "--format", "tflite", "--output", tmp_path / "out")
    assert_clean_error(result, 4, "checksum mismatch in vocab.json")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    result = cli("export", "--model", tmp_path / "nothing-here", "--format", "tflite")
    assert_clean_error(result, 2, "not found; it must be a textclf run directory")


def test_a_mismatch_removes_the_export(multilabel_run, tmp_path):
    """The check is real: an export whose probabilities differ by more than the tolerance is not kept.

    A negative tolerance makes every difference (even 0) a mismatch, so the removal path runs on a real export.
    """
    from textclf import Classifier
    from textclf.use.export import ExportMismatch, export

    run = Classifier.load(multilabel_run.run)
    out = tmp_path / "lite"
    with pytest.raises(
        ExportMismatch,
        match=r"differ from textclf's by .* above the tolerance -1 .* the export was "
        r"removed",
    ):
        export(run, "tflite", out, tolerance=-1.0)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left either
    assert ExportMismatch.exit_code == 1


@pytest.mark.fast
def test_export_help_has_an_example_and_does_not_import_tensorflow():
    result = cli("export", "--help")
    assert result.exit_code == 0
    after = result.stdout.split("Example:", 1)[1].splitlines()
    assert [line.strip() for line in after if line.strip()][0].startswith("textclf export")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        import textclf.cli
        result = CliRunner().invoke(textclf.cli.main, ["export", "--help"])
        assert result.exit_code == 0, result.output
        print("TF", "tensorflow" in sys.modules)
    """),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "TF False" in proc.stdout


# --------------------------------------------------------------------------------------------------
# Model shapes the session runs do not have (random weights, no training)


@pytest.mark.parametrize(
    "rnn,bidirectional,pooling,layers,ngrams,task,formats",
    [
        ("gru", False, "last", 2, 0, "binary", FORMATS),
        ("lstm", True, "mean", 1, 3, "multilabel", ("tflite",)),
    ],
)
def test_other_architectures_export_exactly(rnn, bidirectional, pooling, layers, ngrams, task, formats, tmp_path):
    """GRU, one direction, last/mean pooling, stacked layers, no or a 3-gram branch pass the export's check.

    The TFLite model is the one that computes differently (fixed length, folded constants), so it is the one
    tried on every shape; the SavedModel runs the Keras model itself.
    """
    from support import topic_rows

    from textclf import Classifier
    from textclf.model.network import Hyperparameters, build_model
    from textclf.model.vocabulary import Vocabulary
    from textclf.run.directory import LoadedRun
    from textclf.use.export import export

    texts = [t for t, _ in topic_rows(60, seed=9)]
    vocab = Vocabulary.fit(
        texts,
        max_tokens=50,
        sequence_length=12,
        standardize="lower_and_strip_punctuation",
        ngrams=ngrams,
        ngram_max_tokens=300,
        ngram_length=30,
    )
    classes = ["no", "yes"] if task == "binary" else ["x", "y", "z"]
    hp = Hyperparameters(
        task=task,
        num_outputs=1 if task == "binary" else 3,
        vocab_size=len(vocab.tokens),
        ngram_vocab_size=len(vocab.ngram_tokens or []),
        embedding_dim=8,
        rnn=rnn,
        units=6,
        layers=layers,
        bidirectional=bidirectional,
        pooling=pooling,
        embedding_dropout=0.1,
        dropout=0.1,
    )
    model = build_model(hp, seed=3)
    rng = np.random.default_rng(3)
    for w in model.weights:
        if "ngram" in w.path:  # zeros at initialization; give the branch a say
            w.assign(rng.normal(size=w.shape).astype("float32"))
    run = Classifier(
        LoadedRun(tmp_path / "run", model, hp, vocab, {"task": task, "classes": classes, "separator": "|"}, {}, {})
    )
    for fmt in formats:
        summary = export(run, fmt, tmp_path / fmt, texts=texts[:10])
        assert summary.max_difference <= 1e-5 and summary.texts_checked >= 60
        names = set(summary.inputs)
        if fmt == "tflite":
            assert names == ({"tokens"} if not ngrams else {"tokens", "ngrams", "ngram_weights"})
            assert summary.inputs["tokens"] == ("int32", [1, 12])
