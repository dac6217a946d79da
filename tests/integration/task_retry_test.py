"""A task that fails does not stall its partition until a rebalance: its
worker replaces it with a task restored from the last checkpoint, reads
the partition again from there, and the job's output (replayed copies
dropped by sluice.id) is exactly `sluice run`'s. The failure is made on
purpose: SLUICE_FAILPOINTS fails the first three checkpoints the worker
attempts (each fails its task), one worker, no rebalance."""
import os
import re

from harness import assert_same_rows, read_lines, run_test, wait_until

QUERY = """
    SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, System.Timestamp() AS windowEnd
    INTO counts FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 2)"""
POLICY = {"outOfOrderTolerance": "1s"}
SIMULATION = ["--count", "6000", "--devices", "20", "--rate", "500", "--seed", "11",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.03",
              "--out-of-order-max", "600ms"]


def body(cluster):
    job = cluster.job_file("counts", QUERY, inputs=[{"alias": "telemetry", "policy": POLICY}])
    os.environ["SLUICE_FAILPOINTS"] = "task.checkpoint=3"
    try:
        worker = cluster.start_worker("worker-1", [job], extra=["--commit-interval", "500ms"])
    finally:
        del os.environ["SLUICE_FAILPOINTS"]
    wait_until(lambda: "| counts | assigned" in cluster.log_of(worker), 60,
               "the worker to own the partitions")
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    cluster.simulate("telemetry", *SIMULATION, "--realtime")

    out = cluster.run_offline(QUERY, events, "--out-of-order-tolerance", "1s", "--partitions", "2")
    expected = sorted(read_lines(f"{out}/counts.jsonl"))
    assert len(expected) > 20, f"the reference produced only {len(expected)} rows"
    try:
        cluster.wait_for_rows("counts", len(expected), settle_seconds=4, timeout=90)
    except AssertionError as e:
        print(str(e).splitlines()[0])
    actual, copies = cluster.deduplicated_rows("counts")
    log = cluster.log_of(worker)
    failures = re.findall(r"task failed \(the failpoint task\.checkpoint", log)
    restarts = re.findall(r"task restarted, reading again from offset", log)
    assert len(failures) == 3, f"expected 3 failed checkpoints, saw {len(failures)}:\n{log[-3000:]}"
    assert len(restarts) == 3, f"expected 3 restarts, saw {len(restarts)}:\n{log[-3000:]}"
    assert_same_rows("counts", actual, expected)
    print(f"counts: {len(actual)} rows identical to sluice run after {len(failures)} task "
          f"failures and restarts ({copies} replayed copies dropped by sluice.id)")


run_test("task-retry", {"telemetry": 2, "counts": 2}, body)
