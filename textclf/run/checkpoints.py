"""Checkpoints of a run in training: what ``textclf train --resume`` continues from.

``checkpoints/epoch-EEEEE-step-SSSSSSS/`` holds every model variable (the dropout RNG state included), the
optimizer state, the best weights so far, and ``state.json``: the training loop's state
(:class:`textclf.training.state.LoopState`) with the checksums of the other files. Each checkpoint is written
into a temporary folder, fsynced and renamed (:func:`textclf.io.files.atomic_folder`), so a kill leaves only
whole checkpoints; the newest valid one is used and a damaged one is skipped with a message. The newest two
are kept; the folder is removed once the run is complete.
"""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..io.files import atomic_folder, clean_stale_temp_files, sha256_file
from .layout import (
    CHECKPOINTS,
    CKPT_BEST,
    CKPT_OPTIMIZER,
    CKPT_STATE,
    CKPT_VARIABLES,
    checkpoint_name,
    checkpoint_progress,
)

log = logging.getLogger(__name__)


@dataclass
class Checkpoint:
    """One checkpoint read back: the loop state (``state.json``) and the arrays."""

    path: Path
    state: dict
    variables: list
    optimizer: list
    best: list | None


def _write_npz(path: Path, arrays: list) -> None:
    import numpy as np

    with open(path, "wb") as f:
        np.savez(f, **{f"v{i:05d}": np.asarray(a) for i, a in enumerate(arrays)})


def _read_npz(path: Path) -> list:
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        return [z[f"v{i:05d}"] for i in range(len(z.files))]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if checkpoint_progress(p.name) is not None)


def save_checkpoint(
    run: Path, epoch: int, step: int, state: dict, variables: list, optimizer: list, best: list | None, keep: int = 2
) -> Path:
    """Write a checkpoint atomically and keep the newest ``keep``.

    ``epoch`` is the number of complete epochs, ``step`` the batches done in the next one. A full disk raises
    :class:`~textclf.errors.ResourceError` naming the folder; older checkpoints stay intact.
    """
    folder = run / CHECKPOINTS
    folder.mkdir(exist_ok=True)
    final = folder / checkpoint_name(epoch, step)
    hint = f"; then resume with: textclf train --resume {run}. The previous checkpoint is intact"
    with atomic_folder(final, replace=True, hint=hint) as tmp:
        files = {CKPT_VARIABLES: variables, CKPT_OPTIMIZER: optimizer}
        if best is not None:
            files[CKPT_BEST] = best
        sums = {}
        for name, arrays in files.items():
            _write_npz(tmp / name, arrays)
            sums[name] = sha256_file(tmp / name)
        body = dict(state, epoch=epoch, step=step, files=sums)
        (tmp / CKPT_STATE).write_text(json.dumps(body, indent=1), encoding="utf-8")
    for old in _names(folder)[:-keep]:
        shutil.rmtree(folder / old, ignore_errors=True)
    return final


def load_latest_checkpoint(run: Path) -> Checkpoint | None:
    """The newest checkpoint whose files are whole and match their checksums; damaged ones are skipped."""
    folder = run / CHECKPOINTS
    if not folder.is_dir():
        return None
    clean_interrupted(run)  # checkpoints a kill interrupted: never complete
    for name in reversed(_names(folder)):
        path = folder / name
        try:
            state = json.loads((path / CKPT_STATE).read_text(encoding="utf-8"))
            for file, digest in state["files"].items():
                if sha256_file(path / file) != digest:
                    raise ValueError(f"checksum mismatch in {file}")
            best = _read_npz(path / CKPT_BEST) if CKPT_BEST in state["files"] else None
            return Checkpoint(path, state, _read_npz(path / CKPT_VARIABLES), _read_npz(path / CKPT_OPTIMIZER), best)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, EOFError) as exc:
            log.warning(f"checkpoint {name} is incomplete or damaged ({exc}); falling back to the previous one")
    return None


def latest_checkpoint_name(run: Path) -> str | None:
    """The newest checkpoint folder's name, or None (no checkpoint, or no run)."""
    folder = run / CHECKPOINTS
    if not folder.is_dir():
        return None
    names = _names(folder)
    return names[-1] if names else None


def remove_checkpoints(run: Path) -> None:
    shutil.rmtree(run / CHECKPOINTS, ignore_errors=True)


def clean_interrupted(run: Path) -> None:
    """Remove the temporary folders of checkpoints whose writer was killed (any name)."""
    folder = run / CHECKPOINTS
    if folder.is_dir():
        for entry in folder.glob(".epoch-*.tmp"):
            clean_stale_temp_files(folder / entry.name[1:].rsplit(".", 3)[0])
