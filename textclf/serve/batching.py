"""Dynamic micro-batching: texts of requests that arrive together are scored in one model call.

One worker thread owns the model. A request puts its texts on a queue and waits on a future. The worker takes
the first waiting request, then gathers more for at most ``max_wait`` seconds or until ``max_texts`` texts
are gathered (a short bounded wait, as TensorFlow Serving's batching does), calls the model once on all their
texts and hands each request its own rows. Under light load a request waits at most ``max_wait``; under heavy
load each call carries many texts, so throughput grows with the load.

Work that cannot be merged (an explanation) is queued as a call of its own and runs on the same thread, in
turn, so that one thread only ever calls the model. No FastAPI, no TensorFlow: the model is a function.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
STOP = object()  # queued by close(): the worker ends when it reaches it


class Busy(Exception):
    """More texts are queued than the batcher accepts; the request should be retried later (HTTP 503)."""


class Stopped(Exception):
    """The batcher was stopped before the work ran."""


@dataclass
class TextsJob:
    """Texts to score with the others gathered with them."""

    texts: list[str]
    future: Future


@dataclass
class CallJob:
    """A function to run alone on the worker thread."""

    fn: Callable[[], Any]
    future: Future


@dataclass
class BatchStats:
    """What the worker did: requests, texts, model calls, and how many requests each call carried."""

    requests: int = 0
    texts: int = 0
    model_calls: int = 0
    other_calls: int = 0
    largest_batch_texts: int = 0
    requests_per_call: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        return {
            "requests": self.requests,
            "texts": self.texts,
            "model_calls": self.model_calls,
            "explain_calls": self.other_calls,
            "largest_batch_texts": self.largest_batch_texts,
            "largest_batch_requests": max(self.requests_per_call, default=0),
            "mean_batch_texts": round(self.texts / self.model_calls, 3) if self.model_calls else 0.0,
            "requests_per_call": {str(k): v for k, v in sorted(self.requests_per_call.items())},
        }


class MicroBatcher:
    """Scores texts with ``score(texts) -> rows`` (rows indexable by slices, one per text) on one worker thread.

    Args:
        score: the model call; it gets the texts of every gathered request at once.
        max_wait: seconds to wait for more requests after the first one (0: take only those already waiting).
        max_texts: gather no more texts than this into one call (a larger request is scored alone).
        max_queued: refuse new texts (:class:`Busy`) while this many wait.
    """

    def __init__(self, score: Callable[[list[str]], Any], max_wait: float, max_texts: int, max_queued: int):
        self.score, self.max_wait, self.max_texts, self.max_queued = score, max_wait, max_texts, max_queued
        self.stats = BatchStats()
        self.queued_texts = 0
        self._queue: queue.Queue = queue.Queue()
        self._held: Any = None  # taken from the queue while gathering, not yet run
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="textclf-serve-model", daemon=True)
        self._thread.start()

    def submit(self, texts: Sequence[str]) -> Future:
        """Queue ``texts``; the future's result is their rows of ``score``. Raises :class:`Busy` when full."""
        job = TextsJob(list(texts), Future())
        with self._lock:
            if self._stopping:
                raise Stopped("the server is stopping")
            if self.queued_texts and self.queued_texts + len(job.texts) > self.max_queued:
                raise Busy(f"{self.queued_texts:,} texts are waiting to be scored")
            self.queued_texts += len(job.texts)
            self._queue.put(job)
        return job.future

    def call(self, fn: Callable[[], Any]) -> Future:
        """Run ``fn()`` on the worker thread, in turn with the batches; the future holds its result."""
        job = CallJob(fn, Future())
        with self._lock:
            if self._stopping:
                raise Stopped("the server is stopping")
            self._queue.put(job)
        return job.future

    def close(self, timeout: float | None = None) -> None:
        """Finish the work already queued, then stop the worker thread."""
        with self._lock:
            self._stopping = True
            self._queue.put(STOP)
        self._thread.join(timeout)

    # ----------------------------------------------------------------------------------------------
    # The worker thread

    def _work(self) -> None:
        while True:
            job = self._next(None)
            if job is STOP:
                return
            if isinstance(job, CallJob):
                self._run_call(job)
            else:
                self._run_batch(self._gather(job))

    def _next(self, timeout: float | None) -> Any:
        """The held job, else the next queued one (a job or :data:`STOP`); None when ``timeout`` passes first."""
        if self._held is not None:
            job, self._held = self._held, None
            return job
        try:
            if timeout is None:
                return self._queue.get()
            return self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _gather(self, first: TextsJob) -> list[TextsJob]:
        """``first`` and the requests that arrive within ``max_wait`` of it, up to ``max_texts`` texts."""
        batch, count = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait
        while count < self.max_texts:
            job = self._next(deadline - time.monotonic())
            if job is None:
                break
            if not isinstance(job, TextsJob) or count + len(job.texts) > self.max_texts:
                self._held = job  # next: a call, the stop mark, or a request that would make the batch too large
                break
            batch.append(job)
            count += len(job.texts)
        return batch

    def _run_batch(self, batch: list[TextsJob]) -> None:
        with self._lock:
            self.queued_texts -= sum(len(job.texts) for job in batch)
        batch = [job for job in batch if job.future.set_running_or_notify_cancel()]  # the client went away
        if not batch:
            return
        texts = [text for job in batch for text in job.texts]
        try:
            rows = self.score(texts)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting request
            log.exception("scoring %d texts failed", len(texts))
            for job in batch:
                job.future.set_exception(exc)
            return
        stats = self.stats
        stats.requests, stats.texts, stats.model_calls = (
            stats.requests + len(batch),
            stats.texts + len(texts),
            stats.model_calls + 1,
        )
        stats.largest_batch_texts = max(stats.largest_batch_texts, len(texts))
        stats.requests_per_call[len(batch)] += 1
        start = 0
        for job in batch:
            job.future.set_result(rows[start : start + len(job.texts)])
            start += len(job.texts)

    def _run_call(self, job: CallJob) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            result = job.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            job.future.set_exception(exc)
            return
        self.stats.other_calls += 1
        job.future.set_result(result)
