"""The examples in the docstrings of eq and codegen_eval run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import codegen_eval
import eq

MODULES = sorted(info.name for package in (eq, codegen_eval)
                 for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                 if not info.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0


def test_the_docstrings_have_examples():
    attempted = sum(doctest.testmod(importlib.import_module(name)).attempted for name in MODULES)
    assert attempted >= 10
