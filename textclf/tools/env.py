"""``textclf env``: the facts a bug report needs about this machine and its Python environment.

Package versions come from :mod:`importlib.metadata` (nothing is imported for a version). CPU facts come
from ``/proc/cpuinfo`` and ``/proc/meminfo`` (Linux; elsewhere they are left empty). Only the TensorFlow
part imports TensorFlow, to list the devices it sees, whether it was built with CUDA and its thread
settings; ``tensorflow=False`` leaves it out.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

PACKAGES = ("textclf", "tensorflow", "keras", "numpy", "pandas", "scikit-learn", "pyarrow", "click", "PyYAML")
# CPU feature flags that matter for TensorFlow on CPU (bf16 and int8 kernels of oneDNN)
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
ENV_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_FORCE_GPU_ALLOW_GROWTH",
    "TF_XLA_FLAGS",
    "XLA_FLAGS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "KERAS_BACKEND",
)


def package_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_info(cpuinfo: str = "/proc/cpuinfo", meminfo: str = "/proc/meminfo") -> dict:
    """CPU model, logical cores (all, and those this process may use), memory, and the feature flags that
    matter for TensorFlow (AVX-512, AMX)."""
    model, flags = platform.processor() or None, set()
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "cpu model") and model in (None, "", platform.machine()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    memory = None
    try:
        with open(meminfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "model": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": memory,
        "flags": [f for f in CPU_FLAGS if f in flags],
        "avx512": any(f.startswith("avx512") for f in flags),
        "amx": any(f.startswith("amx") for f in flags),
    }


def tensorflow_info() -> dict:
    """What TensorFlow sees: devices (GPU names and compute capability), its CUDA build, thread settings.

    Imports TensorFlow (quietly: see :mod:`textclf.runtime`). An import failure is reported in ``error``.
    """
    try:
        from ..runtime import import_tensorflow

        import_tensorflow()
        import tensorflow as tf
    except Exception as exc:  # noqa: BLE001 - a broken install is exactly what this report is for
        return {"error": f"{type(exc).__name__}: {exc}"}
    devices = []
    for device in tf.config.list_physical_devices():
        entry = {"name": device.name, "type": device.device_type}
        if device.device_type == "GPU":
            try:
                details = tf.config.experimental.get_device_details(device)
            except Exception:  # noqa: BLE001 - details are best effort
                details = {}
            entry["device_name"] = details.get("device_name")
            cc = details.get("compute_capability")
            entry["compute_capability"] = f"{cc[0]}.{cc[1]}" if cc else None
        devices.append(entry)
    build = dict(tf.sysconfig.get_build_info())
    return {
        "version": tf.__version__,
        "built_with_cuda": bool(tf.test.is_built_with_cuda()),
        "cuda_version": build.get("cuda_version"),
        "cudnn_version": build.get("cudnn_version"),
        "devices": devices,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def environment(tensorflow: bool = True) -> dict:
    """The whole report as a JSON-ready dict: textclf, Python, platform, CPU, package versions,
    selected environment variables, and (with ``tensorflow``) what TensorFlow sees."""
    from .. import __version__

    out = {
        "textclf": package_version("textclf") or __version__,
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        "platform": platform.platform(),
        "cpu": cpu_info(),
        "packages": {name: package_version(name) for name in PACKAGES if name != "textclf"},
        "environment_variables": {k: os.environ[k] for k in ENV_VARS if k in os.environ},
    }
    if tensorflow:
        out["tensorflow"] = tensorflow_info()
    return out


def format_environment(env: dict) -> str:
    """The report as aligned ``key  value`` lines, ready to paste into a bug report."""
    lines: list[str] = []

    def row(label: str, value) -> None:
        lines.append(f"{label:<20}{value}")

    row("textclf", env["textclf"])
    row("python", env["python"])
    row("platform", env["platform"])
    cpu = env["cpu"]
    cores = f"{cpu['cores']} logical cores" + (
        f" ({cpu['usable_cores']} usable by this process)" if cpu["usable_cores"] != cpu["cores"] else ""
    )
    row("cpu", f"{cpu['model'] or 'unknown model'}, {cores}")
    if cpu["memory_bytes"]:
        row("memory", f"{cpu['memory_bytes'] / (1 << 30):.1f} GiB")
    row(
        "cpu avx512 / amx",
        f"{'yes' if cpu['avx512'] else 'no'} / {'yes' if cpu['amx'] else 'no'}"
        + (f"  ({' '.join(cpu['flags'])})" if cpu["flags"] else ""),
    )
    for name, version in env["packages"].items():
        row(name, version or "not installed")
    for i, (name, value) in enumerate(env["environment_variables"].items()):
        row("environment" if i == 0 else "", f"{name}={value}")
    tf = env.get("tensorflow")
    if tf is None:
        return "\n".join(lines)
    if "error" in tf:
        row("tensorflow import", f"FAILED: {tf['error']}")
        return "\n".join(lines)
    cuda = "yes" + (f" (CUDA {tf['cuda_version']}, cuDNN {tf['cudnn_version']})" if tf.get("cuda_version") else "")
    row("tf built with CUDA", cuda if tf["built_with_cuda"] else "no")
    gpus = [d for d in tf["devices"] if d["type"] == "GPU"]
    others = [d for d in tf["devices"] if d["type"] != "GPU"]
    row(
        "tf devices",
        (", ".join(d["name"].replace("/physical_device:", "") for d in others) or "none")
        + (f", {len(gpus)} GPU(s)" if gpus else "; no GPU"),
    )
    for d in gpus:
        row(
            "",
            f"{d['name'].replace('/physical_device:', '')}: {d.get('device_name') or 'unknown'}, "
            f"compute capability {d.get('compute_capability') or 'unknown'}",
        )
    auto = lambda n: f"{n}" + (" (TensorFlow chooses)" if n == 0 else "")  # noqa: E731
    row("tf intra-op threads", auto(tf["intra_op_threads"]))
    row("tf inter-op threads", auto(tf["inter_op_threads"]))
    return "\n".join(lines)
