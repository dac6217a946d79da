"""TIMESTAMP BY ... OVER deviceId on Kafka: devices whose clocks lag by up
to 3 s (each its own fixed lag), read by a job with LAG, ISFIRST and a
window per device, produce on a worker reading four partitions exactly what
`sluice run` produces over the same events in one task. Without OVER the
lagging devices' events would be re-stamped to the fleet's clock (out of
order by more than the 1 s tolerance); the test checks that they were not."""
import json

from harness import read_lines, run_test

QUERIES = {
    "changes": """
        SELECT deviceId, eventTime, System.Timestamp() AS ts, temperature,
               LAG(temperature) OVER (PARTITION BY deviceId LIMIT DURATION(second, 5)) AS prev,
               ISFIRST(second, 2) OVER (PARTITION BY deviceId) AS firstOf2s
        INTO changes FROM telemetry TIMESTAMP BY eventTime OVER deviceId""",
    "perdevice": """
        SELECT deviceId, COUNT(*) AS n, MAX(temperature) AS maxTemp, System.Timestamp() AS windowEnd
        INTO perdevice FROM telemetry TIMESTAMP BY eventTime OVER deviceId
        GROUP BY deviceId, TumblingWindow(second, 3)""",
}
POLICY = {"outOfOrderTolerance": "1s", "lateArrivalTolerance": "10s"}
SIMULATION = ["--count", "8000", "--devices", "30", "--rate", "500", "--seed", "13",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.05",
              "--out-of-order-max", "800ms", "--clock-lag-max", "3s", "--no-pace"]


def ticks(text):
    """An ISO 8601 UTC time as (seconds text, 100 ns fraction)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return whole, int((fraction + "0000000")[:7])


def body(cluster):
    jobs = [cluster.job_file(name, query, inputs=[{"alias": "telemetry", "policy": POLICY}])
            for name, query in QUERIES.items()]
    cluster.start_worker("worker-1", jobs)
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    cluster.simulate("telemetry", *SIMULATION)
    for name, query in QUERIES.items():
        out = cluster.run_offline(query, events, "--out-of-order-tolerance", "1s",
                                  "--late-arrival-tolerance", "10s")
        expected = sorted(read_lines(f"{out}/{name}.jsonl"))
        assert len(expected) > 50, f"{name}: the reference produced only {len(expected)} rows"
        actual = sorted(cluster.wait_for_rows(name, len(expected)))
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        assert actual == expected, (
            f"{name}: Kafka output differs from sluice run: {len(actual)} vs {len(expected)} rows, "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]})")
        print(f"{name}: {len(actual)} rows, identical to sluice run")
    # Every event kept its own time: System.Timestamp() is the device's eventTime.
    rows = [json.loads(r) for r in read_lines(f"{cluster.path('offline-out')}/changes.jsonl")]
    restamped = [r for r in rows if ticks(r["ts"]) != ticks(r["eventTime"])]
    assert len(rows) == 8000 and not restamped, \
        f"{len(rows)} rows, {len(restamped)} re-stamped, e.g. {restamped[:2]}"
    print("8000 events kept their own device's time")


run_test("substreams", {"telemetry": 4, "changes": 4, "perdevice": 4}, body)
