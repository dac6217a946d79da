"""A job on Kafka produces exactly what `sluice run` produces over the same
events: tumbling, hopping and session queries, one worker, four partitions,
events slightly out of order (within the tolerance)."""
from harness import SLUICE, read_lines, run_test

QUERIES = {
    "tumbling": """
        SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, MAX(temperature) AS maxTemp,
               System.Timestamp() AS windowEnd
        INTO tumbling FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, TumblingWindow(second, 5)""",
    "hopping": """
        SELECT deviceId, COUNT(*) AS n, MIN(temperature) AS minTemp, System.Timestamp() AS windowEnd
        INTO hopping FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, HoppingWindow(second, 6, 2)""",
    "session": """
        SELECT deviceId, COUNT(*) AS n, SUM(humidity) AS humidity, System.Timestamp() AS windowEnd
        INTO session FROM telemetry TIMESTAMP BY eventTime
        GROUP BY deviceId, SessionWindow(millisecond, 150, 4000) OVER (PARTITION BY deviceId)""",
}
POLICY = {"outOfOrderTolerance": "1s"}
SIMULATION = ["--count", "12000", "--devices", "40", "--rate", "1000", "--seed", "7",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.05",
              "--out-of-order-max", "800ms", "--no-pace"]


def body(cluster):
    jobs = [cluster.job_file(name, query, inputs=[{"alias": "telemetry", "policy": POLICY}])
            for name, query in QUERIES.items()]
    cluster.start_worker("worker-1", jobs)
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    cluster.simulate("telemetry", *SIMULATION)
    for name, query in QUERIES.items():
        out = cluster.run_offline(query, events, "--out-of-order-tolerance", "1s")
        expected = sorted(read_lines(f"{out}/{name}.jsonl"))
        assert len(expected) > 50, f"{name}: the reference produced only {len(expected)} rows"
        actual = sorted(cluster.wait_for_rows(name, len(expected)))
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        assert actual == expected, (
            f"{name}: Kafka output differs from sluice run: {len(actual)} vs {len(expected)} rows, "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]})")
        print(f"{name}: {len(actual)} rows, identical to sluice run")


run_test("matches-run", {"telemetry": 4, "tumbling": 4, "hopping": 4, "session": 4}, body)
