"""The servers the delivery benchmark starts or talks to, all on 127.0.0.1: the local stack's S3
(moto, a process of its own) and the AI Studios simulator's API and CDN (as a client would)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from .config import PROJECT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """The local stack's S3 (``python -m local.stack.s3_server``: moto's server with the S3 patches of
    local/stack/moto_patches/) on 127.0.0.1, a process of its own; returns it and its endpoint.
    Every variant uses this same S3."""
    import requests

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "local.stack.s3_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("moto server exited at start")
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return proc, endpoint
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("moto server did not start within 30 s")


def warm_cdn(url: str) -> None:
    """One byte of the video, so that the CDN has written the video's file before any variant."""
    import requests

    with requests.get(url, headers={"Range": "bytes=0-0"}, timeout=600) as answer:
        answer.raise_for_status()


def download_url(base_url: str, app_id: str, user_key: str) -> str:
    """A finished export's downloadUrl, obtained as a client of the documented API would."""
    import requests

    api = f"{base_url}/api/odin/v3"
    token = requests.post(f"{api}/auth/token", json={"appId": app_id, "userKey": user_key}, timeout=10)
    headers = {"Authorization": token.json()["data"]["token"]}
    exported = requests.post(
        f"{api}/editor/project/export", json={"projectId": PROJECT}, headers=headers, timeout=10
    )
    if not exported.json().get("success"):
        raise RuntimeError(f"export refused: {exported.text}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        data = requests.get(f"{api}/editor/progress/{PROJECT}", headers=headers, timeout=10).json()["data"]
        if data.get("progress") == 100 and data.get("downloadUrl"):
            return str(data["downloadUrl"])
        time.sleep(0.1)
    raise RuntimeError("the simulator's export did not reach 100 within 30 s")
