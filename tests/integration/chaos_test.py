"""Chaos: three workers run a tumbling, a hopping, a session and an exchange
job, a missing-heartbeat join (in the input tasks), a three-way join (a
pair on a computed key through one repartition topic into a second stage,
then the pair's rows and the third stream through another into a third)
and a LAG and ISFIRST job, over a fixed, seeded stream, while a driver
kills a random worker with SIGKILL every few seconds and starts it again
(same state directory), at least ten times. Afterwards every output, with copies dropped by their
`sluice.id` header, equals `sluice run --partitions 4` over the same events
exactly: nothing missing, nothing different, and every copy byte-identical
to its original."""
import random
import re
import signal
import threading
import time

from harness import SLUICE, assert_same_rows, read_lines, run_test, wait_until

QUERIES = {
    "tumbling": """
        SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, MAX(temperature) AS maxTemp,
               System.Timestamp() AS windowEnd
        INTO tumbling FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, TumblingWindow(second, 2)""",
    "hopping": """
        SELECT deviceId, COUNT(*) AS n, MIN(temperature) AS minTemp, System.Timestamp() AS windowEnd
        INTO hopping FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, HoppingWindow(second, 4, 2)""",
    "session": """
        SELECT deviceId, COUNT(*) AS n, SUM(humidity) AS humidity, System.Timestamp() AS windowEnd
        INTO session FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, SessionWindow(millisecond, 400, 3000) OVER (PARTITION BY deviceId)""",
    "totals": """
        SELECT COUNT(*) AS n, AVG(temperature) AS avgTemp, COUNT(DISTINCT deviceId) AS devices,
               System.Timestamp() AS windowEnd
        INTO totals FROM telemetry TIMESTAMP BY eventTime
        GROUP BY TumblingWindow(second, 2)""",
    "silent": """
        SELECT a.deviceId, a.eventTime AS lastSeen, System.Timestamp() AS silentSince
        INTO silent FROM telemetry a TIMESTAMP BY eventTime
        LEFT OUTER JOIN telemetry b TIMESTAMP BY eventTime
          ON a.deviceId = b.deviceId AND DATEDIFF(millisecond, a, b) BETWEEN 1 AND 400
        WHERE b.deviceId IS NULL""",
    # Three streams in one SELECT: a reading, another device's with the
    # same rounded temperature just after it (across an exchange), and the
    # first device's next readings (across another); each row is named by
    # its three events.
    "near": """
        SELECT a.deviceId AS first, b.deviceId AS second, a.temperature,
               a.eventTime AS t1, b.eventTime AS t2, c.eventTime AS t3
        INTO near FROM telemetry a TIMESTAMP BY eventTime
        JOIN telemetry b TIMESTAMP BY eventTime
          ON ROUND(a.temperature, 0) = ROUND(b.temperature, 0)
         AND DATEDIFF(millisecond, a, b) BETWEEN 1 AND 10
        JOIN telemetry c TIMESTAMP BY eventTime
          ON a.deviceId = c.deviceId AND DATEDIFF(millisecond, a, c) BETWEEN 1 AND 200
         AND DATEDIFF(millisecond, b, c) BETWEEN -10 AND 200""",
    # Analytic functions: the first hot reading of each device per second,
    # with the reading before it (state per device that follows the task).
    "firsts": """
        SELECT deviceId, eventTime, temperature,
               LAG(temperature) OVER (PARTITION BY deviceId LIMIT DURATION(second, 2)) AS prev
        INTO firsts FROM telemetry TIMESTAMP BY eventTime OVER deviceId
        WHERE ISFIRST(second, 1) OVER (PARTITION BY deviceId WHEN temperature > 50) = 1""",
}
POLICY = {"outOfOrderTolerance": "1s"}
# 45 s of event time at 300 events/s, produced in real time while the
# workers are being killed.
SIMULATION = ["--count", "13500", "--devices", "30", "--rate", "300", "--seed", "23",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.03",
              "--out-of-order-max", "600ms"]
WORKERS = ["worker-1", "worker-2", "worker-3"]
KILLS = 10


def worker_args(cluster, name, jobs):
    args = [SLUICE, "worker", "--bootstrap-file", cluster.bootstrap_file, "--name", name,
            "--state-dir", cluster.path(f"state-{name}"), "--status-interval", "2s",
            "--grpc-listen", "none"]
    for job in jobs:
        args += ["--job", job]
    return args


def body(cluster):
    jobs = [cluster.job_file(name, query, inputs=[{"alias": "telemetry", "policy": POLICY}])
            for name, query in QUERIES.items()]
    runs = {name: 0 for name in WORKERS}
    current = {}
    for name in WORKERS:
        current[name] = cluster.start(f"{name}.0", worker_args(cluster, name, jobs))
    wait_until(lambda: all("| tumbling | assigned" in cluster.log_of(p)
                           for p in current.values()), 60, "every worker to get partitions")
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    producer = threading.Thread(target=cluster.simulate,
                                args=("telemetry", *SIMULATION, "--realtime"))
    producer.start()

    rng = random.Random(5)
    recoveries = []
    for kill in range(KILLS):
        time.sleep(rng.uniform(2.0, 3.5))
        victim = rng.choice(WORKERS)
        process = current[victim]
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at = time.time()
        runs[victim] += 1
        current[victim] = cluster.start(f"{victim}.{runs[victim]}",
                                        worker_args(cluster, victim, jobs))
        recoveries.append((victim, killed_at))
        print(f"kill {kill + 1}: {victim} at +{killed_at - recoveries[0][1]:.1f} s, restarted")
    producer.join()
    print("the stream is over; waiting for the outputs to settle")

    expected = {}
    for name, query in QUERIES.items():
        out = cluster.run_offline(query, events, "--out-of-order-tolerance", "1s",
                                  "--partitions", "4")
        expected[name] = sorted(read_lines(f"{out}/{name}.jsonl"))
        assert len(expected[name]) > 10, \
            f"{name}: the reference produced only {len(expected[name])} rows"
    # All outputs settle together (one 5 s quiet period, not one per output).
    try:
        cluster.wait_for_all_rows({name: len(rows) for name, rows in expected.items()},
                                  settle_seconds=5, timeout=150)
    except AssertionError as e:
        print(str(e).splitlines()[0])  # the comparisons below say what differs
    total_duplicates = 0
    for name in QUERIES:
        actual, duplicates = cluster.deduplicated_rows(name)
        assert_same_rows(f"{name}, after {KILLS} kills", actual, expected[name])
        total_duplicates += duplicates
        print(f"{name}: {len(actual)} rows identical to sluice run; {duplicates} byte-identical "
              f"copies dropped by sluice.id")
    restores = []
    for p in cluster.processes:
        if p.name.startswith("worker-"):
            restores += [int(ms) for ms in re.findall(r"changes in (\d+) ms", cluster.log_of(p))]
    print(f"{KILLS} kills, {total_duplicates} duplicates in all; {len(restores)} tasks restored "
          f"from a changelog (median {sorted(restores)[len(restores) // 2] if restores else 0} ms)")


run_test("chaos", {"telemetry": 4, "tumbling": 4, "hopping": 4, "session": 4, "totals": 4,
                   "silent": 4, "near": 4, "firsts": 4}, body)
