"""Writing files and folders so that a kill, a full disk or a second writer never leaves half of one.

Every file textclf writes goes through here. :func:`atomic_write` writes to a temporary file beside the
destination (``.NAME.PID.XXXXXXXX.tmp``), flushes it to disk and renames it over the destination; on any
error the temporary file is removed and the destination is left as it was. :func:`atomic_folder` does the
same for a folder. While a writer works it holds an exclusive lock on its temporary file (a folder: on a
lock file inside it), so :func:`clean_stale_temp_files` removes only what a writer that is gone left behind,
never the live temporary file of a second command writing the same output.

Operating-system errors become messages that name the path and the fix: a full disk is a
:class:`~textclf.errors.ResourceError` (exit 5); a folder without write permission or on a read-only file
system is a :class:`~textclf.errors.UsageError` (exit 2: the output or option must change).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import ResourceError, UsageError

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
_LOCK_NAME = ".lock"


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


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK  # what open() would give a new file
FOLDER_MODE = 0o777 & ~UMASK


def write_error(exc: OSError, path: str | os.PathLike, hint: str = "") -> Exception:
    """The user-facing error for an OSError while writing ``path``; the OSError itself when it is not one of ours."""
    if exc.errno in DISK_FULL:
        return ResourceError(
            f"no space left while writing {path} ({exc.strerror}); free some disk space and run "
            f"again{hint or '. The previous file, if any, is unchanged'}"
        )
    if exc.errno in NOT_WRITABLE:
        return UsageError(
            f"cannot write {path}: {exc.strerror}; choose a folder you can write to, or change its permissions{hint}"
        )
    return exc


def _temp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def _lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", hint: str = "", **kwargs) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it over ``path``.

    ``f.name`` is the temporary file's path. On any error (also one raised by the caller inside the
    ``with``) the temporary file is removed and ``path`` is left as it was. ``hint`` is added to the message
    of a full disk or a folder that cannot be written.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_error(exc, path, hint) from None
    try:
        with open(tmp, mode, **kwargs) as f:
            _lock(f.fileno())  # held until the rename: a cleaner never takes a live writer's file
            os.close(fd)
            fd = -1
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; give the file the usual permissions
            os.replace(tmp, path)  # while the lock is held: no cleaner can take the file first
        fsync_dir(path.parent)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            error = write_error(exc, path, hint)
            if error is not exc:
                raise error from None
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> None:
    """``obj`` as UTF-8 JSON that any parser reads: NaN and infinity are written as null."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(json_safe(obj), f, ensure_ascii=False, indent=indent, allow_nan=False)
        f.write("\n")


def json_safe(obj: Any) -> Any:
    """``obj`` with every float that is not finite (NaN, infinity) replaced by None, so that it is valid JSON."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename) to disk, where the system allows it."""
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


@contextmanager
def atomic_folder(path: str | os.PathLike, *, replace: bool = False, hint: str = "") -> Iterator[Path]:
    """Build a folder under a temporary name beside ``path``, then rename it to ``path``.

    Yields the temporary folder to fill. On any error it is removed and ``path`` is left as it was.
    ``replace``: an existing ``path`` is removed first (a checkpoint written again); otherwise an existing
    empty folder is replaced and a non-empty one is a UsageError.
    """
    path = Path(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise write_error(exc, path, hint) from None
    lock = os.open(tmp / _LOCK_NAME, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        _lock(lock)
        yield tmp
        os.unlink(tmp / _LOCK_NAME)
        for root, _, files in os.walk(tmp):
            for name in files:
                fd = os.open(Path(root) / name, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        os.chmod(tmp, FOLDER_MODE)  # mkdtemp makes 0700
        _publish(tmp, path, replace)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            error = write_error(exc, path, hint)
            if error is not exc:
                raise error from None
        raise
    finally:
        os.close(lock)


def _publish(tmp: Path, path: Path, replace: bool) -> None:
    if replace and path.exists():
        shutil.rmtree(path)
    try:
        os.rename(tmp, path)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise UsageError(
                f"{path} was created by someone else meanwhile and is not empty; nothing was written "
                "there. Choose a new path"
            ) from None
        raise
    fsync_dir(path.parent)


def _abandoned(entry: Path) -> bool:
    """Whether a temporary file or folder was left by a writer that is gone: its process has ended and
    nobody holds its lock. Anything else (a live writer, a name of another form) is left alone."""
    parts = entry.name.rsplit(".", 3)
    try:
        pid = int(parts[-3])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
        return False  # its writer still runs (or the number was reused: not provably abandoned)
    except ProcessLookupError:
        pass
    except OSError:
        return False
    target = entry / _LOCK_NAME if entry.is_dir() else entry
    try:
        fd = os.open(target, os.O_RDONLY)
    except FileNotFoundError:
        return True  # a folder that was complete but not yet renamed, or a file already gone
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale_temp_files(path: str | os.PathLike) -> int:
    """Remove the temporary files and folders that dead writers of ``path`` left behind; returns how many.

    Only temporary entries of this one destination whose writer is provably gone are touched.
    """
    import glob

    path = Path(path)
    count = 0
    for entry in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if not _abandoned(entry):
            continue
        try:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            count += 1
        except OSError:
            pass
    return count


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_write`'s temporary names (never listed in a run)."""
    return name.startswith(".") and name.endswith(".tmp")


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
