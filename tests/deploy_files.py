"""The files of deploy/, read the way systemd and the shell scripts read them, for the deploy tests."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_TEMPLATE = DEPLOY / "env.example"
UNITS = DEPLOY / "systemd"
VENV = "/opt/consent-center/venv"


def env_template() -> dict[str, str]:
    """The settings of deploy/env.example (NAME=value lines, values quoted as in a shell)."""
    settings = {}
    for line in ENV_TEMPLATE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        words = shlex.split(value)
        settings[name] = " ".join(words)
    return settings


def unit_lines(name: str) -> list[str]:
    """The lines of a unit, continuation lines (ending in a backslash) joined, comments left out."""
    lines: list[str] = []
    pending = ""
    for raw in (UNITS / name).read_text(encoding="utf-8").splitlines():
        if not pending and raw.lstrip().startswith("#"):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        lines.append((pending + raw).strip())
        pending = ""
    return [line for line in lines if line]


def exec_start(name: str) -> list[str]:
    """The unit's ExecStart as argv, the /opt virtual environment replaced by the one running the tests."""
    line = next(line for line in unit_lines(name) if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    program = Path(argv[0])
    assert str(program.parent) == f"{VENV}/bin", argv
    return [str(Path(sys.executable).with_name(program.name))] + argv[1:]
