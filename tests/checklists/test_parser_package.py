"""The importer stays a package of small parts: no function over 60 lines, no module
over 400 (issue 14; STYLE.md "Small modules")."""

import ast
from pathlib import Path

import pytest

from deploychecks.checklists import parser

PACKAGE = Path(parser.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_no_function_is_longer_than_60_lines(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))

    too_long = [
        (f.name, f.end_lineno - f.lineno + 1)
        for f in _functions(tree)
        if f.end_lineno - f.lineno + 1 > 60
    ]

    assert too_long == []


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_no_module_is_longer_than_400_lines(module):
    assert len(module.read_text(encoding="utf-8").splitlines()) <= 400


def test_the_package_is_split_into_decoding_blocks_and_mapping():
    names = {m.stem for m in MODULES}

    assert {"decoding", "blocks", "outline", "items", "template"} <= names
