"""A PostgreSQL primary and a hot standby of it, started for the replica tests on loopback ports.

The shared test server accepts no replication connections, so the tests make
their own pair with the server binaries (``initdb``, ``pg_basebackup``,
``pg_ctl``), as the unprivileged ``postgres`` user when run as root (PostgreSQL
refuses to run as root). Skipped, with the reason, where the binaries are not
installed.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


def server_binaries() -> Path | None:
    """The newest PostgreSQL server binaries' folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str
    data: Path
    port: int

    def url(self, database: str = "consent") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "consent", **kwargs) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                               autocommit=True, **kwargs)


class Cluster:
    """A primary and one streaming standby, each in its own folder under ``root``."""

    def __init__(self, max_connections: int = 40) -> None:
        self.bin = server_binaries()
        self.max_connections = max_connections
        # Not under pytest's temporary folder: it is private to root, and the servers run as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="consent-replicas-"))
        self.user = None if os.geteuid() else pwd.getpwnam("postgres")
        self.primary = Server("primary", self.root / "primary", free_port())
        self.standby = Server("standby", self.root / "standby", free_port())

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd="/tmp", timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        with open(self.primary.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.primary.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nwal_level = replica\nmax_wal_senders = 4\n"
                       "fsync = off\nsynchronous_commit = on\nhot_standby = on\n"
                       f"max_connections = {self.max_connections}\n"
                       "wal_receiver_status_interval = 1s\nhot_standby_feedback = on\n")
        with open(self.primary.data / "pg_hba.conf", "a") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        self.pg_ctl(self.primary, "start")
        with self.primary.connect("postgres") as connection:
            connection.execute("CREATE DATABASE consent")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                  "-D", str(self.standby.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")
        with open(self.standby.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.standby.port}\n")
        self.pg_ctl(self.standby, "start")
        self.wait_for(lambda: self.standby.connect("postgres").close() is None)

    def pg_ctl(self, server: Server, action: str) -> None:
        args = ["pg_ctl", "-D", str(server.data), "-w", "-t", "60", "-l", str(self.root / f"{server.name}.log")]
        if action == "stop":
            args += ["-m", "fast"]
        self._run(*args, action)

    def stop(self) -> None:
        for server in (self.standby, self.primary):
            try:
                self.pg_ctl(server, "stop")
            except RuntimeError:
                pass  # already stopped (a test stops the standby), or never started
        shutil.rmtree(self.root, ignore_errors=True)

    def caught_up(self) -> bool:
        """Whether the standby has replayed everything the primary has written."""
        with self.primary.connect() as primary, self.standby.connect() as standby:
            written = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
            return standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written,)).fetchone()[0]

    @staticmethod
    def wait_for(condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the replica cluster did not get there in time")
            time.sleep(0.05)
