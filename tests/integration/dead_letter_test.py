"""Bad records land in the job's dead-letter topic with their reasons and
where they came from; the job's other output is unaffected. A row rejected
after an exchange (in a later stage) still names the event it came from."""
import datetime
import json
import re
import subprocess

from harness import read_lines, run_test, wait_until

QUERY = """
    SELECT deviceId, COUNT(*) AS n, MAX(temperature) AS maxTemp, System.Timestamp() AS windowEnd
    INTO counts FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 5)"""
# A global window: its rows cross a keyless exchange, and MAX rejects a
# string there, in stage 1.
LATE_QUERY = """
    SELECT COUNT(*) AS n, MAX(reading) AS hi
    INTO maxima FROM readings TIMESTAMP BY eventTime
    GROUP BY TumblingWindow(second, 2)"""
SIMULATION = ["--count", "6000", "--devices", "30", "--rate", "1000", "--seed", "5",
              "--start-time", "2024-03-01T10:00:00Z", "--bad", "0.02", "--no-pace"]


def produce(cluster, topic, partition, lines):
    result = subprocess.run(["kcat", "-b", cluster.bootstrap, "-P", "-t", topic, "-p", str(partition)],
                            input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def check_later_stage(cluster):
    now = datetime.datetime.now(datetime.timezone.utc)
    at = lambda s: (now + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # Partition 1: the bad reading is its second record (offset 1); both
    # partitions move the watermark on.
    produce(cluster, "readings", 1, [
        json.dumps({"deviceId": "a", "reading": 5, "eventTime": at(-3)}),
        json.dumps({"deviceId": "b", "reading": "abc", "eventTime": at(-2)}),
        json.dumps({"deviceId": "c", "reading": 7, "eventTime": at(6)})])
    produce(cluster, "readings", 0, [json.dumps({"deviceId": "d", "reading": 1, "eventTime": at(6)})])

    def letters():
        return [json.loads(m) for m in cluster.read_topic("late.errors")] or None
    letter = wait_until(letters, 40, "the dead letter of the stage-1 rejection", 0.5)[0]
    assert letter["reason"].startswith("MAX reads strings"), letter
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("readings", 1, 1), (
        f"the dead letter names {letter['topic']}[{letter['partition']}]@{letter['offset']}, "
        "not the source event readings[1]@1")
    print(f"stage-1 rejection dead-lettered with its source: {letter}")


def body(cluster):
    job = cluster.job_file("dlq", QUERY)
    late = cluster.job_file("late", LATE_QUERY)
    cluster.start_worker("worker-1", [job, late])
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
    check_later_stage(cluster)


run_test("dead-letter", {"telemetry": 4, "counts": 4, "readings": 2, "maxima": 1}, body)
