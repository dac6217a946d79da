"""Restore from the changelog alone: one worker runs a tumbling job whose
ten-minute window holds over 100,000 keys (one per device) when the worker
is killed with SIGKILL. Its state directory is deleted; a new worker of the
same name starts with an empty one and must rebuild every task from the
changelog topics (`restored checkpoint K from the changelog: C changes in
M ms`). A second batch of events, later in event time, then closes the
window: every row of it comes out of the restored state, and the output,
copies dropped by their `sluice.id` header, equals `sluice run --partitions
4` over both batches exactly.

Sizes: the simulator picks devices at random, so 120,000 events over a
million devices give about 113,000 distinct devices (120,000 over 100,000
devices would give only 70,000). The embedded broker keeps 5 MiB or 100,000
message sets per partition; the test checks that no changelog partition
lost its beginning to that retention."""
import os
import re
import shutil
import signal
import subprocess
import time

from harness import SLUICE, assert_same_rows, read_lines, run_test, wait_until

JOB = "longwindow"
QUERY = """
    SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, MAX(temperature) AS maxTemp,
           System.Timestamp() AS windowEnd
    INTO windows FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(minute, 10)"""
POLICY = {"outOfOrderTolerance": "1s"}
# 6 s of event time from 10:00:00: the window ending 10:10:00 stays open.
FIRST = ["--devices", "1000000", "--count", "120000", "--rate", "20000", "--seed", "31",
         "--start-time", "2024-03-01T10:00:00Z", "--no-pace"]
# Two seconds just before 10:20:00, for devices dev-0 to dev-999: the first
# of them closes the window ending 10:10:00; their own window (ending
# 10:20:00) closes a few seconds after the input goes idle (the watermark
# follows the wall clock minus the 5 s late-arrival tolerance), so that
# every window of both batches is in the output, as in `sluice run`.
SECOND = ["--devices", "1000", "--count", "2000", "--rate", "1000", "--seed", "32",
          "--start-time", "2024-03-01T10:19:56Z", "--no-pace"]
MIN_KEYS = 100_000
# What the embedded broker keeps of a partition: its last 5 MiB (of
# compressed batches; the sizes checked here are uncompressed) and 100,000
# message sets (each holds one record or more).
RETENTION_BYTES = 5 * 1024 * 1024
RETENTION_SETS = 100_000


def worker_args(cluster, name, job):
    return [SLUICE, "worker", "--bootstrap-file", cluster.bootstrap_file, "--name", name,
            "--state-dir", cluster.path(f"state-{name}"), "--status-interval", "1s",
            "--grpc-listen", "none", "--job", job]


def events_seen(cluster, worker):
    numbers = re.findall(rf"\| {JOB} \| owns .* \| (\d+) events, \d+ rows", cluster.log_of(worker))
    return int(numbers[-1]) if numbers else 0


def restores(cluster, worker):
    """(partition, checkpoint, changes, ms) of every `restored checkpoint K
    from the changelog: C changes in M ms` line of `worker`."""
    return re.findall(rf"^{JOB} \| (telemetry\[\d+\]) \| restored checkpoint (\d+) from the "
                      rf"changelog: (\d+) changes in (\d+) ms", cluster.log_of(worker), re.M)


