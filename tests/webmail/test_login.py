"""Login, second factor, sessions that expire, logout, lockout (issue 8, patients)."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from mss.directory.second_factor import begin_enrolment, check_code

from .conftest import Web, csrf_of


async def test_patient_logs_in_with_address_and_reaches_inbox(web: Web) -> None:
    async with web.client() as client:
        response = await web.login(client, web.world.jeanne)
        assert response.status_code == 303 and response.headers["location"] == "/inbox"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert (await client.get("/inbox")).status_code == 200


async def test_patient_logs_in_with_ins(web: Web) -> None:
    async with web.client() as client:
        response = await web.login(client, web.world.jeanne_ins)
        assert response.headers["location"] == "/inbox"


async def test_wrong_password_is_refused_uniformly(web: Web) -> None:
    async with web.client() as client:
        wrong = await web.login(client, web.world.jeanne, "nope")
        unknown = await web.login(client, "nobody@patient.mss.localhost", "nope")
        assert wrong.status_code == unknown.status_code == 401
        assert (await client.get("/inbox")).headers["location"] == "/login"


async def test_lockout_after_repeated_failures_even_with_the_right_password(web: Web) -> None:
    async with web.client() as client:
        for _ in range(5):
            assert (await web.login(client, web.world.paul, "bad")).status_code == 401
        assert (await web.login(client, web.world.paul)).status_code == 401
        web.store.clock.advance(timedelta(minutes=6))  # type: ignore[attr-defined]
        assert (await web.login(client, web.world.paul)).status_code == 303


async def test_login_form_without_csrf_is_refused(web: Web) -> None:
    async with web.client() as client:
        await client.get("/login")
        response = await client.post("/login", data={"login": web.world.jeanne,
                                                     "password": web.world.password})
        assert response.status_code == 403


async def test_session_expires_when_idle_and_absolutely(web: Web) -> None:
    clock = web.store.clock
    async with web.client() as client:
        await web.login(client, web.world.jeanne)
        clock.advance(timedelta(minutes=29))  # type: ignore[attr-defined]
        assert (await client.get("/inbox")).status_code == 200
        clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]
        assert (await client.get("/inbox")).headers["location"] == "/login"
    async with web.client() as client:
        await web.login(client, web.world.jeanne)
        for _ in range(25):  # active all along, but 12 h is the absolute limit
            clock.advance(timedelta(minutes=29))  # type: ignore[attr-defined]
            await client.get("/inbox")
        assert (await client.get("/inbox")).headers["location"] == "/login"


async def test_logout_ends_the_session(jeanne, web: Web) -> None:
    token = await web.csrf(jeanne, "/inbox")
    response = await jeanne.post("/logout", data={"csrf": token})
    assert response.headers["location"] == "/login"
    assert (await jeanne.get("/inbox")).headers["location"] == "/login"


async def test_totp_second_factor(web: Web) -> None:
    secret = await begin_enrolment(web.store, web.world.jeanne)
    totp = pyotp.TOTP(secret)
    now = web.store.clock.now()
    assert await check_code(web.store, web.world.jeanne, totp.at(now), confirm=True)
    web.store.clock.advance(timedelta(seconds=60))  # type: ignore[attr-defined]
    async with web.client() as client:
        response = await web.login(client, web.world.jeanne)
        assert response.headers["location"] == "/login/code"
        assert (await client.get("/inbox")).headers["location"] == "/login"
        page = await client.get("/login/code")
        bad = await client.post("/login/code", data={"csrf": csrf_of(page.text),
                                                     "code": "000000"})
        assert bad.status_code == 401
        code = totp.at(web.store.clock.now())
        good = await client.post("/login/code", data={"csrf": csrf_of(page.text), "code": code})
        assert good.headers["location"] == "/inbox"
        assert (await client.get("/inbox")).status_code == 200
    async with web.client() as client:  # the same code cannot be replayed
        await web.login(client, web.world.jeanne)
        page = await client.get("/login/code")
        replay = await client.post("/login/code", data={"csrf": csrf_of(page.text),
                                                        "code": code})
        assert replay.status_code == 401


async def test_professional_logs_in_to_an_org_mailbox_as_member(web: Web) -> None:
    async with web.client() as client:
        response = await web.login(client, web.world.bruno, mailbox=web.world.cardiology)
        assert response.headers["location"] == "/pro"
        page = await client.get("/pro")
        assert web.world.cardiology in page.text
    async with web.client() as client:  # not a member of a mailbox named: refused
        response = await web.login(client, web.world.jeanne, mailbox=web.world.cardiology)
        assert response.status_code == 401


async def test_patient_cannot_open_professional_pages_and_back(jeanne, alice) -> None:
    assert (await jeanne.get("/pro")).headers["location"] == "/login"
    assert (await alice.get("/inbox")).headers["location"] == "/login"
