"""The layers of docs/ARCHITECTURE.md, enforced: a module may import only the layers below it, and the
document's table of what each layer must never import says exactly what this test enforces."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
ARCHITECTURE = PACKAGE.parent / "docs" / "ARCHITECTURE.md"

# layer -> the conformance layers it must never import
FORBIDDEN = {
    "spec": {"target", "checks", "runner", "reports", "server", "proxy", "cli", "results"},
    # The target reads the contract's vocabulary (Profile) from spec, the layer below it.
    "target": {"checks", "runner", "reports", "server", "proxy", "cli", "results"},
    "results": {"checks", "runner", "reports", "server", "proxy", "cli"},
    "transport": {"checks", "runner", "reports", "server", "proxy", "cli"},
    "checks": {"runner", "reports", "server", "proxy", "cli"},
    "runner": {"reports", "server", "proxy", "cli"},  # session.py imports reports/server lazily, see below
    "reports": {"checks", "runner", "server", "proxy", "cli"},
    "server": {"checks", "runner", "reports", "proxy", "cli"},
    "proxy": {"runner", "cli"},  # it judges with the checks' own judge, nothing of a run
    "aksk": {"checks", "runner", "reports", "server", "proxy", "cli"},
    "redact": {"checks", "runner", "reports", "server", "proxy", "cli"},
    # The config validator and token_command sit below the target: they know nothing of what a run does.
    "schemas": {"spec", "target", "checks", "runner", "reports", "server", "proxy", "cli", "results"},
    "token_command": {"spec", "target", "checks", "runner", "reports", "server", "proxy", "cli", "results"},
    # What a run is asked to do (read by the plugin in every pytest session), and other libraries' internals
    # (checked): below everything that uses them, so they import nothing of ours above them.
    "options": (
        BOTTOM := {"spec", "target", "checks", "runner", "reports", "server", "proxy", "cli", "results"}
    )
    | {"transport"},
    "_seams": BOTTOM | {"transport"},
}
# The one place that wires the pipeline together and may reach every layer (lazily, at run time).
WIRING = {PACKAGE / "runner" / "session.py"}


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


ROOT = "__init__"  # the package root, conformance/__init__.py: the public API


def _imports(path: Path) -> set[str]:
    """The modules of ours ``path`` imports, below ``conformance.`` (ROOT for the package root itself)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "conformance":
            # `from conformance import aksk` imports the submodule; `... import __version__` the root.
            for alias in node.names:
                submodule = (PACKAGE / alias.name).is_dir() or (PACKAGE / f"{alias.name}.py").exists()
                found.add(alias.name if submodule else ROOT)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("conformance."):
            found.add(node.module.removeprefix("conformance."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("conformance.") for a in node.names if a.name.startswith("conformance.")
            }
            found |= {ROOT for a in node.names if a.name == "conformance"}
    return found


def test_no_module_imports_a_layer_above_it() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(path)
        if layer not in FORBIDDEN or path in WIRING:
            continue
        for module in _imports(path):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                problems.append(f"{path.relative_to(PACKAGE)} imports conformance.{module}")
    assert not problems, problems


def test_nothing_imports_the_cli() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if _layer(p) not in ("cli", "__main__")
        and any(m == "cli" or m.startswith("cli.") for m in _imports(p))
    ]
    assert offenders == []


def test_nothing_imports_the_package_root() -> None:
    # conformance/__init__.py imports results, spec and target for the public API: a module that imported it
    # would run back up through them (a lower layer reaching the ones above it).
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if ROOT in _imports(p)]
    assert offenders == []


def test_the_layers_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path in WIRING:
            continue
        layer = _layer(path)
        graph.setdefault(layer, set()).update(
            m.split(".")[0] for m in _imports(path) if m.split(".")[0] != layer
        )
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(f"the layers import each other in a circle: {exc.args[1]}") from None


# The private modules of other libraries, each read by one module of conformance/_seams/ only.
PRIVATE = (
    "hypothesis.internal",
    "schemathesis.generation",
    "schemathesis.core",
    "schemathesis.specs",
    "uvicorn.protocols",
)


def test_only_the_seams_import_other_libraries_internals() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _layer(path) == "_seams":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names if n.startswith(PRIVATE)]
    assert offenders == []


def _documented_rules() -> tuple[dict[str, set[str]], str]:
    """ARCHITECTURE.md's table (layer -> the layers it must never import) and the text of its section."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text[text.index("## What may import what") :]
    table = {}
    for row in re.findall(r"^\| `([\w.]+)` \| (.+) \|$", section, re.M):
        layer, forbidden = row
        table[layer] = set(re.findall(r"`([\w.]+)`", forbidden))
    return table, section


def test_the_architecture_document_states_the_rules_this_test_enforces() -> None:
    table, section = _documented_rules()
    assert table == FORBIDDEN
    for path in WIRING:  # the one exemption, by its path below conformance/
        assert f"`{path.relative_to(PACKAGE).as_posix()}` is exempt" in section
    assert "Nothing but `cli` itself and `__main__` imports `cli`." in section
    assert "Nothing in the package imports the package root" in section
    assert "There is no import cycle between layers" in section
    (private,) = [line for line in section.splitlines() if "private modules of other libraries" in line]
    documented = re.findall(r"`([\w.]+)`", private + section.split(private, 1)[1].split("\n\n", 1)[0])
    assert set(documented) - {"_seams"} == set(PRIVATE)
