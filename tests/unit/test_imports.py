"""What `import pytt_events` loads: not the schema validators (they load when validation is
used), so applications that only send start faster. And the import map: no cycle between the
package's modules but through `if TYPE_CHECKING:` imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytt_events

PACKAGE = Path(pytt_events.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]


def _module_files() -> dict[str, Path]:
    """Every module of the package (the generated ones included), by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["pytt_events", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that module name imports, at module level or in a function (an
    `if TYPE_CHECKING:` block aside): `from pytt_events import _x` names the module _x,
    `from pytt_events._x import y` the module _x, or its submodule y when there is one."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                for other in child.orelse:
                    visit_node(other)
            else:
                visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        visit(node)

    visit(ast.parse(path.read_text("utf-8")))
    found = set()
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def import_map() -> dict[str, set[str]]:
    """Each module of the package, and the package's modules it imports."""
    modules = _module_files()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_import_map_has_no_cycle() -> None:
    graph = import_map()
    assert {"pytt_events", "pytt_events._marks", "pytt_events._conditions"} <= set(graph)
    assert graph["pytt_events._families"], "the map reads imports"
    assert _cycles(graph) == []


#: The generated models of each API version, and their public faces, stand on the map for
#: every version alike.
_VERSIONED = ("pytt_events._generated.", "pytt_events.models.")


def _short(module: str) -> str:
    """A module's name on ARCHITECTURE.md's import map: without the package's, and a version's
    module (`_generated.v1_3`) as `_generated.<version>`."""
    for prefix in _VERSIONED:
        if module.startswith(prefix):
            return prefix.removeprefix("pytt_events.") + "<version>"
    return "pytt_events" if module == "pytt_events" else module.removeprefix("pytt_events.")


def _short_map(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import map by short names (see _short), without a module's imports of itself."""
    merged: dict[str, set[str]] = {}
    for name, targets in graph.items():
        merged.setdefault(_short(name), set()).update(map(_short, targets))
    for name, targets in merged.items():
        targets.discard(name)
    return merged


def floors(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module (short name) one floor above the highest module it imports (0: none)."""
    merged = _short_map(graph)
    found: dict[str, int] = {}

    def floor(name: str) -> int:
        if name not in found:
            found[name] = 1 + max((floor(target) for target in merged[name]), default=-1)
        return found[name]

    for name in merged:
        floor(name)
    return found


def _documented_floors() -> dict[str, int]:
    """The import map ARCHITECTURE.md draws: each line of its block `N  module, module`."""
    text = (ROOT / "ARCHITECTURE.md").read_text("utf-8")
    block = text.split("## Import map", 1)[1].split("```", 2)[1]
    documented: dict[str, int] = {}
    for line in block.splitlines():
        number, _, names = line.strip().partition(" ")
        if number.isdigit():
            for name in names.split(","):
                documented[name.strip()] = int(number)
    return documented


def test_architecture_draws_the_import_map_as_it_is() -> None:
    """ARCHITECTURE.md's import map has every module, each on a floor above every module it
    imports. A module added, or an import that reaches up or sideways: redraw the map (the
    message gives each module its lowest floor)."""
    graph = import_map()
    computed = floors(graph)
    drawn = "\n".join(
        f"{number:>2}  " + ", ".join(sorted(name for name, at in computed.items() if at == number))
        for number in sorted(set(computed.values()))
    )
    documented = _documented_floors()
    assert set(documented) == set(computed), f"the import map is now:\n{drawn}"
    upward = sorted(
        f"{name} ({documented[name]}) imports {target} ({documented[target]})"
        for name, targets in _short_map(graph).items()
        for target in targets
        if documented[target] >= documented[name]
    )
    assert upward == [], f"the import map is now:\n{drawn}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_function_level_imports_are_in_the_map_and_type_checking_ones_are_not() -> None:
    graph = import_map()
    # _schema imports _soft in a function, and only for type checking at module level.
    assert "pytt_events._soft" in graph["pytt_events._schema"]
    assert "pytt_events._hashing" not in graph["pytt_events._schema"]


def test_the_model_engine_and_the_families_do_not_reach_the_file_validator() -> None:
    graph = import_map()
    for module in ("pytt_events._marks", "pytt_events._families", "pytt_events._conditions"):
        assert "pytt_events.validation" not in _reachable(graph, module), module
    # The rules between fields sit below the three modules that check them.
    below = _reachable(graph, "pytt_events._conditions")
    assert not {"pytt_events._marks", "pytt_events._families", "pytt_events.validation"} & below
    for module in ("pytt_events._marks", "pytt_events._families", "pytt_events.validation"):
        assert "pytt_events._conditions" in graph[module], module


def test_importing_the_package_loads_no_schema_validator() -> None:
    code = (
        "import sys, pytt_events; "
        "print(sorted(m for m in ('jsonschema', 'jsonschema_rs') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_cli_calls_only_the_public_library() -> None:
    import ast
    from pathlib import Path

    import pytt_events.cli

    tree = ast.parse(Path(pytt_events.cli.__file__).read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            if node.module == "pytt_events":
                imported.update(f"pytt_events.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.startswith("pytt_events")}
    assert ours, "the CLI imports the library"
    private = sorted(
        name
        for name in ours
        if any(part.startswith("_") and not part.endswith("__") for part in name.split(".")[1:])
    )
    assert private == []


def test_the_cli_loads_the_sandbox_only_when_used() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from pytt_events.cli import main; "
        "result = CliRunner().invoke(main, ['--help']); assert result.exit_code == 0; "
        "print('pytt_events.testing' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_cli_default_sandbox_token_is_the_sandbox_s() -> None:
    from pytt_events import cli, testing

    assert cli._SANDBOX_TOKEN == testing.DEFAULT_ACCESS_TOKEN
    assert cli._SANDBOX_ADVERTISER == testing.SANDBOX_ADVERTISER_ID


def test_the_cli_default_statistics_days_are_the_library_s() -> None:
    from pytt_events import cli
    from pytt_events._constants import STATS_DEFAULT_DAYS

    assert cli._STATS_DAYS == STATS_DEFAULT_DAYS


def test_the_cli_default_outbox_table_is_the_postgres_outbox_s() -> None:
    """The command line's copy of a default it shares with the library (it imports only
    public modules, and not the outbox module for its help)."""
    import inspect

    from pytt_events import cli
    from pytt_events._constants import DEFAULT_OUTBOX_TABLE
    from pytt_events.outbox import PostgresOutbox

    command = cli.main.commands["outbox"]
    (table,) = (param for param in command.params if param.name == "table")
    assert table.default == DEFAULT_OUTBOX_TABLE
    assert inspect.signature(PostgresOutbox).parameters["table"].default == DEFAULT_OUTBOX_TABLE
