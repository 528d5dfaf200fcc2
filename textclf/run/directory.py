"""A run directory on disk: creating it, saving a finished run, and verifying one before it is loaded.

Saving writes every file atomically (:mod:`textclf.io.files`), the checkpoints stay until all files are
written, and ``manifest.json`` (the SHA-256 and size of every file) is written last: a run without it is
incomplete. Loading checks the whole directory against the manifest before anything in it is parsed (only
known file names, no links or special files, size caps, checksums), then rebuilds the model from
``model.json`` with :func:`textclf.model.network.build_model` and sets the weights. No layer configuration is
ever deserialized and nothing is unpickled. The file names come from :mod:`textclf.run.layout`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ModelRejected, UsageError
from ..io.files import atomic_write, is_temp_name, sha256_file, write_bytes, write_error, write_json, write_text
from .checkpoints import remove_checkpoints
from .layout import (
    CONFIG,
    EVALUATIONS,
    FORMAT,
    FORMAT_VERSION,
    HISTORY,
    LABELS,
    LOCK,
    MANIFEST,
    MB,
    METRICS,
    MODEL,
    MODEL_CARD,
    PLOTS,
    REJECTS,
    SIZE_CAPS,
    SMALL_FILE_CAP,
    THRESHOLDS,
    TRACKING,
    VOCAB,
    WEIGHTS,
    allowed,
    cap,
)

WEIGHTS_MAX_RATIO = 50  # a compressed member that expands more than this is refused (zip bomb)


# --------------------------------------------------------------------------------------------------
# Creating a run directory and saving a finished run


def new_run_dir(runs_dir: str | os.PathLike, name: str) -> Path:
    """A fresh, unique run directory ``runs_dir/NAME-YYYYmmdd-HHMMSS`` (created empty)."""
    base = Path(runs_dir)
    _check_not_in_run(base, "train.runs_dir")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    for i in range(1000):
        path = base / (f"{slug}-{stamp}" + (f"-{i}" if i else ""))
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            if not base.is_dir():
                raise UsageError(
                    f"train.runs_dir {base} is a file, expected a folder; set train.runs_dir (or --run-dir) to a folder"
                ) from None
            continue
        except OSError as exc:
            raise _cannot_create(exc, base, "train.runs_dir") from None
    raise UsageError(f"could not find a free run directory name under {base}")


def _cannot_create(exc: OSError, path: Path, option: str) -> Exception:
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return UsageError(f"{option} {path}: a part of the path is a file, expected folders; choose another path")
    return write_error(exc, path, f"; set {option} to a folder you can write to")


def _check_not_in_run(path: Path, option: str) -> None:
    from .layout import run_containing

    run = run_containing(path)
    if run is not None:
        raise UsageError(
            f"{option} {path} is inside the run directory {run}, whose files are sealed by its "
            "manifest; choose a path outside it"
        )


def prepare_run_dir(path: str | os.PathLike) -> Path:
    """Use ``path`` as a new run directory: refused if it exists and is not empty (nothing is touched)."""
    p = Path(path)
    if p.exists() or p.is_symlink():
        if not p.is_dir() or p.is_symlink():
            raise UsageError(f"--run-dir {p} exists and is not a directory; choose a new path")
        if any(p.iterdir()):
            raise UsageError(
                f"--run-dir {p} exists and is not empty; textclf never overwrites a run. "
                "Choose a new path, or resume it with --resume if it is an interrupted run"
            )
    _check_not_in_run(p, "--run-dir")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_create(exc, p, "--run-dir") from None
    return p


@contextmanager
def training_lock(run: Path) -> Iterator[None]:
    """Hold the run's training lock while training into it: a second ``train`` (a second ``--resume``) of the
    same run is refused at once (exit 2) instead of both writing checkpoints into it."""
    path = run / LOCK
    fd, stale = _locked(path, run)  # stale: a killed trainer's pid, written back if this one does not finish
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if not stale or is_complete(run):
                os.unlink(path)  # the lock is not part of a finished run
            else:  # a refused or interrupted resume leaves the run as it found it
                os.ftruncate(fd, 0)
                os.pwrite(fd, stale, 0)
        os.close(fd)


def _locked(path: Path, run: Path) -> tuple[int, bytes]:
    """Open and lock ``path`` without waiting; returns the open file and what it held (empty when new). The file
    must still be the one at ``path`` once locked (a trainer that finished in between removes it, and a lock on a
    removed file would lock nothing)."""
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise write_error(exc, path, "; the run directory must be writable to train into it") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(f"{path} is not a regular file; remove it, then train again")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(
                f"{run} is being trained by another process (pid {holder}); wait for it to finish, or stop it (its "
                f"last checkpoint is kept) and then resume with: textclf train --resume {run}"
            ) from None
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                stale = os.pread(fd, 64, 0)
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
                return fd, stale
        os.close(fd)
    raise UsageError(f"{run}: its training lock keeps changing; another process is training it, try again later")


def write_config(run: Path, config_yaml: str) -> None:
    write_text(run / CONFIG, config_yaml)


def read_config_text(run: Path) -> str:
    path = run / CONFIG
    if not path.is_file() or path.stat().st_size > SIZE_CAPS[CONFIG]:
        raise UsageError(f"--resume {run}: no {CONFIG} in it; this is not an interrupted textclf run")
    return path.read_text(encoding="utf-8")


def is_complete(run: Path) -> bool:
    return (run / MANIFEST).exists()


def has_model_files(run: Path) -> bool:
    """Whether training got as far as saving the model (then the run directory is never deleted)."""
    return (run / WEIGHTS).exists() or (run / MANIFEST).exists()


def write_tracking(run: Path, tracking: dict) -> None:
    """``tracking.json``: the experiment tracker's run that this run logs to (a resume reopens it)."""
    write_json(run / TRACKING, tracking)


