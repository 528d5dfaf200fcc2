"""PNG plots of a run: training curves and the confusion matrix (matplotlib, drawn off-screen).

matplotlib is imported only inside these functions, with the non-interactive Agg backend, so that neither
``textclf --help`` nor a headless server pays for it or needs a display. Each file is drawn into memory and
written atomically by :mod:`textclf.io.files`.
"""

from __future__ import annotations

import io

import numpy as np

MAX_ANNOTATED = 30  # confusion matrices with more classes are drawn without the numbers in the cells
MAX_CLASSES = 60  # ... and with more than this, only the classes with most support


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def training_curves(history: list[dict], metric: str, title: str = "", best_epoch: int | None = None) -> bytes:
    """Loss and the main metric per epoch, train against validation, side by side; ``best_epoch``, the epoch
    whose weights the run kept, is marked on both. ``history``: history.csv rows; ``title``: the run's name."""
    return _png(curves_figure(history, metric, title, best_epoch))


def curves_figure(history: list[dict], metric: str, title: str = "", best_epoch: int | None = None):
    """The matplotlib figure of :func:`training_curves`."""
    plt = _pyplot()
    epochs = [int(r["epoch"]) for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(epochs, [float(r["loss"]) for r in history], "o-", label="train")
    ax1.plot(epochs, [float(r["val_loss"]) for r in history], "o-", label="validation")
    ax1.set_ylabel("loss")
    ax1.set_title("loss")
    key = f"val_{metric}"
    if any(key in r for r in history):
        ax2.plot(epochs, [float(r[key]) for r in history], "o-", color="tab:orange", label="validation")
        if any(metric in r for r in history):
            ax2.plot(epochs, [float(r[metric]) for r in history], "o-", color="tab:blue", label="train")
    ax2.set_ylabel(metric.replace("_", " "))
    ax2.set_title(metric.replace("_", " "))
    for ax in (ax1, ax2):
        if best_epoch in epochs:
            ax.axvline(best_epoch, color="tab:green", linestyle="--", linewidth=1, label=f"kept: epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs if len(epochs) <= 20 else ax.get_xticks())
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(f"{title}: training curves" if title else "training curves")
    return fig


def confusion_matrix(labels: list[str], matrix: list[list[int]], title: str = "") -> bytes:
    """A single-label confusion matrix (rows: true, columns: predicted), coloured by each row's share."""
    plt = _pyplot()
    m = np.asarray(matrix, dtype=float)
    labels = list(labels)
    if len(labels) > MAX_CLASSES:  # keep the classes with most support
        keep = np.sort(np.argsort(-m.sum(axis=1), kind="stable")[:MAX_CLASSES])
        m, labels = m[np.ix_(keep, keep)], [labels[i] for i in keep]
        title = (title + " " if title else "") + f"(the {MAX_CLASSES} largest classes)"
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    size = min(max(4.0, 0.45 * len(labels) + 2), 24)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_xticks(range(len(labels)), [name[:24] for name in labels], rotation=60, ha="right")
    ax.set_yticks(range(len(labels)), [name[:24] for name in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(labels) <= MAX_ANNOTATED:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if m[i, j]:
                    ax.text(
                        j,
                        i,
                        f"{int(m[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black",
                    )
    ax.set_title(title or "confusion matrix")
    return _png(fig)


def label_matrix(per_label: dict[str, dict], title: str = "") -> bytes:
    """Multi-label: per label, the true positives, false negatives and false positives as bars."""
    plt = _pyplot()
    names = sorted(per_label, key=lambda n: -per_label[n]["support"])[:MAX_CLASSES]
    tp = np.asarray([per_label[n]["tp"] for n in names])
    fn = np.asarray([per_label[n]["fn"] for n in names])
    fp = np.asarray([per_label[n]["fp"] for n in names])
    fig, ax = plt.subplots(figsize=(min(max(6, 0.35 * len(names) + 2), 24), 4.5))
    x = np.arange(len(names))
    ax.bar(x, tp, color="tab:green", label="true positives")
    ax.bar(x, fn, bottom=tp, color="tab:orange", label="false negatives (missed)")
    ax.bar(x, fp, bottom=tp + fn, color="tab:red", label="false positives")
    ax.set_xticks(x, [n[:24] for n in names], rotation=60, ha="right")
    ax.set_ylabel("rows")
    ax.legend()
    ax.set_title(title or "per-label outcomes")
    return _png(fig)


def confusion_png(metrics: dict, title: str = "") -> bytes | None:
    """The confusion plot that fits a metrics dict from :func:`textclf.use.metrics.metrics_from_probs`, its
    title followed by the headline figure and, for a binary or multi-label task, the threshold used."""
    title = confusion_title(metrics, title)
    if "confusion_matrix" in metrics:
        cm = metrics["confusion_matrix"]
        return confusion_matrix(cm["labels"], cm["matrix"], title)
    if "per_label" in metrics and all("tp" in v for v in metrics["per_label"].values()):
        return label_matrix(metrics["per_label"], title)
    return None


def confusion_title(metrics: dict, title: str = "") -> str:
    """``title`` over the headline figure and the threshold (see :func:`headline`), on two lines."""
    return "\n".join(part for part in (title, headline(metrics)) if part)


def headline(metrics: dict) -> str:
    """``accuracy 0.9120, threshold 0.42 (tuned)``: the figure a confusion plot shows, and its threshold."""
    parts = [f"{key.replace('_', ' ')} {metrics[key]:.4f}" for key in ("micro_f1", "accuracy") if key in metrics][:1]
    threshold = metrics.get("threshold")
    if isinstance(threshold, (int, float)):
        source = metrics.get("threshold_source")
        parts.append(f"threshold {threshold:.3g}" + (f" ({source})" if source else ""))
    elif isinstance(threshold, list):
        parts.append(
            "thresholds per label" + (f" ({metrics['threshold_source']})" if "threshold_source" in metrics else "")
        )
    return ", ".join(parts)
