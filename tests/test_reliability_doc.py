"""docs/RELIABILITY.md names the tests that replay each kind: they must exist."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_every_test_the_reliability_doc_names_exists():
    text = (REPO / "docs" / "RELIABILITY.md").read_text()
    named = re.findall(r"tests/(test_\w+\.py)(?:::(test_\w+))?", text)
    assert len(named) >= 20
    for file, func in named:
        path = REPO / "tests" / file
        assert path.is_file(), file
        if func:
            assert re.search(rf"def {func}\b", path.read_text()), f"{file}::{func}"


def test_every_test_function_the_reliability_doc_names_is_defined():
    text = (REPO / "docs" / "RELIABILITY.md").read_text()
    defined = set()
    for path in (REPO / "tests").glob("test_*.py"):
        defined |= set(re.findall(r"def (test_\w+)", path.read_text()))
    named = set(re.findall(r"\b(test_[a-z0-9_]+)\b(?!\.py)", text))
    missing = sorted(n for n in named if n not in defined
                     and not any(d.startswith(n) for d in defined))  # "test_x_*" prefixes
    assert not missing, missing
