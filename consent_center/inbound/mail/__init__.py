"""E-mail feedback: each provider's authentication and payload, read into feedback items, and what they change.

Pure modules (no database, no app): ``feedback`` (the items and refusals
every provider module returns), one module per provider (``postmark``,
``sendgrid``, ``mailgun``, ``sns`` and ``ses`` for Amazon SES), and ``arf``
(RFC 5965 abuse reports). On the hooks' pipeline: ``adapter`` (items to the
pipeline's messages, the evidence keeping only its own address) and
``effects`` (what a complaint, a bounce or a delivery changes).
"""
