"""The README promises only what exists: its commands, options, make targets and variables."""

from __future__ import annotations

import re

import pytest

from server.settings import Settings, env_name
from tests.helpers import ROOT
from tools.manifests import make_targets

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Commands with subcommands: the word after them is part of the command.
GROUPS = {"oncall"}


def _commands() -> list[tuple[list[str], list[str]]]:
    """Every `sloctl ...` the README shows: the command words and the long options used."""
    found = []
    for snippet in sorted(set(re.findall(r"`sloctl ([^`]+)`", README))):
        words = snippet.split()
        command = words[:2] if words[0] in GROUPS else words[:1]
        found.append((command, sorted(set(re.findall(r"--[a-z][a-z-]*", snippet)))))
    return found


COMMANDS = _commands()


def test_the_readme_names_commands_to_check():
    """An empty parameter list would make the test below pass by running nothing."""
    assert len(COMMANDS) >= 10, COMMANDS


@pytest.mark.parametrize(("command", "options"), COMMANDS, ids=lambda v: " ".join(v))
def test_every_command_and_option_in_the_readme_exists(cli, command, options):
    result = cli(*command, "--help")
    assert result.code == 0, result.err
    missing = [option for option in options if option not in result.out]
    assert missing == [], f"sloctl {' '.join(command)} has no {missing}"


def test_every_make_target_in_the_readme_exists():
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", README))
    assert named, "the README names make targets"
    assert sorted(named - make_targets(ROOT / "Makefile")) == []


def test_every_variable_in_the_readme_is_read_somewhere():
    server = {env_name(name, field) for name, field in Settings.model_fields.items()}
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("sloctl", "server")
        for path in (ROOT / folder).rglob("*.py")
    )
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(SLOCTL_[A-Z_]+|DATABASE_URL)\b", README))
    assert named, "the README names variables"
    unread = sorted(
        name
        for name in named
        if name not in server and f'"{name}"' not in sources and f"${{{name}" not in compose
    )
    assert unread == []
