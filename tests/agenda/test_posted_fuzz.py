"""The API's appointment JSON is read totally: any JSON value gives an appointment change
or one `PostedAppointmentInvalid` sentence, never another exception (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mss.agenda.posted_appointments import PostedAppointmentInvalid, posted_cancel, posted_request

DOMAIN = "patient.mss.localhost"
JEANNE = "285057512345623"  # a valid INS (mss.demo)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=10), children, max_size=4), max_leaves=12)
FIELDS = st.fixed_dictionaries({}, optional={
    "patient": st.sampled_from([JEANNE, "2850575123456", f"x@{DOMAIN}",
                                f"{JEANNE}@{DOMAIN}", "285057512345626", ""]) | JSON,
    "uid": st.text(max_size=320) | JSON,
    "sequence": st.integers(min_value=-3, max_value=2**32) | JSON,
    "start": st.sampled_from(["2026-12-15T09:30:00+01:00", "2026-12-15T09:30:00",
                              "1999-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00",
                              "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                              "x"]) | JSON,
    "end": st.sampled_from(["2026-12-15T10:30:00+01:00", "2027-02-01T00:00:00Z"]) | JSON,
    "all_day": JSON, "summary": st.text(max_size=400) | JSON, "location": JSON,
})


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSON, FIELDS, FIELDS.map(lambda d: {**d, "patient": JEANNE})))
def test_any_json_is_read_or_refused_in_one_sentence(data: object) -> None:
    for read in (posted_request, posted_cancel):
        try:
            posted = read(data, DOMAIN)
        except PostedAppointmentInvalid as refused:
            assert str(refused) and "\n" not in str(refused)
        else:
            (appointment,) = posted.change.appointments
            assert appointment.uid and len(appointment.uid) <= 300
            assert appointment.starts_at <= appointment.ends_at
