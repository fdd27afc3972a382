"""The retention pass of the medical profile: every hour, the profiles of opposed spaces
are erased, and those of spaces closed longer than the retention period
(mss.profile.service.erase_expired_profiles; docs/medical-profile.md §Retention). Safe
on several nodes: a second node's pass finds nothing left to erase."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mss.background import stop_task
from mss.profile.service import erase_expired_profiles
from mss.store.store import Store

log = logging.getLogger(__name__)
PASS_SECONDS = 3600.0


class ProfileRetention:
    name = "profile-retention"

    def __init__(self, store: Store, *, pass_seconds: float = PASS_SECONDS) -> None:
        self.store = store
        self.pass_seconds = pass_seconds
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> list[str]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mss-profile-retention")
        return []

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            try:
                await erase_expired_profiles(self.store)
            except Exception:
                log.exception("profile retention pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.pass_seconds)
