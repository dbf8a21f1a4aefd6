"""Layering: the core, the knowledge model and search import no adapter, server, template or
settings library, and the knowledge model imports nothing from search or the core."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("telegram", "tornado", "jinja2", "pydantic_settings")
LAYERS = ("core", "knowledge", "search")


def _modules(package: str) -> list[str]:
    base = ROOT / "bot" / package
    out = []
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _imported_after(modules: list[str]) -> list[str]:
    """The modules in sys.modules after importing `modules` in a fresh interpreter."""
    script = (
        f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _culprits(modules: list[str], bad: Callable[[str], bool]) -> list[str]:
    """Which of `modules` loads a bad module. One interpreter imports them all (what they load
    together is what each loads, united); only when that finds something is each one tried alone, to
    name it."""
    if not any(bad(m) for m in _imported_after(modules)):
        return []
    return [
        f"{m} loads {sorted(x for x in _imported_after([m]) if bad(x))}" for m in modules if any(map(bad, _imported_after([m])))
    ]


def test_no_adapter_libraries() -> None:
    modules = [m for layer in LAYERS for m in _modules(layer)]
    assert not _culprits(modules, lambda m: m.split(".")[0] in FORBIDDEN)


def test_knowledge_loads_no_search_or_core() -> None:
    assert not _culprits(_modules("knowledge"), lambda m: m.split(".")[:2] in (["bot", "search"], ["bot", "core"]))


def test_knowledge_imports_no_search_or_core_anywhere() -> None:
    """Also imports inside functions, which importing the module alone would not run."""
    for path in sorted((ROOT / "bot" / "knowledge").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(("bot.search", "bot.core")), f"{path.name}:{node.lineno}: imports {name}"


def test_every_layer_has_modules() -> None:
    for layer in LAYERS:
        assert len(_modules(layer)) >= 2, layer
