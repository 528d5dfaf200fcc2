"""Running one child process and measuring it; describing the machine and the software.

Each measured step runs in its own process, so that its peak resident set size is its own: ``os.wait4``
returns the child's resource usage, whose ``ru_maxrss`` (kilobytes on Linux) is the peak RSS of that child
(and of any descendants it waited for).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from common import parse_result


@dataclass
class Child:
    """How a child process ended and what it cost."""

    command: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def result(self) -> dict | None:
        return parse_result(self.stdout)

    def failure(self, lines: int = 8) -> str:
        """A short account of a failed run: exit code and the last lines of stderr."""
        tail = "\n".join(self.stderr.strip().splitlines()[-lines:])
        return f"exit code {self.returncode}: {tail}"


def run_child(command: list[str], log_dir: Path, name: str, env: dict | None = None, cwd: Path | None = None) -> Child:
    """Run ``command`` to the end with stdout and stderr kept in ``log_dir/name.{out,err}``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with open(out_path, "w", encoding="utf-8") as out, open(err_path, "w", encoding="utf-8") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Child(
        command=[str(c) for c in command],
        returncode=proc.returncode,
        wall_seconds=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        stdout=out_path.read_text("utf-8", errors="replace"),
        stderr=err_path.read_text("utf-8", errors="replace"),
    )


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}
    if hasattr(os, "sched_getaffinity"):
        info["usable_cores"] = len(os.sched_getaffinity(0))
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * page_size / 2**30, 1)
    except (ValueError, OSError):
        pass
    info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def versions(repo: Path) -> dict:
    """Versions of Python and of the packages measured, without importing them (TensorFlow is slow to import)."""
    found = {"python": platform.python_version()}
    for package in ("textclf", "tensorflow", "keras", "scikit-learn", "fasttext", "numpy", "pandas"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        found["textclf_commit"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return found


def python_command() -> str:
    """The interpreter running the benchmark; children use the same one (and so the same environment)."""
    return sys.executable


def textclf_command() -> str:
    """The ``textclf`` console script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "textclf"
    if beside.exists():
        return str(beside)
    import shutil

    found = shutil.which("textclf")
    if not found:
        raise SystemExit("textclf is not installed: pip install -e . (in the project's environment)")
    return found
