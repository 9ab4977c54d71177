"""The package's import graph follows the layer order written in docs/architecture.md, with no cycle."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "neurobox"
EXEMPT = {"neurobox", "neurobox.__main__"}
"""The public facade (imports lazily on attribute access) and the entry point."""


def layer_order() -> list[list[str]]:
    """The layers, lowest first, from the table between the markers in docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("<!-- layers:begin -->")[1].split("<!-- layers:end -->")[0]
    layers = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].isdigit():
            continue
        layers.append(re.findall(r"`(neurobox[\w.]*)`", cells[1]))
    return layers


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every neurobox module `path` imports, at module level or inside functions (not for type checking only)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):   # drop `if TYPE_CHECKING:` blocks: they are never imported at run time
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("neurobox")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("neurobox"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def layer_of(module: str, layers: list[list[str]]) -> int | None:
    best, depth = None, -1
    for k, names in enumerate(layers):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > depth:
                best, depth = k, len(name)
    return best


def test_every_module_belongs_to_a_layer():
    layers = layer_order()
    assert len(layers) >= 10
    missing = [module_name(p) for p in PACKAGE.rglob("*.py")
               if module_name(p) not in EXEMPT and layer_of(module_name(p), layers) is None]
    assert not missing, f"modules in no layer of docs/architecture.md: {missing}"


def test_imports_go_down_the_layers_only():
    layers = layer_order()
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        me = module_name(path)
        if me in EXEMPT:
            continue
        mine = layer_of(me, layers)
        for other in imports(path):
            if other == "neurobox":
                other = "neurobox.engine"  # the facade exports the engine's run and Simulation
            theirs = layer_of(other, layers)
            if theirs is not None and theirs > mine:
                wrong.append(f"{me} (layer {mine}) imports {other} (layer {theirs})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(set(wrong)))


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    top = lambda m: ".".join(m.split(".")[:2])  # noqa: E731
    for path in PACKAGE.rglob("*.py"):
        me = module_name(path)
        if me in EXEMPT:
            continue
        graph.setdefault(top(me), set()).update(top(o) for o in imports(path) if o != "neurobox" and top(o) != top(me))
    seen, stack, cycles = set(), [], []

    def visit(node):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()

    for node in sorted(graph):
        visit(node)
    assert not cycles, f"import cycles between packages: {cycles[:3]}"
