"""guarantee exactly_once: each task writes its outputs, exchange rows and
changelog and commits its input offsets in one Kafka transaction per
checkpoint. The embedded broker accepts transactions without enforcing them
(a killed task's open transaction stays readable), so this checks the
transactional path end to end (init, offsets in the transaction, commit,
fencing of the old task by the new one) rather than the broker's
isolation: the jobs run through a SIGKILL, and their outputs read with
read_committed and deduplicated by sluice.id equal `sluice run`. A bad
guarantee is refused with a clear message."""
import re
import signal
import subprocess
import threading
import time

from harness import SLUICE, assert_same_rows, read_lines, run_test, wait_until

QUERIES = {
    "counts": """
        SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, System.Timestamp() AS windowEnd
        INTO counts FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, TumblingWindow(second, 2)""",
    "totals": """
        SELECT COUNT(*) AS n, MAX(temperature) AS maxTemp, System.Timestamp() AS windowEnd
        INTO totals FROM telemetry TIMESTAMP BY eventTime
        GROUP BY TumblingWindow(second, 3)""",
}
POLICY = {"outOfOrderTolerance": "1s"}
SIMULATION = ["--count", "7500", "--devices", "24", "--rate", "300", "--seed", "31",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.03",
              "--out-of-order-max", "600ms"]


def body(cluster):
    bad = cluster.job_file("bad", "SELECT * INTO x FROM telemetry", guarantee="twice")
    result = subprocess.run([SLUICE, "worker", "--bootstrap-file", cluster.bootstrap_file,
                             "--state-dir", cluster.path("state-bad"), "--grpc-listen", "none",
                             "--job", bad], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, result.stdout
    assert "guarantee must be at_least_once or exactly_once, not 'twice'" in result.stderr + \
        result.stdout, result.stderr

    jobs = [cluster.job_file(name, query, guarantee="exactly_once",
                             inputs=[{"alias": "telemetry", "policy": POLICY}])
            for name, query in QUERIES.items()]
    a = cluster.start_worker("worker-a", jobs)
    b = cluster.start_worker("worker-b", jobs)
    wait_until(lambda: all("| counts | assigned" in cluster.log_of(w) for w in (a, b)), 60,
               "both workers to own partitions")
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    producer = threading.Thread(target=cluster.simulate,
                                args=("telemetry", *SIMULATION, "--realtime"))
    producer.start()
    time.sleep(9)
    b.send_signal(signal.SIGKILL)
    b.wait()
    print("killed worker-b mid-stream")
    producer.join()

    for name, query in QUERIES.items():
        out = cluster.run_offline(query, events, "--out-of-order-tolerance", "1s",
                                  "--partitions", "4")
        expected = sorted(read_lines(f"{out}/{name}.jsonl"))
        assert len(expected) > 5, f"{name}: the reference produced only {len(expected)} rows"
        try:
            cluster.wait_for_rows(name, len(expected), settle_seconds=4, timeout=90)
        except AssertionError as e:
            print(f"{name}: {str(e).splitlines()[0]}")
        actual, copies = cluster.deduplicated_rows(name, read_committed=True)
        assert_same_rows(name, actual, expected)
        print(f"{name}: {len(actual)} rows identical to sluice run ({copies} copies readable on "
              f"the embedded broker, which does not enforce transactions)")
    log = cluster.log_of(a)
    assert "Kafka transaction" not in log, log[-3000:]
    assert re.search(r"counts \| telemetry\[\d\] \| restored checkpoint", log), (
        "worker-a did not restore worker-b's tasks" + log[-3000:])


run_test("exactly-once", {"telemetry": 4, "counts": 4, "totals": 4}, body)
