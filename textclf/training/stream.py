"""Streamed training data: the batches of one epoch, read from disk through a shuffle window.

Which rows belong to training and to this worker's shard is decided in :mod:`textclf.io.streaming`; here the
rows are encoded, shuffled within windows of ``data.shuffle_buffer`` rows, sorted by length into batches
within each window, and the batch order shuffled. Memory stays bounded by the window.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..io.streaming import Scan, shard_rows
from .inputs import encode_targets


def epoch_stream(
    scan_: Scan,
    cfg,
    encoder,
    task: str,
    classes: list[str],
    *,
    epoch: int,
    batch_size: int,
    worker: int = 0,
    workers: int = 1,
    steps: int | None = None,
    drop_remainder: bool = False,
) -> Iterator[tuple[dict, np.ndarray]]:
    """The batches of one epoch for one worker, read from disk: (model inputs, targets).

    Stops after ``steps`` batches when given (every worker must run the same number of steps).
    """
    from ..model.vocabulary import Encoded, epoch_batches

    rng = np.random.default_rng([cfg.train.seed, epoch, 7])
    window: list[tuple[Encoded, np.ndarray]] = []
    in_window = 0
    emitted = 0

    def flush(final: bool):
        nonlocal window, in_window, emitted
        if not window:
            return
        enc = Encoded.concat([e for e, _ in window]) if len(window) > 1 else window[0][0]
        y = np.concatenate([t for _, t in window]) if len(window) > 1 else window[0][1]
        batches = epoch_batches(enc.lengths, batch_size, rng)
        partial = [b for b in batches if len(b) < batch_size]
        full = [b for b in batches if len(b) == batch_size]
        window, in_window = [], 0
        if partial and not final:  # carried into the next window
            rest = np.concatenate(partial)
            window, in_window = [(enc.take(rest), y[rest])], len(rest)
            partial = []
        for b in full + ([] if drop_remainder else partial):
            if steps is not None and emitted >= steps:
                return
            emitted += 1
            yield enc.batch(b), y[b]

    for f in rng.permutation(len(scan_.paths)):
        for texts, labels in shard_rows(scan_, cfg, int(f), worker, workers):
            window.append((encoder.encode(texts), encode_targets(labels, task, classes, cfg.data.label_separator)))
            in_window += len(texts)
            if in_window >= cfg.data.shuffle_buffer:
                yield from flush(final=False)
                if steps is not None and emitted >= steps:
                    return
    yield from flush(final=True)
