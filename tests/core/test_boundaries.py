"""Layering: the core, the knowledge model and search import no adapter, server, template or
settings library, and the knowledge model imports nothing from search or the core."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def _imported_after(module: str) -> list[str]:
    """The modules in sys.modules after importing `module` in a fresh interpreter."""
    script = f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("module", [m for layer in LAYERS for m in _modules(layer)])
def test_no_adapter_libraries(module: str) -> None:
    loaded = _imported_after(module)
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
    assert not bad, f"importing {module} loads {bad}"


@pytest.mark.parametrize("module", _modules("knowledge"))
def test_knowledge_loads_no_search_or_core(module: str) -> None:
    loaded = _imported_after(module)
    bad = sorted(m for m in loaded if m.split(".")[:2] in (["bot", "search"], ["bot", "core"]))
    assert not bad, f"importing {module} loads {bad}"


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
