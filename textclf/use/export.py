"""Exporting a run for serving: an end-to-end SavedModel, or a LiteRT (TFLite) model plus its vocabulary.

``savedmodel``
    A TensorFlow SavedModel (``tf.saved_model.save`` of a ``tf.Module``) that takes raw texts and does all
    of textclf's encoding in its graph: the run's two ``TextVectorization`` vocabularies with the run's
    standardization, the word ids cut to ``sequence_length`` (an empty text becomes one out-of-vocabulary
    token), and the bag of distinct n-gram ids with L2-normalized sublinear TF-IDF weights, computed with
    TensorFlow ops. It follows TF Serving's conventions: the ``serving_default`` signature (also under the
    name ``predict``) takes ``text`` (``tf.string``, shape ``[None]``) and returns ``probabilities``
    (float32 ``[None, C]``, one column per class in the run's order; for a binary task ``[1 - p, p]``),
    ``classes`` (string ``[None, C]``, the class name of each column) and ``label`` (string ``[None]``: the
    predicted class; for multi-label the classes at or above their threshold joined with the separator).
    The thresholds are those ``textclf predict`` applies: the run's tuned ones, else 0.5, or ``threshold``.
    The class names, task and thresholds are also saved as variables (``class_names``, ``task``,
    ``threshold``: one per sigmoid output), and the saved function ``encode`` returns the model inputs of
    texts, for debugging. The recurrent layers are traced without cuDNN, so an export made on a GPU
    machine also serves on a CPU.

``tflite``
    ``model.tflite`` takes token ids, not text: ``tokens`` int32 ``[1, sequence_length]`` and, when the
    model has an n-gram branch, ``ngrams`` int32 ``[1, ngram_length]`` and ``ngram_weights`` float32
    ``[1, ngram_length]``, all padded on the right with 0, one text per call. It returns ``probabilities``
    float32 ``[1, C]``. The shapes are fixed because the converter cannot lower the recurrent layers'
    loop with a dynamic batch size (``TensorListReserve`` needs a static element shape) and the XNNPACK
    delegate fails to resize a dynamic time axis. The masked computation is kept: padded steps are masked
    inside the graph exactly as in textclf, so the fixed-length model gives the same probabilities.
    The variables are folded into constants before conversion (a resource variable read inside the
    LSTM's loop fails at run time otherwise). Only built-in LiteRT ops are used (no Flex delegate).
    ``vocab.json`` beside it holds the vocabularies, the n-gram IDF, the standardization, the lengths, the
    labels and the input description; ``README.txt`` says how to encode a text.

Every export is checked right after writing: it is reloaded (``tf.saved_model.load`` / the LiteRT
interpreter) and its probabilities are compared with textclf's own (``predict_logits`` on
``Encoder.encode``) on sample texts: texts made of the run's vocabulary, and edge cases (empty,
punctuation only, unicode, control characters, texts longer than the sequence and n-gram lengths).
A difference above ``tolerance`` removes the export and raises :class:`ExportMismatch`.

The export is written into a temporary folder beside the output and renamed at the end, so the output is
either complete and checked or absent. It is never written inside the run directory (whose files are
sealed by its manifest).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EXIT_INTERNAL, TextclfError, UsageError
from ..io.files import atomic_folder, clean_stale_temp_files, write_error
from ..run.directory import check_run_path
from ..run.outputs import check_output

FORMATS = ("savedmodel", "tflite")
TOLERANCE = 1e-5  # the largest accepted difference in any probability (measured: about 1e-7 on CPU)
EXPORT_FORMAT_VERSION = 1
TFLITE_MODEL = "model.tflite"
TFLITE_VOCAB = "vocab.json"
README = "README.txt"
SAVEDMODEL_META = "textclf_export.json"


class ExportMismatch(TextclfError):
    """The reloaded export does not reproduce textclf's probabilities (exit 1: a bug to report)."""

    exit_code = EXIT_INTERNAL


