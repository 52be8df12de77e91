"""Consent receipts: documents, signing, keys, JWKS."""
