"""The run directory: the only module that knows the names of the files in it.

A run directory holds everything needed to predict and nothing executable::

    config.yaml        the resolved config of the run
    model.json         the hyperparameters textclf's own builder rebuilds the network from
    weights.npz        the weights, one array per variable (NumPy, loaded with allow_pickle=False)
    vocab.json         the token lists of the word and n-gram vocabularies, and the standardization
    labels.json        the task and the class names, in output order
    history.csv        one row per epoch
    metrics.json       validation (and test) metrics
    logs/              TensorBoard event files
    rejected_rows.csv  rows skipped with data.on_bad_rows: skip (only when there were any)
    thresholds.json    decision thresholds tuned on validation (binary and multi-label tasks)
    training_curves.png, confusion_matrix.png   plots (train.plots)
    manifest.json      SHA-256 and size of every other file; written last
    evaluations/       what `textclf eval` adds later (plots per evaluated file); outside the manifest,
                       never read when loading

While training, ``checkpoints/epoch-EEEEE-step-SSSSSSS/`` folders hold what a resume needs (all model
variables including the dropout RNG state, the optimizer state, the best weights so far, and
``state.json`` with the loop's counters and the fingerprints of the config and data). Each is written
into a temporary folder, fsynced and renamed, so a kill leaves only whole checkpoints; the newest valid
one is used and a damaged one is skipped with a message. The folder is removed once the run is complete.

A run without ``manifest.json`` is incomplete. Loading checks the whole directory against the manifest
before parsing anything: only known file names, no symlinks or special files, size caps, checksums. Then it
rebuilds the model from ``model.json`` with :func:`textclf.model.build_model` and sets the weights. No layer
configuration is ever deserialized and nothing is unpickled.

Every file is written atomically: to a temporary name in the same folder, flushed to disk, then renamed.
"""

from __future__ import annotations

import csv
import errno
import glob
import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from .errors import ModelRejected, ResourceError, UsageError

FORMAT = "textclf-run"
FORMAT_VERSION = 2  # 2: vocab.json carries the n-gram IDF weights

CONFIG = "config.yaml"
MODEL = "model.json"
WEIGHTS = "weights.npz"
VOCAB = "vocab.json"
LABELS = "labels.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
MANIFEST = "manifest.json"
LOGS = "logs"
REJECTS = "rejected_rows.csv"
CHECKPOINTS = "checkpoints"  # only while training; removed when the run is complete
THRESHOLDS = "thresholds.json"
CURVES_PNG = "training_curves.png"
CONFUSION_PNG = "confusion_matrix.png"
EVALUATIONS = "evaluations"  # added by `textclf eval`; not in the manifest and never read by load_run
CKPT_STATE, CKPT_VARIABLES, CKPT_OPTIMIZER, CKPT_BEST = "state.json", "variables.npz", "optimizer.npz", "best.npz"

MB = 1 << 20
SIZE_CAPS = {CONFIG: 1 * MB, MODEL: 1 * MB, VOCAB: 256 * MB, LABELS: 64 * MB, HISTORY: 16 * MB,
             METRICS: 64 * MB, MANIFEST: 4 * MB, WEIGHTS: 8192 * MB, REJECTS: 256 * MB, THRESHOLDS: 4 * MB,
             CURVES_PNG: 16 * MB, CONFUSION_PNG: 64 * MB}
LOG_CAP = 512 * MB
_LOG_NAME = re.compile(r"logs/(train|valid)/events\.out\.tfevents\.[\w.\-]+")
WEIGHTS_MAX_RATIO = 50  # a compressed member that expands more than this is refused (zip bomb)


