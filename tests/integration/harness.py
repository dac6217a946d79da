"""Helpers for Sluice's integration tests: real `sluice` processes on
loopback (broker, workers, simulator), read back with kcat, an independent
Kafka client.

Every test gets a scratch directory and a broker of its own; everything it
starts is stopped when the test ends, even when it fails.
"""
import errno
import importlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SLUICE = os.environ.get("SLUICE_BINARY", os.path.join(os.path.dirname(__file__), "..", "..", "build", "sluice"))
# The .proto files of the control plane (job_service.proto, job.proto, plan.proto).
PROTO_DIR = os.environ.get("SLUICE_PROTO_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "proto"))
# Debian's copies of gRPC's own protos (package grpc-proto / libgrpc-dev).
GRPC_PROTO_DIR = "/usr/share/grpc-proto"
# The gRPC service name whose health says "has read the catalog, reaches Kafka".
JOB_SERVICE = "sluice.v1.JobService"
# The catalog and status topics every control plane uses.
CATALOG_TOPIC = "_sluice_jobs"
STATUS_TOPIC = "_sluice_status"


def popen_retrying(args, **kwargs):
    """subprocess.Popen, retried briefly when the binary is being relinked in
    place (ETXTBSY, ENOEXEC on a half-written file)."""
    for attempt in range(20):
        try:
            return subprocess.Popen(args, **kwargs)
        except OSError as e:
            if e.errno not in (errno.ETXTBSY, errno.ENOEXEC) or attempt == 19:
                raise
            time.sleep(0.5)


def _ephemeral_ports_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port nothing listens on right now, taken below the
    kernel's ephemeral range: a port the kernel handed out (bind to 0) can
    become some outgoing connection's local port before the process it was
    meant for binds it ("Address already in use"; seen with
    local-cluster.sh's consecutive worker ports)."""
    start = _ephemeral_ports_start()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(max(1024, start - 12000), max(1025, start - 16))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.25):
    """Polls predicate() until it returns something truthy and returns that;
    fails with `what` when `timeout` seconds pass first."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def now_ms():
    return int(time.time() * 1000)


def is_worker(value, name):
    """Whether a worker field (a name, or an id that starts with the name)
    denotes the worker started with --name `name`."""
    if value == name:
        return True
    return len(value) > len(name) and value.startswith(name) and not value[len(name)].isalnum()


class Cluster:
    def __init__(self, name, topics):
        self.dir = tempfile.mkdtemp(prefix=f"sluice-it-{name}-")
        self.processes = []
        self.bootstrap_file = os.path.join(self.dir, "bootstrap")
        args = [SLUICE, "broker", "--bootstrap-file", self.bootstrap_file]
        for topic, partitions in topics.items():
            args += ["--topic", f"{topic}:{partitions}"]
        self.broker = self.start("broker", args)
        self.bootstrap = self.wait_for_file(self.bootstrap_file, 15)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, name, args):
        log = open(self.path(f"{name}.log"), "w")
        process = popen_retrying(args, stdout=log, stderr=subprocess.STDOUT)
        process.log_path = self.path(f"{name}.log")
        process.name = name
        self.processes.append(process)
        return process

    def wait_for_file(self, path, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read().strip()
                if text:
                    return text
            time.sleep(0.1)
        raise AssertionError(f"{path} did not appear within {seconds} s")

    def job_file(self, name, query, **extra):
        spec = {"name": name, "query": query}
        spec.update(extra)
        path = self.path(f"{name}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        return path

    def start_worker(self, name, jobs, grpc=False, extra=()):
        """Starts `sluice worker`. With grpc=True it serves the control plane
        on a free loopback port: the process's `address` ("127.0.0.1:PORT");
        otherwise it serves no API (the default, localhost:9750, would be
        shared with whatever else runs on this machine)."""
        args = [SLUICE, "worker", "--bootstrap-file", self.bootstrap_file, "--name", name,
                "--state-dir", self.path(f"state-{name}"), "--status-interval", "1s"]
        for job in jobs:
            args += ["--job", job]
        address = None
        if grpc:
            address = f"127.0.0.1:{free_port()}"
            args += ["--grpc-listen", address]
        else:
            args += ["--grpc-listen", "none"]
        args += list(extra)
        process = self.start(name, args)
        process.address = address
        return process

    # --- the control plane -------------------------------------------------

    def cli(self, *args, server=None, timeout=60, stdin=None, env=None):
        """Runs `sluice ARGS... [--server S]` (with `env` added to the
        environment); returns the CompletedProcess (text stdout/stderr,
        returncode)."""
        argv = [SLUICE] + [str(a) for a in args]
        if server:
            argv += ["--server", server]
        environment = None
        if env:
            environment = dict(os.environ)
            environment.update(env)
        for attempt in range(20):
            try:
                return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                      stdin=subprocess.DEVNULL if stdin is None else stdin,
                                      env=environment)
            except OSError as e:
                if e.errno not in (errno.ETXTBSY, errno.ENOEXEC) or attempt == 19:
                    raise
                time.sleep(0.5)

    def cli_ok(self, *args, server=None, timeout=60):
        """`cli`, asserting exit 0; returns stdout."""
        result = self.cli(*args, server=server, timeout=timeout)
        assert result.returncode == 0, (
            f"sluice {' '.join(map(str, args))} exited {result.returncode}\n"
            f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}")
        return result.stdout

    def cli_json(self, *args, server=None, timeout=60):
        """`sluice ARGS --json`, asserting exit 0; the parsed JSON."""
        out = self.cli_ok(*args, "--json", server=server, timeout=timeout)
        try:
            return json.loads(out)
        except ValueError as e:
            raise AssertionError(f"sluice {' '.join(map(str, args))} --json printed no JSON ({e}): "
                                 f"{out[:2000]!r}")

    def wait_for_api(self, worker, timeout=30):
        """Waits until `worker` answers `sluice list` (it has read the
        catalog): exit codes 3 (unreachable) and 1 (UNAVAILABLE) mean retry."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            assert worker.poll() is None, (
                f"{worker.name} exited with {worker.returncode}:\n{self.log_of(worker)[-3000:]}")
            last = self.cli("list", server=worker.address, timeout=15)
            if last.returncode == 0:
                return
            time.sleep(0.3)
        raise AssertionError(f"{worker.name} ({worker.address}) did not answer `sluice list` within "
                             f"{timeout} s: exit {last.returncode if last else '?'}, "
                             f"{(last.stderr if last else '').strip()[-500:]}")

    def count_records(self, topic):
        """How many records `topic` holds (read from the beginning with kcat)."""
        return len(self.read_topic(topic, fmt="%o\\n"))

    def wait_for_stable_count(self, topic, settle_seconds=3, timeout=60):
        """Waits until `topic`'s record count stops changing for
        `settle_seconds`; returns the count."""
        deadline = time.time() + timeout
        last_count, last_change = -1, time.time()
        while time.time() < deadline:
            count = self.count_records(topic)
            if count != last_count:
                last_count, last_change = count, time.time()
            elif time.time() - last_change >= settle_seconds:
                return count
            time.sleep(0.5)
        raise AssertionError(f"topic {topic} kept changing for {timeout} s ({last_count} records)")

    def simulate(self, topic, *flags, output=None):
        """Runs the simulator to completion, to a topic or (output=path) a file."""
        args = [SLUICE, "simulate"] + list(flags)
        if output:
            args += ["--output", output]
        else:
            args += ["--bootstrap-file", self.bootstrap_file, "--topic", topic]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stderr

    def read_topic(self, topic, fmt="%s\\n", extra=()):
        """Every message of a topic, from the beginning, read with kcat
        (`extra`: more kcat arguments, e.g. -X properties)."""
        result = subprocess.run(
            ["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", fmt] + list(extra),
            capture_output=True, text=True, timeout=60)
        if result.returncode != 0 and "Unknown topic" in result.stderr:
            return []
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.split("\n") if line]

    def deduplicated_rows(self, topic, read_committed=False):
        """The rows of `topic` with the copies a replay produced dropped by
        their sluice.id header, each copy checked byte-identical to its
        original: (sorted rows, number of copies)."""
        extra = ["-X", "isolation.level=read_committed"] if read_committed else []
        by_id, copies = {}, 0
        for line in self.read_topic(topic, fmt="%h\\t%s\\n", extra=extra):
            headers, _, row = line.partition("\t")
            found = re.search(r"sluice\.id=([^,]*)", headers)
            assert found, f"{topic}: a row without a sluice.id header: {line}"
            identity = found.group(1)
            if identity in by_id:
                assert by_id[identity] == row, (
                    f"{topic}: replayed row {identity} differs:\n  {by_id[identity]}\n  {row}")
                copies += 1
            else:
                by_id[identity] = row
        return sorted(by_id.values()), copies

    def wait_for_rows(self, topic, at_least, settle_seconds=3, timeout=60):
        """Waits until `topic` holds at least `at_least` messages and stops
        growing for `settle_seconds`; returns them."""
        deadline = time.time() + timeout
        rows, last_change, last_count = [], time.time(), -1
        while time.time() < deadline:
            rows = self.read_topic(topic)
            if len(rows) != last_count:
                last_count, last_change = len(rows), time.time()
            elif len(rows) >= at_least and time.time() - last_change >= settle_seconds:
                return rows
            time.sleep(0.5)
        raise AssertionError(
            f"topic {topic} has {len(rows)} messages after {timeout} s, expected at least {at_least}"
            + self.logs())

    def wait_for_all_rows(self, at_least, settle_seconds=3, timeout=60):
        """wait_for_rows for several topics at once ({topic: count}): until
        each holds at least its count and none has grown for
        `settle_seconds`. Raises AssertionError naming the topics short."""
        deadline = time.time() + timeout
        counts, last_change = {}, time.time()
        while time.time() < deadline:
            now = {topic: len(self.read_topic(topic)) for topic in at_least}
            if now != counts:
                counts, last_change = now, time.time()
            elif (all(counts[t] >= n for t, n in at_least.items())
                  and time.time() - last_change >= settle_seconds):
                return
            time.sleep(0.5)
        short = {t: f"{counts.get(t, 0)} of {n}" for t, n in at_least.items()
                 if counts.get(t, 0) < n}
        raise AssertionError(f"after {timeout} s, topics short of rows: {short}" + self.logs())

    def run_offline(self, query, events_file, *flags):
        """`sluice run` over the same events: the reference output."""
        job = self.path("offline.sql")
        with open(job, "w") as f:
            f.write(query)
        out = self.path("offline-out")
        result = subprocess.run([SLUICE, "run", "--query", job, "--input",
                                 f"telemetry={events_file}", "--output-dir", out] + list(flags),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return out

    def logs(self):
        text = ""
        for p in self.processes:
            with open(p.log_path) as f:
                tail = f.read()[-3000:]
            text += f"\n--- {p.name} (exit {p.poll()}) ---\n{tail}"
        return text

    def log_of(self, process):
        with open(process.log_path) as f:
            return f.read()

    def stop(self):
        # Everything but the broker first, so that workers leave their groups
        # and flush while Kafka is still there; then the broker.
        others = [p for p in reversed(self.processes) if p is not self.broker]
        for group in (others, [self.broker]):
            for p in group:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in group:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def cleanup(self, keep):
        if keep:
            print(f"scratch directory kept: {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def assert_same_rows(what, actual, expected):
    """Sorted row lists `actual` == `expected`, or a message saying how they differ."""
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert actual == expected, (
        f"{what}: the output differs from sluice run: {len(actual)} vs {len(expected)} rows, "
        f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]})")


