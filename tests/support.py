"""Helpers shared by the tests: tiny synthetic datasets, file writers, and a CLI runner wrapper.

Nothing here imports TensorFlow: the CLI is run in-process through click's ``CliRunner`` and imports
TensorFlow only when a command needs it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

from click.testing import CliRunner, Result

# Small model settings for every real training in the suite (a few seconds each on 2 CPU cores).
SMALL = [
    "--set",
    "model.units=8",
    "--set",
    "model.embedding_dim=16",
    "--set",
    "train.epochs=2",
    "--set",
    "train.batch_size=32",
    "--set",
    "train.verbose=true",  # the step bar is on, and drawn only on a terminal: CliRunner's output is none
    "--set",
    "train.tensorboard=true",
]

TOPICS = {
    "sports": "ball goal team match score player coach league stadium referee".split(),
    "tech": "computer software code chip laptop phone app server network robot".split(),
    "food": "pizza bread cheese soup salad cook recipe dinner spicy kitchen".split(),
}
COLORS = {
    "red": "cherry tomato brick ruby fire".split(),
    "green": "grass leaf lime frog emerald".split(),
    "blue": "ocean sky sapphire denim whale".split(),
}
FILLER = "the a and of to in is it".split()

# Texts that must neither break training nor prediction.
EDGE_TEXTS = ["", "!!! ...", "?", "   ", "\u2028", "tab\there", "naïve café 😀", "line1\nline2"]
# Texts a spreadsheet would run as a formula.
FORMULA_TEXTS = ["=cmd|' /C calc'!A0", "+1+2", "-3 minus", "@SUM(A1:A2)"]


def topic_rows(n: int, seed: int, topics: dict[str, list[str]] = TOPICS) -> list[tuple[str, str]]:
    """``n`` (text, label) rows cycling through the topics; each text mixes topic words and filler."""
    rng = random.Random(seed)
    names = list(topics)
    rows = []
    for i in range(n):
        label = names[i % len(names)]
        words = [rng.choice(topics[label] + FILLER) for _ in range(rng.randint(3, 12))]
        rows.append((" ".join(words), label))
    return rows


def multilabel_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (text, "label|label") rows over COLORS; every row has one or two labels."""
    rng = random.Random(seed)
    names = sorted(COLORS)
    rows = []
    for i in range(n):
        chosen = sorted(rng.sample(names, 1 + (i % 2)))
        words = [w for lab in chosen for w in rng.sample(COLORS[lab], 2)] + rng.sample(FILLER, 2)
        rng.shuffle(words)
        rows.append((" ".join(words), "|".join(chosen)))
    return rows


def write_csv(path: Path, header: list[str], rows, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=kwargs.pop("encoding", "utf-8"), newline="") as f:
        writer = csv.writer(f, **kwargs)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV as (header, rows of str), read with the csv module so that nothing is converted."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, r)) for r in reader]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_hashes(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def cli(*args: str) -> Result:
    """Run ``textclf ARGS`` in-process; stdout and stderr are kept apart (``result.stdout``/``result.stderr``)."""
    from textclf.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def assert_clean_error(result: Result, code: int, *needles: str) -> str:
    """The command failed with ``code``, one message, no traceback; the message holds every needle."""
    output = result.output  # stdout and stderr together
    assert result.exit_code == code, f"exit {result.exit_code}, expected {code}; output:\n{output}"
    assert "Traceback" not in output, output
    assert "error:" in result.stderr, output
    for needle in needles:
        assert needle in output, f"{needle!r} not in output:\n{output}"
    return output


def assert_refused_with(result: Result, code: int, *patterns: str) -> str:
    """Like :func:`assert_clean_error`, with regular expressions: each of ``patterns`` is searched for."""
    import re

    output = assert_clean_error(result, code)
    for pattern in patterns:
        assert re.search(pattern, output), f"{pattern!r} not in output:\n{output}"
    return output


