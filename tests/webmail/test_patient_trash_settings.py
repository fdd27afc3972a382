"""Trash restorable for 30 days and purged after by the background pass (the injected
clock moves, never a sleep), notice preferences (on/off, daily digest) obeyed by the
notifier, and the list of her devices with sign-out — over HTTP against a real uvicorn
(httpx), every change traced (issue 21, Patient webmail)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from mss.clock import ManualClock
from mss.directory.web_sessions import open_session
from mss.notify.notifier import Notifier
from mss.notify.relay_settings import RelaySettings
from mss.notify.tables import NoticeRow
from mss.pipeline.trash import RESTORE_DAYS, TrashPurger
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from mss.webmail.web_auth import SESSION_COOKIE

from .conftest import Web, csrf_of, patient
from .test_browser import base_url  # noqa: F401
from .test_patient_mail import conversation_link, real_client, she  # noqa: F401


async def _details(web: Web, action: AuditAction) -> list[str]:
    async with web.store.reading() as session:
        events = await events_for_subject(session, web.world.jeanne_ins)
    return [e.detail for e in events if e.action == action]


async def _delete_first(she: httpx.AsyncClient) -> str:  # noqa: F811
    page = await she.get(conversation_link((await she.get("/inbox")).text))
    link = re.findall(r'href="(/messages/inbox/\d+)"', page.text)[0]
    message = await she.get(link)
    deleted = await she.post(f"{link}/delete", data={"csrf": csrf_of(message.text)})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/trash?deleted=1"
    return csrf_of(message.text)


async def test_deleted_messages_are_restorable_from_the_trash(web: Web, she) -> None:  # noqa: F811
    await web.send(subject="À garder", body="Important.")
    csrf = await _delete_first(she)
    assert "À garder" not in (await she.get(
        conversation_link((await she.get("/inbox")).text))).text
    trash = await she.get("/trash")
    assert "À garder" in trash.text and "restaurable jusqu" in trash.text
    until = (web.store.clock.now() + timedelta(days=RESTORE_DAYS)).astimezone()
    assert until.strftime("%d/%m/%Y") in trash.text
    uid = re.search(r'action="/trash/(\d+)/restore"', trash.text).group(1)
    restored = await she.post(f"/trash/{uid}/restore", data={"csrf": csrf})
    assert restored.status_code == 303
    assert "À garder" not in (await she.get("/trash")).text
    back = await she.get(conversation_link((await she.get("/inbox")).text))
    assert "Important." in back.text
    moves = await _details(web, AuditAction.MESSAGE_MOVED)
    assert any("to=Trash" in d for d in moves) and any("restored" in d for d in moves)
    again = await she.post(f"/trash/{uid}/restore", data={"csrf": csrf})
    assert again.status_code == 404  # nothing left to restore


async def test_the_purge_erases_only_what_was_trashed_30_days_ago(
        web: Web, base_url: str, clock: ManualClock) -> None:  # noqa: F811
    await web.send(subject="Ancien", body="Vieux message.")
    async with await real_client(web, base_url, patient(web)) as she:  # noqa: F811
        await _delete_first(she)
    clock.advance(timedelta(days=RESTORE_DAYS - 1))
    await web.send(subject="Récent", body="Nouveau message.")
    async with await real_client(web, base_url, patient(web)) as she:
        await _delete_first(she)
    purger = TrashPurger(web.store)
    await purger.start()
    try:
        await purger.passed.wait()
        assert purger.purged == 0  # 29 days: both still restorable
        clock.advance(timedelta(days=1, seconds=1))
        purger.passed.clear()
        purger.wake.set()
        await purger.passed.wait()
        assert purger.purged == 1
    finally:
        await purger.stop()
    async with await real_client(web, base_url, patient(web)) as she:
        trash = await she.get("/trash")
    assert "Ancien" not in trash.text and "Récent" in trash.text
    expunged = await _details(web, AuditAction.MESSAGE_EXPUNGED)
    assert len(expunged) == 1 and "after=30d" in expunged[0]


async def test_notice_preferences_are_kept_and_obeyed(web: Web, she,  # noqa: F811
                                                      clock: ManualClock) -> None:
    notifier = Notifier(web.store, RelaySettings(host="127.0.0.1"))
    web.pipeline.in_delivery.append(notifier.on_delivery)

    async def notices() -> int:
        async with web.store.reading() as session:
            return int((await session.execute(
                select(func.count()).select_from(NoticeRow))).scalar_one())

    await web.send(subject="Un")
    assert await notices() == 1  # the default: a notice for each message
    page = await she.get("/settings")
    assert 'name="enabled" value="1" checked' in page.text
    saved = await she.post("/settings", data={"csrf": csrf_of(page.text),
                                              "action": "notices", "digest": "each"})
    assert saved.status_code == 303
    await web.send(subject="Deux")
    assert await notices() == 1  # off: nothing queued
    await she.post("/settings", data={"csrf": csrf_of(page.text), "action": "notices",
                                      "enabled": "1", "digest": "daily"})
    page = await she.get("/settings")
    assert '<option value="daily" selected>' in page.text
    bad = await she.post("/settings", data={"csrf": csrf_of(page.text), "action": "notices",
                                            "digest": "hourly"})
    assert bad.status_code == 422  # refused, nothing changed
    assert '<option value="daily" selected>' in (await she.get("/settings")).text
    clock.advance(timedelta(days=1, seconds=1))
    await web.send(subject="Trois")
    await web.send(subject="Quatre")
    assert await notices() == 2  # the daily digest: one for both
    clock.advance(timedelta(days=1, seconds=1))
    await web.send(subject="Cinq")
    assert await notices() == 3
    changes = await _details(web, AuditAction.PATIENT_STATE_CHANGED)
    assert "notices=off digest=each" in changes and "notices=on digest=daily" in changes


async def test_her_devices_are_listed_and_can_be_signed_out(web: Web,
                                                            base_url: str) -> None:  # noqa: F811
    jeanne = patient(web)
    other = await open_session(web.store, jeanne, user_agent="Firefox sur Android",
                               client_address="192.0.2.7")
    stranger = await open_session(web.store, patient(web, "paul"), user_agent="Paul's")
    async with httpx.AsyncClient(base_url=base_url,
                                 headers={"user-agent": "Chromium sur Linux"}) as browser:
        login = await browser.get("/login")
        signed = await browser.post("/login", data={
            "csrf": csrf_of(login.text), "login": web.world.jeanne,
            "password": web.world.password})
        assert signed.status_code == 303
        page = await browser.get("/settings")
        assert "Firefox sur Android" in page.text and "192.0.2.7" in page.text
        assert "Chromium sur Linux" in page.text and "(cet appareil)" in page.text
        assert "Paul's" not in page.text
        handles = re.findall(r'name="session" value="([0-9a-f]+)"', page.text)
        assert len(handles) == 1  # her current device has no sign-out button of its own
        out = await browser.post("/settings", data={"csrf": csrf_of(page.text),
                                                    "action": "sign_out",
                                                    "session": handles[0]})
        assert out.status_code == 303
        async with httpx.AsyncClient(base_url=base_url) as phone:
            phone.cookies.set(SESSION_COOKIE, other.token)
            assert (await phone.get("/inbox")).status_code == 303  # signed out
            paul = httpx.AsyncClient(base_url=base_url)
            paul.cookies.set(SESSION_COOKIE, stranger.token)
            assert (await paul.get("/inbox")).status_code == 200  # hers only
            await paul.aclose()
        page = await browser.get("/settings")
        again = await browser.post("/settings", data={"csrf": csrf_of(page.text),
                                                      "action": "sign_out",
                                                      "session": handles[0]})
        assert again.status_code == 404
        assert (await browser.get("/inbox")).status_code == 200  # this one still signed in
