"""The keys that sign consent receipts (and, apart, the log's checkpoints): one active Ed25519
key, the retired ones still published.

Where they live (``CONSENT_RECEIPT_KEY_DIR``, by default ``instance/receipt_keys``)::

    active.jwk           the signing key, a private JWK (mode 0600), made on first use
    retired/<kid>.jwk    public JWKs of keys that signed before a rotation

``CONSENT_RECEIPT_SIGNING_KEY`` (an Ed25519 private key as a JWK or PEM, or
the path of a file holding one) overrides ``active.jwk`` as the signing
key; a key found in ``active.jwk`` is then still published, since it may
have signed receipts before. Every key's ``kid`` is its RFC 7638
thumbprint, so a key names itself wherever it is found.

Keys are read once per process and read again only when the files change
(one ``stat`` per receipt), so a rotation made by ``flask receipt
rotate-key`` reaches running servers at their next receipt.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from consent_center.receipts.algorithms import CURVE, SIGNING_ALGORITHM

ACTIVE_FILE = "active.jwk"
RETIRED_DIR = "retired"


class ReceiptKeyError(RuntimeError):
    """A signing key that cannot be read or used."""


@dataclass(frozen=True)
class KeyRing:
    """The signing key and every public key a receipt may be verified with."""

    active: OKPKey
    public: dict[str, OKPKey]

    @property
    def active_kid(self) -> str:
        return self.active.kid

    def key_set(self) -> KeySet:
        return KeySet(list(self.public.values()))

    def jwks(self) -> dict:
        """Return the public JWK Set: the active key first, then the others by kid."""
        ordered = [self.public[self.active_kid]] + [
            key for kid, key in sorted(self.public.items()) if kid != self.active_kid
        ]
        return {"keys": [public_jwk(key) for key in ordered]}


def public_jwk(key: OKPKey) -> dict:
    """Return the public JWK of ``key`` with its kid, algorithm (RFC 8037: ``EdDSA``) and use.

    Every key says ``EdDSA``, those that signed receipts under the earlier
    name included: libraries verify new receipts by it, and the verifier
    here accepts either name with any of these keys.
    """
    return key.as_dict(private=False, kid=key.kid, alg=SIGNING_ALGORITHM, use="sig")


def load_key(text: str, *, private: bool) -> OKPKey:
    """Read an Ed25519 key from a JWK (JSON) or PEM text; its kid is its thumbprint."""
    text = text.strip()
    try:
        data = json.loads(text) if text.startswith("{") else text.encode("utf-8")
        key = OKPKey.import_key(data)
    except (JoseError, ValueError, TypeError) as exc:
        raise ReceiptKeyError(f"not an Ed25519 key (JWK or PEM): {exc}") from None
    if key.curve_name != CURVE:
        raise ReceiptKeyError(f"an Ed25519 key is needed, not {key.curve_name}")
    if private and not key.is_private:
        raise ReceiptKeyError("a private key is needed to sign")
    return _with_thumbprint_kid(key, private=private)


def keys_of_jwks(jwks: dict) -> dict[str, OKPKey]:
    """Return the Ed25519 keys of a JWK Set by the kid it gives them; other keys are not receipt keys."""
    keys = {}
    for data in jwks["keys"]:
        if data.get("kty") == "OKP" and data.get("crv") == CURVE:
            key = load_key(json.dumps(data), private=False)
            keys[data.get("kid") or key.kid] = key
    return keys


# The key material only: a JWK's "alg" would bind the key to one name of
# the algorithm (joserfc refuses the other), and receipts carry either.
_MATERIAL = {"kty", "crv", "x", "d"}


def _with_thumbprint_kid(key: OKPKey, *, private: bool) -> OKPKey:
    material = {name: value for name, value in key.as_dict(private=private).items() if name in _MATERIAL}
    return OKPKey.import_key(material, {"kid": key.thumbprint()})


def generate_key() -> OKPKey:
    return _with_thumbprint_kid(OKPKey.generate_key(CURVE), private=True)


class KeyStore:
    """The receipt keys of one app, loaded once per process."""

    def __init__(self, app: Flask, purpose: str = "RECEIPT", folder: str = "receipt_keys") -> None:
        self.app = app
        self.purpose, self.folder = purpose, folder
        configured = app.config.get(f"{purpose}_SIGNING_KEY")
        # Read now, so a bad setting stops the app at start rather than at the first receipt.
        self.configured = (load_key(_read_setting(configured, f"CONSENT_{purpose}_SIGNING_KEY"), private=True)
                           if configured else None)
        self._ring: KeyRing | None = None
        self._fingerprint: tuple | None = None

    @property
    def directory(self) -> Path:
        # Resolved late: tests (and deployments) may move the instance folder after start.
        explicit = self.app.config.get(f"{self.purpose}_KEY_DIR")
        return Path(explicit) if explicit else Path(self.app.instance_path) / self.folder

    def ring(self) -> KeyRing:
        """Return the keys, creating the signing key on first use."""
        fingerprint = self._stat()
        if self._ring is None or fingerprint != self._fingerprint:
            if self.configured is None and fingerprint[0] is None:
                self._create_active()
                fingerprint = self._stat()
            self._ring = self._load()
            self._fingerprint = fingerprint
        return self._ring

    def public_keys(self) -> dict[str, OKPKey]:
        """Every public key by kid, creating none: all that verifying a signature needs.

        Where no signing key was ever made (a copy of the base checked
        elsewhere), the retired keys alone, if any.
        """
        if self.configured is None and self._stat()[0] is None:
            return self._load().public
        return dict(self.ring().public)

    def rotate(self) -> tuple[str, str]:
        """Retire the active key (it stays published) and make a new one; return both kids.

        With ``CONSENT_RECEIPT_SIGNING_KEY`` set, the configured key is
        retired into the key folder and the operator sets the next one.
        """
        with self._locked():
            ring = self.ring()
            old = ring.active
            self._write_retired(old)
            if self.configured is not None:
                return old.kid, ""
            new = generate_key()
            self._write_atomically(self.directory / ACTIVE_FILE, _jwk_text(new, private=True))
            self._ring = None
            return old.kid, new.kid

    # Files -----------------------------------------------------------------

    def _stat(self) -> tuple:
        def stamp(path: Path):
            try:
                st = path.stat()
            except FileNotFoundError:
                return None
            return (st.st_ino, st.st_mtime_ns, st.st_size)

        return stamp(self.directory / ACTIVE_FILE), stamp(self.directory / RETIRED_DIR)

    def _load(self) -> KeyRing:
        public: dict[str, OKPKey] = {}
        retired = self.directory / RETIRED_DIR
        if retired.is_dir():
            for path in sorted(retired.glob("*.jwk")):
                key = load_key(path.read_text(encoding="utf-8"), private=False)
                public[key.kid] = key
        active_path = self.directory / ACTIVE_FILE
        stored = load_key(active_path.read_text(encoding="utf-8"), private=True) if active_path.exists() else None
        active = self.configured or stored
        for key in (stored, active):
            if key is not None:
                public[key.kid] = _with_thumbprint_kid(key, private=False)
        return KeyRing(active=active, public=public)

    def _create_active(self) -> None:
        """Create ``active.jwk`` unless another process just did (atomic: link fails if it exists)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / ACTIVE_FILE
        temporary = self._write_temporary(_jwk_text(generate_key(), private=True))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # a worker starting at the same moment won: its key is the key
        finally:
            os.unlink(temporary)

    def _write_retired(self, key: OKPKey) -> None:
        folder = self.directory / RETIRED_DIR
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write_atomically(folder / f"{key.kid}.jwk", _jwk_text(key, private=False))

    def _write_atomically(self, path: Path, text: str) -> None:
        os.replace(self._write_temporary(text), path)

    def _write_temporary(self, text: str) -> str:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=".key-", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        return name

    def _locked(self):
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _FileLock(self.directory / ".lock")


