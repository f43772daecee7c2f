"""The layers point one way: models/ (installed as tradeq.models) never imports the rest of tradeq,
the module graph has no cycle, nothing is installed as a top-level ``models``, and every package
is listed in pyproject.toml."""

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"tradeq": ROOT / "tradeq", "tradeq.models": ROOT / "models"}


def _modules() -> dict[str, Path]:
    out = {}
    for prefix, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts])] = path
    return out


def _imports(name: str, path: Path, top_level_only: bool) -> set[str]:
    """Absolute names of the modules ``name`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}
    return found


MODULES = _modules()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("tradeq.models")))
def test_models_never_import_the_rest_of_tradeq(name):
    bad = sorted(m for m in _imports(name, MODULES[name], top_level_only=False)
                 if (m == "tradeq" or m.startswith("tradeq.")) and not m.startswith("tradeq.models")
                 or m == "models" or m.startswith("models."))
    assert not bad, f"{name} imports {bad}: models/ computes on arrays and imports nothing above it"


def test_no_import_cycles():
    graph = {n: {m for m in _imports(n, p, top_level_only=False) if m in MODULES and m != n} for n, p in MODULES.items()}
    # a package's __init__ importing its own submodules is not a cycle through them
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if n.startswith(m + ".") or m.startswith(n + "."):
                continue
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, f"import cycles: {cycles}"


def test_every_package_is_listed_and_nothing_is_called_models():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {n for n, p in MODULES.items() if p.name == "__init__.py"}
    assert listed == on_disk, f"pyproject.toml packages: missing {sorted(on_disk - listed)}, extra {sorted(listed - on_disk)}"
    assert all(p == "tradeq" or p.startswith("tradeq.") for p in listed)
    assert config["package-dir"]["tradeq.models"] == "models"


def test_the_core_refuses_to_be_imported_as_models(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delitem(sys.modules, "models", raising=False)
    with pytest.raises(ImportError, match="tradeq.models"):
        __import__("models")
