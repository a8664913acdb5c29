"""A command is one module with ``add_parser(subparsers)`` and ``run(args) -> int``,
plugged in by one line in ``erpsync._cli.registry.COMMANDS`` (how ``store`` joins)."""

from __future__ import annotations

import argparse
import sys
import types
from typing import Any

import pytest
from cli_support import run

from erpsync._cli import registry


def test_a_module_with_add_parser_and_run_plugs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []
    probe = types.ModuleType("erpsync._cli.probe")

    def add_parser(subparsers: Any) -> None:
        parser = subparsers.add_parser("probe", help="a probe")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("migrate")

    def run_probe(args: argparse.Namespace) -> int:
        seen.append(args)
        registry.context(args).out.line(f"store is {registry.context(args).config.get('store')}")
        return 7

    probe.add_parser = add_parser  # type: ignore[attr-defined]
    probe.run = run_probe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "erpsync._cli.probe", probe)
    monkeypatch.setattr(registry, "COMMANDS", (*registry.COMMANDS, "probe"))
    code, out, _ = run("probe", "migrate", "--debug")  # common options after the name
    assert code == 7
    assert seen[0].action == "migrate"
    assert seen[0].debug is True
    assert "store is " in out
    assert "probe" in run("completion", "bash")[1]
