"""A real gunicorn (the project's ``wsgi:app``) on a free loopback port, for fault tests.

Several sync workers, as in production; ``worker_pids()`` reads the
master's children from /proc, so a test can kill one of them.
"""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .mail_fixtures import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


class Gunicorn:
    def __init__(self, database_url: str, workdir: Path, *, workers: int = 3, env: dict | None = None) -> None:
        self.port = free_port()
        self.log = open(workdir / "gunicorn.log", "w+b")
        environment = os.environ | {
            "CONSENT_DATABASE_URL": database_url,
            "CONSENT_SECRET_KEY": "fault-test-secret-key-of-at-least-32-characters",
            "CONSENT_RECEIPT_KEY_DIR": str(workdir / "keys"),
            "CONSENT_MAIL_BACKEND": "files",
            "CONSENT_BASE_URL": f"http://127.0.0.1:{self.port}",
        } | (env or {})
        environment.pop("CONSENT_DEBUG", None)
        self.process = subprocess.Popen(
            [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "5", "--timeout", "60", "wsgi:app"],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        self.workers = workers
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.output())
            try:
                if self.request("GET", "/readyz")[0] == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /readyz in time:\n" + self.output())

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        """The master's live children: its workers."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
