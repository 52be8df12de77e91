"""Which JWS algorithm receipts are signed with, and which a verifier here accepts.

Receipts are signed ``EdDSA`` (RFC 8037) with an Ed25519 key: the name
every deployed JOSE library verifies (PyJWT, jwcrypto, joserfc, npm
``jose``). RFC 9864 later named the same signature ``Ed25519``, and
receipts issued before this change carry that name; PyJWT does not know it,
so it is accepted on verification only. Either name is the same Ed25519
signature: the key must be an Ed25519 OKP key (``keys.load_key``), which
closes the curve choice RFC 9864 deprecated ``EdDSA`` for.
"""
from __future__ import annotations

from typing import ClassVar

from joserfc.jwa import RFC9864_JWS_ALGORITHMS, EdDSAAlgorithm, JWSRegistry

SIGNING_ALGORITHM = "EdDSA"
EARLIER_ALGORITHM = "Ed25519"  # RFC 9864's name, in receipts signed before EdDSA
VERIFIED_ALGORITHMS = (SIGNING_ALGORITHM, EARLIER_ALGORITHM)
CURVE = "Ed25519"


class _ChosenEdDSA(EdDSAAlgorithm):
    # joserfc warns on every EdDSA signature that RFC 9864 deprecates the
    # name; it is chosen here on purpose (see above), so no warning per receipt.
    security_warning = None


class ReceiptRegistry(JWSRegistry):
    """joserfc's registry with the receipts' algorithms only; nothing else is ever looked up."""

    algorithms: ClassVar[dict] = {
        SIGNING_ALGORITHM: _ChosenEdDSA(),
        EARLIER_ALGORITHM: next(alg for alg in RFC9864_JWS_ALGORITHMS if alg.name == EARLIER_ALGORITHM),
    }


# No "none", no algorithm chosen by the token: only these two names, both Ed25519.
REGISTRY = ReceiptRegistry(algorithms=list(VERIFIED_ALGORITHMS))
