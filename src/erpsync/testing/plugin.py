"""The pytest plugin erpsync installs (entry point ``pytest11``): emulator fixtures.

Registered by the package's entry point so users get the fixtures without a conftest.
The fixtures themselves are added by the emulator work; importing this module must stay
cheap and must not need ``responses`` until a fixture is used.
"""

from __future__ import annotations
