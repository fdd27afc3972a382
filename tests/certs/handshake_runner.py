"""Runs one TLS handshake over real sockets on 127.0.0.1 (port 0), a thread per side.

No sleeps: the server thread is joined, sockets carry timeouts against hangs.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

SOCKET_TIMEOUT = 10.0


@dataclass
class HandshakeOutcome:
    server_error: BaseException | None = None
    client_error: BaseException | None = None
    peer_certificate: bytes | None = None  # DER of the client certificate, as the server saw it
    received: bytes = b""
    cipher: str | None = None
    version: str | None = None

    @property
    def accepted(self) -> bool:
        return self.server_error is None and self.client_error is None and self.received == GREETING


GREETING = b"hello"
Handshake = Callable[[ssl.SSLContext, ssl.SSLContext, str], HandshakeOutcome]


def run_handshake(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext, server_hostname: str
) -> HandshakeOutcome:
    """Connect a client to a one-shot TLS server; record what each side saw."""
    outcome = HandshakeOutcome()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(SOCKET_TIMEOUT)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError as exc:
            outcome.server_error = exc
            return
        connection.settimeout(SOCKET_TIMEOUT)
        try:
            with server_context.wrap_socket(connection, server_side=True) as tls:
                outcome.peer_certificate = tls.getpeercert(binary_form=True)
                tls.sendall(GREETING)
        except (ssl.SSLError, OSError) as exc:
            outcome.server_error = exc
        finally:
            connection.close()

    server = threading.Thread(target=serve)
    server.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as raw,
            client_context.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            outcome.version = tls.version()
            cipher = tls.cipher()
            outcome.cipher = cipher[0] if cipher else None
            # TLS 1.3: a refused client certificate shows up on the first read.
            while len(outcome.received) < len(GREETING):
                chunk = tls.recv(len(GREETING))
                if not chunk:
                    break
                outcome.received += chunk
    except (ssl.SSLError, OSError) as exc:
        outcome.client_error = exc
    finally:
        server.join(SOCKET_TIMEOUT)
        listener.close()
    assert not server.is_alive(), "server thread did not finish"
    return outcome
