"""Every command the help lists is reachable, takes the common options after its name,
and is offered by shell completion (the command list has one source)."""

from __future__ import annotations

import re

import pytest
from cli_support import run


def _commands() -> list[str]:
    code, out, _ = run("--help")
    assert code == 0
    section = out.split("positional arguments:")[1].split("\noptions:")[0]
    names = re.findall(r"^    ([a-z]+)\b", section, flags=re.MULTILINE)
    assert names, out
    return names


def test_the_help_lists_every_command() -> None:
    commands = _commands()
    for name in ("demo", "sandbox", "connect", "push", "import", "sync", "runs", "reconcile"):
        assert name in commands
    assert "store" in commands and "completion" in commands and "backfill" in commands


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_offers_every_command(shell: str) -> None:
    code, script, _ = run("completion", shell)
    assert code == 0
    for name in _commands():
        assert name in script, (shell, name)


def test_every_command_takes_the_common_options_after_its_name() -> None:
    for name in _commands():
        code, out, err = run(name, "--help", "--debug", "--plain")
        assert code == 0, (name, err)
        assert "--config" in out, name
