"""The deployment files under deploy/:

(a) deploy/docker-compose.yml resolves with Debian's `docker-compose` (1.29)
    and has the cluster's services, the state volume and Kafka in KRaft mode
    (skipped, saying so, when `docker-compose` is not installed);
(b) deploy/Dockerfile builds in a Debian 12 stage and runs in another, and
    names only packages that exist in Debian 12;
(c) deploy/local-cluster.sh, the process-based twin of the Compose file,
    starts 3 workers that split telemetry's 8 partitions; one is killed with
    SIGKILL and the other two own all 8 partitions within 45 s; on SIGTERM
    (what Ctrl-C does) the script stops every process it started and exits 0.

Docker itself is not needed: CI machines have none.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness import free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
SLUICE = os.path.abspath(os.environ.get("SLUICE_BINARY", os.path.join(REPO, "build", "sluice")))

PARTITIONS = set(range(8))
WORKERS = 3
# Only a safety net: the test stops the script with SIGTERM once the
# partitions have moved, and --duration 40 could end the run before that.
DURATION_S = 85
# How long the ownership must stay unchanged before the kill: a group still
# in its second cooperative round would make the measurement include it.
SETTLE_S = 3
# How long the survivors may take to own all 8 partitions. The worker's
# session timeout is 6 s, but on the embedded broker (librdkafka 2.0.2's mock
# group coordinator) a cooperative rebalance waits out a fixed 5 s timer per
# round, and a survivor whose own client-side session runs out meanwhile
# loses its partitions and forces another round: measured 16-17 s in most
# runs, 26-28 s in about one in five, over 30 s once in about thirty. A real
# Kafka moves them about a session timeout after the kill.
TAKEOVER_S = 45
# worker-2 | hot-devices | assigned telemetry[1,4], now owns telemetry[1,4,7]
OWNS = re.compile(r"^(worker-\d+) \| hot-devices \| .*now owns (none|telemetry\[([0-9,]*)\])\s*$")


# --- (a) the Compose file --------------------------------------------------

def check_compose():
    binary = shutil.which("docker-compose")
    if not binary:
        print("SKIPPED (a) docker-compose config: the docker-compose binary is not installed "
              "(Debian package docker-compose)")
        return
    result = subprocess.run([binary, "-f", os.path.join(DEPLOY, "docker-compose.yml"), "config"],
                            capture_output=True, text=True, timeout=60, cwd=DEPLOY)
    assert result.returncode == 0, (
        f"docker-compose config exited {result.returncode}:\n{result.stderr[-3000:]}")
    import yaml  # python3-yaml: a dependency of Debian's docker-compose
    config = yaml.safe_load(result.stdout)

    services = config.get("services", {})
    missing = {"kafka", "topics", "worker", "simulator", "submit"} - set(services)
    assert not missing, f"services missing from the resolved config: {sorted(missing)}"
    assert "sluice-state" in (config.get("volumes") or {}), (
        f"no named volume sluice-state: {sorted(config.get('volumes') or {})}")

    kafka = services["kafka"]
    assert kafka.get("image", "").startswith("apache/kafka"), f"kafka image: {kafka.get('image')}"
    environment = kafka.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    roles = str(environment.get("KAFKA_PROCESS_ROLES", "")).split(",")
    assert "controller" in roles and "broker" in roles, f"KAFKA_PROCESS_ROLES: {roles}"
    assert str(environment.get("KAFKA_NUM_PARTITIONS")) == "8", environment

    worker = services["worker"]
    assert worker.get("build", {}).get("dockerfile") == "deploy/Dockerfile", worker.get("build")
    mounts = [str(v.get("source") if isinstance(v, dict) else v) for v in worker.get("volumes", [])]
    assert any(m.startswith("sluice-state") for m in mounts), f"worker volumes: {mounts}"
    command = " ".join(worker.get("entrypoint") or []) + " " + " ".join(worker.get("command") or [])
    for needle in ("sluice worker", "--brokers kafka:9092", "--grpc-listen 0.0.0.0:9750",
                   "--state-dir", "hostname"):
        assert needle in command, f"worker command lacks {needle!r}: {command}"
    conditions = {name: spec.get("condition") for name, spec in worker.get("depends_on", {}).items()}
    assert conditions.get("kafka") == "service_healthy", conditions
    assert conditions.get("topics") == "service_completed_successfully", conditions

    topics = " ".join(services["topics"].get("command") or [])
    for topic in ("telemetry", "alerts", "aggregates", "hot-devices.errors", "_sluice_jobs",
                  "_sluice_status"):
        assert f"--topic {topic} " in topics, f"the topics service does not create {topic}"
    submit = " ".join(services["submit"].get("command") or [])
    assert "--name hot-devices" in submit and "--server worker:9750" in submit, submit
    print(f"(a) docker-compose config: services {', '.join(sorted(services))}; "
          f"volumes {', '.join(sorted(config['volumes']))}; kafka {kafka['image']} "
          f"with roles {','.join(roles)}")


# --- (b) the Dockerfile ------------------------------------------------------

def install_lists(stage_text):
    """The package names of every `apt-get install` in a stage."""
    joined = stage_text.replace("\\\n", " ")
    names = []
    for match in re.finditer(r"apt-get install ([^&;\n]*)", joined):
        names += [w for w in match.group(1).split() if not w.startswith("-")]
    return names


def check_dockerfile():
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        text = f.read()
    stages = re.split(r"(?im)^FROM\s+", text)[1:]
    froms = re.findall(r"(?im)^FROM\s+(\S+)", text)
    assert len(froms) == 2 and all(f == "debian:bookworm" for f in froms), (
        f"expected two FROM debian:bookworm stages, found {froms}")
    build, runtime = stages
    assert "cmake --build build --target sluice" in build and "-G Ninja" in build, (
        "the build stage does not build sluice with CMake and Ninja")
    assert "CMAKE_BUILD_TYPE=Release" in build
    assert re.search(r"(?m)^ENTRYPOINT \[\"sluice\"\]", runtime), "ENTRYPOINT [\"sluice\"] missing"
    user = re.findall(r"(?m)^USER\s+(\S+)", runtime)
    assert user and user[-1] not in ("root", "0"), f"the runtime stage runs as {user}"
    assert re.search(r"(?m)^VOLUME .*/var/lib/sluice", runtime), "no VOLUME /var/lib/sluice"

    # The build packages are deploy/setup.sh's; the runtime ones exist in Debian 12.
    with open(os.path.join(DEPLOY, "setup.sh")) as f:
        setup = f.read()
    declared = re.search(r"SLUICE_PACKAGES=\((.*?)\n\)", setup, re.S).group(1)
    setup_packages = set(re.sub(r"#[^\n]*", "", declared).split())
    build_packages = install_lists(build)
    assert build_packages, "no apt-get install in the build stage"
    strangers = sorted(set(build_packages) - setup_packages)
    assert not strangers, f"build packages not in deploy/setup.sh SLUICE_PACKAGES: {strangers}"
    runtime_packages = install_lists(runtime)
    for needed in ("librdkafka1", "librdkafka++1", "libgrpc++1.51", "libprotobuf32",
                   "librocksdb7.8", "libsimdjson14", "libabsl20220623", "kcat",
                   "ca-certificates"):
        assert needed in runtime_packages, f"the runtime stage does not install {needed}"
    if shutil.which("apt-cache"):
        unknown = [p for p in runtime_packages
                   if subprocess.run(["apt-cache", "show", p], capture_output=True,
                                     timeout=60).returncode != 0]
        assert not unknown, f"packages unknown to apt-cache: {unknown}"

    with open(os.path.join(REPO, ".dockerignore")) as f:
        ignored = f.read().split()
    for pattern in ("build*/", ".git", "bench/results"):
        assert pattern in ignored, f".dockerignore does not exclude {pattern}"
    print(f"(b) Dockerfile: stages {' and '.join(froms)}; runtime packages "
          f"{' '.join(runtime_packages)}")


# --- (c) deploy/local-cluster.sh ---------------------------------------------

class Output:
    """The script's stdout, read line by line by a thread, each line with the
    time it arrived."""

    def __init__(self, stream):
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, args=(stream,), daemon=True)
        self.thread.start()

    def read(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def text(self, last=None):
        lines = [line for _, line in self.snapshot()]
        return "\n".join(lines[-last:] if last else lines)


def ownership(lines):
    """worker name -> (the partitions its latest `now owns` line names, when
    that line arrived)."""
    owned = {}
    for at, line in lines:
        match = OWNS.match(line)
        if match:
            partitions = set()
            if match.group(3):
                partitions = {int(p) for p in match.group(3).split(",")}
            owned[match.group(1)] = (partitions, at)
    return owned


def wait_for(predicate, timeout, what, script, output):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert script.poll() is None, (
            f"local-cluster.sh exited {script.returncode} while waiting for {what}:\n"
            f"{output.text(last=80)}")
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s\n{output.text(last=80)}")


def read_pid(directory, name):
    try:
        with open(os.path.join(directory, f"{name}.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    """Whether `pid` is a running sluice process (so a PID reused by some
    other process after ours exited is never taken for it)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and bool(argv) and os.path.basename(argv[0]) == b"sluice"


