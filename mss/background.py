"""Background tasks of a service: the one way to stop one (docs/architecture.md §7).

Stopping cancels the task and waits until it has ended, so nothing of it runs after
its service's `stop()` returned (the store may close next); the cancellation it ends
with is expected and not raised.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


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
