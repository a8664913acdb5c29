"""What both emulators share: the request loop, clock, faults, governance, interception,
the loopback server, wire request/response shapes and PDF rendering."""
