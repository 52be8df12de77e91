"""E-mail feedback: each provider's authentication and payload, read into feedback items.

Pure modules (no database, no app): ``feedback`` (the items and errors every
provider returns), one module per provider (``postmark``, ``sendgrid``,
``mailgun``, ``sns`` for Amazon SES), and ``arf`` (RFC 5965 abuse reports).
"""
