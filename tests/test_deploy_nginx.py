"""deploy/nginx/consent-center.conf, run: Debian's nginx in front of gunicorn over TLS (issue 24, item 5).

nginx runs unprivileged, in the foreground, on loopback ports, from a
configuration made of the site file with only its addresses and paths
rewritten (listen, server_name, certificate, upstream socket, static
folder), with a self-signed certificate made here. Behind it, gunicorn runs
the command of deploy/systemd/consent-center-web.service (one worker, bound
to a Unix socket as systemd's would be) with the settings of
deploy/env.example (one trusted proxy, Secure cookies). Clients connect
from several loopback addresses (127.0.0.2, 127.0.0.3), so the address the
app sees is told apart from nginx's own (127.0.0.1).
"""
from __future__ import annotations

import datetime
import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from consent_center.config import bundled
from consent_center.web.security import HSTS

from .conftest import csrf_from
from .deploy_files import DEPLOY, ROOT, env_template, exec_start
from .mail_fixtures import free_port

NGINX = "/usr/sbin/nginx"
NAME = "localhost"  # the site's name in the test: the certificate's, SNI's and Host's
SITE = DEPLOY / "nginx" / "consent-center.conf"

pytestmark = [
    pytest.mark.skipif(not os.access(NGINX, os.X_OK),
                       reason=f"{NGINX} is missing: apt-get install nginx-light (or nginx) runs this test"),
    pytest.mark.skipif(bool(os.environ.get("CONSENT_TEST_DATABASE_URL")),
                       reason="nginx in front of gunicorn does not depend on the database: "
                              "it runs once, in the SQLite pass (CONSENT_TEST_DATABASE_URL unset)"),
]


def swap(text: str, old: str, new: str, count: int) -> str:
    """Replace ``old`` exactly ``count`` times: a site file that drifted fails here, not in production."""
    assert text.count(old) == count, f"{SITE.name}: expected {count} × {old!r}, found {text.count(old)}"
    return text.replace(old, new)


