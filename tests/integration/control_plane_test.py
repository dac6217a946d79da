"""The control plane through the CLI: a job submitted with `sluice submit`
to one worker runs on every worker of the cluster, produces what `sluice run`
produces, and can be listed, described (from another worker), tailed and
stopped; a worker started later picks it up.

Prints `MEASURE submit_to_all_workers_ms=... new_worker_pickup_ms=...`:
from `sluice submit` returning to the last worker's first task starting, and
from starting a third worker to it running the job."""
import json
import subprocess
import threading
import time

from harness import (CATALOG_TOPIC, SLUICE, is_worker, job_state_name, now_ms, popen_retrying,
                     read_lines, run_test, wait_until)

JOB = "device-counts"
QUERY = """SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, System.Timestamp() AS windowEnd
INTO counts FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, TumblingWindow(second, 5)
"""
COMMON = ["--devices", "20", "--rate", "200", "--count", "2000", "--no-pace"]
# 10 s of event time each. Batch 2 is paced in real time (windows close while
# `sluice tail` listens). Later batches start minutes of event time later:
# while the input is idle its watermark follows the wall clock (ASA's
# estimated arrival time), so events continuing where the previous batch
# ended would arrive late.
BATCH1 = COMMON + ["--start-time", "2024-01-01T00:00:00Z", "--seed", "7"]
BATCH2 = ["--devices", "20", "--rate", "200", "--count", "2000", "--realtime",
          "--start-time", "2024-01-01T00:10:00Z", "--seed", "8"]
BATCH3 = COMMON + ["--start-time", "2024-01-01T00:20:00Z", "--seed", "9"]
PARTITIONS = {0, 1, 2, 3}


def describe(cluster, server):
    return cluster.cli_json("describe", JOB, server=server)


def tasks_by_worker(description):
    """{worker: sorted partitions} of the job's telemetry tasks."""
    owners = {}
    for task in description.get("tasks", []):
        if task.get("topic", "") == "telemetry":
            owners.setdefault(task.get("worker", ""), []).append(task.get("partition", 0))
    return {w: sorted(p) for w, p in owners.items()}


def covers_all(description, workers):
    """Every partition has exactly one task, and each worker has one."""
    owners = tasks_by_worker(description)
    partitions = sorted(p for ps in owners.values() for p in ps)
    has_all_workers = all(any(is_worker(w, name) for w in owners) for name in workers)
    return partitions == sorted(PARTITIONS) and has_all_workers


def first_task_ms(description, worker):
    starts = [int(t.get("startedAtMs", "0")) for t in description.get("tasks", [])
              if is_worker(t.get("worker", ""), worker)]
    starts = [s for s in starts if s > 0]
    return min(starts) if starts else None


def job_on_worker(description, worker, started_after=None):
    """The JobOnWorker entry of `worker`, or None. An entry names the job
    (as in WorkerStatus), so it is matched by the worker of its tasks; one
    without tasks is taken when it started after `started_after` (Unix ms)."""
    entries = description.get("workers", [])
    for entry in entries:
        if is_worker(entry.get("name", ""), worker) or any(
                is_worker(t.get("worker", ""), worker) for t in entry.get("tasks", [])):
            return entry
    if started_after is not None:
        for entry in entries:
            if int(entry.get("startedAtMs", "0")) >= started_after and not entry.get("tasks"):
                return entry
    return None


def list_row(text, name):
    """The columns of `name`'s row in `sluice list`'s table, or None."""
    for line in text.splitlines():
        columns = line.split()
        if columns and columns[0] == name:
            return columns
    return None


