"""The pieces of the ``erpsync`` command (:mod:`erpsync.cli` is the entry point).

One module per concern: :mod:`.config` (settings from flags, environment and a TOML
file), :mod:`.output` (rich tables with a plain-text fallback), :mod:`.exits` (exit
codes and one-line errors), :mod:`.backends` (a configured backend, or one pointed at a
running sandbox) and one module per command family. Nothing here is public API: the
command line is the interface, and these modules may change with it.
"""
