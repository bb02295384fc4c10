"""Real servers for integration tests, started on loopback on free ports with throw-away data dirs.

* :class:`PostgresServer` — PostgreSQL from the Debian package (``/usr/lib/postgresql/<v>/bin``);
  when the tests run as root, the server runs as the ``postgres`` user (PostgreSQL refuses root).
* :class:`KafkaBroker` — a Kafka-protocol broker: noida-db (single binary in the ``noida-db`` wheel),
  data dir on tmpfs (its state file grows with traffic).

Missing binaries skip the tests, except when ``SEBAC_REQUIRE_SERVERS=1`` (CI), where they fail.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing(what: str) -> None:
    """Skip (developer laptop) or fail (CI: ``SEBAC_REQUIRE_SERVERS=1``) when a server is missing."""
    if os.environ.get("SEBAC_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{what} is required (SEBAC_REQUIRE_SERVERS=1); run deploy/dev/system-deps.sh", pytrace=False)
    pytest.skip(f"{what} not available")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """``sig`` (SIGTERM), then SIGKILL if it does not exit in time (a stuck server never hangs the suite)."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _tmpfs_dir(prefix: str) -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix=prefix, dir=base)


# -- PostgreSQL -----------------------------------------------------------------------------------
def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """``initdb`` + ``postgres`` on 127.0.0.1:<free port>, trust auth, superuser ``sebac``."""

    user = "sebac"

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.datadir = _tmpfs_dir("sebac-pg-")
        self.proc: subprocess.Popen | None = None
        self._as: dict = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.datadir, pw.pw_uid, pw.pw_gid)
            self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.log = open(Path(tempfile.gettempdir()) / f"sebac-pg-{self.port}.log", "wb")

    def start(self) -> "PostgresServer":
        subprocess.run([str(self.bindir / "initdb"), "-D", self.datadir, "-U", self.user, "-A", "trust",
                        "-E", "UTF8", "--no-sync"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd="/", **self._as)
        self.proc = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", self.datadir, "-p", str(self.port), "-k", self.datadir,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=100"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd="/", **self._as)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.execute("postgres", "SELECT 1")
                return self
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start (log: {self.log.name})")
                time.sleep(0.1)

    def execute(self, dbname: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=dbname,
                             autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        """A fresh database; returns its SQLAlchemy URL."""
        self.execute("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15, sig=signal.SIGINT)  # "fast" shutdown: don't wait for clients
        self.log.close()
        shutil.rmtree(self.datadir, ignore_errors=True)


# -- Kafka-protocol broker ------------------------------------------------------------------------
def noida_binary() -> Path | None:
    try:
        import importlib.resources as resources

        path = Path(str(resources.files("noida_db") / "noida-db"))
    except (ImportError, ModuleNotFoundError, TypeError):
        return None
    if not path.exists():
        return None
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


class KafkaBroker:
    """noida-db with only its Kafka service, on 127.0.0.1:<free port>, data dir on tmpfs."""

    def __init__(self, binary: Path):
        self.binary = binary
        self.port = free_port()
        self.datadir = _tmpfs_dir("sebac-kafka-")
        self.proc: subprocess.Popen | None = None
        self.log = open(Path(tempfile.gettempdir()) / f"sebac-kafka-{self.port}.log", "wb")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def start(self) -> "KafkaBroker":
        self.proc = subprocess.Popen(
            [str(self.binary), "start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port", str(self.port),
             "--data-dir", self.datadir], stdout=self.log, stderr=subprocess.STDOUT, cwd=self.datadir)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin().close()
                return self
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"broker did not start (log: {self.log.name})")
                time.sleep(0.1)

    def admin(self):
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        admin.list_topics()
        return admin

    def create_topics(self, names: dict[str, int]) -> None:
        """Create topics explicitly with their partition counts (auto-created ones get 1)."""
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = self.admin()
        try:
            existing = set(admin.list_topics())
            new = [NewTopic(n, p, 1) for n, p in names.items() if n not in existing]
            if new:
                try:
                    admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()

    def pause(self) -> None:
        """Stop the broker but keep its data: ``start()`` brings it back on the same port."""
        if self.proc is not None:
            stop_process(self.proc, timeout=3)
            self.proc = None

    def stop(self) -> None:
        self.pause()
        self.log.close()
        shutil.rmtree(self.datadir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bindir = postgres_bindir()
    if bindir is None:
        missing("PostgreSQL (initdb/postgres)")
    return PostgresServer(bindir).start()


def start_broker() -> KafkaBroker:
    binary = noida_binary()
    if binary is None:
        missing("a Kafka-protocol broker (pip install noida-db==0.2.3)")
    return KafkaBroker(binary).start()
