"""The parts of the image proof that need no root: it reads the Dockerfile as Docker does and
filters the build context with Docker's .dockerignore rules, so a Dockerfile change that the
proof could not carry out fails here, in `make test`, not only in `make image-proof`."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("image_proof", ROOT / "scripts/image_proof.py")
image_proof = importlib.util.module_from_spec(spec)
sys.modules["image_proof"] = image_proof
spec.loader.exec_module(image_proof)


def test_it_can_carry_out_every_instruction_of_the_dockerfile():
    instructions = image_proof.dockerfile_read(ROOT / "Dockerfile")
    assert {i.keyword for i in instructions} <= image_proof.SUPPORTED
    bases = [i.args.split()[0] for i in instructions if i.keyword == "FROM"]
    assert all(image_proof.PYTHON_BASE.match(b) for b in bases), bases


def test_it_reads_continued_lines_and_the_exec_form():
    instructions = image_proof.dockerfile_read(ROOT / "Dockerfile")
    by_keyword = {i.keyword: i for i in instructions}
    assert image_proof.exec_form(by_keyword["CMD"].args) == ["python", "-m", "stressapp.serve"]
    env = next(i for i in instructions if i.keyword == "ENV")
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus" in env.args  # from a continued line
    assert by_keyword["USER"].args == "10001"


def test_it_reads_a_dockerfile_with_comments_inside_a_continued_instruction(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "# syntax=docker/dockerfile:1\nFROM python:3.11-slim AS one\n"
        "RUN echo a \\\n# a comment\n    && echo b\nUSER 1000\n"
    )
    instructions = image_proof.dockerfile_read(dockerfile)
    assert [(i.keyword, i.line) for i in instructions] == [("FROM", 2), ("RUN", 3), ("USER", 6)]
    assert instructions[1].args.split() == ["echo", "a", "&&", "echo", "b"]


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        (".git", True),
        ("data/models/rf/model.joblib", True),  # the root's data folder only
        ("mlcore/data/drivedb.npz", False),
        ("predictions/__pycache__/views.cpython-311.pyc", True),
        ("mlcore/stray.pyc", True),
        (".hypothesis/examples/1", True),
        ("benchmarks/out/api.json", True),
        ("benchmarks/api.py", False),
        (".env", True),
        (".env.example", False),
        ("manage.py", False),
    ],
)
def test_it_leaves_out_what_dockerignore_says_as_docker_does(path, left_out):
    rules = image_proof.ignore_patterns(ROOT)
    assert image_proof.ignored(path, rules) is left_out


def test_an_exception_pattern_brings_a_file_back(tmp_path):
    (tmp_path / ".dockerignore").write_text("docs\n*.md\n!README.md\n")
    rules = image_proof.ignore_patterns(tmp_path)
    assert image_proof.ignored("NOTES.md", rules)
    assert not image_proof.ignored("README.md", rules)
    assert image_proof.ignored("docs/README.md", rules)  # its folder is left out
    assert not image_proof.ignored("sub/NOTES.md", rules)  # *.md is the root's only


def test_a_file_brought_back_from_a_left_out_folder_is_copied_alone(tmp_path):
    context, target = tmp_path / "context", tmp_path / "image"
    for name in ("app.py", "docs/guide.md", "docs/keep/README.md", "cache/x.bin"):
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    (context / ".dockerignore").write_text("docs\ncache\n!docs/keep/README.md\n")
    rules = image_proof.ignore_patterns(context)

    def keep(entry):
        return not image_proof.ignored(entry.relative_to(context).as_posix(), rules)

    owner = (os.getuid(), os.getgid())
    copied = image_proof.copy_tree(context, target, owner, keep, lambda _: True)
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [".dockerignore", "app.py", "docs/keep/README.md"]
    assert copied == 3
    assert not (target / "cache").exists()  # walked, held nothing brought back, not made
