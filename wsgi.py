"""Entry point for gunicorn and ``flask --app wsgi`` in a checkout.

The app, built and frozen, is the package's (consent_center/wsgi.py), so a
checkout and an installed wheel serve the same thing.
"""
from consent_center.wsgi import app

__all__ = ["app"]
