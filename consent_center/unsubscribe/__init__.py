"""Unsubscribe: one-click links and pages, manage links, newsletter double opt-in."""
