"""The docstring examples of the detection modules are tests too (pytest does not collect doctests here)."""
from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["detectors.rules.base", "detectors.rules.cluster", "detectors.weekly",
                                    "detectors.evaluation.backtest"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
