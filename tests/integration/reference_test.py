"""Per-device thresholds from a compacted reference topic, on Kafka: the
worker reads the topic to its end before the job's tasks start, then
follows it. A threshold changed, a device removed (tombstone) and a bad
record sent while the job runs: events after the change join the new rows,
events before it the old ones, exactly; the bad records go to the job's
dead-letter topic and the rows they would have replaced stay. A second job
reads the same thresholds from a file in the worker's --reference-root with
a refreshInterval; the file is replaced while it runs, with the same
result."""
import os
import datetime
import json
import subprocess
import time

from harness import read_lines, run_test, wait_until

QUERY = """
    SELECT t.deviceId, t.temperature, r.maxTemp, r.site, t.eventTime
    INTO alerts
    FROM telemetry t TIMESTAMP BY eventTime
    JOIN thresholds r ON t.deviceId = r.deviceId
    WHERE t.temperature > r.maxTemp"""
DEVICES = 10


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def produce(cluster, topic, lines, keyed=True, null_empty=False):
    args = ["kcat", "-b", cluster.bootstrap, "-P", "-t", topic, "-p", "0"]
    if keyed:
        args += ["-K", "|"]
    if null_empty:
        args += ["-Z"]
    result = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr


def expected_alerts(events, table):
    rows = set()
    for line in events:
        e = json.loads(line)
        row = table.get(e["deviceId"])
        if row is not None and e["temperature"] > row["maxTemp"]:
            rows.add((e["deviceId"], e["eventTime"], row["maxTemp"], row["site"]))
    return rows


def body(cluster):
    first = {f"dev-{d:05d}": {"deviceId": f"dev-{d:05d}", "maxTemp": 60.0, "site": f"s{d % 3}"}
             for d in range(DEVICES)}
    produce(cluster, "thresholds", [f"{k}|{json.dumps(v)}" for k, v in first.items()])
    reference_dir = cluster.path("reference")
    os.makedirs(reference_dir)

    def write_file(table):
        # Replaced whole (a rename), as an operator's deploy would.
        with open(os.path.join(reference_dir, "next.jsonl"), "w") as f:
            f.write("".join(json.dumps(row) + "\n" for row in table.values()))
        os.rename(os.path.join(reference_dir, "next.jsonl"),
                  os.path.join(reference_dir, "thresholds.jsonl"))

    write_file(first)
    job = cluster.job_file("thresholds-job", QUERY, inputs=[
        {"alias": "telemetry", "policy": {"outOfOrderTolerance": "1s"}},
        {"alias": "thresholds", "reference": True}])
    file_job = cluster.job_file("file-job", QUERY, inputs=[
        {"alias": "telemetry", "policy": {"outOfOrderTolerance": "1s"}},
        {"alias": "thresholds", "reference": True, "file": "thresholds.jsonl",
         "refreshInterval": "300ms"}], outputs=[{"name": "alerts", "topic": "file-alerts"}])
    worker = cluster.start_worker("worker-1", [job, file_job],
                                  extra=["--reference-root", reference_dir])
    wait_until(lambda: "reference data: 10 rows" in cluster.log_of(worker) and
               "reference files: 10 rows" in cluster.log_of(worker), 60,
               "the worker to read the reference topic and file" + cluster.logs())

    # Phase 1: two minutes ago, joined with the first table.
    before = time.time() - 120
    sim = ["--devices", str(DEVICES), "--rate", "10000", "--no-pace"]
    phase1 = ["--count", "2000", "--seed", "3", "--start-time", iso(before)] + sim
    cluster.simulate("telemetry", *phase1)
    events1 = cluster.path("phase1.jsonl")
    cluster.simulate(None, *phase1, output=events1)
    expected = expected_alerts(read_lines(events1), first)
    for topic in ("alerts", "file-alerts"):
        wait_until(lambda: len(cluster.read_topic(topic)) >= len(expected), 60,
                   f"the first alerts on {topic}" + cluster.logs())

    # The change, while the job runs: one threshold lowered, one raised, a
    # device removed, and two records that are not rows.
    second = dict(first)
    second["dev-00001"] = {"deviceId": "dev-00001", "maxTemp": 0.0, "site": "s1-moved"}
    second["dev-00003"] = {"deviceId": "dev-00003", "maxTemp": 1000.0, "site": "s0"}
    del second["dev-00002"]
    write_file(second)
    produce(cluster, "thresholds", [f"dev-00001|{json.dumps(second['dev-00001'])}",
                                    f"dev-00003|{json.dumps(second['dev-00003'])}",
                                    "dev-00004|{not json"])
    produce(cluster, "thresholds", ["dev-00002|"], null_empty=True)
    produce(cluster, "thresholds", [json.dumps({"deviceId": "dev-00005", "maxTemp": 1.0,
                                                "site": "keyless"})], keyed=False)
    changed_at = time.time()
    wait_until(lambda: len(cluster.read_topic("thresholds-job.errors")) >= 2, 30,
               "the bad reference records to be dead-lettered" + cluster.logs())
    wait_until(lambda: "reference thresholds: read again" in cluster.log_of(worker), 30,
               "the worker to read the file again" + cluster.logs())
    time.sleep(2.0)  # the worker publishes the topic's changes as a new version

    # Phase 2: after the change, joined with the second table.
    phase2 = ["--count", "2000", "--seed", "4", "--start-time", iso(changed_at + 1.5)] + sim
    cluster.simulate("telemetry", *phase2)
    events2 = cluster.path("phase2.jsonl")
    cluster.simulate(None, *phase2, output=events2)
    expected |= expected_alerts(read_lines(events2), second)
    assert any(d == "dev-00001" and site == "s1-moved" for d, _, _, site in expected)

    for topic in ("alerts", "file-alerts"):
        cluster.wait_for_rows(topic, len(expected))
        rows, copies = cluster.deduplicated_rows(topic)
        actual = set()
        for row in rows:
            r = json.loads(row)
            actual.add((r["deviceId"], r["eventTime"], r["maxTemp"], r["site"]))
        missing = sorted(expected - actual)
        extra = sorted(actual - expected)
        assert actual == expected and len(rows) == len(expected), (
            f"{topic}: {len(actual)} alerts vs {len(expected)} expected: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(extra)} extra (e.g. {extra[:3]})")
    assert not any(d == "dev-00002" and t > iso(changed_at) for d, t, _, _ in actual)
    errors = [json.loads(line) for line in cluster.read_topic("thresholds-job.errors")]
    reasons = sorted(e["reason"] for e in errors)
    assert len(errors) == 2 and any("without a key" in r for r in reasons) and \
        any("not a row: invalid JSON" in r for r in reasons), reasons
    assert all(e["topic"] == "thresholds" for e in errors), errors
    print(f"{len(actual)} alerts from the topic and from the file, identical to the thresholds "
          f"valid at each event's time; "
          f"{len(errors)} bad reference records dead-lettered: {reasons}")


run_test("reference", {"telemetry": 4, "thresholds": 1, "alerts": 4, "file-alerts": 4}, body)
