"""Load test on PostgreSQL: gunicorn with several workers, real clients, nothing lost.

For LOAD_DURATION seconds, three kinds of clients hit a gunicorn on
127.0.0.1 at the same time:

- customers who log in, then save their preferences through the real HTML
  form (session cookie, CSRF token), flipping one channel per save and
  reading the page back after each redirect, as a browser does;
- mail clients posting RFC 8058 one-click unsubscribes
  (``List-Unsubscribe=One-Click``) on signed links, each on a channel that
  is active, so that each one is a change;
- a marketing tool asking ``GET /api/v1/check`` with an API key.

Then it counts: every acknowledged change (a save answered 302, an
unsubscribe answered 200) must be one event in the ledger, each
customer's channels must be what they last saved, `ledger verify` must
pass and replaying the events must give the stored states. It prints
requests per second and latency by kind, and exits 1 on any error or lost
change. It makes its own database on the server (LOAD_DATABASE_SERVER, a
SQLAlchemy URL) and drops it at the end, and stops the gunicorn it started.

Settings (environment): LOAD_DURATION (60 s), LOAD_WORKERS (4 gunicorn
workers), LOAD_CUSTOMERS (8 customer clients, one account each),
LOAD_UNSUBSCRIBERS (4), LOAD_CHECKERS (4), LOAD_SUBJECTS (5000 seeded
people the unsubscribes and checks address).

Past one machine, on this one: LOAD_SERVERS (1) app servers, each with
LOAD_WORKERS workers on a port of its own, the clients spread across them;
LOAD_SERVER_KIND (gunicorn, or granian); LOAD_REPLICA=1 starts a PostgreSQL
primary and a hot standby of it (bench/replica_cluster.py, the server
binaries) instead of using LOAD_DATABASE_SERVER, and the app servers read
the checks from the standby (CONSENT_READ_DATABASE_URL): the report gives
the share of checks each source answered (``Consent-Read-From``).
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from load_audit import audit  # noqa: E402  (beside this file)
from load_servers import free_port, start_server, stop  # noqa: E402

SERVER = os.environ.get("LOAD_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DURATION = float(os.environ.get("LOAD_DURATION", "60"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
CUSTOMERS = int(os.environ.get("LOAD_CUSTOMERS", "8"))
UNSUBSCRIBERS = int(os.environ.get("LOAD_UNSUBSCRIBERS", "4"))
CHECKERS = int(os.environ.get("LOAD_CHECKERS", "4"))
SUBJECTS = int(os.environ.get("LOAD_SUBJECTS", "5000"))
SERVERS = int(os.environ.get("LOAD_SERVERS", "1"))
SERVER_KIND = os.environ.get("LOAD_SERVER_KIND", "gunicorn")
REPLICA = os.environ.get("LOAD_REPLICA", "") not in ("", "0")
PASSWORD = "load test horse battery"
SECRET_KEY = "load-test-" + uuid.uuid4().hex
CHANNELS = ("email", "sms", "post", "newsletter")

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SWITCH_RE = re.compile(r'<input[^>]*name="active"[^>]*>')
VALUE_RE = re.compile(r'value="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Measurements -----------------------------------------------------------------

@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    read_from: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.samples) < 10:
                self.samples.append(f"{kind}: {what}")


class Client:
    """One HTTP/1.1 client with a cookie jar (a new connection per request: sync workers close them)."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port = port
        self.stats = stats
        self.cookies: dict[str, str] = {}

    def request(self, kind: str, method: str, path: str, *, form: dict | None = None, body: bytes | None = None,
                headers: dict | None = None, expect: int = 200) -> tuple[http.client.HTTPResponse, str] | None:
        headers = dict(headers or {})
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.stats.error(kind, f"{method} {path[:60]}: {exc!r}")
            return None
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        if response.status != expect:
            self.stats.error(kind, f"{method} {path[:60]} answered {response.status}, not {expect}")
            return None
        self.stats.ok(kind, elapsed)
        return response, content


def switches(html: str) -> dict[str, bool]:
    found = {}
    for tag in SWITCH_RE.findall(html):
        found[VALUE_RE.search(tag).group(1)] = " checked" in tag
    return found


@dataclass
class CustomerLog:
    email: str
    saves_acknowledged: int = 0
    expected: dict[str, bool] = field(default_factory=dict)