def site_for_test(folder: Path, http_port: int, https_port: int, socket_path: Path) -> str:
    text = SITE.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("listen [::]"))
    text = swap(text, "listen 80 ", f"listen 127.0.0.1:{http_port} ", 1)
    text = swap(text, "listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    text = swap(text, "listen 443 ", f"listen 127.0.0.1:{https_port} ", 2)
    text = swap(text, "server_name preferences.example.com;", f"server_name {NAME};", 2)
    text = swap(text, "/etc/letsencrypt/live/preferences.example.com/fullchain.pem", str(folder / "cert.pem"), 1)
    text = swap(text, "/etc/letsencrypt/live/preferences.example.com/privkey.pem", str(folder / "key.pem"), 1)
    text = swap(text, "unix:/run/consent-center/web.sock", f"unix:{socket_path}", 1)
    text = swap(text, "alias /opt/consent-center/static/;", f"alias {bundled('static')}/;", 1)
    return swap(text, "root /var/www/letsencrypt;", f"root {folder / 'acme'};", 1)


def nginx_conf(folder: Path) -> str:
    """What /etc/nginx/nginx.conf gives the site, with every file nginx writes in ``folder``."""
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder / 'access.log'};
    {temp}
    include {folder / 'site.conf'};
}}
"""


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))


def production_env(database_url: str, instance: Path) -> dict[str, str]:
    """deploy/env.example as the services get it, with a real secret and no SMTP server or Redis."""
    settings = env_template()
    assert settings["CONSENT_TRUSTED_PROXIES"] == "1" and settings["CONSENT_SECURE_COOKIES"] == "1"
    settings.update(CONSENT_SECRET_KEY="deploy-test-secret-key-of-at-least-32-characters",
                    CONSENT_SUPPRESSION_SALT="deploy-test-suppression-salt",
                    CONSENT_BASE_URL=f"https://{NAME}", CONSENT_DATABASE_URL=database_url,
                    CONSENT_INSTANCE_PATH=str(instance), CONSENT_MAIL_BACKEND="files",
                    # One worker counts alone: the store it shares with no one is enough here.
                    CONSENT_RATELIMIT_STORAGE_URL="memory://", CONSENT_PUBLIC_RATE_LIMIT="2 per hour")
    base = {name: value for name, value in os.environ.items() if not name.startswith("CONSENT_")}
    # This checkout's code, not whatever the environment has installed.
    return base | settings | {"PYTHONPATH": str(ROOT), "FLASK_SKIP_DOTENV": "1"}


class Site:
    """nginx and gunicorn, started as the deploy files say; requests from a chosen loopback address."""

    def __init__(self, folder: Path, database_url: str) -> None:
        self.folder = folder
        self.http_port, self.https_port = free_port(), free_port()
        socket_path = folder / "web.sock"
        self_signed(folder)
        (folder / "site.conf").write_text(site_for_test(folder, self.http_port, self.https_port, socket_path))
        (folder / "nginx.conf").write_text(nginx_conf(folder))
        self.tls = ssl.create_default_context(cafile=str(folder / "cert.pem"))
        self.processes: list[subprocess.Popen] = []
        command = exec_start("consent-center-web.service") + ["--workers", "1", "--bind", f"unix:{socket_path}"]
        self.gunicorn_log = folder / "gunicorn.log"
        with open(self.gunicorn_log, "wb") as log:
            self.processes.append(subprocess.Popen(command, cwd=folder, env=production_env(database_url, folder / "instance"),
                                                   stdout=log, stderr=subprocess.STDOUT))
        # Never as root: a root master would hand its workers to "nobody" anyway; started as nobody here.
        unprivileged = {"user": "nobody", "group": "nogroup"} if os.geteuid() == 0 else {}
        if unprivileged:
            for path in [folder, *folder.rglob("*")]:
                shutil.chown(path, "nobody", "nogroup")
        self.processes.append(subprocess.Popen(
            [NGINX, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **unprivileged))
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                raise RuntimeError("a server exited:\n" + self.logs())
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass  # nginx not listening yet
            time.sleep(0.1)
        raise RuntimeError("no answer through nginx in time:\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')}"
                         for path in (self.gunicorn_log, self.folder / "error.log") if path.exists())

    def request(self, method: str, path: str, *, source: str = "127.0.0.1", tls: bool = True,
                headers: dict | None = None, body: bytes | None = None, host: str = NAME):
        """One request as a browser at ``source`` would send it to https://localhost (port 443)."""
        if tls:
            connection = _Loopback(self.https_port, context=self.tls, source_address=(source, 0), timeout=30)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.http_port, source_address=(source, 0), timeout=30)
        try:
            connection.request(method, path, body=body, headers={"Host": host, "Accept-Language": "en"} | (headers or {}))
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode(errors="replace")
        finally:
            connection.close()

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class _Loopback(http.client.HTTPSConnection):
    """TLS to nginx on 127.0.0.1, naming the site (SNI) as a browser would: nginx refuses other names."""

    def __init__(self, port: int, **kwargs) -> None:
        super().__init__("127.0.0.1", port, **kwargs)

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=NAME)


@pytest.fixture(scope="module")
def site(databases):
    # Short and world-traversable: a Unix socket path holds 107 bytes, and nginx may run as nobody.
    folder = Path(tempfile.mkdtemp(prefix="cc-nginx-"))
    url = databases.create()
    server = Site(folder, url)
    try:
        yield server
    finally:
        server.stop()
        databases.drop(url)
        shutil.rmtree(folder, ignore_errors=True)


def manage_form(site: Site, source: str) -> tuple[str, str]:
    """Load /manage from ``source``: (its CSRF token, the session cookie to send back)."""
    status, headers, page = site.get("/manage", source=source)
    assert status == 200, page[:300]
    cookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie"):
        cookie.load(value)
    return csrf_from(page), "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())


def post_manage(site: Site, source: str, form: tuple[str, str], email: str, forwarded_for: str | None = None) -> tuple:
    token, cookie = form
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
               "Origin": f"https://{NAME}", "Referer": f"https://{NAME}/manage"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return site.request("POST", "/manage", source=source, headers=headers,
                        body=urlencode({"csrf_token": token, "email": email}).encode())


