"""The outbox: messages written with their change, delivered later (e-mail, webhooks)."""
