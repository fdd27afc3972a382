"""Settings: space state and personal address for notices (issue 8)."""

from __future__ import annotations

from mss.directory.patients import find_patient
from mss.identity import PatientSpaceState

from .conftest import Web, csrf_of


async def test_notice_address_is_validated_and_saved(web: Web, jeanne) -> None:
    page = await jeanne.get("/settings")
    assert "jeanne.dupont@example.org" in page.text
    bad = await jeanne.post("/settings", data={"csrf": csrf_of(page.text),
                                               "action": "notice_email", "email": "pas une"})
    assert bad.status_code == 422
    ok = await jeanne.post("/settings", data={"csrf": csrf_of(page.text),
                                              "action": "notice_email",
                                              "email": "jeanne@example.net"})
    assert ok.status_code == 303
    patient = await find_patient(web.store, web.world.jeanne_ins)
    assert patient is not None and patient.notice_email == "jeanne@example.net"


async def test_opposing_closes_the_space_to_professionals(web: Web, jeanne) -> None:
    page = await jeanne.get("/settings")
    asked = await jeanne.post("/settings", data={"csrf": csrf_of(page.text),
                                                 "action": "state", "state": "opposed"})
    assert asked.status_code == 200 and 'name="confirmed" value="1"' in asked.text
    patient = await find_patient(web.store, web.world.jeanne_ins)
    assert patient is not None and patient.state is PatientSpaceState.ACTIVE  # not yet
    response = await jeanne.post("/settings", data={"csrf": csrf_of(page.text),
                                                    "action": "state", "state": "opposed",
                                                    "confirmed": "1"})
    assert response.status_code == 303
    patient = await find_patient(web.store, web.world.jeanne_ins)
    assert patient is not None and patient.state is PatientSpaceState.OPPOSED
    result = await web.send(subject="Après opposition")
    assert result.results[0].verdict.rule.value == "R3"


async def test_unknown_state_is_refused(web: Web, jeanne) -> None:
    page = await jeanne.get("/settings")
    response = await jeanne.post("/settings", data={"csrf": csrf_of(page.text),
                                                    "action": "state", "state": "deleted"})
    assert response.status_code == 422
