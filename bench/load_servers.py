"""The load test's app servers (bench/load.py): started on loopback ports, answering, stopped."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, key_dir: str, port: int, logfile, *, secret_key: str, workers: int, kind: str,
                 read_url: str | None = None) -> subprocess.Popen:
    """One app server (``kind``: gunicorn or granian) with ``workers`` workers on ``port``, answering /readyz."""
    env = os.environ | {
        "CONSENT_DATABASE_URL": url, "CONSENT_SECRET_KEY": secret_key, "CONSENT_RECEIPT_KEY_DIR": key_dir,
        "CONSENT_BASE_URL": f"http://127.0.0.1:{port}", "CONSENT_MAIL_BACKEND": "files",
        "CONSENT_DATABASE_POOL_SIZE": "2",
        # Every client comes from 127.0.0.1: the per-address limits would
        # measure the limiter, not the service.
        "CONSENT_UNSUBSCRIBE_RATE_LIMIT": "1000000 per minute", "CONSENT_LOGIN_THROTTLE": "1000 per minute",
    }
    if read_url:
        env["CONSENT_READ_DATABASE_URL"] = read_url
    env.pop("CONSENT_DEBUG", None)
    if kind == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers),
                   "--blocking-threads", "1", "--host", "127.0.0.1", "--port", str(port), "--no-ws",
                   "consent_center.wsgi:app"]
    else:
        command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(workers), "--bind",
                   f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "10", "wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited at start (see its log)")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{kind} did not answer /readyz within 90 s")


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
