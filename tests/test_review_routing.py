"""Hostile review of the shared routing table (consent_center/web/routing.py): two apps of one process
never see each other's routing."""
from __future__ import annotations

import threading

import pytest

from werkzeug.routing import BaseConverter

from consent_center import create_app


def _settings(tmp_path, name):
    return {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / name}.sqlite3"}


def test_apps_built_at_once_in_threads_route_alike(tmp_path):
    """Guard that holds: apps built in four threads at once get one table, and each routes."""
    apps, barrier = [], threading.Barrier(4)

    def build(i):
        barrier.wait()
        apps.append(create_app(_settings(tmp_path, f"t{i}")))

    threads = [threading.Thread(target=build, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(app.url_map) for app in apps}) == 1
    for app in apps:
        assert app.test_client().get("/healthz").status_code in (200, 503)


def test_a_converter_or_setting_given_to_one_app_after_create_app_stays_with_it(tmp_path):
    """Flask's documented way to add a converter or relax trailing slashes is to set them on
    ``app.url_map`` once the app exists. The table is shared: such a change is refused with a clear
    error, and no other app of the process (built before or after) gets it."""
    first, second = (create_app(_settings(tmp_path, name)) for name in ("a", "b"))

    class Upper(BaseConverter):
        pass

    with pytest.raises(TypeError):
        first.url_map.converters["upper"] = Upper
    with pytest.raises(RuntimeError, match="shared between apps"):
        first.url_map.strict_slashes = False
    third = create_app(_settings(tmp_path, "c"))
    assert "upper" not in second.url_map.converters and "upper" not in third.url_map.converters
    assert second.url_map.strict_slashes is True and third.url_map.strict_slashes is True
