"""Background tasks of a service: the one way to stop one (docs/architecture.md §7), and
the one loop of a service that runs periodic passes (`PeriodicPass`).

Stopping cancels the task and waits until it has ended, so nothing of it runs after
its service's `stop()` returned (the store may close next); the cancellation it ends
with is expected and not raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[object] | asyncio.Task[None] | None) -> None:
    """Cancel `task` (None: nothing to stop) and wait for it to end."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def stop_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel every task first, then wait for each (they end concurrently)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        await stop_task(task)


class PeriodicPass:
    """A service whose work is one pass, run at start, then every `pass_seconds` or as
    soon as `wake` is set (trash purge, search indexing, reminders, profile retention).

    A failing pass is logged and the next one runs on time: one bad row must not stop
    the service. `passed` is set after each pass, so tests wait on an event, never on
    time. Subclasses give `name` and `one_pass`.
    """

    name = "periodic"

    def __init__(self, *, pass_seconds: float) -> None:
        self.pass_seconds = pass_seconds
        self.wake = asyncio.Event()
        self.passed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def one_pass(self) -> None:
        raise NotImplementedError

    async def start(self) -> list[str]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"mss-{self.name}")
        return []

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self.one_pass()
            except Exception:
                log.exception("%s pass failed", self.name)
            self.passed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.pass_seconds)
