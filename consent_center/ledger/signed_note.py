"""C2SP signed notes and tlog-checkpoints, with Ed25519 keys.

A checkpoint (C2SP ``tlog-checkpoint``) is the note text
``<origin>\\n<tree size>\\n<base64 root hash>\\n``; a signed note (C2SP
``signed-note``, as golang.org/x/mod/sumdb/note) is that text, a blank
line, and one line per signature: ``— <key name> <base64(key hash || signature)>``,
the key hash being the first four bytes of SHA-256(name || "\\n" || 0x01 ||
public key). The verifier key is ``<name>+<hex key hash>+<base64(0x01 || public key)>``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALG_ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
# Key names are non-empty and hold no space or "+" (signed-note).
NAME = re.compile(r"[^\s+]+")


class NoteError(ValueError):
    """A note, a checkpoint or a verifier key that does not read or verify."""


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.public_key.public_bytes_raw()

    @property
    def hash(self) -> bytes:
        return key_hash(self.name, self.raw)

    def encode(self) -> str:
        """The C2SP verifier key: ``<name>+<hex key hash>+<base64(0x01 || key)>``."""
        return f"{self.name}+{self.hash.hex()}+{base64.b64encode(ALG_ED25519 + self.raw).decode()}"

    @classmethod
    def decode(cls, text: str) -> Verifier:
        try:
            name, hash_hex, key_b64 = text.strip().split("+", 2)
            key = base64.b64decode(key_b64, validate=True)
            if not NAME.fullmatch(name) or key[:1] != ALG_ED25519 or len(key) != 33:
                raise ValueError
            verifier = cls(name, Ed25519PublicKey.from_public_bytes(key[1:]))
            if verifier.hash.hex() != hash_hex.lower():
                raise ValueError
        except (ValueError, binascii.Error):
            raise NoteError("not a C2SP Ed25519 verifier key (name+hash+key)") from None
        return verifier


def read_verifiers(text: str) -> list[Verifier]:
    """The verifier keys of a list: one C2SP verifier key a line (blank lines skipped).

    C2SP signed-note defines one key's encoding, not a list's; a verifier key
    holds no white space, so one a line reads unambiguously, and a file
    holding a single key is a list of one (``/.well-known/consent-log/key``).
    """
    verifiers = [Verifier.decode(line) for line in text.splitlines() if line.strip()]
    if not verifiers:
        raise NoteError("no verifier key (name+hash+key, one a line)")
    return verifiers


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Return the signed note: ``text``, a blank line, and the signature line."""
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    public = private_key.public_key().public_bytes_raw()
    signature = key_hash(name, public) + private_key.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, Verifier]:
    """Return the note's text and the known key whose signature on it verifies."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note (text, a blank line, signature lines)")
    text += "\n"
    known = {(v.name, v.hash): v for v in verifiers}
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash")
        name, _, encoded = line[len(SIGNATURE_PREFIX):].rpartition(" ")
        try:
            signature = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        verifier = known.get((name, signature[:4]))
        if verifier is None:
            continue
        try:
            verifier.public_key.verify(signature[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of key {name} does not verify") from None
        return text, verifier
    raise NoteError("no signature by a known key")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        try:
            origin, size, root = lines[0], lines[1], base64.b64decode(lines[2], validate=True)
            if not origin or not size.isdigit() or (size != "0" and size.startswith("0")) or len(root) != 32:
                raise ValueError
        except (IndexError, ValueError, binascii.Error):
            raise NoteError("not a tlog-checkpoint (origin, tree size, base64 root hash)") from None
        return cls(origin, int(size), root)
