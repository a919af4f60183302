"""Layers point one way (BRIEF §5.8): core → policies → rules → engine / data → services → interfaces.

A module may import its own package and any package of a lower layer; never a higher layer (upward) nor another
package of its own layer (sideways: engine and data do not import each other). Checked over every import
statement of every module, including imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import huiqi

PACKAGE = Path(huiqi.__file__).parent
LAYERS = {"core": 0, "policies": 1, "rules": 2, "engine": 3, "data": 3, "services": 4, "interfaces": 5,
          "migrations": 3.5}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"给这些包指定层级：{sorted(packages - set(LAYERS))}"


def test_no_import_points_upward_or_sideways():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2:
            continue  # huiqi/__init__.py
        own = rel.parts[0]
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] != "huiqi" or len(parts) < 2 or parts[1] == own or parts[1] not in LAYERS:
                continue
            if LAYERS[parts[1]] >= LAYERS[own]:
                wrong.append(f"{rel}:{line} imports {module} ({own} → {parts[1]})")
    assert not wrong, "\n".join(wrong)


def test_no_web_module_uses_a_private_name_of_another_web_module():
    """Issue 11 item 3: route modules borrowed each other's helpers (payout imported pages._register_filters).
    What one module of interfaces/web needs from another is public; shared logic belongs in a service."""
    web = PACKAGE / "interfaces" / "web"
    modules = {f"huiqi.interfaces.web.{p.stem}" for p in web.glob("*.py")}
    wrong = []
    for path in sorted(web.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = set()  # names bound to another web module (from huiqi.interfaces.web import api)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in modules | {"huiqi.interfaces.web"}:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        wrong.append(f"{path.name}:{node.lineno} imports {node.module}.{alias.name}")
                    if f"{node.module}.{alias.name}" in modules:
                        aliases.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                aliases |= {a.asname or a.name for a in node.names if a.name in modules}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                wrong.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


# The modules of interfaces/web that declare routes. app.py wires them (it imports every one) and is exempt.
WEB_ROUTE_MODULES = {"api", "pages", "payout", "sandbox", "dashboard", "calendar"}


def _web_modules_imported(path: Path) -> set[tuple[int, str]]:
    """(line, stem) of every interfaces/web module that `path` imports, in any spelling, inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "huiqi.interfaces.web":  # from huiqi.interfaces.web import api
                found |= {(node.lineno, a.name) for a in node.names}
            elif node.module.startswith("huiqi.interfaces.web."):
                found.add((node.lineno, node.module.split(".")[3]))
        elif isinstance(node, ast.ImportFrom) and node.level == 1:  # from . import api / from .api import x
            found |= ({(node.lineno, node.module.split(".")[0])} if node.module else
                      {(node.lineno, a.name) for a in node.names})
        elif isinstance(node, ast.Import):
            found |= {(node.lineno, a.name.split(".")[3]) for a in node.names
                      if a.name.startswith("huiqi.interfaces.web.")}
    return found


def test_no_web_route_module_imports_another_route_module():
    """Issue 11 item 3: pages.py called ~15 helpers of the api route module, payout/calendar/dashboard rendered
    through pages or sandbox. What several route modules need lives in presenters, checking, uploads, templating
    (or a service); a route module imports those, schemas, auth and the store — never another route module."""
    web = PACKAGE / "interfaces" / "web"
    assert {p.stem for p in web.glob("*.py")} >= WEB_ROUTE_MODULES | {"app"}
    undeclared = {p.stem for p in web.glob("*.py") if "APIRouter(" in p.read_text(encoding="utf-8")}
    assert undeclared <= WEB_ROUTE_MODULES, f"新的路由模块请加入 WEB_ROUTE_MODULES：{sorted(undeclared - WEB_ROUTE_MODULES)}"
    wrong = [f"{stem}.py:{line} imports {other}" for stem in sorted(WEB_ROUTE_MODULES)
             for line, other in sorted(_web_modules_imported(web / f"{stem}.py"))
             if other in WEB_ROUTE_MODULES and other != stem]
    assert not wrong, "\n".join(wrong)


def test_only_app_wiring_imports_route_modules():
    """The store (state.py imported dashboard and sandbox for a screening's precompute steps) and the shared
    modules point away from the routes too; app.py registers those steps when it wires the routers."""
    web = PACKAGE / "interfaces" / "web"
    wrong = [f"{path.name}:{line} imports {other}" for path in sorted(web.glob("*.py"))
             if path.stem not in WEB_ROUTE_MODULES | {"app"}
             for line, other in sorted(_web_modules_imported(path)) if other in WEB_ROUTE_MODULES]
    assert not wrong, "\n".join(wrong)


def test_route_module_import_check_sees_every_spelling(tmp_path):
    """The check above would miss nothing: module, from-package, relative and in-function imports."""
    probe = tmp_path / "probe.py"
    probe.write_text("from huiqi.interfaces.web import api, schemas\nimport huiqi.interfaces.web.pages\n"
                     "from .sandbox import render\ndef f():\n    from huiqi.interfaces.web.dashboard import x\n",
                     encoding="utf-8")
    assert {s for _line, s in _web_modules_imported(probe)} == {"api", "schemas", "pages", "sandbox", "dashboard"}
