"""docker-compose.yml read without Docker: YAML plus compose's variable interpolation.

Not a conftest.py (a second conftest module would shadow `from conftest import ...`); the DAG
and compose tests import it. PyYAML comes with Apache Airflow, which those tests need anyway.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value, env: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and $$, recursively."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = env.get(name)
        if op in (":-", "-"):
            use_default = not current if op == ":-" else current is None
            return arg if use_default else current
        if op and current in (None, ""):
            raise KeyError(f"compose requires {name}: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def load_compose(env: dict[str, str] | None = None) -> dict:
    """docker-compose.yml as compose reads it; by default with an empty environment (defaults).

    A service's `NAME:` with no value takes NAME from the environment, as compose does; unset,
    it stays None (compose then leaves it out of the container's environment).
    """
    env = env or {}
    compose = interpolate(yaml.safe_load((REPO / "docker-compose.yml").read_text()), env)
    for service in compose["services"].values():
        variables = service.get("environment")
        if isinstance(variables, dict):
            for name, value in variables.items():
                if value is None:
                    variables[name] = env.get(name)
    return compose
