"""Helpers for Sluice's integration tests: real `sluice` processes on
loopback (broker, workers, simulator), read back with kcat, an independent
Kafka client.

Every test gets a scratch directory and a broker of its own; everything it
starts is stopped when the test ends, even when it fails.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SLUICE = os.environ.get("SLUICE_BINARY", os.path.join(os.path.dirname(__file__), "..", "..", "build", "sluice"))


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
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
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

    def start_worker(self, name, jobs):
        args = [SLUICE, "worker", "--bootstrap-file", self.bootstrap_file, "--name", name,
                "--state-dir", self.path(f"state-{name}"), "--status-interval", "1s"]
        for job in jobs:
            args += ["--job", job]
        return self.start(name, args)

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

    def read_topic(self, topic, fmt="%s\\n"):
        """Every message of a topic, from the beginning, read with kcat."""
        result = subprocess.run(
            ["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", fmt],
            capture_output=True, text=True, timeout=60)
        if result.returncode != 0 and "Unknown topic" in result.stderr:
            return []
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.split("\n") if line]

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
        for p in reversed(self.processes):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.processes):
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
    finally:
        cluster.stop()
        cluster.cleanup(keep=not ok)
    sys.exit(0 if ok else 1)
