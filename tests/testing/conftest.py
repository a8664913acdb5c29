"""The emulator tests' shared helpers (ns_support) are importable with importlib mode."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # ns_support, with --import-mode=importlib
