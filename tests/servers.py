"""Real servers for integration tests, started on loopback on free ports with throw-away data dirs.

* :class:`PostgresServer` — PostgreSQL from the Debian package (``/usr/lib/postgresql/<v>/bin``);
  when the tests run as root, the server runs as the ``postgres`` user (PostgreSQL refuses root).
* :class:`KafkaBroker` — Apache Kafka (KRaft, one combined broker/controller node) from the jars that
  ``deploy/kafka/fetch.sh`` copies from Maven Central, with a JDK 17+; log dir on tmpfs.

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
        pytest.fail(f"{what} is required (SEBAC_REQUIRE_SERVERS=1); run make system-deps", pytrace=False)
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


# -- Apache Kafka (KRaft, one combined node) ------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
KAFKA_DIR = ROOT / "deploy" / "kafka"
ARTEFACTS = ROOT / "data" / "test-artefacts"


def kafka_libs() -> Path | None:
    """The broker's jars fetched by ``deploy/kafka/fetch.sh`` (``SEBAC_KAFKA_LIBS`` overrides), if any."""
    libs = Path(os.environ.get("SEBAC_KAFKA_LIBS") or KAFKA_DIR / "libs")
    return libs if any(libs.glob("kafka_2.13-*.jar")) else None


def kafka_version(libs: Path) -> str:
    """The pinned version, from the broker jar's name (``kafka_2.13-4.1.1.jar`` → ``4.1.1``)."""
    jar = next(libs.glob("kafka_2.13-*.jar"))
    return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")


def kafka_cluster_id() -> str:
    """A random cluster id as Kafka's ``Uuid.randomUuid()`` makes one: 16 bytes, URL-safe base64, unpadded."""
    import base64
    import uuid

    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka rejects ids that read as a command-line flag
            return text


class KafkaBroker:
    """Apache Kafka as one KRaft node (``process.roles=broker,controller``) on 127.0.0.1:<free ports>.

    The log dir is formatted once (``StorageTool format --standalone``: a one-voter dynamic quorum) on
    tmpfs; :meth:`pause` stops the process by pid (SIGTERM, controlled shutdown), :meth:`crash` kills it
    (SIGKILL) and :meth:`start` brings it back on the same ports and the same log dir.
    """

    def __init__(self, libs: Path, java: str = "java"):
        self.libs = libs
        self.java = java
        self.version = kafka_version(libs)
        self.port, self.controller_port = free_port(), free_port()
        self.datadir = Path(_tmpfs_dir("sebac-kafka-"))
        self.config = self.datadir / "server.properties"
        self.log_path = Path(tempfile.gettempdir()) / f"sebac-kafka-{self.port}.log"
        self.log = open(self.log_path, "ab")
        self.proc: subprocess.Popen | None = None
        self.config.write_text(self._properties())
        self._java("kafka.tools.StorageTool", "format", "--cluster-id", kafka_cluster_id(), "--config",
                   str(self.config), "--standalone").wait(timeout=60)

    def _properties(self) -> str:
        props = {
            "process.roles": "broker,controller", "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER", "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.datadir / "logs"),
            # one node: every internal topic has one replica; fewer partitions than the default 50
            # make the first group and the first transaction quicker to set up
            "offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8", "share.coordinator.state.topic.replication.factor": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",  # as deploy/compose.yaml: topics are created explicitly
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _java(self, main: str, *args: str, heap: str = "-Xmx256m") -> subprocess.Popen:
        log4j = f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}"
        return subprocess.Popen([self.java, heap, log4j, "-cp", f"{self.libs}/*", main, *args],
                                stdout=self.log, stderr=subprocess.STDOUT, cwd=self.datadir)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float = 60) -> KafkaBroker:
        """Start the broker on its log dir and return once it answers a metadata request with itself."""
        self.proc = self._java("kafka.Kafka", str(self.config), heap="-Xmx512m")
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                admin = self.admin()
                last = admin.describe_cluster()["brokers"]
                admin.close()
                if last:
                    return self
            except Exception as exc:  # not listening yet, or not caught up with its metadata log
                last = exc
            if self.proc.poll() is not None or time.monotonic() > deadline:
                kept = self.keep_log("did-not-start")
                raise RuntimeError(f"Apache Kafka {self.version} did not start ({last!r}; log: {kept})")
            time.sleep(0.2)

    def admin(self):
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        admin.list_topics()
        return admin

    def create_topics(self, names: dict[str, int]) -> None:
        """Create topics explicitly with their partition counts."""
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
        """Stop the broker by pid (SIGTERM: controlled shutdown) but keep its log dir."""
        if self.proc is not None:
            stop_process(self.proc, timeout=30)
            self.proc = None

    def crash(self) -> None:
        """Kill the broker by pid (SIGKILL: no shutdown at all); ``start()`` recovers its log dir."""
        if self.proc is not None:
            stop_process(self.proc, timeout=0.1, sig=signal.SIGKILL)
            self.proc = None

    def keep_log(self, why: str) -> Path:
        """Copy the broker's log under ``data/test-artefacts/`` (kept after a failure)."""
        self.log.flush()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        kept = ARTEFACTS / f"kafka-{self.port}-{why}.log"
        shutil.copyfile(self.log_path, kept)
        return kept

    def stop(self, keep_log: bool = False) -> None:
        self.pause()
        if keep_log:
            self.keep_log("failed")
        self.log.close()
        self.log_path.unlink(missing_ok=True)
        shutil.rmtree(self.datadir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bindir = postgres_bindir()
    if bindir is None:
        missing("PostgreSQL (initdb/postgres)")
    return PostgresServer(bindir).start()


def start_broker() -> KafkaBroker:
    """Apache Kafka from ``deploy/kafka/libs`` (``deploy/kafka/fetch.sh``), started and answering."""
    libs, java = kafka_libs(), shutil.which("java")
    if libs is None or java is None:
        missing("Apache Kafka (a JDK 17+ and the jars of deploy/kafka/fetch.sh)")
    return KafkaBroker(libs, java).start()