class OpenRecorder:
    """Records every path opened through ``open``/``io.open``/``os.open`` while active (in-process CLI).

    What a test asserts with it is structural: a refused file is never opened (a FIFO would block, a
    device would never end, an oversized file would be read for nothing). ``monkeypatch.undo()`` stops it.
    """

    def __init__(self, monkeypatch):
        import builtins
        import io
        import os

        self.paths: list[str] = []
        real_open, real_os_open = builtins.open, os.open

        def rec_open(file, *a, **k):
            if isinstance(file, (str, os.PathLike)):
                self.paths.append(os.path.abspath(os.fspath(file)))
            return real_open(file, *a, **k)

        def rec_os_open(path, *a, **k):
            self.paths.append(os.path.abspath(os.fspath(path)))
            return real_os_open(path, *a, **k)

        monkeypatch.setattr(builtins, "open", rec_open)
        monkeypatch.setattr(io, "open", rec_open)
        monkeypatch.setattr(os, "open", rec_os_open)

    def opened(self, path) -> bool:
        import os

        return os.path.abspath(path) in self.paths


# --------------------------------------------------------------------------------------------------
# The real CLI in a child process: for kills, signals and resource limits (tests/test_faults.py)

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def textclf_argv(*args) -> list[str]:
    """The command line that runs ``textclf ARGS`` in a fresh interpreter of this virtual environment."""
    return [sys.executable, "-m", "textclf.cli", *(str(a) for a in args)]


def child_env() -> dict[str, str]:
    """The environment of a CLI child: quiet TensorFlow, CPU only (no slow CUDA probing), unbuffered output."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["PYTHONUNBUFFERED"] = "1"
    return env


class CliProcess:
    """``textclf ARGS`` running in a child process; stdout and stderr go to files (never a full pipe).

    ``wait()`` reaps the child with ``os.wait4`` so that its resource usage (peak RSS) is known.
    """

    _count = 0

    def __init__(self, *args, logs: Path, cwd: Path | None = None, preexec_fn=None):
        CliProcess._count += 1
        logs.mkdir(parents=True, exist_ok=True)
        self.out_path = logs / f"child-{CliProcess._count}.out"
        self.err_path = logs / f"child-{CliProcess._count}.err"
        self.args = [str(a) for a in args]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                textclf_argv(*args),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=child_env(),
                preexec_fn=preexec_fn,
            )
        self.pid = self.popen.pid
        self.returncode: int | None = None
        self.rusage = None

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self._reaped(status, rusage)
        return self.returncode

    def _reaped(self, status, rusage) -> None:
        self.returncode = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
        self.rusage = rusage
        self.popen.returncode = self.returncode  # keep Popen from waiting on a reaped pid

    def wait(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.popen.kill()
                self.wait(30)
                raise AssertionError(
                    f"textclf {' '.join(self.args)} ran for more than {timeout}s; output:\n" + self.output[-4000:]
                )
            time.sleep(0.01)
        return self.returncode

    def signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def wait_until(self, condition, timeout: float = 240, what: str = "condition", interval: float = 0.005) -> None:
        """Poll ``condition()`` every ``interval`` s while the child runs; fail if it exits or times out first."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.poll() is not None:
                raise AssertionError(
                    f"textclf {' '.join(self.args)} exited ({self.returncode}) before {what}; "
                    f"output:\n{self.output[-4000:]}"
                )
            if time.monotonic() > deadline:
                self.popen.kill()
                raise AssertionError(f"no {what} after {timeout}s; output:\n{self.output[-4000:]}")
            if interval:
                time.sleep(interval)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.poll() is None:
            self.popen.kill()
            self.wait(60)
        return False


def checkpoint_names(run: Path) -> list[str]:
    """The complete checkpoints of an interrupted run, oldest first (``epoch-EEEEE-step-SSSSSSS``)."""
    folder = Path(run) / "checkpoints"
    if not folder.is_dir():
        return []
    try:
        return sorted(p.name for p in folder.iterdir() if p.name.startswith("epoch-"))
    except FileNotFoundError:  # the folder was removed while listing (the run finished)
        return []


def history_epochs(run: Path) -> list[int]:
    _, rows = read_csv_rows(Path(run) / "history.csv")
    return [int(r["epoch"]) for r in rows]


class LogLines(list):
    """The messages the library logs (the ``textclf`` logger) while the ``with`` block runs."""

    def __enter__(self) -> LogLines:
        import logging

        class _Handler(logging.Handler):
            def emit(handler, record):  # noqa: N805 - the handler, then the list it fills
                self.append(record.getMessage())

        self._handler = _Handler()
        self._logger = logging.getLogger("textclf")
        self._level = self._logger.level
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)


def predict_args(run: Path, data: Path, out: Path, *extra) -> list:
    """The arguments of ``textclf predict --model RUN --input DATA --output OUT`` and ``extra``."""
    return ["predict", "--model", run, "--input", data, "--output", out, *extra]