@dataclass
class ExportSummary:
    """What :func:`export` wrote and how it was checked."""

    output: Path
    format: str
    task: str
    classes: list[str]
    texts_checked: int
    max_difference: float
    tolerance: float
    seconds: float
    convert_seconds: float  # building/saving the SavedModel, or the TFLite conversion
    inputs: dict[str, tuple[str, list]] = field(default_factory=dict)  # name -> (dtype, shape; None = any)
    outputs: dict[str, tuple[str, list]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    source: str = ""  # the run directory, as given

    def __str__(self) -> str:
        """What was exported, how it was checked, its inputs and outputs; the last line is the folder."""
        step = "conversion" if self.format == "tflite" else "tracing and saving"
        lines = [
            f"exported {self.source} as {self.format} ({self.task}, {len(self.classes)} classes) in "
            f"{self.seconds:.1f}s ({step} {self.convert_seconds:.1f}s)",
            f"checked on {self.texts_checked} texts: largest difference in a probability "
            f"{self.max_difference:.1e} (tolerance {self.tolerance:.0e})",
        ]
        for kind, specs in (("input", self.inputs), ("output", self.outputs)):
            for name, (dtype, shape) in specs.items():
                dims = ", ".join("None" if d is None else str(d) for d in shape)
                lines.append(f"  {kind:<7}{name:<15}{dtype:<8}[{dims}]")
        return "\n".join(lines + [str(self.output)])


# --------------------------------------------------------------------------------------------------
# Paths


def default_output(run: str | os.PathLike, format: str) -> Path:
    """``RUN/../<run-name>-<format>``: beside the run directory, never inside it."""
    path = Path(run)
    if path.name in ("", ".", ".."):  # "." or "runs/x/..": name the folder it means
        path = Path(os.path.abspath(path))
    return path.parent / f"{path.name}-{format}"


def _check_output(out: str | os.PathLike, run: Path, format: str) -> Path:
    """A new (or empty) folder outside the run directory."""
    hint = f", or leave out --output for {default_output(run, format)}"
    inputs = [("the run directory", run)]
    return check_output(out, "--output", inputs=inputs, folder=True, overwrite=False, hint=hint)


# --------------------------------------------------------------------------------------------------
# Sample texts for the check


def sample_texts(vocab, n: int = 40, seed: int = 0) -> list[str]:
    """Texts to check an export on: ``n`` texts of the run's words, and edge cases.

    The vocabulary texts vary in length (up to past ``sequence_length``), repeat words (so n-gram counts
    above one occur), mix in capitals, punctuation and unknown words. The edge cases are the empty text,
    blanks, punctuation only, control characters and line separators, unicode (accents, CJK, emoji), and a
    text longer than both the sequence length and the n-gram length.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    words = [t for t in vocab.tokens[2:] if t] or ["word"]
    texts = []
    for i in range(n):
        if i % 10 == 9:
            length = int(rng.integers(vocab.sequence_length, vocab.sequence_length + 40))
        else:
            length = int(rng.integers(1, 30))
        picked = [words[j] for j in rng.integers(0, len(words), size=length)]
        if i % 3 == 0 and length > 1:
            picked += picked[: length // 2]  # repeated words and bigrams
        if i % 4 == 1:
            picked = [w.upper() if k % 2 else w for k, w in enumerate(picked)]
        if i % 5 == 2:
            picked.insert(len(picked) // 2, "zzqxv-unknownword,")
        texts.append(" ".join(picked) + (" !" if i % 6 == 3 else ""))
    long_words = max(vocab.sequence_length, vocab.ngram_length or 0) + 50
    long_text = " ".join(words[j] for j in rng.integers(0, len(words), size=long_words))
    texts += [
        "",
        " ",
        "   \t ",
        "!!! ...",
        "?",
        "\u2028",
        "a\u2029b\x1cc\x85d",
        "line1\nline2\r\nline3",
        "tab\there",
        "naïve café 😀 Ünïcödé",
        "日本語のテキスト 中文",
        "ÉCOLE Straße İstanbul",
        "\x00nul\x00",
        "word" * 50,
        f"{words[0]},{words[-1]}.{words[len(words) // 2]}!?",
        long_text,
    ]
    return texts


# --------------------------------------------------------------------------------------------------
# Building the graphs


def _export_model(run):
    """A copy of the run's model whose recurrent layers never take the cuDNN path.

    A graph traced on a GPU machine would otherwise hold ``CudnnRNNV3``, which neither a CPU server nor
    the TFLite converter can run. The generic kernel computes the same function.
    """
    import keras

    from ..model.network import build_model

    model = build_model(run.hyperparameters)
    model.set_weights(run.model.get_weights())
    for layer in model.layers:
        inner = (
            [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
        )
        for rnn in inner:
            if isinstance(rnn, (keras.layers.LSTM, keras.layers.GRU)):
                rnn.use_cudnn = False
    return model


def _probabilities(task: str, logits):
    """One column per class: softmax (multiclass), ``[1 - p, p]`` (binary), sigmoid (multilabel)."""
    import tensorflow as tf

    logits = tf.cast(logits, tf.float32)
    if task == "multiclass":
        return tf.nn.softmax(logits, axis=-1)
    p = tf.math.sigmoid(logits)
    return tf.concat([1.0 - p, p], axis=1) if task == "binary" else p


def _build_serving_module(run, thresholds):
    """The ``tf.Module`` that encodes raw texts in its graph and runs the model."""
    import numpy as np
    import tensorflow as tf

    from ..model.vocabulary import make_layer

    vocab, task, classes = run.vocabulary, run.task, run.classes
    separator = run.separator
    model = _export_model(run)
    with_ngrams = "ngrams" in model.input
    seq_len, ngram_len = int(vocab.sequence_length), int(vocab.ngram_length or 0)

    class TextclfServing(tf.Module):
        def __init__(self):
            super().__init__(name="textclf")
            self.model = model
            self.words = make_layer(vocab.standardize, None, vocabulary=vocab.tokens)
            self.ngram_layer = (
                make_layer(vocab.ngram_mode, None, vocab.ngrams, vocabulary=vocab.ngram_tokens) if with_ngrams else None
            )
            self.idf = (
                tf.Variable(np.asarray(vocab.ngram_idf, dtype=np.float32), trainable=False, name="ngram_idf")
                if with_ngrams
                else None
            )
            self.class_names = tf.Variable(classes, trainable=False, dtype=tf.string, name="class_names")
            self.task = tf.Variable(task, trainable=False, dtype=tf.string, name="task")
            self.threshold = tf.Variable(np.asarray(thresholds, np.float32), trainable=False, name="threshold")

        def _inputs(self, text):
            inputs = {"tokens": _word_ids(self.words, text, seq_len)}
            if with_ngrams:
                inputs.update(_ngram_bag(self.ngram_layer, self.idf, text, ngram_len))
            return inputs

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def encode(self, text):
            """The model inputs of ``text``: padded ``tokens`` (and ``ngrams``, ``ngram_weights``)."""
            return self._inputs(text)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            probs = _probabilities(task, self.model(self._inputs(text), training=False))
            n = tf.shape(probs)[0]
            names = tf.tile(self.class_names[tf.newaxis, :], tf.stack([n, 1]))
            if task == "multiclass":
                label = tf.gather(self.class_names, tf.argmax(probs, axis=1))
            elif task == "binary":
                label = tf.gather(self.class_names, tf.cast(probs[:, 1] >= self.threshold[0], tf.int32))
            else:
                chosen = tf.ragged.boolean_mask(names, probs >= self.threshold[tf.newaxis, :])
                label = tf.strings.reduce_join(chosen, axis=1, separator=separator)
            return {"probabilities": probs, "classes": names, "label": label}

    return TextclfServing()


def _word_ids(words, text, seq_len: int):
    """The padded word ids of a batch of texts, in the graph: cut to ``seq_len``, an empty text one OOV token."""
    import tensorflow as tf

    from ..model.vocabulary import OOV

    ids = words(text)[:, :seq_len]
    lengths = ids.row_lengths()
    tokens = _at_least_one_column(ids.to_tensor(default_value=0))
    first = tf.equal(tf.range(tf.shape(tokens)[1]), 0)[tf.newaxis, :]
    tokens = tf.where(
        tf.logical_and(tf.equal(lengths, 0)[:, tf.newaxis], first), tf.constant(OOV, tokens.dtype), tokens
    )  # an empty text reads one OOV token
    return tf.cast(tokens, tf.int32)


def _ngram_bag(ngram_layer, idf, text, ngram_len: int) -> dict:
    """The bag of distinct n-gram ids of each text and their L2-normalized sublinear TF-IDF weights, in the graph
    (as :meth:`textclf.model.vocabulary.Encoder.ngram_bags` computes them)."""
    import tensorflow as tf

    from ..model.vocabulary import OOV

    n = tf.shape(text, out_type=tf.int64)[0]
    ids = ngram_layer(text)[:, :ngram_len]
    size = tf.cast(tf.shape(idf)[0], tf.int64)
    keys = ids.value_rowids() * size + tf.cast(ids.flat_values, tf.int64)
    unique, _, counts = tf.unique_with_counts(keys, out_idx=tf.int64)
    order = tf.argsort(unique)  # the sorted order of numpy's unique
    unique, counts = tf.gather(unique, order), tf.gather(counts, order)
    bag_ids, rows = unique % size, unique // size
    weights = tf.cast(
        (1.0 + tf.math.log(tf.cast(counts, tf.float64))) * tf.cast(tf.gather(idf, bag_ids), tf.float64), tf.float32
    )
    norms = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(tf.cast(weights, tf.float64)), rows, n))
    weights = weights / tf.cast(tf.maximum(tf.gather(norms, rows), 1e-12), tf.float32)
    bag = _at_least_one_column(tf.RaggedTensor.from_value_rowids(bag_ids, rows, nrows=n).to_tensor(0))
    bag_weights = _at_least_one_column(tf.RaggedTensor.from_value_rowids(weights, rows, nrows=n).to_tensor(0.0))
    empty = tf.equal(tf.math.bincount(rows, minlength=n, maxlength=n, dtype=tf.int64), 0)
    first = tf.equal(tf.range(tf.shape(bag)[1]), 0)[tf.newaxis, :]
    bag = tf.where(tf.logical_and(empty[:, tf.newaxis], first), tf.constant(OOV, bag.dtype), bag)
    return {"ngrams": tf.cast(bag, tf.int32), "ngram_weights": bag_weights}


def _at_least_one_column(dense):
    """Pad a [B, W] tensor on the right to at least one column (a batch of empty texts has W = 0)."""
    import tensorflow as tf

    return tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])


# what TensorFlow's file writers say when the file system refuses a write (their errors carry no errno)
_DISK_FULL = ("No space left on device", "File too large", "Disk quota exceeded")
_NOT_WRITABLE = ("Read-only file system", "Permission denied")


@contextmanager
def _write_errors(out: Path):
    """TensorFlow's failures to write a file, as the errors they are: a full disk is not 'out of memory'."""
    import errno

    try:
        yield
    except Exception as exc:  # noqa: BLE001 - tf.errors.* and OSError alike; anything else is re-raised
        text = str(exc)
        if any(m in text for m in _DISK_FULL):
            raise write_error(OSError(errno.ENOSPC, "No space left on device"), out, ". Nothing was written at the "
                              "output") from None  # fmt: skip
        if any(m in text for m in _NOT_WRITABLE):
            raise write_error(OSError(errno.EACCES, "Permission denied"), out) from None
        raise


@contextmanager
def _quiet_tf_logger():
    import logging

    logger = logging.getLogger("tensorflow")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def _full_float32():
    """Turn TensorFloat-32 off while exporting and checking (on Ampere and later GPUs it rounds matmuls)."""
    import tensorflow as tf

    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(before)


# --------------------------------------------------------------------------------------------------
# The two formats


def _write_savedmodel(run, folder: Path, thresholds: dict[str, float]) -> dict:
    import tensorflow as tf

    module = _build_serving_module(run, list(thresholds.values()))
    serve = module.serve.get_concrete_function()
    module.encode.get_concrete_function()
    tf.saved_model.save(module, str(folder), signatures={"serving_default": serve, "predict": serve})
    c = len(run.classes)
    return {
        "inputs": {"text": ("string", [None])},
        "outputs": {
            "probabilities": ("float32", [None, c]),
            "classes": ("string", [None, c]),
            "label": ("string", [None]),
        },
    }


def _check_savedmodel(folder: Path, texts: list[str]):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(folder))
    out = loaded.signatures["serving_default"](text=tf.constant(texts, dtype=tf.string))
    return out["probabilities"].numpy()


