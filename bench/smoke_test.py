"""`sluice bench` at a tiny size: every mode runs, prints its table and
writes a results file whose figures are positive and self-consistent (and a
chart when gnuplot is there). The figures themselves are not judged: speed
is measured by hand, on the full sizes, never asserted in a test."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

SLUICE = os.environ["SLUICE_BINARY"]
WORKLOADS = os.environ["SLUICE_WORKLOADS"]
MODE = sys.argv[1]


def run(args, timeout):
    result = subprocess.run([SLUICE, "bench"] + args, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"sluice bench {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def results(directory, suffix):
    files = glob.glob(os.path.join(directory, f"*-{suffix}.json"))
    assert len(files) == 1, f"expected one *-{suffix}.json in {directory}: {files}"
    with open(files[0]) as f:
        data = json.load(f)
    assert data["commit"] and data["machine"], data
    return data, files[0]


def check_stats(stats, what):
    assert 0 < stats["min"] <= stats["median"] <= stats["max"], f"{what}: {stats}"


def expect_chart(json_path):
    if shutil.which("gnuplot"):
        png = json_path[:-len(".json")] + ".png"
        assert os.path.getsize(png) > 1000, f"{png} is missing or empty"


def core(out):
    names = ["passthrough", "threshold", "tumbling", "hot-devices", "sessions",
             "reference-threshold", "stream-join", "changes", "anomalies", "udf-threshold"]
    table = run(["core", "--events", "20000", "--devices", "200", "--repeat", "2",
                 "--workloads-dir", WORKLOADS, "--results-dir", out], 240)
    data, path = results(out, "core")
    got = [w["name"] for w in data["workloads"]]
    assert got == names, got
    for w in data["workloads"]:
        assert w["name"] in table, table
        check_stats(w["events_per_sec_per_core"], w["name"])
        check_stats(w["baseline"]["events_per_sec_per_core"], w["name"] + " baseline")
        ratio = w["events_per_sec_per_core"]["median"] / w["baseline"]["events_per_sec_per_core"]["median"]
        assert abs(ratio - w["ratio_to_baseline"]) < 0.01 * max(1, ratio), w
    # Passthrough emits a row per event; the aggregates emit fewer (the
    # alerts of threshold and tumbling may well be none at this size).
    rows = {w["name"]: w["rows_out"] for w in data["workloads"]}
    assert rows["passthrough"] == 20000, rows
    assert 0 < rows["sessions"] < 20000 and 0 < rows["hot-devices"] < 20000, rows
    # Every device has a reference row, so the reference join alerts on a
    # subset of the readings.
    assert rows["reference-threshold"] < 20000, rows
    hot = next(w for w in data["workloads"] if w["name"] == "hot-devices")
    assert hot["exchanged_rows"] > 0, hot
    expect_chart(path)


def state_scale(out):
    table = run(["core", "--state-scale", "--scale-devices", "500,5000", "--state-cache-mb", "1",
                 "--workloads-dir", WORKLOADS, "--results-dir", out], 240)
    data, _ = results(out, "state-scale")
    points = data["points"]
    assert [p["devices"] for p in points] == [500, 5000], points
    for p in points:
        assert p["events_per_sec"] > 0 and p["peak_rss_mb"] > 0 and p["rows"] > 0, p
    assert "peak RSS" in table, table


def kafka(out):
    table = run(["kafka", "--workloads", "threshold,hot-devices", "--events", "20000",
                 "--devices", "200", "--repeat", "1", "--check-seconds", "1",
                 "--latency-seconds", "1", "--workloads-dir", WORKLOADS, "--results-dir", out],
                280)
    data, path = results(out, "kafka")
    assert data["baseline"]["events_per_sec"] > 0, data["baseline"]
    got = [w["name"] for w in data["workloads"]]
    assert got == ["threshold", "hot-devices"], got
    for w in data["workloads"]:
        check_stats(w["events_per_sec"], w["name"])
        assert w["sustained_events_per_sec"] > 0, w
        assert w["latency"]["at_events_per_sec"] > 0, w
    assert "bare librdkafka consumer" in table, table
    expect_chart(path)


out = tempfile.mkdtemp(prefix=f"sluice-bench-smoke-{MODE}-")
try:
    {"core": core, "state-scale": state_scale, "kafka": kafka}[MODE](out)
    print(f"sluice bench {MODE}: ok")
finally:
    shutil.rmtree(out, ignore_errors=True)
