"""Inbound hooks: what providers tell the center (SMS keywords, bounces and complaints)."""
