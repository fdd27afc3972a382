"""The patient's document-access API (issue 20 §3): she lists who can see which of her
documents and blocks or unblocks one of them by the id the list gives, with her session
and its CSRF token; the professional's view follows at once; the OpenAPI describes it."""

from __future__ import annotations

from mss.store.audit import events_for_subject

from .conftest import PDF, Web

ACCESS = "/api/v1/me/document-access"


async def test_she_sees_who_can_see_what_and_blocks_by_choosing(web: Web, jeanne,
                                                                alice) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    listing = await jeanne.get(ACCESS)
    assert listing.status_code == 200
    body = listing.json()
    [alice_entry] = [p for p in body["professionals"] if p["name"] == "Dr Alice MARTIN"]
    assert alice_entry["blocked"] is False and alice_entry["why"] == ["in_care"]
    assert sum(d["count"] for d in alice_entry["documents"]) == 1
    assert alice_entry["profession"]
    before = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert "ordonnance.pdf" in before.text

    no_token = await jeanne.post(f"{ACCESS}/{alice_entry['id']}/block")
    assert no_token.status_code == 403 and no_token.json()["error"] == "csrf"
    assert "ordonnance.pdf" in (await alice.get(
        f"/pro/patients/{web.world.jeanne_ins}/documents")).text

    blocked = await jeanne.post(f"{ACCESS}/{alice_entry['id']}/block",
                                headers={"X-CSRF-Token": body["csrf_token"]})
    assert blocked.status_code == 200
    [after] = [p for p in blocked.json()["professionals"] if p["id"] == alice_entry["id"]]
    assert after["blocked"] is True and after["documents"] == []
    assert "ordonnance.pdf" not in (await alice.get(
        f"/pro/patients/{web.world.jeanne_ins}/documents")).text

    opened = await jeanne.post(f"{ACCESS}/{alice_entry['id']}/unblock",
                               headers={"X-CSRF-Token": body["csrf_token"]})
    assert opened.status_code == 200
    assert "ordonnance.pdf" in (await alice.get(
        f"/pro/patients/{web.world.jeanne_ins}/documents")).text
    async with web.store.reading() as session:
        details = [e.detail or "" for e in await events_for_subject(
            session, web.world.jeanne_ins, limit=200)]
    assert any(f"blocked for professional:{alice_entry['id']}" in d for d in details)
    assert any(f"opened again to professional:{alice_entry['id']}" in d for d in details)


async def test_only_listed_professionals_and_only_her_session(web: Web, jeanne,
                                                              alice) -> None:
    await web.send(subject="Ordonnance")
    token = (await jeanne.get(ACCESS)).json()["csrf_token"]
    unknown = await jeanne.post(f"{ACCESS}/810000009999/block",
                                headers={"X-CSRF-Token": token})
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert (await alice.get(ACCESS)).status_code == 401
    async with web.client() as anonymous:
        assert (await anonymous.get(ACCESS)).status_code == 401
        assert (await anonymous.post(f"{ACCESS}/x/block")).status_code == 401


async def test_openapi_describes_the_patient_routes(web: Web) -> None:
    async with web.client() as client:
        spec = (await client.get("/api/v1/openapi.json")).json()
    assert {"/me/document-access", "/me/document-access/{professional}/block",
            "/me/document-access/{professional}/unblock"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["patient_session"]["in"] == "cookie"
    refs = spec["paths"]["/me/document-access"]["get"]["responses"]["200"]
    assert refs["content"]["application/json"]["schema"]["$ref"].endswith("AccessList")
