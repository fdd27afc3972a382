"""Reuse the webmail fixtures: a seeded demo world and its pipeline."""

from tests.webmail.conftest import seeded, seeded_store, web  # noqa: F401