def test_http_goes_to_https_and_other_names_get_no_answer(site):
    status, headers, _ = site.get("/manage?from=mail", tls=False)
    assert (status, headers["Location"]) == (301, f"https://{NAME}/manage?from=mail")
    assert "Strict-Transport-Security" not in headers  # never over http
    with pytest.raises(http.client.RemoteDisconnected):  # nginx's 444: the connection closed, no answer
        site.get("/manage", tls=False, host="evil.example")
    with pytest.raises(http.client.RemoteDisconnected):  # our name in TLS, another in Host
        site.get("/manage", host="evil.example")
    # No SNI (a client asking by address) or another name: no handshake at all.
    bare = http.client.HTTPSConnection("127.0.0.1", site.https_port, context=ssl._create_unverified_context(), timeout=10)
    with pytest.raises(ssl.SSLError):
        bare.request("GET", "/readyz")
    bare.close()
    # The client really checks the certificate: without the test's own, the site is refused.
    with pytest.raises(ssl.SSLCertVerificationError):
        _Loopback(site.https_port, context=ssl.create_default_context(), timeout=10).request("GET", "/readyz")


def test_redirects_stay_https_cookies_are_secure_and_headers_are_sent_once(site):
    status, headers, _ = site.get("/audit")  # Werkzeug's slash redirect: an absolute URL from the request's scheme
    assert (status, headers["Location"]) == (308, f"https://{NAME}/audit/")
    # What a visitor says of the scheme or the host is replaced or dropped by nginx.
    status, headers, _ = site.get("/audit", headers={"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"})
    assert (status, headers["Location"]) == (308, f"https://{NAME}/audit/")
    assert headers.get_all("Strict-Transport-Security") == [HSTS[1]]  # set by the app (the request is secure)
    assert len(headers.get_all("Content-Security-Policy")) == 1 and len(headers.get_all("X-Frame-Options")) == 1
    status, headers, _ = site.get("/admin/")
    assert status == 302 and not headers["Location"].startswith("http:"), headers["Location"]
    status, headers, _ = site.get("/manage", source="127.0.0.4")
    (session_cookie,) = [value for value in headers.get_all("Set-Cookie") if value.startswith("session=")]
    attributes = {part.strip().lower() for part in session_cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax"} <= attributes, session_cookie
    status, headers, body = post_manage(site, "127.0.0.4", manage_form(site, "127.0.0.4"), "ann@example.com")
    assert status == 302, body[:300]
    assert headers["Location"] == "/manage/sent" or headers["Location"].startswith(f"https://{NAME}/")


def test_the_rate_limit_counts_the_real_client_address(site):
    form = manage_form(site, "127.0.0.2")
    # The visitor at 127.0.0.2 claims another address each time: nginx appends the real one, the app takes it.
    codes = [post_manage(site, "127.0.0.2", form, f"p{i}@example.com", forwarded_for=f"203.0.113.{i}")[0]
             for i in range(3)]
    assert codes == [302, 302, 429]  # CONSENT_PUBLIC_RATE_LIMIT=2 per hour, for 127.0.0.2 alone
    # Another visitor, through the same nginx (127.0.0.1 to the app), is not counted with them.
    assert post_manage(site, "127.0.0.3", form, "q@example.com")[0] == 302
    # …and a visitor forging the first visitor's address in the header is not counted with them either.
    assert post_manage(site, "127.0.0.5", form, "r@example.com", forwarded_for="127.0.0.2")[0] == 302


def test_nginx_serves_the_static_files_and_refuses_a_body_too_large_for_the_app(site):
    status, headers, body = site.get("/static/site.css")
    assert status == 200 and body.strip()
    assert re.search(r"max-age=3600", headers["Cache-Control"])  # nginx's expires 1h: the app sets none
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers.get_all("Strict-Transport-Security") == [HSTS[1]]  # the app's value, once
    connection = _Loopback(site.https_port, context=site.tls, timeout=10)
    try:
        connection.putrequest("POST", "/api/v1/check", skip_host=True)
        connection.putheader("Host", NAME)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(21 * 1024 * 1024))  # above CONSENT_API_MAX_BODY: never read
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()

