"""`mss oidc dev-provider` serves a real OpenID provider for the demo until stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx


def test_dev_provider_command_serves_discovery_and_stops(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    child = subprocess.Popen(
        [sys.executable, "-m", "mss", "--data", str(tmp_path), "oidc", "dev-provider",
         "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        issuer = re.search(r"at (http://localhost:\d+)", first).group(1)
        metadata = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=30).json()
        assert metadata["issuer"] == issuer
        keys = httpx.get(metadata["jwks_uri"], timeout=30).json()["keys"]
        assert {k["kid"] for k in keys} == {"dev-rs256", "dev-es256"}
        assert all("d" not in k for k in keys)  # public keys only
        # the webmail reached as the README says (127.0.0.1) or by name: both redirect
        for host in ("127.0.0.1", "localhost", "[::1]", "evil.example"):
            callback = f"http://{host}:10081/login/oidc/callback"
            answer = httpx.get(metadata["authorization_endpoint"], params={
                "client_id": "mss-webmail", "redirect_uri": callback, "response_type": "code",
                "scope": "openid", "state": "s", "code_challenge": "c" * 43,
                "code_challenge_method": "S256"}, timeout=30)
            if host == "evil.example":
                assert answer.status_code == 400
            else:
                assert answer.status_code == 302
                assert answer.headers["location"].startswith(callback + "?code=")
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:  # a failed check must not leave the provider running
            child.kill()
            child.communicate(timeout=30)
    assert child.returncode == 0, err[-2000:]
