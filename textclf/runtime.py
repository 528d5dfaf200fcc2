"""Starting TensorFlow: its native log lines kept off the terminal, and its thread pools set.

TensorFlow 2.21 writes log lines from C++ straight to file descriptor 2 (oneDNN notices, "failed call to
cuInit" on a machine without CUDA, "oneDNN supports DT_BOOL only ...") and ignores
``TF_CPP_MIN_LOG_LEVEL`` for them. To a user they look like errors. :func:`import_tensorflow` points
descriptor 2 at an anonymous temporary file for the rest of the process and gives Python's
``sys.stderr`` its own duplicate of the real terminal, so that textclf's own messages and any Python
traceback still appear. If the import itself fails, the captured lines are shown. This happens in the
``textclf`` command only: ``--debug`` and a library user's process (a notebook, a server) keep descriptor 2.
When ``sys.stderr`` is not the process's descriptor 2 (inside a test runner, say), nothing is redirected.

It logs one "starting TensorFlow" line first, since the import takes seconds with nothing else to show.
It sets TensorFlow's thread pools before any operation runs (:func:`configure_threads`): on machines
with up to 4 cores, one thread per operation and two operations at a time (the forward and backward LSTM of
the bidirectional layer run side by side), which bench/NOTES.md measured as faster than TensorFlow's
default of a 2-thread pool for each. The environment variable ``TEXTCLF_THREADS`` overrides it: ``tf`` keeps TensorFlow's defaults, ``INTRA,INTER`` sets both.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

_LOG = None
_ANNOUNCED = False  # whether the start-up line was logged (once a process)


def import_tensorflow(quiet: bool | None = None) -> None:
    """Import TensorFlow and initialize its devices, sending native log lines to a file when ``quiet``.

    ``quiet`` defaults to true in the ``textclf`` command (it sets ``TEXTCLF_QUIET=1``; ``--debug`` does not)
    and to false in a library user's process, whose own ``sys.stderr`` and logging handlers are left alone.
    """
    global _LOG, _ANNOUNCED
    if quiet is None:
        quiet = os.environ.get("TEXTCLF_QUIET") == "1"
    if "tensorflow" in sys.modules and _LOG is not None:
        return
    if "tensorflow" not in sys.modules and not _ANNOUNCED:  # the silent seconds of its import get a line
        _ANNOUNCED = True
        logging.getLogger("textclf").info("starting TensorFlow ...")
    try:
        redirect = quiet and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        redirect = False
    if not redirect:
        import tensorflow as tf

        configure_threads()
        tf.config.list_physical_devices("GPU")
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    _LOG = log = tempfile.TemporaryFile()  # removed by the system when the process ends
    os.dup2(log.fileno(), 2)
    sys.stderr = open(
        terminal, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace", closefd=False
    )
    try:
        import tensorflow as tf

        configure_threads()
        tf.config.list_physical_devices("GPU")
    except BaseException:
        log.seek(0)
        sys.stderr.write(log.read().decode("utf-8", "replace"))
        raise


def thread_settings(cores: int | None = None, setting: str | None = None) -> tuple[int, int] | None:
    """(intra-op, inter-op) threads for this machine, or None to keep TensorFlow's defaults.

    ``setting`` is ``TEXTCLF_THREADS`` (``auto``, ``tf`` or ``INTRA,INTER``). ``auto`` applies the setting
    measured on 2 cores to machines of up to 4 cores and leaves bigger machines to TensorFlow.
    """
    from .errors import UsageError

    setting = (os.environ.get("TEXTCLF_THREADS", "auto") if setting is None else setting).strip().lower()
    if setting == "tf":
        return None
    if setting == "auto":
        if cores is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return (max(1, cores // 2), 2) if cores <= 4 else None
    parts = setting.split(",")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) > 0 for p in parts):
        return int(parts[0]), int(parts[1])
    raise UsageError(
        f"TEXTCLF_THREADS: received {setting!r}, expected auto, tf, or two positive integers "
        "INTRA,INTER such as 1,2; fix or unset the environment variable"
    )


def configure_threads() -> tuple[int, int] | None:
    """Apply :func:`thread_settings`; a no-op when TensorFlow's runtime has already started in this process."""
    import tensorflow as tf

    threads = thread_settings()
    if threads is None:
        return None
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(threads[1])
    except RuntimeError:  # the runtime is already initialized (e.g. a second command in one process)
        return None
    return threads
