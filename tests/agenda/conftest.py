"""The agenda's web and API tests run on the webmail's fixtures (the demo world on a real
store) and a real uvicorn bound to 127.0.0.1 on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.webmail.conftest import (  # noqa: F401  (fixtures)
    Web,
    alice,
    bruno,
    jeanne,
    paul,
    seeded,
    seeded_store,
    web,
)
from tests.webmail.test_browser import served_app


@pytest.fixture
async def served(web: Web) -> AsyncIterator[str]:  # noqa: F811
    """The app behind a real socket; its base URL."""
    async with served_app(web.app) as url:
        yield url
