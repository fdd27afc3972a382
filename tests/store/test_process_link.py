"""The link between a node's processes on SQLite: events both ways, never echoed back,
wake-ups to the main process, and a broken link noticed (mss.store.process_link)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mss.store.events import ChangeEvent, EventBus
from mss.store.process_link import ProcessHub, ProcessLink

MAILBOX = 7


async def next_event(queue: asyncio.Queue[ChangeEvent]) -> ChangeEvent:
    return await asyncio.wait_for(queue.get(), 10)


async def test_events_reach_every_other_process_and_never_come_back(tmp_path: Path) -> None:
    hub_bus, one_bus, two_bus = EventBus(), EventBus(), EventBus()
    hub = ProcessHub(hub_bus, tmp_path / "hub.sock")
    await hub.start()
    one, two = ProcessLink(one_bus, hub.path), ProcessLink(two_bus, hub.path)
    await one.start()
    await two.start()
    try:
        async with hub_bus.subscribe(MAILBOX) as at_hub, one_bus.subscribe(MAILBOX) as at_one, \
                two_bus.subscribe(MAILBOX) as at_two:
            flagged = ChangeEvent("flags", MAILBOX, 3, 9, 12, ("\\Seen",), "bruno")
            one_bus.publish(flagged)
            assert await next_event(at_one) == flagged  # its own local delivery
            assert await next_event(at_hub) == flagged
            assert await next_event(at_two) == flagged
            marker = ChangeEvent("exists", MAILBOX, 3, 10, 13)
            hub_bus.publish(marker)
            assert await next_event(at_hub) == marker
            # process one hears the marker and nothing before it: no echo of its event
            assert await next_event(at_one) == marker
            assert await next_event(at_two) == marker
            assert at_one.empty() and at_two.empty() and at_hub.empty()
    finally:
        await one.stop()
        await two.stop()
        await hub.stop()


async def test_a_wake_up_runs_in_the_main_process(tmp_path: Path) -> None:
    hub = ProcessHub(EventBus(), tmp_path / "hub.sock")
    woken = asyncio.Event()
    hub.wakeups["smtp_queue"] = woken.set
    await hub.start()
    link = ProcessLink(EventBus(), hub.path)
    await link.start()
    try:
        link.wake("smtp_queue")
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        await link.stop()
        await hub.stop()


async def test_a_link_knows_when_the_main_process_is_gone(tmp_path: Path) -> None:
    hub = ProcessHub(EventBus(), tmp_path / "hub.sock")
    await hub.start()
    link = ProcessLink(EventBus(), hub.path)
    await link.start()
    assert not link.lost.is_set()
    await hub.stop()
    await asyncio.wait_for(link.lost.wait(), 10)
    await link.stop()
    assert not hub.path.exists()
