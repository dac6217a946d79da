"""Bad records land in the job's dead-letter topic with their reasons and
where they came from; the job's other output is unaffected."""
import json
import re

from harness import read_lines, run_test

QUERY = """
    SELECT deviceId, COUNT(*) AS n, MAX(temperature) AS maxTemp, System.Timestamp() AS windowEnd
    INTO counts FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 5)"""
SIMULATION = ["--count", "6000", "--devices", "30", "--rate", "1000", "--seed", "5",
              "--start-time", "2024-03-01T10:00:00Z", "--bad", "0.02", "--no-pace"]


def body(cluster):
    job = cluster.job_file("dlq", QUERY)
    cluster.start_worker("worker-1", [job])
    events = cluster.path("events.jsonl")
    cluster.simulate(None, *SIMULATION, output=events)
    summary = cluster.simulate("telemetry", *SIMULATION)
    bad = int(re.search(r"\((\d+) bad\)", summary).group(1))
    assert bad > 50, summary

    out = cluster.run_offline(QUERY, events)
    expected = sorted(read_lines(f"{out}/counts.jsonl"))
    assert len(read_lines(f"{out}/_errors.jsonl")) == bad
    actual = sorted(cluster.wait_for_rows("counts", len(expected)))
    assert actual == expected, "the good events' output differs from sluice run"

    letters = [json.loads(m) for m in cluster.wait_for_rows("dlq.errors", bad)]
    assert len(letters) == bad, f"{len(letters)} dead letters for {bad} bad records"
    reasons = {}
    for letter in letters:
        assert letter["job"] == "dlq" and letter["topic"] == "telemetry"
        assert 0 <= letter["partition"] < 4 and letter["offset"] >= 0
        assert letter["data"], "the dead letter carries the raw record"
        kind = "bad JSON" if letter["reason"].startswith("invalid JSON") else (
            "bad timestamp" if letter["reason"].startswith("TIMESTAMP BY") else letter["reason"])
        reasons[kind] = reasons.get(kind, 0) + 1
    assert set(reasons) == {"bad JSON", "bad timestamp"}, reasons
    # The reason, source topic, partition and offset are also headers.
    headers = cluster.read_topic("dlq.errors", fmt="%h\\n")
    assert all("sluice.reason=" in h and "sluice.source.offset=" in h for h in headers), headers[:2]
    print(f"{bad} bad records dead-lettered ({reasons}); {len(actual)} good rows identical to sluice run")


run_test("dead-letter", {"telemetry": 4, "counts": 4}, body)