def tflite_shapes(vocab, with_ngrams: bool) -> dict[str, tuple[str, list[int]]]:
    """The TFLite model's inputs: name -> (dtype, shape)."""
    shapes = {"tokens": ("int32", [1, int(vocab.sequence_length)])}
    if with_ngrams:
        k = int(vocab.ngram_length)
        shapes.update(ngrams=("int32", [1, k]), ngram_weights=("float32", [1, k]))
    return shapes


def tflite_feed(encoded, row: int, shapes: dict[str, tuple[str, list[int]]]) -> dict:
    """The TFLite inputs of row ``row`` of an :class:`~textclf.model.vocabulary.Encoded` set, padded to ``shapes``."""
    import numpy as np

    batch = encoded.batch(np.asarray([row]))
    feed = {}
    for name, (dtype, shape) in shapes.items():
        values = batch[name][0]
        out = np.zeros(shape, dtype=dtype)
        out[0, : len(values)] = values[: shape[1]]
        feed[name] = out
    return feed


def _write_tflite(run, folder: Path, thresholds: dict[str, float]) -> dict:
    import tensorflow as tf

    # the public converters keep resource variables, and a variable read inside the LSTM's loop then
    # fails in the interpreter ("READ_VARIABLE ... variable != nullptr"); folding them first avoids that
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = _export_model(run)
    with_ngrams = "ngrams" in model.input
    shapes = tflite_shapes(run.vocabulary, with_ngrams)
    specs = [tf.TensorSpec(shape, getattr(tf, dtype), name=name) for name, (dtype, shape) in shapes.items()]
    names = list(shapes)
    task = run.task

    @tf.autograph.experimental.do_not_convert
    def probabilities(*args):
        return _probabilities(task, model(dict(zip(names, args)), training=False))

    concrete = tf.function(probabilities, input_signature=specs).get_concrete_function()
    with _quiet_tf_logger():  # "Issue encountered when serializing table_initializer": harmless, not ours
        frozen = convert_variables_to_constants_v2(concrete)

    @tf.autograph.experimental.do_not_convert
    def serve(*args):
        return {"probabilities": frozen(*args)[0]}

    serving = tf.function(serve, input_signature=specs).get_concrete_function()
    holder = tf.Module()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serving], holder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    with _quiet_tf_logger():
        data = converter.convert()
    (folder / TFLITE_MODEL).write_bytes(data)
    c = len(run.classes)
    info = {"inputs": shapes, "outputs": {"probabilities": ("float32", [1, c])}}
    vocab = run.vocabulary
    body = {
        "format": "textclf-tflite",
        "format_version": EXPORT_FORMAT_VERSION,
        "task": run.task,
        "classes": run.classes,
        "separator": run.separator,
        "thresholds": thresholds,
        "standardize": vocab.standardize,
        "split": "whitespace",
        "ngram_standardize": vocab.ngram_mode if with_ngrams else None,
        "sequence_length": vocab.sequence_length,
        "ngrams": vocab.ngrams if with_ngrams else 0,
        "ngram_length": vocab.ngram_length if with_ngrams else 0,
        "pad_id": 0,
        "oov_id": 1,
        "inputs": {k: {"dtype": d, "shape": s} for k, (d, s) in shapes.items()},
        "outputs": {k: {"dtype": d, "shape": s} for k, (d, s) in info["outputs"].items()},
        "tokens": vocab.tokens,
        "ngram_tokens": vocab.ngram_tokens if with_ngrams else None,
        "ngram_idf": vocab.ngram_idf if with_ngrams else None,
    }
    (folder / TFLITE_VOCAB).write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / README).write_text(_tflite_readme(run, shapes, thresholds), encoding="utf-8")
    return info


