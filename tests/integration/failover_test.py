"""Two workers split the partitions; one is killed with SIGKILL mid-stream;
the other takes its partitions over, restores their state from the
changelogs and resumes from the checkpointed positions. Afterwards the
output, with replayed copies dropped by their sluice.id, equals `sluice run`
exactly; the copies are counted."""
import re
import signal
import threading
import time

from harness import assert_same_rows, read_lines, run_test

QUERY = """
    SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, System.Timestamp() AS windowEnd
    INTO counts FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 2)"""
# 25 s of events at 400/s, paced in real time so the kill lands mid-stream.
SIMULATION = ["--count", "10000", "--devices", "60", "--rate", "400", "--seed", "11",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.03",
              "--out-of-order-max", "500ms"]


def events_seen(cluster, worker):
    numbers = re.findall(r"(\d+) events, \d+ rows", cluster.log_of(worker))
    return int(numbers[-1]) if numbers else 0


def body(cluster):
    job = cluster.job_file("failover", QUERY,
                           inputs=[{"alias": "telemetry", "policy": {"outOfOrderTolerance": "1s"}}])
    a = cluster.start_worker("worker-a", [job])
    b = cluster.start_worker("worker-b", [job])
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    producer = threading.Thread(target=cluster.simulate,
                                args=("telemetry", *SIMULATION, "--realtime"))
    producer.start()

    # Both workers must own partitions and have processed events.
    deadline = time.time() + 30
    while time.time() < deadline and (events_seen(cluster, a) == 0 or events_seen(cluster, b) == 0):
        time.sleep(0.5)
    seen_a, seen_b = events_seen(cluster, a), events_seen(cluster, b)
    assert seen_a > 0 and seen_b > 0, f"both workers must work: a={seen_a} b={seen_b}"
    print(f"before the kill: worker-a processed {seen_a} events, worker-b {seen_b}")
    owned_b = re.findall(r"now owns (telemetry\[[0-9,]*\])", cluster.log_of(b))
    b.send_signal(signal.SIGKILL)
    killed_at = time.time()
    b.wait()
    print(f"killed worker-b (it owned {owned_b[-1] if owned_b else '?'})")

    # worker-a must take over every partition.
    while time.time() < killed_at + 40:
        owned = re.findall(r"now owns (telemetry\[[0-9,]*\])", cluster.log_of(a))
        if owned and owned[-1] == "telemetry[0,1,2,3]":
            break
        time.sleep(0.5)
    assert owned and owned[-1] == "telemetry[0,1,2,3]", f"worker-a owns {owned[-1:]} after the kill"
    print(f"worker-a owns all partitions {time.time() - killed_at:.1f} s after the kill")
    producer.join()

    out = cluster.run_offline(QUERY, events, "--out-of-order-tolerance", "1s")
    expected = sorted(read_lines(f"{out}/counts.jsonl"))
    cluster.wait_for_rows("counts", len(expected), settle_seconds=4, timeout=90)
    # The moved partitions resumed from their last checkpoint: rows after it
    # were produced again, byte-identical and under the same sluice.id.
    actual, duplicates = cluster.deduplicated_rows("counts")
    assert_same_rows("after the kill", actual, expected)
    print(f"{len(expected)} window results, identical to sluice run; {duplicates} byte-identical "
          f"copies dropped by sluice.id")


run_test("failover", {"telemetry": 4, "counts": 4}, body)