def check_local_cluster():
    directory = tempfile.mkdtemp(prefix="sluice-it-deploy-")
    names = ["broker", "simulator"] + [f"worker-{i}" for i in range(1, WORKERS + 1)]
    args = [os.path.join(DEPLOY, "local-cluster.sh"), "--workers", str(WORKERS),
            "--duration", str(DURATION_S), "--dir", directory, "--sluice", SLUICE,
            "--rate", "500", "--devices", "200", "--base-port", str(free_port())]
    started = time.monotonic()
    script = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    output = Output(script.stdout)
    ok = False
    try:
        # Every worker owns some of telemetry, together all of it, and that
        # has not changed for SETTLE_S.
        def split():
            owned = ownership(output.snapshot())
            workers = [owned.get(f"worker-{i}", (set(), 0)) for i in range(1, WORKERS + 1)]
            if (all(partitions for partitions, _ in workers)
                    and set().union(*(partitions for partitions, _ in workers)) == PARTITIONS
                    and time.monotonic() - max(at for _, at in workers) >= SETTLE_S):
                return owned
            return None
        owned = wait_for(split, 30, "3 workers owning telemetry's 8 partitions", script, output)
        print(f"(c) {time.monotonic() - started:.1f} s after the start: " + ", ".join(
            f"{name} owns {sorted(owned[name][0])}" for name in sorted(owned)))

        # The banner: the bootstrap address, every worker's PID and API, the hint.
        banner = output.text()
        assert re.search(r"^local-cluster \| Kafka \(embedded broker\) at 127\.0\.0\.1:\d+$", banner, re.M), (
            f"no bootstrap address in the banner:\n{banner[:3000]}")
        for i in range(1, WORKERS + 1):
            pattern = rf"^local-cluster \| worker-{i}: pid {read_pid(directory, f'worker-{i}')}, API 127\.0\.0\.1:\d+$"
            assert re.search(pattern, banner, re.M), f"no PID/API line for worker-{i}:\n{banner[:3000]}"
        assert "kill -9 <pid> to watch its partitions move" in banner, "no kill -9 hint"

        victim = "worker-2"
        pid = read_pid(directory, victim)
        assert pid and alive(pid), f"no live PID in {directory}/{victim}.pid"
        lost = owned[victim][0]
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        survivors = [f"worker-{i}" for i in range(1, WORKERS + 1) if f"worker-{i}" != victim]

        def taken_over():
            owned = ownership(output.snapshot())
            mine = [owned.get(name, (set(), 0)) for name in survivors]
            latest = max(at for _, at in mine)
            if set().union(*(partitions for partitions, _ in mine)) == PARTITIONS and latest > killed_at:
                return owned, latest
            return None
        owned, at = wait_for(taken_over, TAKEOVER_S, f"{' and '.join(survivors)} owning all 8 partitions "
                             f"after the SIGKILL of {victim}", script, output)
        print(f"(c) SIGKILL of {victim} (pid {pid}, owned {sorted(lost)}); "
              f"{at - killed_at:.1f} s later "
              + ", ".join(f"{name} owns {sorted(owned[name][0])}" for name in survivors))

        # SIGTERM (or Ctrl-C) ends the run: everything it started stops, exit 0.
        script.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        try:
            code = script.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"local-cluster.sh still runs 15 s after SIGTERM\n"
                                 f"{output.text(last=40)}")
        output.thread.join(timeout=10)
        assert code == 0, f"local-cluster.sh exited {code}:\n{output.text(last=40)}"
        text = output.text()
        assert "local-cluster | got SIGTERM" in text and "local-cluster | stopped;" in text, (
            f"no clean stop:\n{output.text(last=40)}")
        left = [f"{name} ({read_pid(directory, name)})" for name in names
                if read_pid(directory, name) and alive(read_pid(directory, name))]
        assert not left, f"still running after local-cluster.sh exited: {left}"
        for name in survivors:
            assert f"{name} | stopped" in text, f"{name} did not stop cleanly"
        assert f"local-cluster | {victim} (pid {pid}) is gone" in text, f"the death of {victim} went unreported"
        print(f"(c) on SIGTERM local-cluster.sh stopped everything and exited 0 in "
              f"{time.monotonic() - stopping:.1f} s ({time.monotonic() - started:.1f} s after the start)")
        ok = True
    finally:
        if script.poll() is None:
            script.send_signal(signal.SIGTERM)
            try:
                script.wait(timeout=15)
            except subprocess.TimeoutExpired:
                script.kill()
                script.wait()
        # Whatever outlived the script (it was killed itself), by PID.
        for name in names:
            pid = read_pid(directory, name)
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
        if ok:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"scratch directory kept: {directory}", file=sys.stderr)


def main():
    began = time.monotonic()
    try:
        check_compose()
        check_dockerfile()
        check_local_cluster()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"deploy_files: passed in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
