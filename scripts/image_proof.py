"""The image, proven without an engine (issue 22, item 7): build the Dockerfile's image with
no Docker daemon, then run it as it would run, and check that it serves.

    sudo python3 scripts/image_proof.py          (make image-proof; root: chroot and mounts)

1. The base. The Dockerfile starts from python:3.11-slim-bookworm: Debian bookworm with
   Python 3.11 built from source in /usr/local. No registry of images is reachable here, so
   the base is made the honest way we can: `debootstrap --variant=minbase bookworm`, plus
   bookworm's own Python 3.11 (python3, pip, venv, the headers) and what the slim image adds
   (ca-certificates, netbase, tzdata; PATH and LANG=C.UTF-8), with `python` and `pip` on PATH
   and no EXTERNALLY-MANAGED marker (the official image has none, so its pip installs into
   the system). The one known difference: bookworm's Python is 3.11.2 and its pip 23.0,
   where the official image carries the latest 3.11 release and a newer pip.
2. The build. The Dockerfile is read and its instructions are carried out one by one, each
   stage in a root file system of its own (a copy of the base): FROM, WORKDIR, ENV, ARG, RUN
   (`/bin/sh -c` in a chroot, with the stage's ENV, WORKDIR and USER, /proc and /dev mounted
   and the host's resolver, as a build has), COPY (from the build context, filtered by
   .dockerignore as Docker filters it, or --from an earlier stage; --chown honoured, root
   otherwise), USER; EXPOSE, HEALTHCHECK and CMD are kept for the run.
3. The run, as `docker run --read-only --tmpfs /tmp -v data:/data` would: the image's root
   file system bind-mounted read-only (the code tree included), a tmpfs on /tmp, a writable
   folder on /data, the host's network (PostgreSQL and Redis on 127.0.0.1), every command as
   the image's USER. First the Compose web service's own steps (migrate, ensure_model), then
   the image's CMD; then: /health answers, the HEALTHCHECK command passes, the code tree
   refuses a write, and a reading POSTed to /api/predict with a token is scored.

Everything started is stopped, every mount is removed and the database (stressapp_image) is
dropped at the end, also on failure. The folder (IMAGE_PROOF_DIR, default
/var/tmp/stressapp-image-proof) keeps the base between runs; --fresh rebuilds it.
"""

# ruff: noqa: S603, S607 - a build tool: it runs chroot, mount and the image's own commands
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("IMAGE_PROOF_DIR", "/var/tmp/stressapp-image-proof"))  # noqa: S108
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PG_SERVER = os.environ.get("IMAGE_PROOF_PG", "postgres://postgres@127.0.0.1:5432")
DATABASE = "stressapp_image"
REDIS_URL = os.environ.get("IMAGE_PROOF_REDIS", "redis://127.0.0.1:6379/3")
# What python:3.11-slim-<release> is, made of Debian's own packages (see the docstring).
PYTHON_BASE = re.compile(r"^python:3\.11-slim(?:-(?P<release>bookworm))?$")
BASE_PACKAGES = [
    "python3", "python3-pip", "python3-venv", "python3-dev", "python-is-python3",
    "ca-certificates", "netbase", "tzdata",
]  # fmt: skip
CA_BUNDLE_PATH = "etc/ssl/certs/ca-certificates.crt"
HOST_CA_BUNDLE = Path("/") / CA_BUNDLE_PATH
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}


def check(condition: object, message: object) -> None:
    """Stops the proof with the reason (asserts vanish under python -O)."""
    if not condition:
        raise SystemExit(f"image proof FAILED: {message}")


def say(line: str) -> None:
    print(f"[image-proof {time.strftime('%H:%M:%S')}] {line}", flush=True)


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, **kwargs)


# --- mounts ------------------------------------------------------------------------------


