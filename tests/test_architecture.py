"""The structure drawn from the imports: layers that only import downwards, and no import circle.

Every import of a livepresenter module counts, the ones inside functions too (a lazy import is still a dependency).
The layers are the frame's path through the package (README, "Architecture").
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "livepresenter"

LAYERS = [
    {"errors", "config", "library_logs", "outputs", "progress"},  # the ground: errors, settings, file rules
    {"face", "media", "fomm"},                           # face geometry, frames and files, the model
    {"capture", "remote"},                               # camera, microphone, the face; the FOMM server's wire
    {"engine", "compose"},                               # animating the portrait, framing the output
    {"presenter", "sinks"},                              # presenters made ready; virtual camera, recorder
    {"pipeline"},                                        # the frame path and the live host around it
    {"render", "evaluate", "training", "control"},       # offline drivers; the control protocol
    {"daemon"},                                          # the live process: control socket, signals, preview
    {"cli", "tray", "studio", "bench", "__main__"},      # what people run
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """livepresenter module -> the livepresenter modules (or packages) it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("livepresenter"):
                graph[module].add(node.module)
                graph[module].update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                graph[module].update(a.name for a in node.names if a.name.startswith("livepresenter"))
    modules = {_module_name(path) for path in PACKAGE.rglob("*.py")}
    return {module: {t for t in targets if t in modules and t != module} for module, targets in graph.items()}


def _unit(module: str) -> str:
    """The top-level part of the package a module belongs to ("livepresenter.face.crop" -> "face")."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_of_the_package_has_a_layer() -> None:
    layered = set().union(*LAYERS)
    parts = {_unit(_module_name(path)) for path in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts <= layered, f"give these a layer: {sorted(parts - layered)}"


def test_no_layer_imports_one_above_it() -> None:
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    upward = sorted({(module, target) for module, targets in _imports().items() for target in targets
                     if _unit(module) in layer and _unit(target) in layer
                     and layer[_unit(target)] > layer[_unit(module)]})
    assert not upward, "imports reaching up a layer: " + "; ".join(f"{m} -> {t}" for m, t in upward)


def test_no_import_circle() -> None:
    """No module reaches itself through its imports (Tarjan's strongly connected components)."""
    graph = _imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"