def body(cluster):
    w1 = cluster.start_worker("worker-1", [], grpc=True)
    w2 = cluster.start_worker("worker-2", [], grpc=True)
    cluster.wait_for_api(w1)
    cluster.wait_for_api(w2)

    query_file = cluster.path(f"{JOB}.sql")
    with open(query_file, "w") as f:
        f.write(QUERY)

    # validate: the explained plan, nothing recorded.
    plan = cluster.cli_ok("validate", query_file, server=w1.address)
    assert "telemetry" in plan and "counts" in plan, f"validate printed no plan: {plan[:500]}"
    assert cluster.count_records(CATALOG_TOPIC) == 0, "validate wrote to the catalog"

    # submit through worker-1.
    before_submit = now_ms()
    out = cluster.cli_ok("submit", query_file, server=w1.address)
    submitted = now_ms()
    assert out.strip().startswith(f"submitted job {JOB} (version "), f"submit printed {out!r}"
    print(f"submit: {out.splitlines()[0]} ({submitted - before_submit} ms)")
    assert cluster.count_records(CATALOG_TOPIC) >= 1, "the catalog holds no record after submit"

    # Both workers run it; described through worker-2, the tasks cover all
    # partitions. (worker-2 follows the catalog on its own: until it has read
    # the new record it answers NOT_FOUND.)
    def settled():
        result = cluster.cli("describe", JOB, "--json", server=w2.address)
        if result.returncode != 0:
            assert "NOT_FOUND" in result.stderr, f"describe on worker-2: {result.stderr}"
            return None
        d = json.loads(result.stdout)
        return d if covers_all(d, ["worker-1", "worker-2"]) else None
    try:
        d = wait_until(settled, 40, "tasks of both workers covering telemetry[0..3]", 0.5)
    except AssertionError as e:
        raise AssertionError(f"{e}; last describe: {json.dumps(describe(cluster, w2.address))[:3000]}")
    owners = tasks_by_worker(d)
    print(f"tasks after submit: {owners}")
    assert job_state_name(d.get("job", {}).get("state", "")) == "RUNNING", d.get("job")
    assert "counts" in " ".join(d.get("job", {}).get("outputs", [])), d.get("job")
    assert d.get("job", {}).get("inputTopics", []) == ["telemetry"], d.get("job")
    starts = {w: first_task_ms(d, w) for w in ("worker-1", "worker-2")}
    submit_to_all = max(starts.values()) - submitted

    # sluice list: RUNNING, in the table and in --json.
    table = cluster.cli_ok("list", server=w2.address)
    header = table.splitlines()[0].split() if table.strip() else []
    assert header[:4] == ["NAME", "STATE", "VERSION", "TASKS"], f"list header: {header}"
    row = list_row(table, JOB)
    assert row and row[1] == "RUNNING", f"list shows {row}:\n{table}"
    listed = cluster.cli_json("list", server=w1.address).get("jobs", [])
    assert [j.get("name") for j in listed] == [JOB], listed
    assert job_state_name(listed[0].get("state", "")) == "RUNNING", listed

    # The human-readable describe has the task table.
    text = cluster.cli_ok("describe", JOB, server=w1.address)
    for column in ("WORKER", "TOPIC", "PARTITION", "OFFSET", "CHECKPOINTED", "LAG"):
        assert column in text, f"describe lacks the {column} column:\n{text}"
    assert "worker-1" in text and "worker-2" in text, f"describe:\n{text}"
    # Without --server the CLI asks $SLUICE_SERVER.
    result = cluster.cli("workers", env={"SLUICE_SERVER": w1.address})
    assert result.returncode == 0, f"sluice workers with SLUICE_SERVER: {result.returncode} {result.stderr}"
    workers = result.stdout
    assert "worker-1" in workers and "worker-2" in workers, f"sluice workers:\n{workers}"

    # Events in: the output equals sluice run over the same events.
    events = cluster.path("events1.jsonl")
    cluster.simulate(None, *BATCH1, output=events)
    cluster.simulate("telemetry", *BATCH1)
    out_dir = cluster.run_offline(QUERY, events)
    expected = sorted(read_lines(f"{out_dir}/counts.jsonl"))
    assert len(expected) >= 40, f"the reference produced only {len(expected)} rows"
    actual = sorted(cluster.wait_for_rows("counts", len(expected)))
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert actual == expected, (
        f"Kafka output differs from sluice run: {len(actual)} vs {len(expected)} rows, "
        f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]})")
    print(f"batch 1: {len(actual)} rows, identical to sluice run")

    # The status reaches describe and list: every event counted once.
    def counted():
        d = describe(cluster, w2.address)
        total = sum(int(t.get("eventsIn", "0")) for t in d.get("tasks", []))
        return d if total == 2000 else None
    try:
        wait_until(counted, 15, "describe's tasks counting the 2000 events", 0.5)
    except AssertionError as e:
        d = describe(cluster, w2.address)
        raise AssertionError(f"{e}: tasks say {[(t.get('worker'), t.get('partition', 0), t.get('eventsIn')) for t in d.get('tasks', [])]}")
    listed = cluster.cli_json("list", server=w1.address).get("jobs", [{}])
    assert int(listed[0].get("eventsIn", "0")) == 2000, f"list: {listed}"

    # Every task's checkpoint reaches what it read, and describe shows it
    # (committedOffset stayed -1 before: nothing ever set it).
    def checkpointed():
        d = describe(cluster, w2.address)
        tasks = d.get("tasks", [])
        nexts = [int(t.get("nextOffset", "0")) for t in tasks]
        durable = [int(t.get("committedOffset", "0")) for t in tasks]
        return d if tasks and sum(nexts) == 2000 and durable == nexts else None
    try:
        wait_until(checkpointed, 30, "each task's checkpointed offset reaching its next offset", 0.5)
    except AssertionError as e:
        d = describe(cluster, w2.address)
        raise AssertionError(f"{e}: tasks say {[(t.get('partition', 0), t.get('nextOffset'), t.get('committedOffset')) for t in d.get('tasks', [])]}")

    # tail: rows produced after it starts come out as they are produced.
    tail = popen_retrying([SLUICE, "tail", JOB, "counts", "--limit", "10", "--server", w1.address],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    arrivals = []  # (seconds after the producer started, line)

    def read_tail():
        for line in tail.stdout:
            if line.strip():
                arrivals.append((time.time() - produce_started, line.strip()))
    time.sleep(1)  # let it subscribe; the rows come later anyway
    produce_started = time.time()
    reader = threading.Thread(target=read_tail)
    reader.start()
    producer = threading.Thread(target=cluster.simulate, args=("telemetry", *BATCH2))
    producer.start()
    try:
        tail.wait(timeout=40)
    except subprocess.TimeoutExpired:
        tail.kill()
        tail.wait()
        reader.join(5)
        raise AssertionError(f"sluice tail --limit 10 printed {len(arrivals)} rows in 40 s: "
                             f"{arrivals[-3:]} {tail.stderr.read()[-1000:]!r}")
    reader.join(5)
    tail_err = tail.stderr.read()
    producer.join()
    assert tail.returncode == 0, f"sluice tail exited {tail.returncode}: {tail_err[-2000:]}"
    tailed = [line for _, line in arrivals]
    assert len(tailed) == 10, f"tail --limit 10 printed {len(tailed)} rows: {tailed}"
    for line in tailed:
        row = json.loads(line)
        assert "deviceId" in row and "windowEnd" in row, f"tail printed {line}"
        assert line not in expected, f"tail printed a row of the first batch (before it started): {line}"
    ends = sorted({json.loads(line)["windowEnd"] for line in tailed})
    print(f"tail: first row {arrivals[0][0]:.1f} s, 10th {arrivals[-1][0]:.1f} s after the producer "
          f"started (10 s of events, paced); windows {ends}")
    assert arrivals[0][0] < 20, f"the first tailed row came {arrivals[0][0]:.1f} s after the producer started"
    batch2_rows = cluster.wait_for_stable_count("counts")
    all_rows = set(cluster.read_topic("counts"))
    assert all(line in all_rows for line in tailed), "tail printed rows that are not on the topic"
    assert batch2_rows > len(expected), "batch 2 produced no rows"

    # A worker started now picks the job up.
    w3_started = now_ms()
    w3 = cluster.start_worker("worker-3", [], grpc=True)

    def picked_up():
        if w3.poll() is not None:
            raise AssertionError(f"worker-3 exited with {w3.returncode}:\n{cluster.log_of(w3)[-3000:]}")
        d = describe(cluster, w1.address)
        return d if job_on_worker(d, "worker-3", w3_started) else None
    d = wait_until(picked_up, 40, "worker-3 running the job (a JobOnWorker in describe)", 0.25)
    visible_ms = now_ms() - w3_started
    new_worker_pickup = int(job_on_worker(d, "worker-3", w3_started).get("startedAtMs", "0")) - w3_started
    cluster.wait_for_api(w3)

    def shared():
        d = describe(cluster, w3.address)
        return d if covers_all(d, ["worker-1", "worker-2", "worker-3"]) else None
    try:
        d = wait_until(shared, 40, "tasks on all three workers covering telemetry[0..3]", 0.5)
    except AssertionError as e:
        raise AssertionError(f"{e}; tasks: {tasks_by_worker(describe(cluster, w3.address))}")
    first_task = first_task_ms(d, "worker-3") - w3_started
    print(f"tasks with worker-3: {tasks_by_worker(d)}")
    print(f"submit to first task per worker: { {w: t - submitted for w, t in starts.items()} } ms; "
          f"worker-3: job started {new_worker_pickup} ms after its process, visible in describe "
          f"after {visible_ms} ms, first task after {first_task} ms")
    print(f"MEASURE submit_to_all_workers_ms={submit_to_all} new_worker_pickup_ms={new_worker_pickup}")
    print(f"MEASURE new_worker_visible_ms={visible_ms} new_worker_first_task_ms={first_task}")

    # stop: every worker lets go; new input produces nothing.
    out = cluster.cli_ok("stop", JOB, server=w2.address)
    assert out.strip() == f"stopped job {JOB}", f"stop printed {out!r}"

    def stopped():
        d = describe(cluster, w3.address)
        state = job_state_name(d.get("job", {}).get("state", ""))
        return d if state == "STOPPED" and not d.get("tasks") else None
    try:
        wait_until(stopped, 30, "describe showing STOPPED without tasks", 0.5)
    except AssertionError as e:
        d = describe(cluster, w3.address)
        raise AssertionError(f"{e}: state {d.get('job', {}).get('state')}, tasks {tasks_by_worker(d)}")
    listed = cluster.cli_json("list", server=w1.address).get("jobs", [])
    assert JOB not in [j.get("name") for j in listed], f"list without --all shows the stopped job: {listed}"
    table = cluster.cli_ok("list", "--all", server=w1.address)
    row = list_row(table, JOB)
    assert row and row[1] == "STOPPED", f"list --all shows {row}:\n{table}"

    rows_before = cluster.wait_for_stable_count("counts")
    cluster.simulate("telemetry", *BATCH3)
    deadline = time.time() + 8  # the idle watermark would close windows within this
    while time.time() < deadline:
        count = cluster.count_records("counts")
        assert count == rows_before, f"the stopped job wrote {count - rows_before} more rows"
        time.sleep(1)
    for worker in (w1, w2, w3):
        assert worker.poll() is None, f"{worker.name} exited with {worker.returncode}"
    print(f"stopped: {rows_before} rows before, none after 2000 more events")


run_test("control-plane", {"telemetry": 4, "counts": 4}, body)
