"""A plain HTTP/1.1 client for correctness checks and probes (not for load: that is k6 and wrk).
Loopback only, never a proxy. Worker side: standard library only."""

from __future__ import annotations

import http.client
import socket
import time
from urllib.parse import urlsplit

from bakeoff.stages.serving.contract import HttpRequest

HOST = "127.0.0.1"


def post(port: int, request: HttpRequest, *, timeout: float = 30.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("POST", request.path, body=request.body, headers={"Content-Type": request.content_type})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def get(url: str, *, timeout: float = 10.0) -> tuple[int, bytes, str]:
    """(status, body, content type) of GET url; url must point at the loopback address."""
    parts = urlsplit(url)
    if parts.hostname not in (HOST, "localhost"):
        raise ValueError(f"refusing to fetch {url}: loopback only")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        connection.close()


def send_raw(port: int, payload: bytes, *, timeout: float = 20.0) -> tuple[int | None, str]:
    """Send raw bytes, read what comes back: (status or None, what happened). A clean close
    without an answer is (None, "closed")."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            return None, "closed while we were still sending"
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            return None, "reset"
        except socket.timeout:
            return None, f"no answer within {timeout:.0f} s"
    if not data:
        return None, "closed"
    status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    try:
        return int(status_line.split()[1]), status_line
    except (IndexError, ValueError):
        return None, f"not HTTP: {status_line[:80]}"


def wait_until(check, *, deadline: float, interval: float = 0.05):
    """Call check() until it returns something truthy or `deadline` (perf_counter) passes."""
    while time.perf_counter() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    return None
