"""``erpsync completion bash|zsh|fish``: a shell completion script on stdout.

The scripts are small and written by hand from the parser itself (the command names
and each command's options), so they can never drift from what ``erpsync`` accepts:
``eval "$(erpsync completion bash)"`` in ``~/.bashrc``, ``erpsync completion zsh >
~/.zfunc/_erpsync``, ``erpsync completion fish > ~/.config/fish/completions/erpsync.fish``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["NEEDS_CONFIG", "add_parser", "commands_and_options", "run", "script"]

NEEDS_CONFIG = False


def add_parser(subparsers: Any) -> None:
    text = "print a shell completion script (bash, zsh or fish)"
    parser = subparsers.add_parser("completion", help=text, description=text)
    parser.add_argument("shell", choices=("bash", "zsh", "fish"))


def commands_and_options(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Command name -> its words (sub-commands, choices of its first argument, options)."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:  # argparse has no public walk of its sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words: list[str] = []
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        words.extend(inner.choices)
                    elif not inner.option_strings and inner.choices:
                        words.extend(str(c) for c in inner.choices)
                    words.extend(o for o in inner.option_strings if o.startswith("--"))
                found[name] = words
    return found


def _top_options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings if o.startswith("--")]


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    table = commands_and_options(parser)
    top = " ".join([*table, *_top_options(parser)])
    if shell == "bash":
        cases = "\n".join(f'        {name}) words="{" ".join(w)}" ;;' for name, w in table.items())
        return f"""# bash completion for erpsync: eval "$(erpsync completion bash)"
_erpsync() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" words
    if [ "$COMP_CWORD" -eq 1 ]; then
        words="{top}"
    else
        case "${{COMP_WORDS[1]}}" in
{cases}
        *) words="" ;;
        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _erpsync erpsync
"""
    if shell == "zsh":
        cases = "\n".join(f"    {name}) compadd -- {' '.join(w)} ;;" for name, w in table.items())
        return f"""#compdef erpsync
# zsh completion for erpsync: erpsync completion zsh > ~/.zfunc/_erpsync
if (( CURRENT == 2 )); then
    compadd -- {top}
else
  case $words[2] in
{cases}
  esac
  _files
fi
"""
    lines = [
        "# fish completion for erpsync: erpsync completion fish > "
        "~/.config/fish/completions/erpsync.fish",
    ]
    names = " ".join(table)
    for name in table:
        lines.append(f"complete -c erpsync -n 'not __fish_seen_subcommand_from {names}' -a {name}")
    for name, words in table.items():
        for word in words:
            if word.startswith("--"):
                lines.append(
                    f"complete -c erpsync -n '__fish_seen_subcommand_from {name}' -l {word[2:]}"
                )
            else:
                lines.append(
                    f"complete -c erpsync -n '__fish_seen_subcommand_from {name}' -a {word}"
                )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context
    from erpsync.cli import build_parser

    context(args).out.stdout.write(script(args.shell, build_parser()))
    return 0