def _interpreter(model_path: Path):
    """The LiteRT interpreter: ``ai_edge_litert`` when installed, else the one TensorFlow ships."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated": it still works in TF 2.21
            warnings.simplefilter("ignore")
            return tf.lite.Interpreter(model_path=str(model_path))
    return Interpreter(model_path=str(model_path))


def _check_tflite(run, folder: Path, texts: list[str]):
    import numpy as np

    interpreter = _interpreter(folder / TFLITE_MODEL)
    runner = interpreter.get_signature_runner("serving_default")
    encoded = run.encode(texts)
    shapes = tflite_shapes(run.vocabulary, encoded.ngram_values is not None)
    rows = [runner(**tflite_feed(encoded, i, shapes))["probabilities"][0] for i in range(len(texts))]
    return np.asarray(rows, dtype=np.float32)


# --------------------------------------------------------------------------------------------------
# The entry point


def export(
    model,
    format: str,
    output: str | os.PathLike | None = None,
    *,
    threshold: float | None = None,
    tolerance: float = TOLERANCE,
    texts: list[str] | None = None,
) -> ExportSummary:
    """Export the run ``model`` as a SavedModel or a TFLite model, checked against textclf's own predictions.

    Args:
        model: a :class:`~textclf.use.classifier.Classifier`, or a run directory to load one from.
        format: ``savedmodel`` or ``tflite`` (see the module docstring for what each holds).
        output: the folder to create; default ``RUN/../<run-name>-<format>``. Refused if it is inside the
            run directory, a file, or a non-empty folder (an empty folder is replaced).
        threshold: the decision threshold of the SavedModel's ``label`` output for binary and multi-label
            tasks, for every output (default: the run's thresholds tuned on validation, else 0.5, as
            ``textclf predict`` applies them; recorded in ``vocab.json`` for TFLite).
        tolerance: the largest accepted absolute difference between the export's probabilities and
            textclf's on the check texts.
        texts: extra texts to check on, besides :func:`sample_texts`.

    Returns:
        An :class:`ExportSummary`.

    Raises:
        UsageError: bad format or output path. ModelRejected: the run does not verify.
        ExportMismatch: the reloaded export differs from textclf (nothing is left at ``output``).
        ResourceError: the disk filled up (nothing is left at ``output``).
    """
    if format not in FORMATS:
        raise UsageError(f"--format {format!r}: expected one of {', '.join(FORMATS)}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--threshold {threshold}: expected a number from 0 to 1")
    from .classifier import Classifier

    run_path = model.path if isinstance(model, Classifier) else check_run_path(model)
    out = _check_output(output if output is not None else default_output(run_path, format), run_path, format)
    t0 = time.perf_counter()
    clf = model if isinstance(model, Classifier) else Classifier.load(run_path)
    if threshold is not None and clf.task == "multiclass":
        raise UsageError(
            "--threshold applies to binary and multi-label models; this run is multiclass "
            "(its label is the most probable class)"
        )
    thr = clf.decision_thresholds(threshold).named
    _check_output(out, run_path, format)  # again: loading took a while
    clean_stale_temp_files(out)
    summary = _export_checked(clf, format, out, thr, sample_texts(clf.vocabulary) + list(texts or []), tolerance)
    summary.seconds = time.perf_counter() - t0
    summary.source = str(model if not isinstance(model, Classifier) else clf.path)
    return summary


def _export_checked(
    clf, format: str, out: Path, thr: dict[str, float], checks: list[str], tolerance: float
) -> ExportSummary:
    """Write the export into a temporary folder, check it against textclf's probabilities, then publish it."""
    with atomic_folder(out, hint=". Nothing was written at the output") as tmp:
        with _full_float32():
            t1 = time.perf_counter()
            with _write_errors(out):
                info = (_write_savedmodel if format == "savedmodel" else _write_tflite)(clf, tmp, thr)
            convert_seconds = time.perf_counter() - t1
            expected = clf.predict_proba(checks)
            got = _check_savedmodel(tmp, checks) if format == "savedmodel" else _check_tflite(clf, tmp, checks)
        diff = _max_difference(expected, got, checks, tolerance, format)
        summary = ExportSummary(
            out,
            format,
            clf.task,
            clf.classes,
            len(checks),
            diff,
            tolerance,
            0.0,
            convert_seconds,
            info["inputs"],
            info["outputs"],
        )
        if format == "savedmodel":
            _write_savedmodel_extras(clf, tmp, summary, thr)
        summary.files = sorted(
            p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file() and p.name != ".lock"
        )
    return summary


