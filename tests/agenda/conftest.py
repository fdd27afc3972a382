"""The agenda's web and API tests run on the webmail's fixtures (the demo world on a real
store) and a real uvicorn bound to 127.0.0.1 on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn

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


@pytest.fixture
async def served(web: Web) -> AsyncIterator[str]:  # noqa: F811
    """The app behind a real socket; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(Exception):
        await task
    sock.close()
