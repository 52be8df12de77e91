"""The audit export: every consent event as CSV, JSON Lines or JSON-LD."""