def _max_difference(expected, got, texts: list[str], tolerance: float, format: str) -> float:
    import numpy as np

    if got.shape != expected.shape:
        raise ExportMismatch(
            f"the reloaded {format} export returned probabilities of shape {got.shape}, textclf "
            f"{expected.shape}; the export was removed. Please report this"
        )
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN from the export is the largest difference
    worst = float(diff.max()) if diff.size else 0.0
    if worst > tolerance:
        row = int(diff.max(axis=1).argmax())
        raise ExportMismatch(
            f"the reloaded {format} export gives probabilities that differ from textclf's by "
            f"{worst:.3g}, above the tolerance {tolerance:g} (worst on check text {row}: "
            f"{texts[row][:60]!r}); the export was removed. Please report this with the run"
        )
    return worst


def _write_savedmodel_extras(run, folder: Path, summary: ExportSummary, thresholds: dict[str, float]) -> None:
    meta = {
        "format": "textclf-savedmodel",
        "format_version": EXPORT_FORMAT_VERSION,
        "task": run.task,
        "classes": run.classes,
        "separator": run.separator,
        "thresholds": thresholds,
        "source_run": Path(run.path).name,
        "signatures": ["serving_default", "predict"],
        "inputs": {k: {"dtype": d, "shape": s} for k, (d, s) in summary.inputs.items()},
        "outputs": {k: {"dtype": d, "shape": s} for k, (d, s) in summary.outputs.items()},
        "checked": {
            "texts": summary.texts_checked,
            "max_difference": summary.max_difference,
            "tolerance": summary.tolerance,
        },
    }
    (folder / SAVEDMODEL_META).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (folder / README).write_text(_savedmodel_readme(run, thresholds), encoding="utf-8")


