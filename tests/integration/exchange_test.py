"""Steps across partitions on Kafka: jobs whose grouping is not the device
(a global count, a band computed from the reading, the busiest device per
hopping window) cross a repartition topic to a stage of their own. Two
workers share the tasks of both stages; the output equals `sluice run
--partitions 4` over the same events, which runs the same stages and
exchanges in one process."""
import time

from harness import read_lines, run_test, wait_until

QUERIES = {
    "totals": """
        SELECT COUNT(*) AS n, AVG(temperature) AS avgTemp, COUNT(DISTINCT deviceId) AS devices,
               System.Timestamp() AS windowEnd
        INTO totals FROM telemetry TIMESTAMP BY eventTime
        GROUP BY TumblingWindow(second, 2)""",
    "bands": """
        WITH banded AS (
            SELECT deviceId, CASE WHEN temperature > 60 THEN 'warm' ELSE 'cool' END AS band,
                   temperature
            FROM telemetry TIMESTAMP BY eventTime
        )
        SELECT band, COUNT(*) AS n, MAX(temperature) AS maxTemp, System.Timestamp() AS windowEnd
        INTO bands FROM banded
        GROUP BY band, TumblingWindow(second, 3)""",
    "hot": """
        WITH counts AS (
            SELECT deviceId, COUNT(*) AS readings
            FROM telemetry TIMESTAMP BY eventTime
            GROUP BY deviceId, HoppingWindow(second, 4, 2)
        )
        SELECT TopOne() OVER (ORDER BY readings DESC) AS busiest,
               System.Timestamp() AS windowEnd
        INTO hot FROM counts
        GROUP BY System.Timestamp()""",
}
POLICY = {"outOfOrderTolerance": "1s"}
SIMULATION = ["--count", "12000", "--devices", "40", "--rate", "1000", "--seed", "11",
              "--start-time", "2024-03-01T10:00:00Z", "--out-of-order", "0.05",
              "--out-of-order-max", "800ms", "--skew", "0.8", "--no-pace"]


def body(cluster):
    jobs = [cluster.job_file(name, query, inputs=[{"alias": "telemetry", "policy": POLICY}])
            for name, query in QUERIES.items()]
    workers = [cluster.start_worker("worker-1", jobs), cluster.start_worker("worker-2", jobs)]
    # Events flow only once both workers own their share of every stage: a
    # partition that moves mid-stream replays (at-least-once) and the replay
    # would cross the exchange twice. Exact replays across moves need the
    # checkpointed state of the fault-tolerance work; this test is about the
    # exchange itself.
    labels = [f"{name}{stage} | assigned " for name in QUERIES for stage in ("", "/stage1")]
    wait_until(lambda: all(all(label in cluster.log_of(w) for label in labels) for w in workers),
               60, "both workers to own tasks of every stage")
    time.sleep(1)
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    cluster.simulate("telemetry", *SIMULATION)
    for name, query in QUERIES.items():
        out = cluster.run_offline(query, events, "--out-of-order-tolerance", "1s",
                                  "--partitions", "4")
        expected = sorted(read_lines(f"{out}/{name}.jsonl"))
        assert len(expected) >= 5, f"{name}: the reference produced only {len(expected)} rows"
        actual = sorted(cluster.wait_for_rows(name, len(expected), timeout=90))
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        assert actual == expected, (
            f"{name}: Kafka output differs from sluice run --partitions 4: {len(actual)} vs "
            f"{len(expected)} rows, {len(missing)} missing (e.g. {missing[:2]}), {len(extra)} "
            f"extra (e.g. {extra[:2]})" + cluster.logs())
        print(f"{name}: {len(actual)} rows across an exchange, identical to sluice run")
    # Both workers took part, and the later stages' tasks ran on the cluster.
    stage_tasks = 0
    for process in cluster.processes:
        if process.name.startswith("worker-"):
            with open(process.log_path) as f:
                log = f.read()
            assert "| assigned " in log, f"{process.name} got no partitions" + cluster.logs()
            stage_tasks += log.count("/stage1 | assigned sluice.")
    assert stage_tasks >= 3, f"stage 1 ran in {stage_tasks} assignments" + cluster.logs()

run_test("exchange", {"telemetry": 4, "totals": 4, "bands": 4, "hot": 4}, body)
