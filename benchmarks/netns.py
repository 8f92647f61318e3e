"""Hosts on one machine: a network namespace per host, each joined by a veth pair to a bridge
that lives in a namespace of its own (the switch), addresses in 10.77.0.0/24 inside the
namespaces only. The root namespace gets no address and no route: nothing here is reachable
from outside, and nothing outside is reached.

Processes are started straight into a host (setns in the child before exec, as `ip netns
exec` does, plus a UTS namespace so each host has its own host name) and stopped by their own
PIDs; `Network.delete()` removes every namespace made here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWUTS = 0x04000000
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def enter(namespace: str) -> None:
    """Move the calling thread into a named network namespace (threads started after inherit
    it)."""
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns {namespace}")
    finally:
        os.close(fd)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Network:
    """One subnet, one switch namespace, one namespace per host."""

    def __init__(self, prefix: str, subnet: str = "10.77.0") -> None:
        self.prefix = prefix
        self.subnet = subnet
        self.switch = f"{prefix}-switch"
        self.hosts: dict[str, str] = {}  # host name -> address
        self.made: list[str] = []

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def create(self, hosts: dict[str, int]) -> None:
        ip("netns", "add", self.switch)
        self.made.append(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        for host, last in hosts.items():
            namespace = self.ns(host)
            ip("netns", "add", namespace)
            self.made.append(namespace)
            address = f"{self.subnet}.{last}"
            # Both ends made inside our namespaces: no name can clash with the machine's own.
            ip("-n", namespace, "link", "add", "eth0", "type", "veth",
               "peer", "name", self.port(host), "netns", self.switch)  # fmt: skip
            ip("-n", self.switch, "link", "set", self.port(host), "master", "br0", "up")
            ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
            self.hosts[host] = address

    @staticmethod
    def port(host: str) -> str:
        return f"p-{host}"[:15]

    def unplug(self, host: str) -> None:
        """Pull the host's cable: its switch port goes down, nothing passes either way (no
        FIN, no RST reaches its peers)."""
        ip("-n", self.switch, "link", "set", self.port(host), "down")

    def plug(self, host: str) -> None:
        ip("-n", self.switch, "link", "set", self.port(host), "up")

    def delete(self) -> None:
        for namespace in reversed(self.made):
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True)
        self.made.clear()

    def preexec(self, host: str, user: str | None = None) -> Callable[[], None]:
        namespace = self.ns(host)
        account = pwd.getpwnam(user) if user else None

        def child() -> None:
            enter(namespace)
            _check(_libc.unshare(CLONE_NEWUTS), "unshare uts")
            name = host.encode()
            _check(_libc.sethostname(name, len(name)), "sethostname")
            if account is not None:
                os.setgroups([])
                os.setgid(account.pw_gid)
                os.setuid(account.pw_uid)

        return child


class Process:
    """A command started on a host, in a session of its own (so its children, e.g. granian's
    or Celery's pool, are stopped with it), its output in a log file."""

    def __init__(
        self,
        network: Network,
        host: str,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log: Path,
        cwd: Path,
        user: str | None = None,
    ) -> None:
        self.host = host
        self.name = name
        self.log = log
        # The log is shared by a host's successive runs of the command: this run's part
        # starts here.
        self.offset = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=network.preexec(host, user),
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole session: no chance to finish, acknowledge or say goodbye."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait()
        # Pool processes that outlived their parent share its session id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def log_text(self) -> str:
        """What this run wrote."""
        with open(self.log, "rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the process and all its descendants so far, those
        that ended and were waited for included."""
        ticks = 0
        for pid in _tree(self.pid):
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rpartition(")")[2].split()
            except OSError:
                continue
            # utime, stime, cutime, cstime (fields 14-17 of proc(5)).
            ticks += sum(int(value) for value in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rpartition(")")[2].split()[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def wait(predicate: Callable[[], object], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
