"""Issue 16 item 4: the marketplace page's first step, with a misspelt customer name,
fails with an erpsync error naming the name, not AttributeError on None."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from erpsync import UnknownNameError

PAGE = Path(__file__).resolve().parents[1] / "docs" / "workflows" / "marketplace-invoicing.md"


def test_a_misspelt_default_customer_is_named(tmp_path: Path, monkeypatch) -> None:
    code = re.search(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert code is not None
    # The configuration screen's choice, misspelt, everywhere the page names it.
    source = code.group(1).replace('"Acme Robotics"', '"Acme Robotic"')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnknownNameError, match="Acme Robotic"):
        exec(compile(source, str(PAGE), "exec"), {"__name__": "docs_example"})
