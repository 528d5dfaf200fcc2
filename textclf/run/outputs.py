"""The one check that decides whether a command may write to a path.

Every file or folder a command writes at a path the user gave (``predict --output`` and the rejects file
beside it, ``eval --output`` and ``--errors``, ``explain --html``, ``export --output``, ``init --output``,
``datasets download --to``) goes through :func:`check_output` before anything is read or written. It lives
with the run directory because its first rule is about runs: a run directory is sealed by its manifest, so
nothing a command writes may land inside one (a prediction file there would replace a model's weights).

Refused, as a :class:`~textclf.errors.UsageError` (exit 2) that changes nothing:

* a path inside a run directory, or a run directory itself (links resolved);
* a path that is one of the command's inputs (the same file, also through a link or a hard link);
* a path that another output of the same command already names;
* a folder where a file is expected, a file where a folder is expected, a non-empty folder, a missing
  parent folder; with ``overwrite=False``, an existing file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import UsageError
from .layout import run_containing


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file: equal once links are resolved, or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(
    path: str | os.PathLike,
    option: str = "--output",
    *,
    inputs: Iterable = (),
    others: Iterable = (),
    folder: bool = False,
    overwrite: bool = True,
    example: str = "predictions.csv",
    create_parent: bool = False,
    hint: str = "",
) -> Path:
    """Refuse an output path a command must not write (see the module docstring); returns it as a Path.

    Args:
        path: where the command will write.
        option: how the user gave it (``--output``, ``--html``, ...), for the message.
        inputs: the files and folders the command reads, none of which may be the output: paths, or
            (description, path) pairs such as ``("the input file", path)`` for the message.
        others: the command's other outputs (paths), which this one may not repeat.
        folder: the output is a folder (created empty, or an existing empty one is replaced; with
            ``overwrite``, an existing folder is written into, as ``datasets download --to`` does).
        overwrite: an existing file may be replaced (atomically); ``False`` refuses it.
        create_parent: a missing parent folder will be created (``--to``, ``init --output``), not refused.
        example: a file name suggested when ``path`` is a folder.
    """
    out = Path(path)
    places = [out.parent, Path(os.path.realpath(out)).parent] + ([out] if out.is_dir() else [])
    run = next((r for r in map(run_containing, places) if r is not None), None)
    if run is not None:
        raise UsageError(
            f"{option} {out} is inside the run directory {run}, whose files are sealed by its "
            f"manifest; write it elsewhere{hint} (the run is left unchanged)"
        )
    for given in inputs:
        what, given = given if isinstance(given, tuple) else ("an input of this command", given)
        if given is not None and same_path(out, given):
            raise UsageError(f"{option} {out} is {what} ({given}); choose another path (the input is left unchanged)")
    for other in others:
        if other is not None and same_path(out, other):
            raise UsageError(
                f"{option} {out} names the same file as another output of this command ({other}); "
                "give each output its own path"
            )
    if folder:
        _check_folder(out, option, overwrite)
    else:
        _check_file(out, option, overwrite, example)
    if not out.parent.is_dir() and not create_parent:
        raise UsageError(f"{option} {out}: the folder {out.parent} does not exist; create it first")
    return out


def _check_file(out: Path, option: str, overwrite: bool, example: str) -> None:
    if out.is_dir():
        raise UsageError(f"{option} {out} is a directory; give a file path such as {out / example}")
    if out.exists() and not out.is_file():
        raise UsageError(f"{option} {out} is not a regular file (a device, FIFO or socket); give a file path")
    if out.exists() and not overwrite:
        raise UsageError(f"{option} {out} already exists; choose another path, or pass --force to replace it")


def _check_folder(out: Path, option: str, existing_ok: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out} exists and is a file, expected a folder; choose another path")
    if existing_ok:
        return
    if out.is_symlink():
        raise UsageError(f"{option} {out} is a symbolic link; give a new folder path")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(
            f"{option} {out} exists and is not empty; textclf never overwrites a folder. Choose a "
            "new path, or remove the old one first"
        )
