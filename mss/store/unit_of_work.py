"""One writing transaction, shared by several concurrent callers (group commit).

Invariants:
- a caller's future resolves only after the transaction that holds its work has
  committed (and so, on SQLite with synchronous=FULL, after the WAL fsync): a 250 sent
  on that result is durable;
- a caller whose work fails gets its exception and none of its rows; the others'
  work is rerun in a fresh transaction and still commits;
- a batch that PostgreSQL rolls back for a deadlock or a serialization failure is
  run again whole (a few times), nothing of it having committed;
- work a job deferred (`UnitOfWork.defer`) runs in the same transaction, after every
  job of the batch and before the audit rows; its failure is its job's failure;
- change events are published only after commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from mss.background import stop_task
from mss.clock import Clock
from mss.identity import Principal
from mss.store.audit import AuditChain, AuditSeal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.events import ChangeEvent, EventBus
from mss.store.sqlite_driver import SqliteConnection

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 128
MAX_CONFLICT_RETRIES = 5


@dataclass
class UnitOfWork:
    """What a job sees: the session, the audit chain, and events to publish on commit.

    `core()` gives the session's own connection (same transaction) for prebuilt Core
    statements on hot paths: they skip the ORM session's per-statement work.
    """

    session: AsyncSession
    clock: Clock
    _chain: AuditChain
    connection: AsyncConnection
    events: list[ChangeEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # the batch's deferred items by runner, each with the index of the job that deferred it
    _deferred: dict[DeferredRunner, list[tuple[int, Any]]] = field(default_factory=dict)
    _job_index: int = 0
    # when a job sets it: the audit rows this job appended (logged after the commit)
    audited: list[dict[str, object]] | None = None

    def now(self) -> datetime:
        return self.clock.now()

    async def core(self) -> AsyncConnection:
        """The transaction's connection, after flushing what the session holds pending
        (`session.execute` autoflushes; a statement on the connection would not)."""
        sync = self.session.sync_session
        if sync.new or sync.deleted or sync.dirty:
            await self.session.flush()
        return self.connection

    def audit(
        self, action: AuditAction, principal: Principal | str, *, target: str = "",
        outcome: AuditOutcome = AuditOutcome.OK, subject: str = "", detail: str = "",
    ) -> None:
        row = self._chain.append(
            at=self.clock.now(), principal=principal, action=action,
            target=target, outcome=outcome, subject=subject, detail=detail,
        )
        if self.audited is not None:
            self.audited.append(row)

    def publish(self, event: ChangeEvent) -> None:
        self.events.append(event)

    def defer(self, runner: DeferredRunner, item: Any) -> None:
        """Have `runner` write `item` with the batch's other items of the same kind, once
        every job of the batch has run (for writes whose results the job does not need:
        the batch then pays one database round trip for all of them, docs/design-notes.md,
        Performance)."""
        self._deferred.setdefault(runner, []).append((self._job_index, item))


# Runs the deferred items of one kind of a whole batch (one database round trip for
# many, where the engine allows); raises DeferredWriteFailed to name the item at fault.
DeferredRunner = Callable[[AsyncConnection, list[Any]], Awaitable[None]]


class DeferredWriteFailed(Exception):
    """The deferred item at `position` (in the list given to the runner) failed."""

    def __init__(self, position: int, error: BaseException) -> None:
        super().__init__(position, error)
        self.position = position
        self.error = error


Job = Callable[[UnitOfWork], Awaitable[Any]]
# Sends a transaction's change events to the other nodes, inside that transaction.
Announcer = Callable[[AsyncSession, list[ChangeEvent]], Awaitable[None]]


@dataclass
class _Pending:
    job: Job
    future: asyncio.Future[Any]


class WriteBatcher:
    """Runs submitted jobs in shared transactions, one commit for many callers."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, bus: EventBus,
        seal: AuditSeal, chain: Callable[[], str], *, max_batch: int = MAX_BATCH,
        announce: Announcer | None = None,
    ) -> None:
        self._sessions = sessions
        self._chain = chain  # this writer's audit chain: its node id (docs/audit.md)
        self._clock = clock
        self._bus = bus
        self._seal = seal
        self._max_batch = max_batch
        self._announce = announce
        self.audit_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def submit(self, job: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        if self._closing:
            raise RuntimeError("the store is closing")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mss-write-batcher")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(job, future))
        # shield: a caller that goes away must not cancel a commit in flight for others
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish what was submitted, then stop."""
        self._closing = True
        if self._task is not None:
            await self._queue.join()
            await stop_task(self._task)
            self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Pending]) -> None:
        """Run the batch in one transaction; a failing job is dropped and the rest rerun.

        Failures are rare (policy refusals are results, not exceptions), so rerunning
        is cheaper than a SAVEPOINT around every job.
        """
        pending = list(batch)
        conflicts = 0
        while pending:
            done: list[tuple[_Pending, Any, UnitOfWork]] = []
            failed: tuple[int, BaseException] | None = None
            try:
                async with self._sessions() as session, session.begin():
                    connection = await session.connection()
                    chain = AuditChain(self._seal, self._chain())
                    deferred: dict[DeferredRunner, list[tuple[int, Any]]] = {}
                    for index, item in enumerate(pending):
                        uow = UnitOfWork(session, self._clock, chain, connection,
                                         _deferred=deferred, _job_index=index)
                        try:
                            result = await item.job(uow)
                        except Exception as exc:  # the caller receives it
                            failed = (index, exc)
                            raise _RollBack from exc
                        done.append((item, result, uow))
                    sync = session.sync_session
                    if sync.new or sync.dirty or sync.deleted:
                        await session.flush()  # before the COMMIT _finish may send
                    failed = await self._finish(connection, deferred, chain)
                    if failed is not None:
                        raise _RollBack from failed[1]
                    if self._announce is not None:
                        await self._announce(session, [e for _, _, u in done for e in u.events])
            except _RollBack:
                assert failed is not None
                index, error = failed
                if not pending[index].future.done():
                    pending[index].future.set_exception(error)
                del pending[index]
                continue
            except Exception as exc:
                if _conflict(exc) and conflicts < MAX_CONFLICT_RETRIES:
                    # another node's transaction won a lock cycle or a serialization
                    # check; nothing of this one committed: run it again, whole
                    conflicts += 1
                    log.warning("batch of %d job(s) rerun after %s", len(pending), exc)
                    continue
                log.error("commit of %d job(s) failed", len(pending), exc_info=True)
                for item in pending:
                    if not item.future.done():
                        item.future.set_exception(exc)
                return
            self._after_commit(done)
            for listener in self.audit_listeners:
                listener(chain.saved)
            return

    async def _finish(
        self, connection: AsyncConnection, deferred: dict[DeferredRunner, list[tuple[int, Any]]],
        chain: AuditChain,
    ) -> tuple[int, BaseException] | None:
        """The deferred writes, then the audit rows; (job index, error) if one failed.

        On SQLite each of them is one call to the connection's thread, and so is the
        COMMIT (made only if none of them failed): started together, held (`cork`) and
        sent as one hop, they run back to back there and the event loop is waited for
        once, not once each (the thread keeps their order; a failure rolls everything
        back anyway). Each runner makes its one call before awaiting anything else: a
        call arriving after the COMMIT is refused (mss.store.sqlite_driver)."""
        driver = (await connection.get_raw_connection()).driver_connection
        outcomes: list[Any] = []
        if isinstance(driver, SqliteConnection):
            driver.cork()  # their calls and the COMMIT: one hop (SqliteConnection.cork)
            try:
                outcomes = await asyncio.gather(
                    *(runner(connection, [entry for _, entry in entries])
                      for runner, entries in deferred.items()),
                    chain.save(connection),
                    # no announcer on SQLite: nothing else comes before the commit
                    driver.commit_unless_failed(), return_exceptions=True,
                )
            finally:
                driver.uncork()  # already done by the COMMIT, unless it never came
            committed = outcomes.pop()  # False when a call before it failed: shown below
            if isinstance(committed, BaseException):
                raise committed
        else:
            try:
                for runner, entries in deferred.items():
                    await runner(connection, [entry for _, entry in entries])
                    outcomes.append(None)
                await chain.save(connection)
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(exc)
        for (_, entries), outcome in zip(deferred.items(), outcomes, strict=False):
            if isinstance(outcome, DeferredWriteFailed):
                return entries[outcome.position][0], outcome.error
            if isinstance(outcome, BaseException):
                raise outcome
        if len(outcomes) > len(deferred) and isinstance(outcomes[-1], BaseException):
            raise outcomes[-1]
        return None

    def _after_commit(self, done: list[tuple[_Pending, Any, UnitOfWork]]) -> None:
        for item, result, uow in done:
            for event in uow.events:
                self._bus.publish(event)
            for callback in uow.after_commit:
                try:
                    callback()
                except Exception:
                    log.exception("after-commit callback failed")
            if not item.future.done():
                item.future.set_result(result)


def _conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure (SQLSTATE 40P01 / 40001): PostgreSQL rolled
    the transaction back and says that running it again may succeed."""
    while error is not None:
        if getattr(error, "sqlstate", None) in _RETRYABLE:
            return True
        error = getattr(error, "orig", None) or error.__cause__  # type: ignore[assignment]
    return False


_RETRYABLE = frozenset({"40P01", "40001"})


class _RollBack(Exception):
    """Internal: abandon the shared transaction because one job failed."""