class _FileLock:
    """An exclusive lock between processes, so two rotations never interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _jwk_text(key: OKPKey, *, private: bool) -> str:
    data = key.as_dict(private=private, kid=key.kid) if private else public_jwk(key)
    return json.dumps(data, sort_keys=True, indent=2) + "\n"


def _read_setting(value: str, setting: str) -> str:
    value = value.strip()
    if value.startswith("{") or value.startswith("-----BEGIN"):
        return value
    try:
        return Path(value).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReceiptKeyError(
            f"{setting} is neither a JWK, a PEM key nor a readable file: {exc}"
        ) from None


def init_app(app: Flask) -> None:
    """Attach the app's key store (reads ``CONSENT_RECEIPT_SIGNING_KEY`` now, if set)."""
    app.extensions["consent_receipt_keys"] = KeyStore(app)
    # The transparency log's checkpoints have keys of their own, kept and rotated the same way
    # (CONSENT_CHECKPOINT_SIGNING_KEY, CONSENT_CHECKPOINT_KEY_DIR, instance/checkpoint_keys).
    app.extensions["consent_checkpoint_keys"] = KeyStore(app, "CHECKPOINT", "checkpoint_keys")


def key_store() -> KeyStore:
    return current_app.extensions["consent_receipt_keys"]


def checkpoint_key_store() -> KeyStore:
    return current_app.extensions["consent_checkpoint_keys"]


def key_ring() -> KeyRing:
    """Return the current app's receipt keys."""
    return key_store().ring()
