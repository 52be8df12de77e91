"""The production entry point: ``gunicorn consent_center.wsgi:app``.

Part of the package, so that an installed wheel serves it from any folder
(deploy/systemd/consent-center-web.service); the checkout's top-level
``wsgi.py`` imports it. Importing it builds the app once and freezes it, so
only servers and ``flask --app wsgi`` import it: tests build their own apps.
"""
import gc

from consent_center import create_app

app = create_app()
# What the import built lives as long as the process (a gunicorn worker or a
# flask command): frozen, Python's full collections no longer walk its
# ~130,000 objects, which paused a worker for 66 ms or more in the middle of
# traffic. Collected first, so no garbage is frozen with it. Only here: the
# apps that tests build must stay collectable.
gc.collect()
gc.freeze()