def customer(port: int, stats: Stats, record: CustomerLog, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(port, stats)
    got = client.request("login", "GET", "/login")
    if not got:
        return
    token = CSRF_RE.search(got[1]).group(1)
    if not client.request("login", "POST", "/login", expect=302,
                          form={"csrf_token": token, "email": record.email, "password": PASSWORD}):
        return
    got = client.request("preferences page", "GET", "/space/preferences")
    if not got:
        return
    record.expected = switches(got[1])
    token = CSRF_RE.search(got[1]).group(1)
    while True:  # at least one save, however short the run
        wanted = dict(record.expected)
        flipped = rng.choice(sorted(wanted))
        wanted[flipped] = not wanted[flipped]
        saved = client.request("preferences save", "POST", "/space/preferences", expect=302, form={
            "csrf_token": token, "active": [code for code, on in wanted.items() if on]})
        if saved is None:
            return  # the change's fate is unknown: stop this customer, the error is counted
        if not saved[0].getheader("Location", "").endswith("/space/preferences"):
            stats.error("preferences save", f"redirected to {saved[0].getheader('Location')}")
            return
        record.saves_acknowledged += 1
        record.expected = wanted
        page = client.request("preferences page", "GET", "/space/preferences")
        if page is None:
            return
        if switches(page[1]) != wanted:
            stats.error("preferences page", f"shows {switches(page[1])}, saved {wanted}")
            return
        if time.monotonic() >= deadline:
            return


def unsubscriber(port: int, stats: Stats, links: list, done: list, deadline: float) -> None:
    client = Client(port, stats)
    while time.monotonic() < deadline:
        try:
            token, pair = links.pop()
        except IndexError:
            return  # every prepared link used
        answered = client.request("one-click unsubscribe", "POST", f"/u/{token}",
                                  form={"List-Unsubscribe": "One-Click"})
        if answered is not None:
            done.append(pair)


def checker(port: int, stats: Stats, key: str, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(port, stats)
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < deadline:
        i, channel = rng.randint(1, SUBJECTS), rng.choice(CHANNELS)
        answered = client.request("API check", "GET", f"/api/v1/check?channel={channel}&email=user{i}%40example.com",
                                  headers=headers)
        if answered is not None and "allowed" not in json.loads(answered[1]):
            stats.error("API check", "no 'allowed' in the answer")
        elif answered is not None:
            source = answered[0].getheader("Consent-Read-From") or "primary (no replica configured)"
            stats.read_from[source.partition(";")[0] if source.startswith("replica") else source] += 1


# The base ---------------------------------------------------------------------

def prepare(url: str, key_dir: str) -> dict:
    """Migrate, seed SUBJECTS people, make the customers' accounts, an API key, the unsubscribe links."""
    from consent_center import create_app
    from consent_center.accounts.service import create_account
    from consent_center.accounts.api_clients import create_client
    from consent_center.extensions import db, make_engine
    from consent_center.ledger import Actor
    from consent_center.migrate import upgrade
    from consent_center.models import Role, Subject
    from consent_center.tokens import unsubscribe_token
    from seed import email_of, expected_granted, seed  # bench/seed.py, beside this file

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "RECEIPT_KEY_DIR": key_dir})
    with app.app_context():
        session = db.session
        seed(session, SUBJECTS, SUBJECTS * 8)
        session.commit()
        emails = [f"customer{c}@load.example" for c in range(CUSTOMERS)]
        for email in emails:
            create_account(session, email=email, password=PASSWORD, role=Role.CUSTOMER, actor=Actor.system(),
                           locale="en")
        key = create_client(session, "Load test", ["consent:read"]).key
        session.commit()
        public_ids = dict(session.execute(select(Subject.email, Subject.public_id)
                                          .where(Subject.email.like("user%@example.com"))).all())
        links = [(unsubscribe_token(public_ids[email_of(i)], code), (public_ids[email_of(i)], code))
                 for i in range(1, SUBJECTS + 1) for code in CHANNELS if expected_granted(i, code)]
        session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    db.engine.dispose()
    random.Random(7).shuffle(links)
    return {"emails": emails, "key": key, "links": links}


