"""Entry point for gunicorn and ``flask --app wsgi``."""
import gc

from consent_center import create_app

app = create_app()
# What the import built lives as long as the worker: out of the collector's
# sight, the first full collection no longer walks ~130,000 objects in the
# middle of traffic (a 66 ms pause, the check's worst latency). Only here:
# test apps must stay collectable.
gc.freeze()
