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
