"""The house rules that a reader cannot check by eye: no import circles across workbench/ (counting
imports inside functions too), no file in workbench/ over 500 lines, no Qt in core/,
actions/ or engine/ (the engine process never loads Qt)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"
MAX_LINES = 500
QT_FREE = ("workbench.core", "workbench.actions", "workbench.engine")
QT_MODULES = ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "pyqtgraph")


def _import_source(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from … import`` reads from, a relative one resolved against ``package``."""
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_names(path: Path, name: str) -> list[str]:
    """Every module named by an import anywhere in the file (top level, functions, classes),
    relative imports resolved; ``from a import b`` names ``a.b`` too (b may be a module)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _import_source(node, package)
            found.append(source)
            found += [f"{source}.{alias.name}" for alias in node.names]
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in imported_names(path, name):
            # The module itself if it is ours, else the nearest package of ours above it.
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)  # (a module importing its own package is no circle)
        graph[name] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one
    circle through them, for the message."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [circle_through(graph, c) for c in components]


def circle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One import path from the component's first module back to itself."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    return component  # pragma: no cover - a component always has a circle


def test_the_cycle_finder_names_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_and_relative_imports_count(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from . import sibling\n    import workbench.core.spec\n")
    names = imported_names(source, "workbench.ui.m")
    assert "workbench.ui.sibling" in names and "workbench.core.spec" in names


def test_no_import_circles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_file_over_500_lines():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_core_actions_and_engine_never_import_qt():
    offenders = {}
    for name, path in modules().items():
        if name.startswith(QT_FREE):
            qt = sorted({n for n in imported_names(path, name)
                         if n.split(".")[0] in QT_MODULES})
            if qt:
                offenders[name] = qt
    assert not offenders, f"Qt imported where it must not be: {offenders}"


# The window's process never imports TensorFlow, Keras, onnxruntime or LiteRT (#26) ------------

HEAVY = ("tensorflow", "keras", "tf_keras", "onnxruntime", "ai_edge_litert", "tf2onnx",
         "tflite_runtime", "onnx")
LOADER = ("workbench.core.tf_loader", "load_tensorflow")


def _bindings(tree: ast.AST, name: str, is_package: bool, known: dict) -> dict:
    """Local name -> ("module", M) or ("def", M, NAME), from every import in the file."""
    package = name if is_package else name.rpartition(".")[0]
    bound: dict[str, tuple] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = ("module", alias.name)
                else:  # "import a.b" binds a
                    bound[alias.name.split(".")[0]] = ("module", alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _import_source(node, package)
            for alias in node.names:
                full = f"{source}.{alias.name}"
                bound[alias.asname or alias.name] = (("module", full) if full in known
                                                     else ("def", source, alias.name))
    return bound


def _heavy_import(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] in HEAVY or alias.name == LOADER[0]:
                return alias.name
    elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
        if node.module.split(".")[0] in HEAVY:
            return node.module
    return None


def _references(node: ast.AST, module: str, bound: dict, defs: set[str]) -> set[tuple]:
    """The (module, name) pairs a piece of code names: its imported names, its module's own
    top-level names, and ``alias.attr`` of an imported module."""
    found: set[tuple] = set()
    local = {a.arg for sub in ast.walk(node) if isinstance(sub, ast.arguments)
             for a in [*sub.posonlyargs, *sub.args, *sub.kwonlyargs, sub.vararg, sub.kwarg] if a}
    if not isinstance(node, ast.Module):  # a function's own names hide its module's
        local |= {sub.id for sub in ast.walk(node)
                  if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in local:
            target = bound.get(sub.id)
            if target is not None and target[0] == "def":
                found.add(target[1:])
            elif sub.id in defs:
                found.add((module, sub.id))
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and (
                sub.value.id not in local):
            target = bound.get(sub.value.id)
            if target is not None and target[0] == "module":
                found.add((target[1], sub.attr))
        elif isinstance(sub, ast.ImportFrom):
            found |= {target[1:] for alias in sub.names
                      if (target := bound.get(alias.asname or alias.name)) and target[0] == "def"}
        heavy = _heavy_import(sub)
        if heavy:
            found.add(("<heavy>", heavy))
    return found


def heavy_users() -> dict[str, set[str]]:
    """For every module of ours, the names it uses that load TensorFlow, Keras, onnxruntime or
    LiteRT when called (at any depth of calls within our modules: a function that calls
    ``load_tensorflow`` or imports one of them, or calls such a function), and those libraries
    it imports itself. Classes count as one name with all their methods."""
    known = modules()
    parsed = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        bound = _bindings(tree, name, path.name == "__init__.py", known)
        tops = {n.name: n for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        for node in tree.body:  # a table of functions at the top (a registry) counts as one
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(target, ast.Name):
                        tops.setdefault(target.id, node.value)
        parsed[name] = (tree, bound, {top: _references(node, name, bound, set(tops))
                                      for top, node in tops.items()})
    # A name a module imports is the name where it is defined (a package re-exporting it).
    aliases = {(name, local): target[1:] for name, (_, bound, _) in parsed.items()
               for local, target in bound.items() if target[0] == "def"}
    loading = {LOADER}
    changed = True
    while changed:  # to a fixed point: callers of loading functions load too
        changed = False
        for alias, target in aliases.items():
            if alias not in loading and target in loading:
                loading.add(alias)
                changed = True
        for name, (_, _, refs) in parsed.items():
            for top, names in refs.items():
                if (name, top) not in loading and any(
                        n in loading or n[0] == "<heavy>" for n in names):
                    loading.add((name, top))
                    changed = True
    users = {}
    for name, (tree, bound, _) in parsed.items():
        used = _references(tree, name, bound, set())
        bad = {f"{m}.{n}" if m != "<heavy>" else n for m, n in used
               if (m, n) in loading or m == "<heavy>"}
        if bad:
            users[name] = bad
    return users


# Today's window modules that still reach Keras (or its runtimes) in their own process, and what
# they reach: the engine helpers of #26 move each to an engine request. This list only shrinks.
UI_HEAVY_ALLOWED: dict[str, set[str]] = {}


def test_the_window_reaches_no_tensorflow():
    """Each window module on its own: the names it uses from outside workbench/ui (each window
    module that uses another is checked itself)."""
    users = {name: {b for b in bad if not b.startswith("workbench.ui.")}
             for name, bad in heavy_users().items() if name.startswith("workbench.ui")}
    users = {name: bad for name, bad in users.items() if bad}
    new = {name: sorted(bad - UI_HEAVY_ALLOWED.get(name, set())) for name, bad in users.items()
           if bad - UI_HEAVY_ALLOWED.get(name, set())}
    assert not new, ("the window's process must not load TensorFlow, Keras, onnxruntime or "
                     f"LiteRT (ask the engine): {new}")
    gone = {name: sorted(allowed - users.get(name, set()))
            for name, allowed in UI_HEAVY_ALLOWED.items() if allowed - users.get(name, set())}
    assert not gone, f"no longer used: take them off UI_HEAVY_ALLOWED: {gone}"


def test_the_heavy_check_follows_calls(tmp_path, monkeypatch):
    source = ("from workbench.core.tf_loader import load_tensorflow\n"
              "def a():\n    return load_tensorflow()\n"
              "def b():\n    return a()\n"
              "def c():\n    import onnxruntime\n"
              "def pure():\n    return 1\n")
    tree = ast.parse(source)
    bound = _bindings(tree, "workbench.core.x", False, modules())
    tops = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    refs = {n.name: _references(n, "workbench.core.x", bound, tops) for n in tree.body
            if isinstance(n, ast.FunctionDef)}
    assert LOADER in refs["a"] and ("workbench.core.x", "a") in refs["b"]
    assert ("<heavy>", "onnxruntime") in refs["c"] and not refs["pure"]