def read_tracking(run: Path) -> dict | None:
    """The content of ``tracking.json``, or None when the run has none; ModelRejected when it is not a mapping."""
    tracking = read_small_file(run, TRACKING)
    if tracking is not None and not isinstance(tracking, dict):
        raise ModelRejected(f"{TRACKING} is not in textclf's format (expected a JSON object)")
    return tracking


def write_rejects(run: Path, rows: list[tuple[str, int, str]]) -> Path:
    """Rows left out under ``on_bad_rows: skip``: file, line, reason."""
    with atomic_write(run / REJECTS, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "line", "reason"])
        writer.writerows(rows)
    return run / REJECTS


def _write_history(run: Path, rows: list[dict]) -> None:
    keys = list(rows[0]) if rows else ["epoch"]
    with atomic_write(run / HISTORY, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def _save_weights(run: Path, model) -> None:
    """Write every model variable, keyed by its path, to ``weights.npz``."""
    import numpy as np

    arrays = {_weight_key(w): np.asarray(w.numpy()) for w in model.weights}
    with atomic_write(run / WEIGHTS, "wb") as f:
        np.savez(f, **arrays)


def _weight_key(variable) -> str:
    return variable.path.replace("/", ":")


def save_run(
    run: Path,
    *,
    config_yaml: str,
    hyperparameters: dict,
    vocab: dict,
    labels: dict,
    model,
    history: list[dict],
    metrics: dict,
    thresholds: dict | None = None,
    plots: dict[str, bytes] | None = None,
    card: str | None = None,
) -> None:
    """Write all files of a finished run, then remove the checkpoints, then write the manifest.

    Until the manifest exists the run is incomplete, and until every other file is written the checkpoints
    stay, so a full disk or a kill during the save leaves a run that ``--resume`` finishes. ``card``: the text
    of ``MODEL_CARD.md``, sealed by the manifest like every other file.
    """
    write_text(run / CONFIG, config_yaml)
    write_json(run / MODEL, {"format": FORMAT, "format_version": FORMAT_VERSION, "hyperparameters": hyperparameters})
    write_json(run / VOCAB, vocab, indent=None)
    write_json(run / LABELS, labels)
    _write_history(run, history)
    write_json(run / METRICS, metrics)
    if thresholds is not None:
        write_json(run / THRESHOLDS, thresholds)
    for kind, png in (plots or {}).items():
        write_bytes(run / PLOTS[kind], png)
    if card is not None:
        write_text(run / MODEL_CARD, card)
    _save_weights(run, model)
    remove_checkpoints(run)
    write_manifest(run)


def write_manifest(run: Path) -> None:
    files = {}
    for name in sorted(_walk(run)):
        if name == MANIFEST:
            continue
        path = run / name
        files[name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    write_json(run / MANIFEST, {"format": FORMAT, "format_version": FORMAT_VERSION, "files": files})


def _walk(run: Path) -> list[str]:
    out = []
    for root, _, files in os.walk(run):
        rel = Path(root).relative_to(run)
        if rel.parts[:1] == (EVALUATIONS,):
            continue
        for name in files:
            if is_temp_name(name) or name == LOCK:
                continue
            out.append(str(rel / name) if str(rel) != "." else name)
    return out


# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
# Verified loading


def check_run_path(path: str | os.PathLike) -> Path:
    """Refuse anything that is not a local directory before touching it (exit 2)."""
    text = str(path)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) or text.startswith(("hf:", "s3:", "gs:")):
        raise UsageError(
            f"--model {text}: received a URL, but --model must be a textclf run directory on this "
            "machine; download the run directory first"
        )
    p = Path(text)
    if p.suffix.lower() in (".keras", ".h5", ".hdf5", ".pb", ".pkl", ".joblib") and not p.is_dir():
        raise UsageError(
            f"--model {p}: received a single model file, but --model must be a textclf run directory "
            "(the folder `textclf train` printed); textclf does not load other model formats"
        )
    if not p.exists():
        raise UsageError(
            f"--model {p}: not found; it must be a textclf run directory (the folder `textclf train` printed)"
        )
    if not p.is_dir():
        raise UsageError(f"--model {p}: must be a textclf run directory, received a file")
    return p


def verify(run: str | os.PathLike) -> dict[str, dict]:
    """Check a run directory against its manifest before anything in it is parsed.

    Refused (:class:`ModelRejected`, exit 4): no manifest; an entry that is a symlink, FIFO or other
    special file; a file not listed in the manifest or not a known textclf file; a file over its size
    cap; a size or SHA-256 mismatch. Entries that are refused are never opened.
    """
    run = check_run_path(run)
    entries = run_entries(run)
    files = _read_manifest(run, entries)
    for rel in sorted(entries):
        if rel != MANIFEST and (rel not in files or not allowed(rel)):
            raise ModelRejected(
                f"{run}: unexpected file {rel!r} that the manifest does not list; a run directory "
                "holds only textclf's own files. Remove it if you trust the rest"
            )
    for rel, meta in files.items():
        if not allowed(rel):
            raise ModelRejected(f"{run}: the manifest lists {rel!r}, which is not a textclf file")
        if rel not in entries:
            raise ModelRejected(f"{run}: {rel} is listed in the manifest but missing; the run directory is incomplete")
        size = entries[rel]
        if size > cap(rel):
            raise ModelRejected(f"{run}: {rel} is {size:,} bytes, over its {cap(rel):,}-byte cap; refused unread")
        if size != meta.get("size"):
            raise ModelRejected(
                f"{run}: {rel} is {size:,} bytes, the manifest says {meta.get('size')}: the file is "
                "truncated or was changed after training"
            )
    for rel, meta in files.items():
        try:
            digest = sha256_file(run / rel)
        except OSError as exc:
            raise unreadable_run(run, exc) from None
        if digest != meta.get("sha256"):
            raise ModelRejected(
                f"{run}: checksum mismatch in {rel}: the file was changed after training "
                "(or is corrupt); refusing to load it"
            )
    return files


def run_entries(run: Path) -> dict[str, int]:
    """The plain files of a run and their sizes; links and special files are refused without opening them."""
    entries = {}

    def unreadable(exc: OSError) -> None:
        raise unreadable_run(run, exc)

    for root, dirs, files in os.walk(run, followlinks=False, onerror=unreadable):
        for name in list(dirs) + files:
            full = Path(root) / name
            rel = full.relative_to(run).as_posix()
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                raise ModelRejected(
                    f"{run}: {rel} is a symbolic link; a run directory may only hold plain files. "
                    "Remove it (textclf never follows links out of a run)"
                )
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise ModelRejected(f"{run}: {rel} is not a regular file (FIFO, socket or device); remove it")
            if rel.startswith(EVALUATIONS + "/"):
                continue  # plots `textclf eval` added: plain files (checked above), never read here
            if is_temp_name(name) or rel == LOCK:
                continue  # a temporary file left by a killed writer, or the training lock; never read
            entries[rel] = st.st_size
    return entries


def _read_manifest(run: Path, entries: dict[str, int]) -> dict[str, dict]:
    """The manifest's table of files, once the manifest itself is found whole and of this format version."""
    if MANIFEST not in entries:
        if not any(name in entries for name in (CONFIG, MODEL, WEIGHTS)):
            raise UsageError(
                f"--model {run}: must be a textclf run directory (the folder `textclf train` printed); "
                "this folder holds no textclf files"
            )
        raise ModelRejected(
            f"{run}: no {MANIFEST}: the run is incomplete (training did not finish or was killed) "
            "or this is not a textclf run directory; train again, or resume it"
        )
    if entries[MANIFEST] > SIZE_CAPS[MANIFEST]:
        raise ModelRejected(
            f"{run}: {MANIFEST} is {entries[MANIFEST]:,} bytes, over the {SIZE_CAPS[MANIFEST]:,}-byte cap"
        )
    try:
        manifest = json.loads(_read_text(run, MANIFEST))
        files = manifest["files"]
        valid = manifest.get("format") == FORMAT and isinstance(files, dict)
        valid = valid and all(isinstance(k, str) and isinstance(v, dict) for k, v in files.items())
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise ModelRejected(f"{run}: {MANIFEST} is not a valid textclf manifest; the run directory is damaged")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelRejected(
            f"{run}: run format version {manifest.get('format_version')!r}, this textclf reads "
            f"version {FORMAT_VERSION}; use the textclf version that trained it"
        )
    return files


@dataclass
class LoadedRun:
    """A verified run, ready to predict."""

    path: Path
    model: Any
    hyperparameters: Any
    vocab: Any
    labels: dict
    config: dict
    metrics: dict
    thresholds: dict | None = None  # the content of thresholds.json, when the run has tuned thresholds

    @property
    def classes(self) -> list[str]:
        return list(self.labels["classes"])

    @property
    def task(self) -> str:
        return self.labels["task"]


def unreadable_run(run: Path, exc: OSError) -> UsageError:
    """A run directory (or a file in it) that cannot be read: exit 2, naming the path and the fix."""
    where = exc.filename or run
    return UsageError(f"--model {run}: cannot read {where}: {exc.strerror}; check the run directory's permissions")


def _read_text(run: Path, name: str) -> str:
    try:
        return (run / name).read_text(encoding="utf-8")
    except OSError as exc:
        raise unreadable_run(run, exc) from None


def _read_json(run: Path, name: str) -> Any:
    try:
        return json.loads(_read_text(run, name))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelRejected(
            f"{run}: {name} is not valid JSON ({exc}); the file is truncated or not a valid {name}"
        ) from None


def read_metrics(run: Path) -> dict:
    return _read_json(run, METRICS) if (run / METRICS).exists() else {}


@dataclass
class RunFiles:
    """A verified run's description, read and checked without TensorFlow: what :func:`load_run` builds from."""

    path: Path
    hyperparameters: Any
    vocab: Any
    labels: dict
    config: dict
    metrics: dict
    thresholds: dict | None


def read_run(path: str | os.PathLike) -> RunFiles:
    """Verify a run directory against its manifest and read what its model is built from, checking every file
    against the others (hyperparameters, weight shapes, labels, vocabulary, thresholds). No TensorFlow: a
    tampered run is refused (exit 4) before anything slow starts."""
    run = Path(path)
    verify(run)
    hp, vocab, labels = _read_description(run)
    _check_weight_shapes(run, hp)  # before building: a tampered model.json never makes textclf build a giant
    return RunFiles(run, hp, vocab, labels, _read_config(run), read_metrics(run), _read_thresholds(run, hp, labels))


def load_run(path: str | os.PathLike | RunFiles) -> LoadedRun:
    """Verify a run directory (or take one :func:`read_run` read) and rebuild its model with textclf's builder."""
    from ..model.network import build_model

    files = path if isinstance(path, RunFiles) else read_run(path)
    try:
        model = build_model(files.hyperparameters)
    except (ValueError, TypeError) as exc:
        raise ModelRejected(f"{files.path}: cannot build the model described by {MODEL} ({exc})") from None
    load_weights(files.path, model)
    return LoadedRun(files.path, model, files.hyperparameters, files.vocab, files.labels, files.config, files.metrics,
                     files.thresholds)  # fmt: skip


def _read_description(run: Path):
    """The hyperparameters, vocabulary and labels of a verified run, checked against each other."""
    from ..model.hyperparameters import Hyperparameters
    from ..model.vocabulary import Vocabulary

    meta = _read_json(run, MODEL)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise ModelRejected(
            f"{run}: {MODEL} is not a textclf model of run format version {FORMAT_VERSION} (found {version!r}); "
            "use the textclf version that trained it"
        )
    try:
        hp = Hyperparameters.from_json(meta["hyperparameters"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelRejected(f"{run}: {MODEL} does not describe a textclf model ({exc})") from None
    labels = _read_json(run, LABELS)
    try:
        vocab = Vocabulary.from_json(_read_json(run, VOCAB))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelRejected(f"{run}: {VOCAB} is not in textclf's format ({exc})") from None
    problem = _labels_problem(labels)
    if problem:
        raise ModelRejected(f"{run}: {LABELS} is not in textclf's format ({problem})")
    classes = labels["classes"]
    expected_outputs = 1 if labels["task"] == "binary" else len(classes)
    if hp.task != labels["task"]:
        raise ModelRejected(
            f"{run}: {MODEL} says the task is {hp.task}, {LABELS} says {labels['task']}; the files do not belong together"
        )
    if hp.num_outputs != expected_outputs:
        raise ModelRejected(
            f"{run}: {MODEL} says {hp.num_outputs} outputs, {LABELS} has {len(classes)} classes "
            f"({labels['task']}: {expected_outputs} outputs); the files do not belong together"
        )
    if hp.vocab_size != len(vocab.tokens) or hp.ngram_vocab_size != len(vocab.ngram_tokens or []):
        raise ModelRejected(
            f"{run}: {MODEL} says a vocabulary of {hp.vocab_size} and {hp.ngram_vocab_size} n-grams, {VOCAB} holds "
            f"{len(vocab.tokens)} tokens and {len(vocab.ngram_tokens or [])} n-grams; the files do not belong together"
        )
    return hp, vocab, labels


def _labels_problem(labels: Any) -> str | None:
    if not isinstance(labels, dict) or labels.get("task") not in ("binary", "multiclass", "multilabel"):
        return "expected a task: binary, multiclass or multilabel"
    classes = labels.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        return "expected classes: a list of names"
    if len(set(classes)) != len(classes) or len(classes) < 2 or (labels["task"] == "binary" and len(classes) != 2):
        return f"expected distinct class names, 2 for a binary task, at least 2 otherwise; found {len(classes)}"
    for key in ("separator", "text_column", "label_column"):
        if key in labels and not (isinstance(labels[key], str) and labels[key]):
            return f"expected {key} to be a non-empty string"
    return None


def _weight_file_shapes(run: Path) -> dict[str, tuple[int, ...]]:
    """The name and shape of each array in ``weights.npz``, read from the array headers (no data is loaded)."""
    import numpy as np

    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    shapes = {}
    try:
        with zipfile.ZipFile(run / WEIGHTS) as zf:
            for info in zf.infolist():
                _check_member_size(run, info)
                with zf.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in read:
                        raise ValueError(f"array format version {version} of {info.filename}")
                    shape, _, dtype = read[version](member)
                if dtype.hasobject or dtype.kind not in "fiub":
                    raise ModelRejected(
                        f"{run}: {WEIGHTS} array {info.filename} has dtype {dtype} (not numbers: a pickled object?); "
                        "refused without reading it"
                    )
                shapes[info.filename.removesuffix(".npy")] = tuple(shape)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise unreadable_run(run, exc) from None
        raise ModelRejected(f"{run}: {WEIGHTS} is truncated or not a valid weights file ({exc})") from None
    return shapes


def _check_member_size(run: Path, info: zipfile.ZipInfo) -> None:
    """Refuse a weights member that would expand beyond the cap (a zip bomb) before opening it."""
    ratio = info.file_size / max(info.compress_size, 1) if info.compress_size else 0
    if info.file_size > SIZE_CAPS[WEIGHTS] or (ratio > WEIGHTS_MAX_RATIO and info.file_size > 64 * MB):
        raise ModelRejected(
            f"{run}: {WEIGHTS} member {info.filename} would expand to {info.file_size:,} bytes; refused (a zip bomb "
            "or a damaged file)"
        )


def _check_weight_shapes(run: Path, hp) -> None:
    """The arrays of ``weights.npz`` against the network ``model.json`` describes: names and shapes (exit 4)."""
    want, have = hp.weight_shapes(), _weight_file_shapes(run)
    for name in sorted(set(want) | set(have)):
        if name not in have:
            problem = f"{WEIGHTS} has no array {name}, which {MODEL} builds"
        elif name not in want:
            problem = f"{WEIGHTS} array {name} is not part of the network {MODEL} builds"
        elif want[name] != have[name]:
            problem = f"{WEIGHTS} array {name} has shape {have[name]}, but {MODEL} builds shape {want[name]}"
        else:
            continue
        raise ModelRejected(f"{run}: {problem}; the weights and hyperparameters do not match")


def _read_config(run: Path) -> dict:
    import yaml

    try:
        return yaml.safe_load((run / CONFIG).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelRejected(f"{run}: {CONFIG} is not valid YAML ({exc})") from None


def _read_thresholds(run: Path, hp, labels: dict) -> dict | None:
    thresholds = _read_json(run, THRESHOLDS) if (run / THRESHOLDS).exists() else None
    if thresholds is None:
        return None
    values = thresholds.get("thresholds") if isinstance(thresholds, dict) else None
    if not isinstance(values, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in values.values()
    ):
        raise ModelRejected(
            f"{run}: {THRESHOLDS} is not in textclf's format (expected thresholds between 0 and 1 by label)"
        )
    classes = labels["classes"]
    outputs = [classes[1]] if labels["task"] == "binary" else list(classes)
    if labels["task"] == "multiclass" or set(values) != set(outputs):
        raise ModelRejected(
            f"{run}: {THRESHOLDS} names {sorted(values)[:5]}, but the {labels['task']} model's sigmoid outputs are "
            f"{outputs[:5] if labels['task'] != 'multiclass' else 'none (it decides by argmax)'}; the files do not "
            "belong together"
        )
    return thresholds


def load_weights(run: Path, model) -> None:
    """Set ``model``'s variables from ``weights.npz``, checking names and shapes first."""
    import numpy as np

    path = run / WEIGHTS
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.file_size > SIZE_CAPS[WEIGHTS] or (
                    info.compress_size
                    and info.file_size / max(info.compress_size, 1) > WEIGHTS_MAX_RATIO
                    and info.file_size > 64 * MB
                ):
                    raise ModelRejected(
                        f"{run}: {WEIGHTS} member {info.filename} would expand to {info.file_size:,} "
                        "bytes; refused (a zip bomb or a damaged file)"
                    )
        arrays = np.load(path, allow_pickle=False)
        names = set(arrays.files)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelRejected(f"{run}: {WEIGHTS} is truncated or not a valid weights file ({exc})") from None
    expected = {_weight_key(w): w for w in model.weights}
    extra = names - set(expected)
    missing = set(expected) - names
    if extra or missing:
        raise ModelRejected(
            f"{run}: {WEIGHTS} does not match the model in {MODEL}: unexpected arrays "
            f"{sorted(extra)[:3]}, missing arrays {sorted(missing)[:3]}"
        )
    with arrays:
        for key, variable in expected.items():
            try:
                value = arrays[key]
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
                raise ModelRejected(f"{run}: {WEIGHTS} is truncated or not a valid weights file ({exc})") from None
            if tuple(value.shape) != tuple(variable.shape):
                raise ModelRejected(
                    f"{run}: {WEIGHTS} array {key} has shape {tuple(value.shape)}, but {MODEL} builds "
                    f"shape {tuple(variable.shape)}; the weights and hyperparameters do not match"
                )
            if value.dtype.kind not in "fiu":
                raise ModelRejected(f"{run}: {WEIGHTS} array {key} has dtype {value.dtype}, expected numbers")
            variable.assign(value.astype(variable.dtype))


# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
# Reading one small file of a run for a summary (`textclf runs`, `textclf show`): read-only, nothing verified


def run_columns(run: str | os.PathLike) -> tuple[str | None, str | None]:
    """The text and label columns a run was trained on, read from labels.json before the run is verified (to
    check an input's columns before anything slow starts); None when they cannot be read: loading says why."""
    check_run_path(run)
    try:
        st = os.lstat(Path(run) / LABELS)
        if not stat.S_ISREG(st.st_mode) or st.st_size > SIZE_CAPS[LABELS]:
            return None, None  # loading refuses it, unread
        labels = read_small_file(run, LABELS)
    except (OSError, ModelRejected):
        return None, None
    if not isinstance(labels, dict):
        return None, None
    text, label = labels.get("text_column", "text"), labels.get("label_column", "label")
    return (text if isinstance(text, str) else None), (label if isinstance(label, str) else None)


def read_small_file(run: str | os.PathLike, name: str) -> Any:
    """The parsed content of one small file of a run, or None when it is absent.

    ``.json`` is parsed with :func:`json.loads`, ``.yaml`` with ``yaml.safe_load``, ``.csv`` into a list of
    row dicts of strings. The file is opened without following a symbolic link and without blocking on a
    FIFO, and refused unread when it is not a regular file or is over its size cap (1 MiB for a name
    without a cap). Raises :class:`ModelRejected` naming the file and the reason; it never checks the
    manifest (use :func:`verify` for that) and never touches the weights.
    """
    path = Path(run) / name
    limit = SIZE_CAPS.get(name, SMALL_FILE_CAP)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelRejected(f"{name} is a symbolic link; a run directory may only hold plain files") from None
        raise ModelRejected(f"{name} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ModelRejected(f"{name} is not a regular file (a FIFO, socket, device or folder)")
        if st.st_size > limit:
            raise ModelRejected(f"{name} is {st.st_size:,} bytes, over its {limit:,}-byte cap; not read")
        data = f.read(limit + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelRejected(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ModelRejected(f"{name} is not valid JSON ({exc})") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModelRejected(f"{name} is not valid YAML ({' '.join(str(exc).split())})") from None
    if suffix == ".csv":
        try:
            return list(csv.DictReader(text.splitlines(keepends=True)))
        except csv.Error as exc:
            raise ModelRejected(f"{name} is not a valid CSV file ({exc})") from None
    return text
