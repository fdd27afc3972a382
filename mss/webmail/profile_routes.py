"""The medical profile's pages: the patient's (every section, plots, PDF, sharing as a
vault document), a professional's in care (adds in the sections the matrix allows), and
the emergency view under break-glass (docs/medical-profile.md).

A thin adapter: mss.profile decides who reads and writes and audits it; the vault keeps
the shared synthesis and grants break-glass (its reason, audit and notice).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.identifiers import InvalidIdentifier, check_ins
from mss.identity import Principal
from mss.profile.plots import describe, measure_svg
from mss.profile.sections import BLOOD_GROUPS, EMERGENCY, MEASURES, TITLES, Section
from mss.profile.service import (
    ItemInput,
    Profile,
    ProfileError,
    ProfileInvalid,
    ProfileRefusal,
    ProfileService,
    measure_series,
)
from mss.profile.synthesis import synthesis_pdf
from mss.vault.access import VaultAccessError
from mss.webmail.rendering import PARIS, render
from mss.webmail.responses import file_response
from mss.webmail.web_auth import checked_form, context_of, patient_session, professional_session

SYNTHESIS_NAME = "profil-medical.pdf"
SYNTHESIS_TITLE = "Profil médical"


def _service(request: Request) -> ProfileService:
    web = context_of(request)
    return ProfileService(web.store, web.vault.matrix)


def _plots(profile: Profile) -> list[dict[str, Any]]:
    plots = []
    for key, points in measure_series(profile.section(Section.MEASURES)).items():
        kind = MEASURES[key]
        plots.append({"key": key, "label": kind.label, "unit": kind.unit, "points": points,
                      "svg": measure_svg(key, kind.label, kind.unit, points),
                      "summary": describe(kind.label, kind.unit, points)})
    return plots


def _values(profile: Profile, base: str) -> dict[str, Any]:
    return {"profile": profile, "titles": TITLES, "sections": profile.sections,
            "Section": Section, "measures": MEASURES, "blood_groups": BLOOD_GROUPS,
            "plots": _plots(profile), "base": base, "emergency": EMERGENCY,
            "patient_view": base == "/profile"}


def _item_input(form: FormData) -> ItemInput:
    try:
        section = Section(str(form.get("section", "")))
    except ValueError:
        raise ProfileInvalid("Section inconnue. / Unknown section.") from None
    value_text = str(form.get("value", "")).strip().replace(",", ".")
    try:
        value = float(value_text) if value_text else None
    except ValueError:
        raise ProfileInvalid("Valeur non numérique. / Not a number.") from None
    day = str(form.get("date", "")).strip()
    try:
        observed = (datetime.combine(date.fromisoformat(day), time(12), PARIS) if day
                    else None)
    except ValueError:
        raise ProfileInvalid("Date invalide. / Invalid date.") from None
    return ItemInput(section, str(form.get("label", ""))[:400],
                     str(form.get("detail", ""))[:3000], value, "", observed)


def _refused(request: Request, error: ProfileError | ProfileInvalid) -> Response:
    if isinstance(error, ProfileInvalid):
        return render(request, "error.html", status_code=400, reason=str(error))
    if error.code is ProfileRefusal.NOT_FOUND:
        return render(request, "not_found.html", status_code=404)
    return render(request, "error.html", status_code=403, reason=error.reason)


# -- the patient -------------------------------------------------------------------------

async def patient_profile(request: Request) -> Response:
    session = await patient_session(request)
    try:
        profile = await _service(request).read(session.principal, session.principal.ident)
    except ProfileError as error:
        return _refused(request, error)
    return render(request, "profile.html", **_values(profile, "/profile"))


async def _add(request: Request, principal: Principal, ins: str, back: str,
               provenance: str) -> Response:
    session = await (patient_session(request) if back == "/profile"
                     else professional_session(request))
    form = await checked_form(request, session)
    try:
        item = await _service(request).add(principal, ins, _item_input(form),
                                           provenance=provenance)
    except (ProfileError, ProfileInvalid) as error:
        return _refused(request, error)
    return RedirectResponse(f"{back}?added=1#{item.section.value}", 303)


async def patient_add(request: Request) -> Response:
    session = await patient_session(request)
    return await _add(request, session.principal, session.principal.ident, "/profile",
                      "saisi par la patiente dans son espace")


async def _change(request: Request, principal: Principal, ins: str, back: str) -> Response:
    session = await (patient_session(request) if back == "/profile"
                     else professional_session(request))
    form = await checked_form(request, session)
    try:
        item = await _service(request).change(principal, ins, int(request.path_params["id"]),
                                              _item_input(form))
    except (ProfileError, ProfileInvalid) as error:
        return _refused(request, error)
    return RedirectResponse(f"{back}?saved=1#{item.section.value}", 303)


async def patient_change(request: Request) -> Response:
    session = await patient_session(request)
    return await _change(request, session.principal, session.principal.ident, "/profile")


async def professional_change(request: Request) -> Response:
    session = await professional_session(request)
    ins = _ins(request)
    if ins is None:
        return render(request, "not_found.html", status_code=404)
    return await _change(request, session.principal, ins, f"/pro/patients/{ins}/profile")


async def _delete(request: Request, principal: Principal, ins: str, back: str) -> Response:
    try:
        await _service(request).delete(principal, ins, int(request.path_params["id"]))
    except ProfileError as error:
        return _refused(request, error)
    return RedirectResponse(f"{back}?deleted=1", 303)


async def patient_delete(request: Request) -> Response:
    session = await patient_session(request)
    await checked_form(request, session)
    return await _delete(request, session.principal, session.principal.ident, "/profile")


async def synthesis(request: Request) -> Response:
    session = await patient_session(request)
    try:
        profile = await _service(request).read(session.principal, session.principal.ident,
                                               why="for=pdf")
    except ProfileError as error:
        return _refused(request, error)
    data = synthesis_pdf(profile, now=context_of(request).store.clock.now())
    return file_response(data, SYNTHESIS_NAME, "application/pdf")


async def share(request: Request) -> Response:
    """The synthesis as a document of her vault (Espace personnel, patient-deposited
    class), which professionals in care see as the matrix says."""
    session = await patient_session(request)
    await checked_form(request, session)
    web = context_of(request)
    try:
        profile = await _service(request).read(session.principal, session.principal.ident,
                                               why="for=vault")
    except ProfileError as error:
        return _refused(request, error)
    data = synthesis_pdf(profile, now=web.store.clock.now())
    try:
        document = await web.vault.upload(session.principal, SYNTHESIS_NAME, data,
                                          title=SYNTHESIS_TITLE)
    except VaultAccessError as error:
        return render(request, "error.html", status_code=400, reason=error.reason)
    return RedirectResponse(f"/documents/{document.id}", 303)


# -- professionals -----------------------------------------------------------------------

def _ins(request: Request) -> str | None:
    try:
        return check_ins(request.path_params["ins"])
    except InvalidIdentifier:
        return None


async def professional_profile(request: Request) -> Response:
    session = await professional_session(request)
    ins = _ins(request)
    if ins is None:
        return render(request, "not_found.html", status_code=404)
    try:
        profile = await _service(request).read(session.principal, ins)
    except ProfileError as error:
        return _refused(request, error)
    return render(request, "pro_profile.html", ins=ins,
                  **_values(profile, f"/pro/patients/{ins}/profile"))


async def professional_add(request: Request) -> Response:
    session = await professional_session(request)
    ins = _ins(request)
    if ins is None:
        return render(request, "not_found.html", status_code=404)
    return await _add(request, session.principal, ins, f"/pro/patients/{ins}/profile",
                      "saisi par un professionnel en charge (webmail)")


async def professional_delete(request: Request) -> Response:
    session = await professional_session(request)
    await checked_form(request, session)
    ins = _ins(request)
    if ins is None:
        return render(request, "not_found.html", status_code=404)
    return await _delete(request, session.principal, ins, f"/pro/patients/{ins}/profile")


async def emergency_view(request: Request) -> Response:
    """The emergency subset first, on one page a phone reads; without standing, the
    break-glass form (the vault's: a reason, audited, the patient told)."""
    session = await professional_session(request)
    ins = _ins(request)
    if ins is None:
        return render(request, "not_found.html", status_code=404)
    try:
        profile = await _service(request).read(session.principal, ins, why="view=emergency")
    except ProfileError as error:
        if error.code is ProfileRefusal.NOT_ALLOWED:
            return render(request, "emergency.html", ins=ins, profile=None,
                          error=request.query_params.get("error", "")[:300])
        return _refused(request, error)
    return render(request, "emergency.html", ins=ins, error="",
                  **_values(profile, f"/pro/patients/{ins}/profile"))


async def emergency_break_glass(request: Request) -> Response:
    session = await professional_session(request)
    form = await checked_form(request, session)
    ins = _ins(request)
    if ins is None:
        return render(request, "not_found.html", status_code=404)
    try:
        await context_of(request).vault.break_glass(session.principal, ins,
                                                    str(form.get("reason", ""))[:500])
    except VaultAccessError as error:
        return render(request, "emergency.html", status_code=403, ins=ins, profile=None,
                      error=error.reason)
    return RedirectResponse(f"/pro/patients/{ins}/emergency", 303)
