"""Keeping TensorFlow's native log lines off the user's terminal.

TensorFlow 2.21 writes log lines from C++ straight to file descriptor 2 (oneDNN notices, "failed call to
cuInit" on a machine without CUDA, "oneDNN supports DT_BOOL only ...") and ignores
``TF_CPP_MIN_LOG_LEVEL`` for them. To a user they look like errors. :func:`import_tensorflow` points
descriptor 2 at an anonymous temporary file for the rest of the process and gives Python's
``sys.stderr`` its own duplicate of the real terminal, so that textclf's own messages and any Python
traceback still appear. If the import itself fails, the captured lines are shown. ``--debug`` leaves
everything as it is. When ``sys.stderr`` is not the process's descriptor 2 (inside a test runner, say),
nothing is redirected.
"""

from __future__ import annotations

import os
import sys
import tempfile

_LOG = None


def import_tensorflow(quiet: bool | None = None) -> None:
    """Import TensorFlow and initialize its devices, sending native log lines to a file when ``quiet``.

    ``quiet`` defaults to true unless the environment variable ``TEXTCLF_DEBUG`` is ``1`` (``--debug``).
    """
    global _LOG
    if quiet is None:
        quiet = os.environ.get("TEXTCLF_DEBUG") != "1"
    if "tensorflow" in sys.modules and _LOG is not None:
        return
    try:
        redirect = quiet and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        redirect = False
    if not redirect:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    _LOG = log = tempfile.TemporaryFile()  # removed by the system when the process ends
    os.dup2(log.fileno(), 2)
    sys.stderr = open(terminal, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                      errors="backslashreplace", closefd=False)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    except BaseException:
        log.seek(0)
        sys.stderr.write(log.read().decode("utf-8", "replace"))
        raise
