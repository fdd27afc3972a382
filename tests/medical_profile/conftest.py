"""The profile's tests run on the webmail's fixtures (demo world, real store) and on a
real uvicorn socket for Chromium."""

from tests.agenda.conftest import served  # noqa: F401
from tests.webmail.conftest import alice, bruno, jeanne, paul, seeded, seeded_store, web  # noqa: F401
