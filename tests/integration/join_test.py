"""Stream joins on Kafka produce exactly what `sluice run` produces over the
same events: a missing-heartbeat job (a LEFT JOIN of a topic with itself,
run in the input tasks), a join of two topics (both sides cross into one
stage through one shared repartition topic) and a three-way join (that
pair's rows cross again into a third stage, with a bound between every
pair). One worker, four partitions per topic, events out of order within
the tolerance."""
from harness import read_lines, run_test

QUERIES = {
    # The canonical absence query: a device's event that no later event of
    # the same device followed within 150 ms.
    "silent": """
        SELECT a.deviceId, a.eventTime AS lastSeen, System.Timestamp() AS silentSince
        INTO silent
        FROM telemetry a TIMESTAMP BY eventTime
        LEFT OUTER JOIN telemetry b TIMESTAMP BY eventTime
          ON a.deviceId = b.deviceId AND DATEDIFF(millisecond, a, b) BETWEEN 1 AND 150
        WHERE b.deviceId IS NULL""",
    # Correlation across two topics.
    "pairs": """
        SELECT t.deviceId, t.temperature, s.humidity AS statusHumidity,
               t.eventTime AS t1, s.eventTime AS t2
        INTO pairs
        FROM telemetry t TIMESTAMP BY eventTime
        JOIN status s TIMESTAMP BY eventTime
          ON t.deviceId = s.deviceId AND DATEDIFF(millisecond, t, s) BETWEEN -20 AND 20""",
    # Three streams in one SELECT: the pair, then the device's next readings.
    "chain": """
        SELECT t.deviceId, t.eventTime AS t1, s.eventTime AS t2, u.eventTime AS t3,
               System.Timestamp() AS at
        INTO chain
        FROM telemetry t TIMESTAMP BY eventTime
        JOIN status s TIMESTAMP BY eventTime
          ON t.deviceId = s.deviceId AND DATEDIFF(millisecond, t, s) BETWEEN -20 AND 20
        JOIN telemetry u TIMESTAMP BY eventTime
          ON s.deviceId = u.deviceId AND DATEDIFF(millisecond, t, u) BETWEEN 1 AND 100
          AND DATEDIFF(millisecond, s, u) BETWEEN 0 AND 100""",
}
POLICY = {"outOfOrderTolerance": "1s"}
COMMON = ["--devices", "40", "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.05",
          "--out-of-order-max", "800ms", "--no-pace"]
TELEMETRY = ["--count", "12000", "--rate", "1000", "--seed", "7"] + COMMON
STATUS = ["--count", "3000", "--rate", "250", "--seed", "8"] + COMMON


def body(cluster):
    inputs = [{"alias": "telemetry", "policy": POLICY}, {"alias": "status", "policy": POLICY}]
    jobs = [cluster.job_file("silent", QUERIES["silent"], inputs=inputs[:1]),
            cluster.job_file("pairs", QUERIES["pairs"], inputs=inputs),
            cluster.job_file("chain", QUERIES["chain"], inputs=inputs)]
    worker = cluster.start_worker("worker-1", jobs)
    telemetry = cluster.path("telemetry.jsonl")
    status = cluster.path("status.jsonl")
    cluster.simulate(None, *TELEMETRY, output=telemetry)
    cluster.simulate(None, *STATUS, output=status)
    cluster.simulate("telemetry", *TELEMETRY)
    cluster.simulate("status", *STATUS)
    for name, query in QUERIES.items():
        out = cluster.run_offline(query, telemetry, "--input", f"status={status}",
                                  "--out-of-order-tolerance", "1s") if name != "silent" else \
            cluster.run_offline(query, telemetry, "--out-of-order-tolerance", "1s")
        expected = sorted(read_lines(f"{out}/{name}.jsonl"))
        assert len(expected) > 100, f"{name}: the reference produced only {len(expected)} rows"
        cluster.wait_for_rows(name, len(expected))
        actual, copies = cluster.deduplicated_rows(name)
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        assert actual == expected, (
            f"{name}: Kafka output differs from sluice run: {len(actual)} vs {len(expected)} rows, "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]})")
        print(f"{name}: {len(actual)} rows ({copies} replayed copies), identical to sluice run")
    log = cluster.log_of(worker)
    # The two-topic join ran in a second stage fed by one repartition topic.
    assert "sluice.pairs." in log and "repartition" in log, log[-2000:]


run_test("joins", {"telemetry": 4, "status": 4, "silent": 4, "pairs": 4, "chain": 4}, body)