def _describe_decision(run, thresholds: dict[str, float]) -> str:
    values = sorted(set(thresholds.values()))
    at = (
        f">= {values[0]:g}"
        if len(values) == 1
        else "at or above its threshold (" + ", ".join(f"{k} {v:g}" for k, v in thresholds.items()) + ")"
    )
    if run.task == "multiclass":
        return "the most probable class"
    if run.task == "binary":
        return f"{run.classes[1]!r} when its probability is {at}, else {run.classes[0]!r}"
    return f"the classes whose probability is {at}, joined with {run.separator!r} (empty when none)"


def _savedmodel_readme(run, thresholds: dict[str, float]) -> str:
    c = len(run.classes)
    label = _describe_decision(run, thresholds)
    return f"""textclf SavedModel export of run {Path(run.path).name} ({run.task}, {c} classes)

Takes raw texts: all of textclf's text encoding is inside the graph.

Signature "serving_default" (also "predict"):
  input   text           string  [None]
  output  probabilities  float32 [None, {c}]   one column per class, in the order of `classes`
          classes        string  [None, {c}]   the class name of each column
          label          string  [None]       {label}

Classes: {", ".join(run.classes)}

Python:
  import tensorflow as tf
  m = tf.saved_model.load("THIS_FOLDER")
  out = m.signatures["serving_default"](text=tf.constant(["some text"]))
  out["probabilities"], out["label"]

TF Serving looks for numbered versions: copy this folder to MODEL_BASE_PATH/1/.
  curl -d '{{"instances": [{{"text": "some text"}}]}}' localhost:8501/v1/models/NAME:predict
"""


