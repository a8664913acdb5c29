"""The pieces of the ``erpsync`` command (:mod:`erpsync.cli` is the entry point).

One module per command, listed in :data:`erpsync._cli.registry.COMMANDS`; each has
``add_parser(subparsers)`` and ``run(args) -> int`` (see :mod:`.registry`). Shared
parts: :mod:`.config` (settings from flags, environment and a TOML file), :mod:`.output`
(rich tables with a plain-text fallback, JSON documents), :mod:`.exits` (exit codes
and one-line errors), :mod:`.backends` (a configured backend, or one pointed at a
running sandbox), :mod:`.files` (the invoice CSV/JSON formats), :mod:`.options`,
:mod:`.schedule` (``sync --every``) and :mod:`.checks` (``push --dry-run``). Nothing
here is public API: the command line is the interface, and these modules may change
with it.
"""
