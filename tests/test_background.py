"""Stopping a background task: cancelled, awaited to its end, nothing raised."""

from __future__ import annotations

import asyncio

from mss.background import stop_task, stop_tasks


async def test_a_running_task_is_cancelled_and_has_ended_when_stop_returns() -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            finished.append("cleanup ran")

    task = asyncio.create_task(forever())
    await started.wait()
    await stop_task(task)
    assert task.cancelled() and finished == ["cleanup ran"]
    await stop_task(None)  # nothing to stop


async def test_several_tasks_stop_together() -> None:
    tasks = [asyncio.create_task(asyncio.Event().wait()) for _ in range(3)]
    await asyncio.sleep(0)  # let them start: a yield, not a wait for time
    await stop_tasks(tasks)
    assert all(task.done() for task in tasks)
