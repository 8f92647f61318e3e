"""The layers import in one direction only: accounts knows nothing of predictions, and mlcore
nothing of Django or the apps. A new import the wrong way fails here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file of the package imports (tests included), by file."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path}: {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("accounts", ("predictions",)),
        ("mlcore", ("django", "rest_framework", "celery", "accounts", "predictions", "stressapp")),
    ],
)
def test_it_imports_only_downwards(package, forbidden):
    assert offenders(package, forbidden) == []


def test_the_check_sees_an_import_the_wrong_way(tmp_path, monkeypatch):
    """The rule above would catch one: the scan finds imports in a file of the package."""
    monkeypatch.setattr("stressapp.tests.test_boundaries.ROOT", tmp_path, raising=True)
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "views.py").write_text("from predictions.exports import x\n")
    assert offenders("accounts", ("predictions",)) == ["accounts/views.py: predictions.exports"]


def application_offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """As offenders(), for the package's own code (its tests may use anything)."""
    return [
        line
        for line in offenders(package, forbidden)
        if "/tests/" not in line.split(":")[0].replace("\\", "/")
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("jobs", ("predictions", "accounts", "mlcore")),
        ("stressapp", ("predictions", "accounts", "jobs", "mlcore")),
    ],
)
def test_the_engine_and_the_project_package_import_no_app_above_them(package, forbidden):
    assert application_offenders(package, forbidden) == []


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of these packages it imports when it is imported (statements at
    module level; imports inside functions run later, so they make no cycle at import)."""
    files = {
        module_name(path): path
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "tests" not in path.relative_to(ROOT).parts and "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets: set[str] = set()
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in targets if target in files and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
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
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_the_modules_of_jobs_predictions_and_stressapp():
    assert cycles(import_graph(("jobs", "predictions", "stressapp"))) == []


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