def _read_umask() -> int:
    """The process umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


_UMASK = _read_umask()


def _allowed(name: str) -> bool:
    return name in SIZE_CAPS or bool(_LOG_NAME.fullmatch(name))


def _cap(name: str) -> int:
    return SIZE_CAPS.get(name, LOG_CAP)


# --------------------------------------------------------------------------------------------------
# Creating a run directory and writing files atomically


def new_run_dir(runs_dir: str | os.PathLike, name: str) -> Path:
    """A fresh, unique run directory ``runs_dir/NAME-YYYYmmdd-HHMMSS`` (created empty)."""
    base = Path(runs_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    for i in range(1000):
        path = base / (f"{slug}-{stamp}" + (f"-{i}" if i else ""))
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise UsageError(f"could not find a free run directory name under {base}")


def prepare_run_dir(path: str | os.PathLike) -> Path:
    """Use ``path`` as a new run directory: refused if it exists and is not empty (nothing is touched)."""
    p = Path(path)
    if p.exists() or p.is_symlink():
        if not p.is_dir() or p.is_symlink():
            raise UsageError(f"--run-dir {p} exists and is not a directory; choose a new path")
        if any(p.iterdir()):
            raise UsageError(f"--run-dir {p} exists and is not empty; textclf never overwrites a run. "
                             "Choose a new path, or resume it with --resume if it is an interrupted run")
    p.mkdir(parents=True, exist_ok=True)
    return p


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[Any]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it over ``path``.

    On any error the temporary file is removed and ``path`` is left as it was. A full disk becomes a
    :class:`ResourceError` (exit 5) that names the path.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise ResourceError(f"no space left while writing {path} ({exc.strerror}); free some disk space "
                                "and run again. The previous file, if any, is unchanged") from None
        raise


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale_temp_files(path: str | os.PathLike) -> int:
    """Remove the ``.NAME.*.tmp`` files that a killed writer of ``path`` left behind; returns how many.

    Only temporary files of this one destination are touched, never those of another writer.
    """
    path = Path(path)
    count = 0
    for entry in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            entry.unlink()
            count += 1
        except OSError:
            pass
    return count


def write_json(run: Path, name: str, obj: Any) -> None:
    with atomic_write(run / name, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1 if name != VOCAB else None)
        f.write("\n")


def write_text(run: Path, name: str, text: str) -> None:
    with atomic_write(run / name, "w", encoding="utf-8") as f:
        f.write(text)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_history(run: Path, rows: list[dict]) -> None:
    keys = list(rows[0]) if rows else ["epoch"]
    with atomic_write(run / HISTORY, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def log_dir(run: Path) -> Path:
    return run / LOGS


def save_weights(run: Path, model) -> None:
    """Write every model variable, keyed by its path, to ``weights.npz``."""
    import numpy as np

    arrays = {_weight_key(w): np.asarray(w.numpy()) for w in model.weights}
    with atomic_write(run / WEIGHTS, "wb") as f:
        np.savez(f, **arrays)


def _weight_key(variable) -> str:
    return variable.path.replace("/", ":")


def save_run(run: Path, *, config_yaml: str, hyperparameters: dict, vocab: dict, labels: dict, model,
             history: list[dict], metrics: dict, thresholds: dict | None = None,
             plots: dict[str, bytes] | None = None) -> None:
    """Write all files of a finished run, then remove the checkpoints, then write the manifest.

    Until the manifest exists the run is incomplete, and until every other file is written the checkpoints
    stay, so a full disk or a kill during the save leaves a run that ``--resume`` finishes.
    """
    write_text(run, CONFIG, config_yaml)
    write_json(run, MODEL, {"format": FORMAT, "format_version": FORMAT_VERSION, "hyperparameters": hyperparameters})
    write_json(run, VOCAB, vocab)
    write_json(run, LABELS, labels)
    write_history(run, history)
    write_json(run, METRICS, metrics)
    if thresholds is not None:
        write_json(run, THRESHOLDS, thresholds)
    for kind, png in (plots or {}).items():
        write_bytes(run / {"curves": CURVES_PNG, "confusion": CONFUSION_PNG}[kind], png)
    save_weights(run, model)
    remove_checkpoints(run)
    write_manifest(run)


def write_manifest(run: Path) -> None:
    files = {}
    for name in sorted(_walk(run)):
        if name == MANIFEST:
            continue
        path = run / name
        files[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
    write_json(run, MANIFEST, {"format": FORMAT, "format_version": FORMAT_VERSION, "files": files})


def _walk(run: Path) -> list[str]:
    out = []
    for root, dirs, files in os.walk(run):
        rel = Path(root).relative_to(run)
        if rel.parts[:1] == (EVALUATIONS,):
            continue
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                continue
            out.append(str(rel / name) if str(rel) != "." else name)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# Verified loading


def check_run_path(path: str | os.PathLike) -> Path:
    """Refuse anything that is not a local directory before touching it (exit 2)."""
    text = str(path)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) or text.startswith(("hf:", "s3:", "gs:")):
        raise UsageError(f"--model {text}: received a URL, but --model must be a textclf run directory on this "
                         "machine; download the run directory first")
    p = Path(text)
    if p.suffix.lower() in (".keras", ".h5", ".hdf5", ".pb", ".pkl", ".joblib") and not p.is_dir():
        raise UsageError(f"--model {p}: received a single model file, but --model must be a textclf run directory "
                         "(the folder `textclf train` printed); textclf does not load other model formats")
    if not p.exists():
        raise UsageError(f"--model {p}: not found; it must be a textclf run directory (the folder `textclf train` printed)")
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
    entries = {}
    for root, dirs, files in os.walk(run, followlinks=False):
        for name in list(dirs) + files:
            full = Path(root) / name
            rel = full.relative_to(run).as_posix()
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                raise ModelRejected(f"{run}: {rel} is a symbolic link; a run directory may only hold plain files. "
                                    "Remove it (textclf never follows links out of a run)")
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise ModelRejected(f"{run}: {rel} is not a regular file (FIFO, socket or device); remove it")
            if rel.startswith(EVALUATIONS + "/"):
                continue  # plots `textclf eval` added: plain files (checked above), never read here
            if name.startswith(".") and name.endswith(".tmp"):
                continue  # a temporary file left by a killed writer; never listed, never read
            entries[rel] = st.st_size
    if MANIFEST not in entries:
        if not any(name in entries for name in (CONFIG, MODEL, WEIGHTS)):
            raise UsageError(f"--model {run}: must be a textclf run directory (the folder `textclf train` printed); "
                             "this folder holds no textclf files")
        raise ModelRejected(f"{run}: no {MANIFEST}: the run is incomplete (training did not finish or was killed) "
                            "or this is not a textclf run directory; train again, or resume it")
    if entries[MANIFEST] > SIZE_CAPS[MANIFEST]:
        raise ModelRejected(f"{run}: {MANIFEST} is {entries[MANIFEST]:,} bytes, over the {SIZE_CAPS[MANIFEST]:,}-byte cap")
    try:
        manifest = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        assert manifest.get("format") == FORMAT and isinstance(files, dict)
    except (ValueError, KeyError, AssertionError, TypeError, UnicodeDecodeError):
        raise ModelRejected(f"{run}: {MANIFEST} is not a valid textclf manifest; the run directory is damaged") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelRejected(f"{run}: run format version {manifest.get('format_version')!r}, this textclf reads "
                            f"version {FORMAT_VERSION}; use the textclf version that trained it")
    for rel in sorted(entries):
        if rel == MANIFEST:
            continue
        if rel not in files or not _allowed(rel):
            raise ModelRejected(f"{run}: unexpected file {rel!r} that the manifest does not list; a run directory "
                                "holds only textclf's own files. Remove it if you trust the rest")
    for rel, meta in files.items():
        if not _allowed(rel):
            raise ModelRejected(f"{run}: the manifest lists {rel!r}, which is not a textclf file")
        if rel not in entries:
            raise ModelRejected(f"{run}: {rel} is listed in the manifest but missing; the run directory is incomplete")
        size = entries[rel]
        if size > _cap(rel):
            raise ModelRejected(f"{run}: {rel} is {size:,} bytes, over its {_cap(rel):,}-byte cap; refused unread")
        if size != meta.get("size"):
            raise ModelRejected(f"{run}: {rel} is {size:,} bytes, the manifest says {meta.get('size')}: the file is "
                                "truncated or was changed after training")
    for rel, meta in files.items():
        if _sha256(run / rel) != meta.get("sha256"):
            raise ModelRejected(f"{run}: checksum mismatch in {rel}: the file was changed after training "
                                "(or is corrupt); refusing to load it")
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


def _read_json(run: Path, name: str) -> Any:
    try:
        return json.loads((run / name).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelRejected(f"{run}: {name} is not valid JSON ({exc}); the file is truncated or not a valid {name}") from None


def read_metrics(run: Path) -> dict:
    return _read_json(run, METRICS) if (run / METRICS).exists() else {}


def load_run(path: str | os.PathLike) -> LoadedRun:
    """Verify a run directory and rebuild its model with textclf's own builder."""
    import yaml

    from .model import Hyperparameters, build_model
    from .vectorize import Vocabulary

    run = Path(path)
    verify(run)
    meta = _read_json(run, MODEL)
    try:
        hp = Hyperparameters.from_json(meta["hyperparameters"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelRejected(f"{run}: {MODEL} does not describe a textclf model ({exc})") from None
    vocab_obj = _read_json(run, VOCAB)
    labels = _read_json(run, LABELS)
    try:
        vocab = Vocabulary.from_json(vocab_obj)
        classes = labels["classes"]
        assert isinstance(classes, list) and all(isinstance(c, str) for c in classes)
        assert labels["task"] in ("binary", "multiclass", "multilabel")
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise ModelRejected(f"{run}: {VOCAB} or {LABELS} is not in textclf's format ({exc!r})") from None
    expected_outputs = 1 if labels["task"] == "binary" else len(classes)
    if hp.num_outputs != expected_outputs:
        raise ModelRejected(f"{run}: {MODEL} says {hp.num_outputs} outputs, {LABELS} has {len(classes)} classes "
                            f"({labels['task']}); the files do not belong together")
    if hp.vocab_size != len(vocab.tokens):
        raise ModelRejected(f"{run}: {MODEL} says a vocabulary of {hp.vocab_size}, {VOCAB} holds {len(vocab.tokens)} tokens")
    try:
        model = build_model(hp)
    except (ValueError, TypeError) as exc:
        raise ModelRejected(f"{run}: cannot build the model described by {MODEL} ({exc})") from None
    load_weights(run, model)
    try:
        config = yaml.safe_load((run / CONFIG).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelRejected(f"{run}: {CONFIG} is not valid YAML ({exc})") from None
    thresholds = _read_json(run, THRESHOLDS) if (run / THRESHOLDS).exists() else None
    if thresholds is not None:
        try:
            values = thresholds["thresholds"]
            assert isinstance(values, dict) and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values.values())
        except (KeyError, TypeError, AssertionError):
            raise ModelRejected(f"{run}: {THRESHOLDS} is not in textclf's format (expected thresholds between 0 "
                                "and 1 by label)") from None
    return LoadedRun(run, model, hp, vocab, labels, config, read_metrics(run), thresholds)


def load_weights(run: Path, model) -> None:
    """Set ``model``'s variables from ``weights.npz``, checking names and shapes first."""
    import numpy as np

    path = run / WEIGHTS
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.file_size > SIZE_CAPS[WEIGHTS] or (
                        info.compress_size and info.file_size / max(info.compress_size, 1) > WEIGHTS_MAX_RATIO
                        and info.file_size > 64 * MB):
                    raise ModelRejected(f"{run}: {WEIGHTS} member {info.filename} would expand to {info.file_size:,} "
                                        "bytes; refused (a zip bomb or a damaged file)")
        arrays = np.load(path, allow_pickle=False)
        names = set(arrays.files)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelRejected(f"{run}: {WEIGHTS} is truncated or not a valid weights file ({exc})") from None
    expected = {_weight_key(w): w for w in model.weights}
    extra = names - set(expected)
    missing = set(expected) - names
    if extra or missing:
        raise ModelRejected(f"{run}: {WEIGHTS} does not match the model in {MODEL}: unexpected arrays "
                            f"{sorted(extra)[:3]}, missing arrays {sorted(missing)[:3]}")
    with arrays:
        for key, variable in expected.items():
            try:
                value = arrays[key]
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
                raise ModelRejected(f"{run}: {WEIGHTS} is truncated or not a valid weights file ({exc})") from None
            if tuple(value.shape) != tuple(variable.shape):
                raise ModelRejected(f"{run}: {WEIGHTS} array {key} has shape {tuple(value.shape)}, but {MODEL} builds "
                                    f"shape {tuple(variable.shape)}; the weights and hyperparameters do not match")
            if value.dtype.kind not in "fiu":
                raise ModelRejected(f"{run}: {WEIGHTS} array {key} has dtype {value.dtype}, expected numbers")
            variable.assign(value.astype(variable.dtype))


# --------------------------------------------------------------------------------------------------
# Checkpoints (resumable training)


def write_config(run: Path, config_yaml: str) -> None:
    write_text(run, CONFIG, config_yaml)


def read_config_text(run: Path) -> str:
    path = run / CONFIG
    if not path.is_file() or path.stat().st_size > SIZE_CAPS[CONFIG]:
        raise UsageError(f"--resume {run}: no {CONFIG} in it; this is not an interrupted textclf run")
    return path.read_text(encoding="utf-8")


def is_complete(run: Path) -> bool:
    return (run / MANIFEST).exists()


def write_rejects(run: Path, rows: list[tuple[str, int, str]]) -> None:
    """Rows left out under ``on_bad_rows: skip``: file, line, reason."""
    with atomic_write(run / REJECTS, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "line", "reason"])
        writer.writerows(rows)


def _write_npz(path: Path, arrays: list) -> None:
    import numpy as np

    with open(path, "wb") as f:
        np.savez(f, **{f"v{i:05d}": np.asarray(a) for i, a in enumerate(arrays)})
        f.flush()
        os.fsync(f.fileno())


def _read_npz(path: Path) -> list:
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        return [z[f"v{i:05d}"] for i in range(len(z.files))]


def save_checkpoint(run: Path, epoch: int, step: int, state: dict, variables: list, optimizer: list,
                    best: list | None, keep: int = 2) -> Path:
    """Write a checkpoint atomically (temporary folder, fsync, rename) and keep the newest ``keep``.

    ``epoch`` is the number of complete epochs, ``step`` the batches done in the next one.
    A full disk raises :class:`ResourceError` naming the folder; older checkpoints stay intact.
    """
    import shutil

    folder = run / CHECKPOINTS
    folder.mkdir(exist_ok=True)
    final = folder / f"epoch-{epoch:05d}-step-{step:07d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        files = {CKPT_VARIABLES: variables, CKPT_OPTIMIZER: optimizer}
        if best is not None:
            files[CKPT_BEST] = best
        sums = {}
        for name, arrays in files.items():
            _write_npz(tmp / name, arrays)
            sums[name] = _sha256(tmp / name)
        body = dict(state, epoch=epoch, step=step, files=sums)
        with open(tmp / CKPT_STATE, "w", encoding="utf-8") as f:
            json.dump(body, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_dir(folder)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise ResourceError(f"no space left while writing a checkpoint in {folder} ({exc.strerror}); free some "
                                f"disk space, then resume with: textclf train --resume {run}. The previous "
                                "checkpoint is intact") from None
        raise
    for old in sorted(p for p in folder.iterdir() if p.name.startswith("epoch-"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


@dataclass
class Checkpoint:
    path: Path
    state: dict
    variables: list
    optimizer: list
    best: list | None


def load_latest_checkpoint(run: Path, log=print) -> Checkpoint | None:
    """The newest checkpoint whose files are whole and match their checksums; damaged ones are skipped."""
    import shutil

    folder = run / CHECKPOINTS
    if not folder.is_dir():
        return None
    for stale in folder.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # a checkpoint a kill interrupted: never complete
    for path in sorted((p for p in folder.iterdir() if p.name.startswith("epoch-")), reverse=True):
        try:
            state = json.loads((path / CKPT_STATE).read_text(encoding="utf-8"))
            for name, digest in state["files"].items():
                if _sha256(path / name) != digest:
                    raise ValueError(f"checksum mismatch in {name}")
            best = _read_npz(path / CKPT_BEST) if CKPT_BEST in state["files"] else None
            return Checkpoint(path, state, _read_npz(path / CKPT_VARIABLES), _read_npz(path / CKPT_OPTIMIZER), best)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
            log(f"checkpoint {path.name} is incomplete or damaged ({exc}); falling back to the previous one")
    return None


def has_model_files(run: Path) -> bool:
    """Whether training got as far as saving the model (then the run directory is never deleted)."""
    return (run / WEIGHTS).exists() or (run / MANIFEST).exists()


def latest_checkpoint_name(run: Path) -> str | None:
    folder = run / CHECKPOINTS
    if not folder.is_dir():
        return None
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith("epoch-"))
    return names[-1] if names else None


def remove_checkpoints(run: Path) -> None:
    import shutil

    shutil.rmtree(run / CHECKPOINTS, ignore_errors=True)


def file_fingerprint(path: str | os.PathLike) -> str:
    """SHA-256 of a data file, to detect changed data on resume."""
    return _sha256(Path(path))


# --------------------------------------------------------------------------------------------------
# What `textclf eval` adds to a finished run


def evaluation_dir(run: str | os.PathLike, data: str | os.PathLike) -> Path:
    """``RUN/evaluations/<data file stem>/``: where eval writes its plots for one data file (created)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(data).stem).strip("-.") or "data"
    path = Path(run) / EVALUATIONS / slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_evaluation_plot(folder: Path, png: bytes) -> Path:
    path = folder / CONFUSION_PNG
    write_bytes(path, png)
    return path


# --------------------------------------------------------------------------------------------------
# Reading one small file of a run for a summary (`textclf runs`, `textclf show`): read-only, nothing verified


def read_small_file(run: str | os.PathLike, name: str) -> Any:
    """The parsed content of one small file of a run, or None when it is absent.

    ``.json`` is parsed with :func:`json.loads`, ``.yaml`` with ``yaml.safe_load``, ``.csv`` into a list of
    row dicts of strings. The file is opened without following a symbolic link and without blocking on a
    FIFO, and refused unread when it is not a regular file or is over its size cap (1 MiB for a name
    without a cap). Raises :class:`ModelRejected` naming the file and the reason; it never checks the
    manifest (use :func:`verify` for that) and never touches the weights.
    """
    path = Path(run) / name
    cap = SIZE_CAPS.get(name, 1 * MB)
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
        if st.st_size > cap:
            raise ModelRejected(f"{name} is {st.st_size:,} bytes, over its {cap:,}-byte cap; not read")
        data = f.read(cap + 1)
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
