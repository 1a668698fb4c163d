"""SQLite's single writer: one thread, one connection, group commit.

Every write of the process goes through here. Synchronous transactions (`submit`) queued while the
thread was busy run together inside one BEGIN IMMEDIATE ... COMMIT, each in its own SAVEPOINT, so a
failing request rolls back only its own work and each transaction is answered only after the shared
COMMIT has been made. Across processes, BEGIN IMMEDIATE and the busy timeout serialize writers.

An async caller (`submit_async`, what `Database.transact` uses) gets an asyncio future of its own loop, and a
batch answers all of a loop's jobs with one `call_soon_threadsafe`: one wake-up of the event loop per batch
rather than a concurrent future, its condition lock and a wake-up per job (benchmarks/queue_cpu.py: that
hand-off was the part of a queue cycle's CPU that grows with the number of requests in flight).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from labeling import sqltx

MAX_BATCH = 64
_STOP = object()


@dataclass
class _Job:
    fn: Callable[[sqltx.Tx], Any]
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


class _AsyncJob:
    """A job whose answer goes to an asyncio future of `loop` (delivered with the rest of its batch)."""

    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: Callable[[sqltx.Tx], Any], future: asyncio.Future, loop: asyncio.AbstractEventLoop
                 ) -> None:
        self.fn, self.future, self.loop = fn, future, loop


def _deliver(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
    """In the event loop: answer each waiting future (one its caller gave up on, cancelled, is skipped)."""
    for future, ok, value in outcomes:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class SqliteWriter:
    """The writer thread of one SQLite database file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="labeling-sqlite-writer", daemon=True)
                self._thread.start()

    def submit(self, fn: Callable[[sqltx.Tx], Any]) -> concurrent.futures.Future:
        """Queue a transaction; the future holds its result (or exception) once committed."""
        self._ensure_started()
        job = _Job(fn)
        self._jobs.put(job)
        return job.future

    def submit_async(self, fn: Callable[[sqltx.Tx], Any]) -> asyncio.Future:
        """Queue a transaction from a coroutine; the future (of the running loop) holds its result (or
        exception) once committed."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(_AsyncJob(fn, future, loop))
        return future

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        conn = sqltx.open_sqlite(self.path)
        try:
            carried: Any = None
            while True:
                item = carried if carried is not None else self._jobs.get()
                carried = None
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        carried = more  # the stop signal waits for this batch to commit
                        break
                    batch.append(more)
                self._run_batch(conn, batch)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            tx = sqltx.SqliteTx(conn)
            for job in batch:
                # A job whose caller gave up (its task cancelled: Ctrl+C during `labeling import`) stops at its
                # next statement and is undone: before, it ran on to commit after the caller had gone.
                tx.abandoned = job.future.cancelled
                conn.execute("SAVEPOINT job")
                try:
                    if tx.abandoned():
                        raise sqltx.Abandoned("the caller gave up on this transaction before it began")
                    result = job.fn(tx)
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((True, result))
            conn.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - the batch could not commit: every job fails
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(batch)
        _answer(batch, outcomes)


def _answer(batch: list[Any], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand each job its outcome: concurrent futures at once, asyncio ones in one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, bool, Any]]] = {}
    for job, (ok, value) in zip(batch, outcomes):
        if isinstance(job, _AsyncJob):
            by_loop.setdefault(job.loop, []).append((job.future, ok, value))
        elif job.future.set_running_or_notify_cancel():
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_deliver, answers)
        except RuntimeError:  # the loop was closed meanwhile: nobody is waiting any more
            pass
