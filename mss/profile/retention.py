"""The retention pass of the medical profile: every hour, the profiles of opposed spaces
are erased, and those of spaces closed longer than the retention period
(mss.profile.service.erase_expired_profiles; docs/medical-profile.md §Retention). Safe
on several nodes: a second node's pass finds nothing left to erase."""

from __future__ import annotations

import logging

from mss.background import PeriodicPass
from mss.profile.service import erase_expired_profiles
from mss.store.store import Store

log = logging.getLogger(__name__)
PASS_SECONDS = 3600.0


class ProfileRetention(PeriodicPass):
    """Erases opposed and expired closed profiles (mss.background.PeriodicPass)."""

    name = "profile-retention"

    def __init__(self, store: Store, *, pass_seconds: float = PASS_SECONDS) -> None:
        super().__init__(pass_seconds=pass_seconds)
        self.store = store

    async def one_pass(self) -> None:
        await erase_expired_profiles(self.store)