class Mounts:
    """Every mount made, undone in reverse order (lazily if busy) however the run ends."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def mount(self, *args: str, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        run("mount", *args, str(target))
        self.points.append(target)

    def bind(self, source: Path, target: Path, *, read_only: bool = False) -> None:
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        run("mount", "--bind", str(source), str(target))
        self.points.append(target)
        if read_only:
            run("mount", "-o", "remount,bind,ro", str(target))

    def undo(self, until: int = 0) -> None:
        while len(self.points) > until:
            point = self.points.pop()
            if subprocess.run(["umount", str(point)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(point)], capture_output=True)


# The device nodes a container gets (Docker's default set), on a tmpfs of its own: the
# host's /dev is never shared with the image.
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9),
           "tty": (5, 0)}  # fmt: skip


def dev_make(mounts: Mounts, rootfs: Path) -> None:
    dev = rootfs / "dev"
    mounts.mount("-t", "tmpfs", "-o", "mode=755,size=65536k,nosuid", "tmpfs", target=dev)
    for name, (major, minor) in DEVICES.items():
        os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(dev / name, 0o666)  # noqa: S103 - device nodes every process may use
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, dev / name)
    mounts.mount(
        "-t", "tmpfs", "-o", "mode=1777,size=65536k,nosuid,nodev", "shm", target=dev / "shm"
    )


@contextlib.contextmanager
def build_mounts(mounts: Mounts, rootfs: Path) -> Iterator[None]:
    """What a build step sees: /proc, /dev and the host's resolver (not kept in the image)."""
    mark = len(mounts.points)
    try:
        mounts.mount("-t", "proc", "proc", target=rootfs / "proc")
        dev_make(mounts, rootfs)
        mounts.bind(Path("/etc/resolv.conf"), rootfs / "etc/resolv.conf", read_only=True)
        # This workplace reaches package registries through a TLS-inspecting proxy whose
        # certificate is in the host's bundle: a build step gets that bundle as a build behind
        # such a proxy gets it (mounted for the step, never part of the image).
        if HOST_CA_BUNDLE.exists() and (rootfs / CA_BUNDLE_PATH).exists():
            mounts.bind(HOST_CA_BUNDLE, rootfs / CA_BUNDLE_PATH, read_only=True)
        yield
    finally:
        mounts.undo(mark)


# --- the base ----------------------------------------------------------------------------


def chroot_sh(rootfs: Path, script: str, *, env: dict[str, str], user: str = "0:0") -> None:
    command = ["chroot", f"--userspec={user}", str(rootfs), "/usr/bin/env", "-i"]
    command += [f"{k}={v}" for k, v in env.items()] + ["/bin/sh", "-c", script]
    run(*command)


BASES_MADE: set[Path] = set()  # --fresh makes each base once per run, however many FROMs


def base_make(release: str, mounts: Mounts, fresh: bool) -> Path:
    base = WORK / f"base-{release}-python3.11"
    if base in BASES_MADE:
        say(f"base: {base} (made above)")
        return base
    if (base / ".complete").exists() and not fresh:
        say(f"base: {base} (kept from an earlier run; --fresh rebuilds it)")
        return base
    shutil.rmtree(base, ignore_errors=True)
    say(f"base: debootstrap --variant=minbase {release} from {MIRROR}")
    run("debootstrap", "--variant=minbase", release, str(base), MIRROR, stdout=subprocess.DEVNULL)
    say("base: bookworm's Python 3.11 standing in for python:3.11-slim: " + " ".join(BASE_PACKAGES))
    # The sources the official image lists (the release, its updates, its security fixes).
    (base / "etc/apt/sources.list").unlink(missing_ok=True)
    (base / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {MIRROR}\nSuites: {release} {release}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {MIRROR}-security\nSuites: {release}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    (base / "etc/resolv.conf").touch()  # a mount point for the host's, as a build has
    env = {**BASE_ENV, "DEBIAN_FRONTEND": "noninteractive"}
    with build_mounts(mounts, base):
        chroot_sh(
            base,
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
            + " ".join(BASE_PACKAGES)
            + " >/dev/null && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED",
            env=env,
        )
    (base / ".complete").touch()
    BASES_MADE.add(base)
    return base


# --- the Dockerfile ----------------------------------------------------------------------


# What build() carries out or keeps; LABEL and STOPSIGNAL change nothing it checks.
SUPPORTED = {"FROM", "ARG", "WORKDIR", "ENV", "RUN", "COPY", "ADD", "USER", "CMD", "ENTRYPOINT",
             "HEALTHCHECK", "EXPOSE", "LABEL", "STOPSIGNAL"}  # fmt: skip


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    name: str
    base: str
    rootfs: Path
    env: dict[str, str] = field(default_factory=lambda: dict(BASE_ENV))
    workdir: str = "/"
    user: str = "0"
    cmd: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)


def dockerfile_read(path: Path) -> list[Instruction]:
    """Instructions with their continuation lines joined; comments and parser directives
    dropped (a comment line inside a continued instruction is skipped, as Docker does)."""
    instructions, pending, start = [], "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = ""
    return instructions


