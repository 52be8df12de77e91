"""Entry point for gunicorn and ``flask --app wsgi``."""
from consent_center import create_app

app = create_app()
