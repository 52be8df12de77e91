"""Copy Swagger UI from node_modules into static/vendor/swagger-ui/ (`make vendor`), or check the copy.

    python scripts/vendor_swagger_ui.py [--check]

``/api/v1/docs`` serves the API reference with Swagger UI from this
origin (no CDN: the Content-Security-Policy allows scripts and styles from
the site only). The copy is committed, so the app needs no npm; npm
(``swagger-ui-dist``, the exact version package.json and package-lock.json
pin) only brings a new version. To upgrade: change the version in
package.json, ``npm install``, ``make vendor``, commit package.json,
package-lock.json and static/vendor/swagger-ui/ together.
tests/test_api_reference.py holds the copy to the lock's version.

Only what the page loads and what the licence asks for is copied: the
bundle (Swagger UI with React and its other libraries in one script), its
stylesheet, the Apache 2.0 licence and notice, the bundle's third-party
licence notes, and the package's own package.json, which says the version.
``--check`` copies nothing and fails if the copy differs from node_modules.
Standard library only.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "swagger-ui-dist"
SOURCE = ROOT / "node_modules" / PACKAGE
TARGET = ROOT / "static" / "vendor" / "swagger-ui"
FILES = ("swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css",
         "LICENSE", "NOTICE", "package.json")


def locked_version(root: Path = ROOT) -> str:
    """The version of swagger-ui-dist that package-lock.json pins."""
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"][f"node_modules/{PACKAGE}"]["version"]


def package_version(folder: Path) -> str:
    """The version a copy of swagger-ui-dist says it is (its package.json)."""
    return json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"]


def differences(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    """What differs between the installed package and the copy: missing, changed or extra files."""
    found = []
    for name in FILES:
        if not (target / name).is_file():
            found.append(f"{name}: not in {target}")
        elif not filecmp.cmp(source / name, target / name, shallow=False):
            found.append(f"{name}: differs from {source / name}")
    extra = sorted(p.name for p in target.iterdir() if p.name not in FILES) if target.is_dir() else []
    return found + [f"{name}: not a file of the copy" for name in extra]


def vendor(source: Path = SOURCE, target: Path = TARGET) -> None:
    """Replace the copy with the installed package's files."""
    if target.is_dir():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(source / name, target / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if the copy differs")
    args = parser.parse_args(argv)
    if not (SOURCE / "package.json").is_file():
        print(f"{SOURCE} is missing: run `npm ci` first (make vendor does).", file=sys.stderr)
        return 2
    installed, locked = package_version(SOURCE), locked_version()
    if installed != locked:
        print(f"node_modules has {PACKAGE} {installed}, package-lock.json says {locked}: run `npm ci`.",
              file=sys.stderr)
        return 2
    if args.check:
        found = differences()
        print("\n".join(found) or f"static/vendor/swagger-ui/ is {PACKAGE} {locked}, as locked.")
        return 1 if found else 0
    vendor()
    print(f"static/vendor/swagger-ui/: {PACKAGE} {locked} ({', '.join(FILES)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
