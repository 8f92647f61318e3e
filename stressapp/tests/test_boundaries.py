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