def warm_up(port: int, key: str) -> None:
    """Let every worker import, connect and compile its templates before the clock starts."""
    def visit() -> None:
        client = Client(port, Stats())
        for _ in range(3):
            client.request("warm-up", "GET", "/login")
            client.request("warm-up", "GET", "/space/preferences", expect=302)
            client.request("warm-up", "GET", "/api/v1/check?channel=email&email=user1%40example.com",
                           headers={"Authorization": f"Bearer {key}"})
            client.request("warm-up", "GET", "/u/not-a-link")
    threads = [threading.Thread(target=visit) for _ in range(2 * WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="cc-load-"))
    key_dir = str(workdir / "keys")
    processes: list[subprocess.Popen] = []
    cluster = admin = name = read_url = None
    if REPLICA:
        from replica_cluster import Cluster  # bench/replica_cluster.py, beside this file

        cluster = Cluster(max_connections=200)
        cluster.start()
        url, read_url = cluster.primary.url(), cluster.standby.url()
        log(f"PostgreSQL primary on port {cluster.primary.port}, hot standby on port {cluster.standby.port}")
    else:
        server = make_url(SERVER)
        name = f"cc_load_{uuid.uuid4().hex[:10]}"
        url = server.set(database=name).render_as_string(hide_password=False)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        started = time.perf_counter()
        base = prepare(url, key_dir)
        log(f"database: {SUBJECTS} people seeded, {CUSTOMERS} customer accounts, "
            f"{len(base['links'])} unsubscribe links, in {time.perf_counter() - started:.1f} s")
        ports = [free_port() for _ in range(SERVERS)]
        for port in ports:
            with open(workdir / f"server-{port}.log", "wb") as server_log:
                processes.append(start_server(url, key_dir, port, server_log, secret_key=SECRET_KEY,
                                              workers=WORKERS, kind=SERVER_KIND, read_url=read_url))
        for port in ports:
            warm_up(port, base["key"])
        log(f"{SERVERS} {SERVER_KIND} server(s) of {WORKERS} workers on 127.0.0.1:{','.join(map(str, ports))}, "
            f"warmed up; load for {DURATION:.0f} s")
        from consent_center.clock import utcnow
        load_started_at = utcnow()
        stats = Stats()
        customers = [CustomerLog(email) for email in base["emails"]]
        unsubscribed: list = []
        began = time.monotonic()
        deadline = began + DURATION

        def port_of(i: int) -> int:  # the clients spread across the servers
            return ports[i % len(ports)]

        threads = (
            [threading.Thread(target=customer, args=(port_of(i), stats, c, deadline, i))
             for i, c in enumerate(customers)]
            + [threading.Thread(target=unsubscriber, args=(port_of(i), stats, base["links"], unsubscribed, deadline))
               for i in range(UNSUBSCRIBERS)]
            + [threading.Thread(target=checker, args=(port_of(i), stats, base["key"], deadline, 100 + i))
               for i in range(CHECKERS)])
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        for process in processes:
            stop(process)
        processes = []
        result = audit(url, key_dir, SECRET_KEY, customers, unsubscribed, load_started_at)
    finally:
        for process in processes:
            stop(process)
        if cluster is not None:
            cluster.stop()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    saves = sum(c.saves_acknowledged for c in customers)
    lost = max(saves - result["saves_events"], 0) + max(len(unsubscribed) - result["unsubscribe_events"], 0)
    extra = max(result["saves_events"] - saves, 0) + max(result["unsubscribe_events"] - len(unsubscribed), 0)
    errors = sum(stats.errors.values())
    print(f"Load test: {SERVERS} {SERVER_KIND} server(s) of {WORKERS} workers, {CUSTOMERS} customers, "
          f"{UNSUBSCRIBERS} unsubscribers, {CHECKERS} API checkers, {elapsed:.1f} s, PostgreSQL"
          + (" primary and a hot standby" if REPLICA else ""))
    print(f"{'kind':<22}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    kinds = ["login", "preferences page", "preferences save", "one-click unsubscribe", "API check"]
    for kind in kinds:
        values = stats.latencies.get(kind, [])
        print(f"{kind:<22}{len(values):>10}{len(values) / elapsed:>9.1f}{percentile(values, .5) * 1000:>9.1f}"
              f"{percentile(values, .99) * 1000:>9.1f}{stats.errors.get(kind, 0):>8}")
    total = sum(len(v) for v in stats.latencies.values())
    print(f"{'all':<22}{total:>10}{total / elapsed:>9.1f}{'':>18}{errors:>8}")
    print(f"changes acknowledged: {saves} saves + {len(unsubscribed)} unsubscribes; in the ledger: "
          f"{result['saves_events']} + {result['unsubscribe_events']}; lost {lost}, unexpected {extra}")
    print(f"customers' channels not as last saved: {result['wrong_states']}; "
          f"unsubscribed channels not withdrawn: {result['not_withdrawn']}")
    print(f"ledger verify: {result['ledger_verify']}; replay equals state: {result['replay_equals_state']}")
    checks = sum(stats.read_from.values())
    if checks:
        print("checks answered by: " + ", ".join(f"{source} {count} ({count / checks:.0%})"
                                                  for source, count in sorted(stats.read_from.items())))
    for sample in stats.samples:
        print(f"  error: {sample}")
    failed = (errors or lost or extra or result["wrong_states"] or result["not_withdrawn"]
              or not result["ledger_ok"] or not result["replay_equals_state"]
              or not saves or not unsubscribed or not stats.latencies.get("API check"))
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