def read_lines(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def run_test(name, topics, body):
    """Runs body(cluster) with a fresh cluster; prints the logs on failure."""
    cluster = Cluster(name, topics)
    ok = False
    try:
        body(cluster)
        ok = True
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        print(cluster.logs(), file=sys.stderr)
    except Exception:
        print(f"FAILED with an exception:\n{traceback.format_exc()}", file=sys.stderr)
        print(cluster.logs(), file=sys.stderr)
    finally:
        cluster.stop()
        cluster.cleanup(keep=not ok)
    sys.exit(0 if ok else 1)


# --- gRPC stubs --------------------------------------------------------------

class Stubs:
    """Python modules generated from the control plane's protos:
    `pb` (job_service_pb2), `job` (job_pb2), `plan` (plan_pb2), `rpc`
    (job_service_pb2_grpc), `health`/`health_rpc` and, when Debian ships the
    proto, `reflection`/`reflection_rpc`; `grpc` is the grpc package."""


_stubs = None


def grpc_stubs(directory=None):
    """Generates the Python stubs with Debian's protoc and grpc_python_plugin
    into `directory` (a temporary one by default) and imports them.

    gRPC's health (and reflection) protos are copied under other file names
    first: generated as grpc/health/v1/health_pb2.py they would have to be
    imported as package `grpc.health.v1`, which the installed `grpc` package
    shadows. The service names on the wire stay grpc.health.v1.Health and
    grpc.reflection.v1alpha.ServerReflection."""
    global _stubs
    if _stubs is not None:
        return _stubs
    import grpc
    directory = directory or tempfile.mkdtemp(prefix="sluice-it-stubs-")
    os.makedirs(directory, exist_ok=True)
    sources = os.path.join(directory, "protos")
    os.makedirs(sources, exist_ok=True)
    extra = []
    copies = {"sluice_health.proto": "grpc/health/v1/health.proto",
              "sluice_reflection.proto": "grpc/reflection/v1alpha/reflection.proto"}
    for copy, original in copies.items():
        path = os.path.join(GRPC_PROTO_DIR, original)
        if os.path.exists(path):
            shutil.copy(path, os.path.join(sources, copy))
            extra.append(copy)
    assert "sluice_health.proto" in extra, f"{GRPC_PROTO_DIR}/grpc/health/v1/health.proto is missing"
    result = subprocess.run(
        ["protoc", "-I", PROTO_DIR, "-I", sources, f"--python_out={directory}",
         f"--grpc_out={directory}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         "job_service.proto", "job.proto", "plan.proto"] + extra,
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"protoc failed: {result.stderr}"
    if directory not in sys.path:
        sys.path.insert(0, directory)
    stubs = Stubs()
    stubs.grpc = grpc
    stubs.pb = importlib.import_module("job_service_pb2")
    stubs.rpc = importlib.import_module("job_service_pb2_grpc")
    stubs.job = importlib.import_module("job_pb2")
    stubs.plan = importlib.import_module("plan_pb2")
    stubs.health = importlib.import_module("sluice_health_pb2")
    stubs.health_rpc = importlib.import_module("sluice_health_pb2_grpc")
    stubs.reflection = stubs.reflection_rpc = None
    if "sluice_reflection.proto" in extra:
        stubs.reflection = importlib.import_module("sluice_reflection_pb2")
        stubs.reflection_rpc = importlib.import_module("sluice_reflection_pb2_grpc")
    _stubs = stubs
    return stubs


class Client:
    """A gRPC client of one worker: `jobs` (JobService), `health`."""

    def __init__(self, address):
        s = grpc_stubs()
        self.address = address
        self.channel = s.grpc.insecure_channel(address)
        self.jobs = s.rpc.JobServiceStub(self.channel)
        self.health = s.health_rpc.HealthStub(self.channel)

    def health_status(self, service=JOB_SERVICE, timeout=3):
        """The Health.Check status name ("SERVING", "NOT_SERVING", ...) or,
        when the call fails, the gRPC code name prefixed with "rpc:"."""
        s = grpc_stubs()
        try:
            response = self.health.Check(s.health.HealthCheckRequest(service=service),
                                         timeout=timeout)
        except s.grpc.RpcError as e:
            return f"rpc:{e.code().name}"
        return s.health.HealthCheckResponse.ServingStatus.Name(response.status)

    def wait_serving(self, timeout=30, process=None, cluster=None):
        """Waits until Health says SERVING for sluice.v1.JobService."""
        deadline = time.time() + timeout
        status = None
        while time.time() < deadline:
            if process is not None and process.poll() is not None:
                log = cluster.log_of(process)[-3000:] if cluster else ""
                raise AssertionError(f"{process.name} exited with {process.returncode}:\n{log}")
            status = self.health_status()
            if status == "SERVING":
                return
            time.sleep(0.3)
        raise AssertionError(f"{self.address}: health of {JOB_SERVICE} is {status}, "
                             f"not SERVING after {timeout} s")

    def wait_ready(self, timeout=30, process=None, cluster=None):
        """Waits until ListJobs answers (UNAVAILABLE: the worker has not read
        the catalog yet). Independent of the health service."""
        s = grpc_stubs()
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if process is not None and process.poll() is not None:
                log = cluster.log_of(process)[-3000:] if cluster else ""
                raise AssertionError(f"{process.name} exited with {process.returncode}:\n{log}")
            try:
                return self.jobs.ListJobs(s.pb.ListJobsRequest(), timeout=5)
            except s.grpc.RpcError as e:
                last = f"{e.code().name}: {e.details()}"
            time.sleep(0.3)
        raise AssertionError(f"{self.address}: ListJobs does not answer after {timeout} s ({last})")

    def close(self):
        self.channel.close()


def job_state_name(value):
    """A JobState as a short name ("RUNNING") from an enum number or a JSON
    string ("JOB_STATE_RUNNING")."""
    if isinstance(value, int):
        value = grpc_stubs().pb.JobState.Name(value)
    value = value or "JOB_STATE_UNSPECIFIED"
    return value[len("JOB_STATE_"):] if value.startswith("JOB_STATE_") else value
