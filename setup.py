"""What the wheel carries beyond setup.cfg: the repository's top-level templates/, static/ and migrations/.

They stay where they are in the repository and are mapped (``package_dir``)
to sub-packages of ``consent_center``, so an installed copy holds
``consent_center/templates``, ``…/static`` and ``…/migrations`` and finds
them itself (``consent_center.config.bundled``). Nothing is copied: every
build reads the folders as they are. setup.cfg cannot list the packages it
finds together with mapped ones, hence this file.
"""
from setuptools import find_packages, setup

BUNDLED = ("templates", "static", "migrations")
EVERY_FILE = ["**/*"]

setup(
    packages=find_packages(include=["consent_center", "consent_center.*"]) + [f"consent_center.{name}" for name in BUNDLED],
    package_dir={f"consent_center.{name}": name for name in BUNDLED},
    package_data={
        "consent_center": ["translations/*/LC_MESSAGES/*", "demo_data/*"],
        **{f"consent_center.{name}": EVERY_FILE for name in BUNDLED},
    },
    exclude_package_data={"": ["*/__pycache__/*", "*.pyc"]},
    include_package_data=False,
)
