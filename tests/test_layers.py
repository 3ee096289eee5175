"""The house's layers, checked by reading the source (``ast``), not by importing it.

- The core (everything under ``invoicedesk/`` except ``invoicedesk/ui/``) never imports Qt, at
  any depth: an ``import PySide6`` inside a function is as much a dependency as one at the top,
  it only shows up later (on a headless server, in the command line).
- The modules of ``invoicedesk`` import each other without a cycle, counting every import
  (function-level and ``TYPE_CHECKING`` ones included): a cycle hidden in a function is still a
  pair of modules that cannot be understood, tested or moved one without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import invoicedesk

PACKAGE = Path(invoicedesk.__file__).parent
QT_ROOTS = frozenset({"PySide6", "shiboken6", "qasync"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_core(name: str) -> bool:
    return not (name == "invoicedesk.ui" or name.startswith("invoicedesk.ui."))


def import_statements(name: str, path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """Every import in ``path``, at any depth: ``(module, names, line)``; ``import a.b`` is
    ``("a.b", (), line)`` and ``from .x import y`` inside ``pkg`` is ``("pkg.x", ("y",), line)``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, tuple[str, ...], int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((target, tuple(alias.name for alias in node.names), node.lineno))
    return found


def imports_of(name: str, path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, with the line (``from a import b`` counts as ``a``)."""
    return [(module, line) for module, _names, line in import_statements(name, path)]


def import_graph() -> dict[str, set[str]]:
    """``invoicedesk`` module -> the ``invoicedesk`` modules it imports (any depth).

    ``from package import module`` is an edge to that module, not to the package's
    ``__init__``; ``from module import name`` is an edge to the module that holds the name.
    """
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for module, names, _line in import_statements(name, path):
            inner = [f"{module}.{n}" for n in names]
            if inner and all(m in modules for m in inner):
                edges.update(inner)
            elif module in modules:
                edges.add(module)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or ``None`` (iterative DFS, three colours)."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for root in sorted(graph):
        if colour[root] != white:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        path = [root]
        colour[root] = grey
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = black
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop(0)
            if colour[nxt] == grey:
                return [*path[path.index(nxt) :], nxt]
            if colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def test_the_layers_are_where_the_folders_say() -> None:
    modules = all_modules()
    assert "invoicedesk.config" in modules and is_core("invoicedesk.config")
    assert "invoicedesk.ui.main_window" in modules and not is_core("invoicedesk.ui.main_window")
    assert "invoicedesk.ui.app" in modules and not is_core("invoicedesk.ui.app")


def test_no_core_module_imports_qt_at_any_depth() -> None:
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
        for name, path in all_modules().items()
        if is_core(name)
        for target, line in imports_of(name, path)
        if target.split(".")[0] in QT_ROOTS
    ]
    assert not bad, "the core must not import Qt:\n" + "\n".join(sorted(set(bad)))


def test_only_the_entry_point_reaches_into_the_window() -> None:
    """``__main__`` opens the window when no command is named; nothing else in the core may."""
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
        for name, path in all_modules().items()
        if is_core(name) and name != "invoicedesk.__main__"
        for target, line in imports_of(name, path)
        if not is_core(target) and target.startswith("invoicedesk.")
    ]
    assert not bad, "the core must not import the window:\n" + "\n".join(sorted(set(bad)))


def test_modules_import_each_other_without_a_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_hidden_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_function_level_import_counts(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from PySide6.QtCore import QObject\n    import qasync\n")
    targets = {t for t, _ in imports_of("invoicedesk.m", source)}
    assert {"PySide6.QtCore", "qasync"} <= targets


# ---------------------------------------------------------------------- what start-up loads

FIRST_PAINT_PROBE = """
import json, sys
from PySide6.QtCore import QTimer
from invoicedesk.ui import firstpaint

watch = firstpaint.watch_first_paint

def watch_and_report(window):
    reporter = watch(window)
    def painted(_seconds):
        print("LOADED " + json.dumps(sorted(sys.modules)), flush=True)
        QTimer.singleShot(0, window.close)  # not inside the paint event
    reporter.painted.connect(painted)
    return reporter

firstpaint.watch_first_paint = watch_and_report
from invoicedesk.__main__ import main
sys.exit(main([]))
"""

#: What the window's first paint must not wait for: the sandbox and its server, the team
#: database's driver, the HTTP stack (it loads with the first client), the command line.
NOT_BEFORE_FIRST_PAINT = (
    "invoicedesk.sandbox", "starlette", "uvicorn", "psycopg", "httpx", "click", "invoicedesk.cli",
    "keyring", "PySide6.QtNetwork",  # the sync child reads the keyring; the network is watched once offline
)


def test_the_first_paint_loads_no_server_driver_or_http_stack(tmp_path: Path) -> None:
    """Staff wait for what loads before the list paints: only what the list needs loads."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        INVOICEDESK_DATA_DIR=str(tmp_path / "data"),
        INVOICEDESK_CONFIG=str(tmp_path / "config.toml"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_PROBE], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED "))
    loaded = set(json.loads(line.removeprefix("LOADED ")))
    assert "invoicedesk.ui.main_window" in loaded, "the probe saw the window's first paint"
    early = sorted(m for m in loaded for p in NOT_BEFORE_FIRST_PAINT if m == p or m.startswith(p + "."))
    assert not early, f"loaded before the first paint: {early}"


QT_FEATURE_PROBE = """
import json, linecache, sys
sys.path.insert(0, sys.argv[1])
from invoicedesk.ui.qt_feature import lighten_import_hook
assert lighten_import_hook()
import uses_qt, plain  # written by the test, imported after PySide6
feature = sys.modules["shibokensupport.feature"]
print(json.dumps({
    "read": [f for f in linecache.cache if f.endswith(("uses_qt.py", "plain.py"))],
    "verdicts": {n: feature.pyside_feature_dict.get(n) for n in ("uses_qt", "plain")},
}))
"""


def test_pyside_no_longer_reads_the_source_of_every_module_imported_after_it(tmp_path: Path) -> None:
    """PySide6 asks of every module imported after it whether it uses PySide6; unpatched, it
    reads the module's whole source file to answer (and linecache keeps it). Answered from the
    module's names instead: no file read, and the same verdicts."""
    import json
    import subprocess
    import sys

    (tmp_path / "uses_qt.py").write_text("from PySide6.QtCore import QObject\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("import json\nVALUE = 1\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", QT_FEATURE_PROBE, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got["read"] == []
    assert got["verdicts"] == {"uses_qt": 0, "plain": -1}
