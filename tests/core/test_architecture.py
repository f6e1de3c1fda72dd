"""The layering rules that import-linter cannot state: no import of another app
dodged into a function, and no private name taken from another app."""

import ast
import re
import tomllib
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


def _runs_and_below() -> set[str]:
    """The apps runs may know: itself and the layers under it (pyproject.toml)."""
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "layers":
            layers = [
                name.strip().split(".")[1]
                for layer in contract["layers"]
                for name in layer.split("|")
            ]
            return set(layers[layers.index("runs") :])
    raise AssertionError("no layers contract in pyproject.toml")


# Links from runs' pages to the pages above them (the deployments list and a
# deployment's record, history's): navigation, not a use of the feature's code.
NAVIGATION = {"history:list", "history:record"}


def test_the_run_page_templates_name_no_feature():
    """runs' templates (templates/runs/) load no tag library, include or extend no
    template and name no URL of an app above runs, navigation links aside: features
    put their templates in the run page's slots (runs.hooks.slots) and format notes
    through runs.hooks. An include by a variable is not allowed either."""
    apps = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    allowed = _runs_and_below()
    library_app = {
        library.stem: library.parent.parent.name
        for library in PACKAGE.glob("*/templatetags/*.py")
        if library.stem != "__init__"
    }
    templates = PACKAGE.parent / "templates"
    found = []
    for path in sorted((templates / "runs").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(templates)
        for libraries in re.findall(r"{%\s*load\s+([^%]*?)\s*%}", text):
            for library in libraries.split():
                app = library_app.get(library)  # None: Django's or a package's
                if app and app not in allowed:
                    found.append(f"{where} loads {library} (of {app})")
        for named in re.findall(r"{%\s*(?:include|extends)\s+[\"']([^\"']+)[\"']", text):
            folder = named.split("/")[0] if "/" in named else ""
            if folder in apps and folder not in allowed:
                found.append(f"{where} includes {named}")
        for named in re.findall(r"{%\s*include\s+([^\"'\s%]\S*)", text):
            found.append(f"{where} includes a template by a variable, {named}")
        for named in re.findall(r"{%\s*(?:url|run_url)\s+[\"']([\w-]+:[\w-]+)[\"']", text):
            app = named.split(":")[0]
            if app in apps and app not in allowed and named not in NAVIGATION:
                found.append(f"{where} names the URL {named}")
    assert found == []