def _tflite_ngram_steps(vocab, modes: dict[str, str]) -> list[str]:
    """The README's step that turns a text into the n-gram inputs."""
    same = vocab.ngram_mode == vocab.standardize
    own = [
        '4. n-grams read the text standardized their own way (vocab.json "ngram_standardize"): repeat',
        f"   steps 1 and 2, but after the control characters {modes[vocab.ngram_mode]}.",
        "   Then take",
    ]
    longest = "" if vocab.ngrams == 2 else f" ... up to {vocab.ngrams}-grams"
    return ([] if same else own) + [
        f"{'4. n-grams:' if same else '  '} all 1-grams of the words, then all 2-grams{longest}",
        "   (words joined by one space), each mapped to its index in `ngram_tokens` (unknown: 1); keep the",
        f"   first {vocab.ngram_length}. Count each distinct id: weight = (1 + ln(count)) * ngram_idf[id];",
        "   divide the weights by their L2 norm. ngrams = the distinct ids, ngram_weights = their weights",
        "   (any order); an empty bag is id 1 with weight 0. Pad both with 0 on the right.",
    ]


def _tflite_readme(run, shapes: dict, thresholds: dict[str, float]) -> str:
    vocab = run.vocabulary
    c = len(run.classes)
    with_ngrams = "ngrams" in shapes
    modes = {
        "lower_and_split_punctuation": "lower-case (Unicode), then put a space on both sides of every\n"
        "   punctuation or symbol character (Unicode categories P* and S*)",
        "lower_and_strip_punctuation": "lower-case (Unicode), then replace every punctuation or symbol\n"
        "   character (Unicode categories P* and S*) with a space",
        "lower": "lower-case (Unicode)",
        "none": "nothing more",
    }
    standardize = modes[vocab.standardize]
    lines = [
        f"textclf TFLite (LiteRT) export of run {Path(run.path).name} ({run.task}, {c} classes)",
        "",
        'model.tflite takes token ids, one text per call (signature "serving_default"):',
    ]
    for name, (dtype, shape) in shapes.items():
        lines.append(f"  input   {name:<14} {dtype:<7} {shape}")
    lines += [
        f'  output  probabilities  float32 [1, {c}]  one column per class, in the order of vocab.json "classes"',
        "",
        "vocab.json holds everything needed to encode a text: tokens (the word vocabulary: the id of a word is",
        "its index), ngram_tokens and ngram_idf, standardize, sequence_length, ngram_length, and the labels.",
        "",
        "Encoding a text (textclf's own encoder does exactly this):",
        "1. Replace control characters (U+0000-U+001F, U+007F-U+009F), U+2028, U+2029 and U+FEFF with spaces;",
        f"   then {standardize}.",
        "2. Split into words on ASCII whitespace (space, \\t, \\n, \\v, \\f, \\r); other spaces such as U+00A0",
        "   stay inside words.",
        f"3. tokens: the id of each word (a word not in `tokens` gets 1), the first {vocab.sequence_length} only;",
        "   an empty text is [1]. Pad with 0 on the right to the input length.",
    ]
    if with_ngrams:
        lines += _tflite_ngram_steps(vocab, modes)
    lines += [
        "",
        f"The label: {_describe_decision(run, thresholds)}" + (' (vocab.json "thresholds").' if thresholds else "."),
        "",
        "Python:",
        "  from ai_edge_litert.interpreter import Interpreter   # or tf.lite.Interpreter",
        '  runner = Interpreter(model_path="model.tflite").get_signature_runner("serving_default")',
        "  probabilities = runner(" + ", ".join(f"{n}=..." for n in shapes) + ')["probabilities"][0]',
        "",
    ]
    return "\n".join(lines)