def split_flags(args: str) -> tuple[dict[str, str], list[str]]:
    flags, words = {}, []
    for word in shlex.split(args):
        if word.startswith("--") and not words:
            name, _, value = word[2:].partition("=")
            flags[name] = value
        else:
            words.append(word)
    return flags, words


def exec_form(args: str) -> list[str]:
    if args.startswith("["):
        return json.loads(args)
    return ["/bin/sh", "-c", args]


def expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), value)


# --- .dockerignore -----------------------------------------------------------------------


def ignore_patterns(context: Path) -> list[tuple[bool, re.Pattern]]:
    """Docker's rules: patterns relative to the context root, `**` any number of folders,
    `*` and `?` within one name, `!` re-includes; the last pattern that matches decides, and a
    folder that is left out takes everything in it along."""
    path = context / ".dockerignore"
    rules = []
    lines = path.read_text().splitlines() if path.exists() else []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        rules.append((keep, re.compile(f"^{regex}$")))
    return rules


def ignored(relative: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Left out of the context: the last rule that matches the path or a folder above it."""
    parts = relative.split("/")
    paths = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    verdict = False
    for keep, regex in rules:
        if any(regex.match(path) for path in paths):
            verdict = not keep
    return verdict


# --- executing a stage -------------------------------------------------------------------


def ids(rootfs: Path, user: str) -> tuple[int, int]:
    """A USER or --chown value (name or number, optional :group) as uid, gid, read from the
    stage's own /etc/passwd and /etc/group."""
    name, _, group = user.partition(":")

    def lookup(table: str, key: str) -> list[str] | None:
        for line in (rootfs / "etc" / table).read_text().splitlines():
            fields = line.split(":")
            if key in (fields[0], fields[2]):
                return fields
        return None

    entry = lookup("passwd", name)
    uid = int(entry[2]) if entry else int(name)
    if group:
        group_entry = lookup("group", group)
        gid = int(group_entry[2]) if group_entry else int(group)
    else:
        gid = int(entry[3]) if entry else uid
    return uid, gid


def home_of(rootfs: Path, uid: int) -> str:
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if int(fields[2]) == uid:
            return fields[5]
    return "/"


def copy_tree(source: Path, target: Path, owner: tuple[int, int], keep, enter) -> int:
    """Copy a file or a folder's contents, modes kept, owned by `owner`; returns files copied.
    `keep` says whether a path is in the context; `enter` whether a folder left out may still
    hold something brought back by a `!` rule (then it is walked, and kept only if it does)."""
    count = 0
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
        os.lchown(target, *owner)
        return 1
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        folder = entry.is_dir() and not entry.is_symlink()
        kept = keep(entry)
        if not kept and not (folder and enter(entry)):
            continue
        destination = target / entry.name
        if folder:
            destination.mkdir(exist_ok=True)
            shutil.copystat(entry, destination)
            os.lchown(destination, *owner)
            inner = copy_tree(entry, destination, owner, keep, enter)
            if not kept and not inner:
                destination.rmdir()
            count += inner
        else:
            shutil.copy2(entry, destination, follow_symlinks=False)
            os.lchown(destination, *owner)
            count += 1
    return count


def inside(rootfs: Path, path: str) -> Path:
    return rootfs / path.lstrip("/")


def stage_run(stage: Stage, command: str, mounts: Mounts) -> None:
    uid, gid = ids(stage.rootfs, stage.user)
    env = {"HOME": home_of(stage.rootfs, uid), **stage.env}
    with build_mounts(mounts, stage.rootfs):
        chroot_sh(
            stage.rootfs,
            f"cd {shlex.quote(stage.workdir)} && {command}",
            env=env,
            user=f"{uid}:{gid}",
        )


def stage_copy(
    stage: Stage, flags: dict[str, str], words: list[str], stages: dict[str, Stage]
) -> None:
    *sources, dest = [expand(w, stage.env) for w in words]
    owner = ids(stage.rootfs, flags["chown"]) if flags.get("chown") else (0, 0)
    if "from" in flags:
        origin, keep, enter = stages[flags["from"]].rootfs, (lambda _: True), (lambda _: True)
    else:
        rules = ignore_patterns(ROOT)
        origin = ROOT

        def keep(entry: Path) -> bool:
            return not ignored(entry.relative_to(ROOT).as_posix(), rules)

        def enter(_: Path) -> bool:
            return any(exception for exception, _ in rules)

    dest_path = dest if dest.startswith("/") else f"{stage.workdir.rstrip('/')}/{dest}"
    target = inside(stage.rootfs, dest_path)
    to_folder = dest.endswith(("/", ".")) or len(sources) > 1 or target.is_dir()
    copied = 0
    for source in sources:
        path = inside(origin, source) if "from" in flags else (ROOT / source)
        path = path.resolve() if source in (".", "./") else path
        if path.is_file() and to_folder:
            copied += copy_tree(path, target / path.name, owner, keep, enter)
        else:
            copied += copy_tree(path, target, owner, keep, enter)
    say(f"  {copied} files -> {dest_path} (owner {owner[0]}:{owner[1]})")


def build(dockerfile: Path, mounts: Mounts, *, fresh: bool, execute: bool = True) -> Stage:
    """Carry out the Dockerfile; with execute=False only read it, for the image built last."""
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    args: dict[str, str] = {}
    for instruction in dockerfile_read(dockerfile):
        keyword, text = instruction.keyword, instruction.args
        say(f"{dockerfile.name}:{instruction.line}: {keyword} {text[:110]}")
        if keyword == "FROM":
            image, _, alias = re.sub(r"\s+as\s+", " AS ", text, flags=re.I).partition(" AS ")
            image = expand(image.strip(), args)
            name = alias.strip() or f"stage{len(stages)}"
            rootfs = WORK / "stages" / name
            stage = stages[name] = Stage(name, image, rootfs)
            if not execute:
                continue
            if image in stages:
                base = stages[image].rootfs
            else:
                match = PYTHON_BASE.match(image)
                if not match:
                    raise SystemExit(f"no stand-in for the base image {image!r}")
                base = base_make(match.group("release") or "bookworm", mounts, fresh)
            shutil.rmtree(rootfs, ignore_errors=True)
            rootfs.parent.mkdir(parents=True, exist_ok=True)
            run("cp", "-a", str(base), str(rootfs))
            (rootfs / ".complete").unlink(missing_ok=True)
            continue
        if keyword == "ARG":
            name, _, default = text.partition("=")
            args[name] = default
            if stage:
                stage.env.setdefault(name, default)
            continue
        check(stage is not None, f"line {instruction.line}: {keyword} before FROM")
        if keyword == "WORKDIR":
            stage.workdir = expand(text, stage.env)
            if execute:
                inside(stage.rootfs, stage.workdir).mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            words = shlex.split(text)
            pairs = (
                [w.partition("=")[::2] for w in words]
                if "=" in words[0]
                else [(words[0], " ".join(words[1:]))]
            )
            for key, value in pairs:
                stage.env[key] = expand(value, stage.env)
        elif keyword == "RUN":
            if execute:
                stage_run(stage, text, mounts)
        elif keyword in ("COPY", "ADD"):
            if execute:
                stage_copy(stage, *split_flags(text), stages)
        elif keyword == "USER":
            stage.user = expand(text, stage.env)
        elif keyword == "CMD":
            stage.cmd = exec_form(text)
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = exec_form(text)
        elif keyword == "HEALTHCHECK":
            stage.healthcheck = exec_form(text.partition(" CMD ")[2].strip())
        elif keyword == "EXPOSE":
            stage.exposed += text.split()
        elif keyword not in SUPPORTED:
            raise SystemExit(f"line {instruction.line}: {keyword} is not supported here")
    check(stage is not None, "no FROM")
    built = stage.rootfs / ".built-from"
    recipe = hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    if execute:
        built.write_text(recipe)
    else:
        check(
            built.exists() and built.read_text() == recipe,
            "no image built from this Dockerfile yet: run without --run-only",
        )
    return stage


# --- running the image -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_reset(drop_only: bool = False) -> None:
    for sql in [f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'] + (
        [] if drop_only else [f'CREATE DATABASE "{DATABASE}"']
    ):
        quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
        run("psql", f"{PG_SERVER}/postgres", "-q", "-c", sql, stdout=subprocess.DEVNULL, env=quiet)


def http(
    url: str, body: bytes | None = None, token: str = "", content_type: str = "application/json"
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")  # noqa: S310
    if body:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


class Container:
    """The image's root file system mounted as `docker run --read-only --tmpfs /tmp
    -v data:/data` mounts it, and commands run in it as the image's USER."""

    def __init__(self, image: Stage, mounts: Mounts, env: dict[str, str]) -> None:
        self.image = image
        self.mounts = mounts
        self.root = WORK / "run"
        self.uid, self.gid = ids(image.rootfs, image.user)
        self.env = {"HOME": home_of(image.rootfs, self.uid), "HOSTNAME": "image-proof"}
        self.env |= image.env | env
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        data = WORK / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        os.chown(data, self.uid, self.gid)  # a named volume takes the image folder's owner
        self.mounts.bind(self.image.rootfs, self.root, read_only=True)
        self.mounts.mount("-t", "proc", "proc", target=self.root / "proc")
        dev_make(self.mounts, self.root)
        self.mounts.mount(
            "-t", "tmpfs", "-o", "mode=1777,size=512m", "tmpfs", target=self.root / "tmp"
        )
        self.mounts.bind(data, self.root / "data")
        self.mounts.bind(Path("/etc/resolv.conf"), self.root / "etc/resolv.conf", read_only=True)

    def command(self, argv: list[str], *, entrypoint: bool = False) -> list[str]:
        """`docker run IMAGE argv` with entrypoint, else `docker exec CONTAINER argv`."""
        if entrypoint:
            argv = self.image.entrypoint + argv
        script = f"cd {shlex.quote(self.image.workdir)} && exec " + shlex.join(argv)
        return [
            "chroot", f"--userspec={self.uid}:{self.gid}", str(self.root),
            "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in self.env.items()],
            "/bin/sh", "-c", script,
        ]  # fmt: skip

    def exec(
        self, *argv: str, must: bool = True, entrypoint: bool = False
    ) -> subprocess.CompletedProcess:
        command = self.command(list(argv), entrypoint=entrypoint)
        done = subprocess.run(command, capture_output=True, text=True)
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        check(
            not must or done.returncode == 0,
            f"{shlex.join(argv)} exited {done.returncode}:\n{tail}",
        )
        return done

    def spawn(self, argv: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(self.command(argv, entrypoint=True), start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def prove(image: Stage, mounts: Mounts) -> None:
    port = free_port()
    database_reset()
    say(f"run: database {DATABASE} on {PG_SERVER.rsplit('@', 1)[-1]}, Redis {REDIS_URL}")
    container = Container(
        image,
        mounts,
        {  # what `docker run -e ...` would pass
            "DJANGO_SECRET_KEY": "image-proof-" + os.urandom(24).hex(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # no TLS proxy in front here
            "DATABASE_URL": f"{PG_SERVER}/{DATABASE}",
            "REDIS_URL": REDIS_URL,
            "CELERY_QUEUE": f"image-proof-{port}",
            "HOST": "127.0.0.1",  # the host's network: listen on loopback only
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "WARNING",
        },
    )
    try:
        container.start()
        who = container.exec("id").stdout.strip()
        python = container.exec("python", "--version").stdout.strip()
        say(f"run: as {who}; {python}; root file system read-only, /tmp tmpfs, /data writable")
        refused = container.exec("touch", f"{image.workdir}/written-at-run-time", must=False)
        check(refused.returncode != 0, "the code tree took a write")
        say(f"run: a write to {image.workdir} is refused: {refused.stderr.strip()}")
        for step in (["python", "manage.py", "migrate", "--no-input", "-v", "0"],
                     ["python", "manage.py", "ensure_model"]):  # fmt: skip
            started = time.monotonic()
            out = container.exec(*step, entrypoint=True)  # as Compose's web command
            last = (out.stdout.strip().splitlines() or [""])[-1]
            say(f"run: {' '.join(step[1:3])} ({time.monotonic() - started:.0f} s) {last}")
        say(f"run: CMD {shlex.join(image.cmd)} as {image.user}, port {port}")
        server = container.spawn(image.cmd)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while http(f"{base}/health")[0] != 200:
            check(server.poll() is None, f"the server exited with {server.returncode}")
            check(time.monotonic() < deadline, "no answer on /health within 120 s")
            time.sleep(0.5)
        status, body = http(f"{base}/health")
        say(f"GET /health -> {status} {body.decode()[:80]}")
        status, body = http(f"{base}/api/health")
        say(f"GET /api/health -> {status} {body.decode()[:160]}")
        healthcheck = container.exec(*image.healthcheck, must=False)
        check(healthcheck.returncode == 0, healthcheck.stderr)
        say(f"HEALTHCHECK {shlex.join(image.healthcheck)[:60]}... -> exit 0")
        container.exec(
            "python", "manage.py", "shell", "-c",
            "from accounts.models import User; User.objects.create_user('imageproof')",
        )  # fmt: skip
        token = container.exec(
            "python", "manage.py", "create_api_token", "imageproof", "--name", "image proof"
        ).stdout.strip()
        reading = {"heart_rate": 96, "ecg": 0.6, "emg": 0.5, "gsr": 0.8, "respiration": 0.7}
        status, body = http(f"{base}/api/predict", json.dumps(reading).encode(), token)
        check(status == 201, (status, body))
        scored = json.loads(body)
        say(
            f"POST /api/predict -> {status} stress_level={scored['stress_level']} "
            f"confidence={scored['confidence']:.3f} model={scored.get('model_version')}"
        )
        status, body = http(f"{base}/api/predictions?page_size=1", token=token)
        stored = json.loads(body).get("results", []) if status == 200 else []
        check(len(stored) == 1 and stored[0]["id"] == scored["id"], (status, body))
        say(f"GET /api/predictions -> {status}, the scored reading stored (id {scored['id']})")
        status, body = http(f"{base}/api/predict", json.dumps(reading).encode())
        check(status == 401, (status, body))
        say(f"POST /api/predict without a token -> {status} {body.decode()[:70]}")
        status, _ = http(f"{base}/static/css/app.css")
        say(f"GET /static/css/app.css -> {status} (collected at build time, served by whitenoise)")
        # The same image as the worker (the Compose worker service's command, shortened).
        say("run: celery -A stressapp worker from the same image; a batch job of 200 rows")
        container.spawn(["celery", "-A", "stressapp", "worker", "--concurrency", "1",
                         "--without-mingle", "--without-gossip", "--loglevel", "WARNING",
                         "-Q", container.env["CELERY_QUEUE"]])  # fmt: skip
        rows = "".join(f"{60 + i % 60},0.{i % 9},0.3,0.{i % 7},0.4\n" for i in range(200))
        csv = ("heart_rate,ecg,emg,gsr,respiration\n" + rows).encode()
        status, body = http(f"{base}/api/batch-jobs", csv, token, "text/csv")
        check(status == 202, (status, body))
        job_url = f"{base}/api/batch-jobs/{json.loads(body)['id']}"
        deadline, job = time.monotonic() + 180, {}
        while job.get("status") not in ("succeeded", "failed", "cancelled"):
            check(time.monotonic() < deadline, f"the batch job did not finish: {job}")
            time.sleep(1)
            status, body = http(job_url, token=token)
            job = json.loads(body) if status == 200 else {}
        check(job["status"] == "succeeded" and job["processed_rows"] == 200, job)
        say(
            f"batch job -> {job['status']}, {job['processed_rows']} rows scored by the worker "
            f"in {job['duration_seconds']:.1f} s"
        )
        written = sorted(
            p.relative_to(WORK / "data").as_posix()
            for p in (WORK / "data").rglob("*")
            if p.is_dir()
        )
        say(f"run: folders the app made under /data: {', '.join(written[:8])}")
    finally:
        container.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="rebuild the base root file system")
    parser.add_argument(
        "--run-only", action="store_true", help="run the image the last build made, unbuilt again"
    )
    options = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("image-proof needs root (debootstrap, chroot, mount)")
    for tool in ("debootstrap", "chroot", "mount", "psql"):
        if shutil.which(tool) is None:
            raise SystemExit(f"image-proof needs {tool} (apt-get install debootstrap ...)")
    WORK.mkdir(parents=True, exist_ok=True)
    mounts = Mounts()
    started = time.monotonic()
    try:
        image = build(
            ROOT / "Dockerfile", mounts, fresh=options.fresh, execute=not options.run_only
        )
        say(
            f"{'read' if options.run_only else 'built'} in {time.monotonic() - started:.0f} s: "
            f"USER {image.user}, CMD {image.cmd}"
        )
        prove(image, mounts)
    finally:
        mounts.undo()
        database_reset(drop_only=True)
        left = [line for line in Path("/proc/mounts").read_text().splitlines() if str(WORK) in line]
        say(f"cleaned up: processes stopped, mounts left under {WORK}: {len(left)}")
    say(f"image proof passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
