"""Write the development settings of `make demo` to .env, keeping any secret key already there.

    python scripts/dev_env.py [.env] [--legacy instance/secret_key]

The ``flask`` command reads .env from the folder it runs in (python-dotenv),
so every ``flask --app wsgi …`` command works there after ``make demo``.
A key already in .env is never replaced: sessions, links and the
suppression list's hashes were made with it. Without one, the key that
older ``make demo`` runs kept in ``instance/secret_key`` is carried over,
else a new one is made. Standard library only: it runs before anything is
installed.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

SETTING = "CONSENT_SECRET_KEY"
ASSIGNED = re.compile(rf"^\s*(?:export\s+)?{SETTING}\s*=", re.MULTILINE)
HEADER = ("# Development settings written by `make demo` for this checkout; every `flask --app wsgi …`\n"
          "# command run in this folder reads them. Keep this file private (git ignores it); a server\n"
          "# sets CONSENT_* in its own environment instead.\n")


def ensure_secret_key(env_file: Path, legacy: Path | None = None) -> str:
    """Give ``env_file`` a secret key unless it has one; return what was done, in a sentence."""
    text = env_file.read_text(encoding="utf-8") if env_file.exists() else None
    if text is not None and ASSIGNED.search(text):
        return f"{env_file}: {SETTING} kept"
    old = legacy.read_text(encoding="utf-8").strip() if legacy and legacy.is_file() else ""
    key = old or secrets.token_urlsafe(48)
    line = f"{SETTING}={key}\n"
    if text is None:
        # Created readable by its owner only: it holds the key that signs sessions and links.
        descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as created:
            created.write(HEADER + line)
    else:
        with env_file.open("a", encoding="utf-8") as existing:
            existing.write(("" if not text or text.endswith("\n") else "\n") + line)
        os.chmod(env_file, 0o600)  # it holds a key now: no longer readable by the group or others
    return f"{env_file}: {SETTING} {'carried over from ' + str(legacy) if old else 'made'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_file", nargs="?", type=Path, default=Path(".env"))
    parser.add_argument("--legacy", type=Path, default=None, help="a key file of older demos to carry over")
    arguments = parser.parse_args(argv)
    print(ensure_secret_key(arguments.env_file, arguments.legacy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