def changelog_topics(cluster):
    """The job's changelog topics, from the broker's metadata (kcat -L)."""
    result = subprocess.run(["kcat", "-b", cluster.bootstrap, "-L"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    topics = re.findall(r'topic "([^"]+)" with', result.stdout)
    return sorted(t for t in topics if t.startswith(f"sluice.{JOB}.") and t.endswith(".changelog"))


def changelog(cluster, topic):
    """(partition, offset, key, value) of every record of `topic`, as bytes:
    changelog keys and values are binary."""
    result = subprocess.run(
        ["kcat", "-b", cluster.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
         "-f", "%p %o %K %S\\n%k%s"],
        capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    data, at, records = result.stdout, 0, []
    while at < len(data):
        newline = data.index(b"\n", at)
        partition, offset, key_size, value_size = (int(x) for x in data[at:newline].split())
        at = newline + 1
        key = data[at:at + max(key_size, 0)]
        at += max(key_size, 0)
        value = data[at:at + max(value_size, 0)]
        at += max(value_size, 0)
        records.append((partition, offset, key, value))
    return records


def window_keys(cluster):
    """How many distinct keys the window operator has put in its changelog
    (family `<job>/<node>.windows`; a record's key is the family, a zero
    byte, the RocksDB key; its value starts with the kind, P for a put)."""
    keys = set()
    for topic in changelog_topics(cluster):
        for _, _, key, value in changelog(cluster, topic):
            if key.split(b"\0", 1)[0].endswith(b".windows") and value[:1] == b"P":
                keys.add(key)
    return len(keys)


def body(cluster):
    job = cluster.job_file(JOB, QUERY, inputs=[{"alias": "telemetry", "policy": POLICY}])
    first = cluster.path("first.jsonl")
    second = cluster.path("second.jsonl")
    cluster.simulate(None, *FIRST, output=first)
    cluster.simulate(None, *SECOND, output=second)
    devices = len({re.search(r'"deviceId":"([^"]*)"', line).group(1) for line in read_lines(first)})
    assert devices >= MIN_KEYS, f"the first batch has only {devices} distinct devices"

    worker = cluster.start("worker-1", worker_args(cluster, "worker-1", job))
    wait_until(lambda: f"| {JOB} | assigned telemetry[" in cluster.log_of(worker), 30,
               "worker-1 to get partitions")
    started = time.time()
    cluster.simulate("telemetry", *FIRST)
    wait_until(lambda: events_seen(cluster, worker) >= 120_000, 60,
               "worker-1 to process the first batch")
    print(f"worker-1 processed 120000 events ({devices} devices) "
          f"{time.time() - started:.1f} s after the first was produced")
    # The last second of events waits in the reorder buffer (1 s tolerance)
    # until the idle input lets the watermark follow the wall clock: then
    # the window holds every device; two more checkpoints, and it is all in
    # the changelog with its checkpoint's marker.
    keys, previous, deadline = 0, -1, time.time() + 30
    while keys < MIN_KEYS or keys != previous:
        assert time.time() < deadline, f"the window's changelog holds {keys} keys after 30 s"
        time.sleep(1)
        previous, keys = keys, window_keys(cluster)
    time.sleep(2)
    print(f"the window state holds {keys} keys (distinct puts in its changelog) "
          f"{time.time() - started:.1f} s after the first event was produced; killing worker-1")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert not [line for line in read_lines(worker.log_path) if "restored checkpoint" in line]
    state = cluster.path("state-worker-1")
    assert os.path.isdir(state), f"{state}: no state directory"
    shutil.rmtree(state)
    assert not os.path.exists(state)

    # The changelogs hold everything: nothing lost to the broker's retention.
    topics = changelog_topics(cluster)
    assert len(topics) >= 2, f"changelog topics of {JOB}: {topics}"
    for topic in topics:
        sizes = {}
        for partition, offset, key, value in changelog(cluster, topic):
            first_offset, records, size = sizes.get(partition, (offset, 0, 0))
            size += len(key) + len(value)
            sizes[partition] = (min(first_offset, offset), records + 1, size)
        assert sizes, f"{topic} is empty"
        for partition, (first_offset, records, size) in sorted(sizes.items()):
            assert first_offset == 0, (
                f"{topic}[{partition}] starts at offset {first_offset}: the broker's retention "
                f"dropped its beginning ({records} records, {size} bytes left)")
            assert size < RETENTION_BYTES, f"{topic}[{partition}]: {size} bytes"
            assert records < RETENTION_SETS, f"{topic}[{partition}]: {records} records"
        print(f"{topic}: {sum(r for _, r, _ in sizes.values())} records, at most "
              f"{max(r for _, r, _ in sizes.values())} records and "
              f"{max(s for _, _, s in sizes.values()) / 1024 / 1024:.2f} MiB (uncompressed) "
              f"per partition")

    restarted_at = time.time()
    worker = cluster.start("worker-1.restarted", worker_args(cluster, "worker-1", job))
    restored = wait_until(lambda: len(restores(cluster, worker)) >= 4 and restores(cluster, worker),
                          40, "the new worker-1 to restore its four tasks from the changelog")
    here = [line for line in read_lines(worker.log_path) if "is here already" in line]
    assert not here, f"an empty state directory, yet: {here}"
    assert sorted(t for t, _, _, _ in restored) == [f"telemetry[{p}]" for p in range(4)], restored
    changes = [int(c) for _, _, c, _ in restored]
    ms = [int(m) for _, _, _, m in restored]
    print(f"restored {len(restored)} tasks {time.time() - restarted_at:.1f} s after the restart: "
          f"{sum(changes)} changes ({', '.join(map(str, changes))}) in {sum(ms)} ms summed over "
          f"the tasks, {max(ms)} ms at most ({', '.join(map(str, ms))} ms)")
    wait_until(lambda: re.findall(rf"\| {JOB} \| .*now owns telemetry\[0,1,2,3\]",
                                  cluster.log_of(worker)), 30, "the new worker-1 to own all")

    cluster.simulate("telemetry", *SECOND)
    both = cluster.path("both.jsonl")
    with open(both, "w") as f:
        for path in (first, second):
            with open(path) as part:
                shutil.copyfileobj(part, f)
    out = cluster.run_offline(QUERY, both, "--out-of-order-tolerance", "1s", "--partitions", "4")
    expected = sorted(read_lines(f"{out}/windows.jsonl"))
    closed = sum(1 for row in expected if '"windowEnd":"2024-03-01T10:10:00' in row)
    assert closed >= MIN_KEYS, f"the reference closes only {closed} windows at 10:10"
    try:
        cluster.wait_for_rows("windows", len(expected), settle_seconds=4, timeout=60)
    except AssertionError as e:
        print(str(e).splitlines()[0])  # the comparison below says what differs
    actual, duplicates = cluster.deduplicated_rows("windows")
    assert_same_rows("after the restore", actual, expected)
    # The worker leaves cleanly (before the harness stops the broker).
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    assert worker.returncode == 0, f"worker-1 exited with {worker.returncode} after SIGTERM"
    print(f"{len(actual)} rows identical to sluice run ({closed} from the restored window of "
          f"{keys} keys); {duplicates} byte-identical copies dropped by sluice.id")


run_test("restore", {"telemetry": 4, "windows": 4}, body)
