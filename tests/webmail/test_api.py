"""JSON API for hospital software: bearer token of an APP mailbox, send, status,
OpenAPI (issue 8)."""

from __future__ import annotations

import base64
import json

from mss.directory.api_tokens import create_api_token, revoke_api_tokens

from .conftest import PDF, Web


async def test_send_with_attachment_returns_pipeline_results(web: Web) -> None:
    token = await create_api_token(web.store, web.world.noreply)
    headers = {"authorization": f"Bearer {token}"}
    body = {"to": [web.world.jeanne, "unknown@mss.localhost"], "subject": "Résultats",
            "text": "Vos résultats sont disponibles.",
            "headers": {"Reply-To": web.world.alice},
            "attachments": [{"filename": "biologie.pdf", "content_type": "application/pdf",
                             "content_base64": base64.b64encode(PDF).decode()}]}
    async with web.client() as client:
        response = await client.post("/api/v1/messages", json=body, headers=headers)
        assert response.status_code == 201
        data = response.json()
        by_address = {r["address"]: r for r in data["results"]}
        assert by_address[web.world.jeanne]["accepted"] is True
        assert by_address[web.world.jeanne]["code"] == 250
        refused = by_address["unknown@mss.localhost"]
        assert (refused["accepted"], refused["code"], refused["enhanced"], refused["rule"]) == (
            False, 550, "5.1.1", "R1")
        assert refused["reason"]
        status = await client.get(f"/api/v1/messages/{data['message_id'].strip('<>')}",
                                  headers=headers)
        assert status.status_code == 200
        states = {r["address"]: r["state"] for r in status.json()["recipients"]}
        assert states == {web.world.jeanne: "delivered", "unknown@mss.localhost": "refused"}
        other = await create_api_token(web.store, web.world.noreply)
        assert other != token


async def test_multipart_send(web: Web) -> None:
    token = await create_api_token(web.store, web.world.noreply)
    message = json.dumps({"to": [web.world.jeanne], "subject": "PDF",
                          "headers": {"Reply-To": web.world.alice}})
    async with web.client() as client:
        response = await client.post(
            "/api/v1/messages", data={"message": message},
            files={"attachments": ("cr.pdf", PDF, "application/pdf")},
            headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 201
    assert response.json()["results"][0]["accepted"] is True


async def test_refusals_of_the_api(web: Web) -> None:
    token = await create_api_token(web.store, web.world.noreply)
    auth = {"authorization": f"Bearer {token}"}
    async with web.client() as client:
        assert (await client.post("/api/v1/messages", json={"to": [web.world.jeanne]})
                ).status_code == 401
        assert (await client.post("/api/v1/messages", json={"to": [web.world.jeanne]},
                                  headers={"authorization": "Bearer mss_nope"})).status_code == 401
        assert (await client.post("/api/v1/messages", content=b"{", headers=auth)
                ).status_code == 400
        assert (await client.post("/api/v1/messages", json={"to": []}, headers=auth)
                ).status_code == 400
        assert (await client.post("/api/v1/messages", json={
            "to": [web.world.jeanne], "headers": {"Bcc": "x@y.fr"}}, headers=auth)
        ).status_code == 400
        assert (await client.post("/api/v1/messages", json={
            "to": [web.world.jeanne], "attachments": [{"content_base64": "@@"}]},
            headers=auth)).status_code == 400
        all_refused = await client.post("/api/v1/messages", json={"to": [web.world.noreply]},
                                        headers=auth)
        assert all_refused.status_code == 422
        assert all_refused.json()["results"][0]["rule"] == "R2"
        assert (await client.get("/api/v1/messages/nothing@here", headers=auth)
                ).status_code == 404
        await revoke_api_tokens(web.store, web.world.noreply)
        assert (await client.post("/api/v1/messages", json={"to": [web.world.jeanne]},
                                  headers=auth)).status_code == 401


async def test_tokens_only_for_app_mailboxes(web: Web) -> None:
    import pytest

    from mss.directory.errors import MailboxKindRule
    with pytest.raises(MailboxKindRule):
        await create_api_token(web.store, web.world.alice)


async def test_openapi_description(web: Web) -> None:
    async with web.client() as client:
        spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert {"/messages", "/messages/{message_id}"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
