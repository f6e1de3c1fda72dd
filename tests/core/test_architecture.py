"""The layering rules that import-linter cannot state: no import of another app
dodged into a function, and no private name taken from another app."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "deploychecks"
# Function-level imports of the module's own app, each with its reason.
LAZY_OWN_IMPORTS = {
    ("history/exports.py", "deploychecks.history.exports_pdf"): "WeasyPrint is slow to import",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if "migrations" not in relative.parts:
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def _app(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _our_imports(tree):
    """(node, imported module, names) for every `from deploychecks… import …`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deploychecks"):
            yield node, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("deploychecks."):
                    yield node, alias.name, []


def test_no_module_imports_our_code_inside_a_function_but_apps_py():
    found = []
    for relative, tree in _modules():
        top_level = set(map(id, tree.body))
        for node, module, _ in _our_imports(tree):
            if id(node) in top_level or relative.name == "apps.py":
                continue
            if (str(relative), module) not in LAZY_OWN_IMPORTS:
                found.append(f"{relative}:{node.lineno} imports {module}")
    assert found == []


def test_no_app_takes_a_private_name_from_another_app():
    found = []
    for relative, tree in _modules():
        own = relative.parts[0] if len(relative.parts) > 1 else ""
        for node, module, names in _our_imports(tree):
            private = [n for n in names if n.startswith("_")]
            if private and _app(module) != own:
                found.append(f"{relative}:{node.lineno} takes {private} from {module}")
    assert found == []
