"""Hostile requests through the API, each one an attack that used to work
(issue: Zero Trust and hostile input), made with the independent Python
client against real processes:

- outputs to files outside the operator's --output-root, or anywhere when
  there is none; Kafka properties that load a library; jobs that write
  Sluice's internal topics; job names '.' and '..': refused, nothing created
  and the catalog unchanged;
- queries that crashed the compiler (10,000- and 49,000-term chains, 7,100
  nested parentheses) or windows without bounds: refused with a position,
  the worker alive;
- an expression nested 30 deep: refused with a position (the depth limit);
  a WHERE of 30 ORs around a nested expression: stored in the catalog, run,
  and read by a worker that starts later;
- 20 concurrent clients submitting far more jobs than --max-jobs: exactly
  the limit runs; then every job stopped, with the time from StopJob to the
  job's last task stopped reported;
- request bytes that do not parse: INVALID_ARGUMENT with a message;
- 200 tails open at once (half from the beginning): every one gets every
  row and together they cost the worker a few threads, not one each; one more than
  --max-tails: RESOURCE_EXHAUSTED; open tails end (ABORTED) when their job
  stops.
Set SLUICE_HOSTILE_JOBS to run the flood with another limit (the issue's
figure is measured with 100)."""
import os
import re
import threading
import time

from harness import CATALOG_TOPIC, Client, grpc_stubs, run_test, wait_until

QUERY = """SELECT deviceId, COUNT(*) AS n, System.Timestamp() AS windowEnd
INTO counts FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, TumblingWindow(second, 5)
"""
JOBS = int(os.environ.get("SLUICE_HOSTILE_JOBS", "20"))
TAILS = 200  # the count: 1,000 threads and 355 MB before
# Events for the tailed job: 10 devices over about a minute of event time.
TAIL_EVENTS = ["--devices", "10", "--rate", "50", "--count", "3000",
               "--start-time", "2024-01-01T00:00:00Z", "--seed", "3"]


def body(cluster):
    s = grpc_stubs(cluster.path("stubs"))
    root = cluster.path("outputs")
    os.makedirs(root)
    w1 = cluster.start_worker("worker-1", [], grpc=True, extra=[
        "--max-jobs", str(JOBS), "--max-tails", str(TAILS), "--output-root", root])
    c1 = Client(w1.address)
    try:
        run(cluster, s, w1, c1, root)
    finally:
        c1.close()


def run(cluster, s, w1, c1, root):
    grpc, pb, job_pb = s.grpc, s.pb, s.job
    Code = grpc.StatusCode
    c1.wait_ready(30, process=w1, cluster=cluster)

    def spec(name, query=QUERY, **kwargs):
        return job_pb.JobSpec(name=name, query=query, **kwargs)

    def submit(job_spec, client=c1, timeout=30):
        return client.jobs.SubmitJob(pb.SubmitJobRequest(spec=job_spec), timeout=timeout)

    def alive():
        assert w1.poll() is None, f"the worker died: {cluster.log_of(w1)[-3000:]}"

    def expect_error(what, call, code, check=None):
        before = cluster.count_records(CATALOG_TOPIC)
        started = time.time()
        try:
            call()
        except grpc.RpcError as e:
            got, details = e.code(), e.details() or ""
        else:
            raise AssertionError(f"{what}: succeeded, expected {code.name}")
        assert got == code, f"{what}: {got.name} ({details!r}), expected {code.name}"
        if check:
            check(details)
        alive()
        after = cluster.count_records(CATALOG_TOPIC)
        assert after == before, f"{what} wrote to the catalog ({before} -> {after} records)"
        print(f"{what}: {got.name} in {time.time() - started:.2f} s ({details[:110]})")

    def names(*words):
        def check(details):
            for word in words:
                assert word in details, f"{word!r} not in {details!r}"
        return check

    def at_position(details):
        assert re.match(r"^\d+:\d+: ", details), f"no line:col in {details!r}"

    # --- taking over the worker ---------------------------------------------
    passwd = "/etc/passwd-sluice-test"
    expect_error("file output at an absolute path", lambda: submit(spec("abs", outputs=[
        job_pb.OutputBinding(name="counts", file=passwd)])), Code.PERMISSION_DENIED,
        names("relative path"))
    expect_error("file output climbing out of the root", lambda: submit(spec("climb", outputs=[
        job_pb.OutputBinding(name="counts", file="../../x")])), Code.PERMISSION_DENIED,
        names("'..'"))
    for path in (passwd, passwd + ".ids", os.path.join(root, "../../x"),
                 os.path.join(cluster.dir, "x")):
        assert not os.path.exists(path), f"{path} was created"
    expect_error("plugin.library.paths", lambda: submit(spec("plugin", kafka_properties={
        "plugin.library.paths": "/tmp/evil.so"})), Code.PERMISSION_DENIED,
        names("plugin.library.paths"))
    expect_error("interceptor property", lambda: submit(spec("intercept", kafka_properties={
        "ssl.ca.location": "/etc/shadow"})), Code.PERMISSION_DENIED)
    expect_error("output into _sluice_jobs", lambda: submit(spec("into-catalog", outputs=[
        job_pb.OutputBinding(name="counts", topic="_sluice_jobs")])), Code.PERMISSION_DENIED,
        names("_sluice_jobs", "internal"))
    expect_error("INTO _sluice_status by name", lambda: submit(spec(
        "into-status", QUERY.replace("INTO counts", "INTO [_sluice_status]"))),
        Code.PERMISSION_DENIED)
    expect_error("reading a changelog", lambda: submit(spec("read-changelog", inputs=[
        job_pb.InputBinding(alias="telemetry", topic="sluice.other.3.changelog")])),
        Code.PERMISSION_DENIED)
    for name in (".", ".."):
        expect_error(f"job name {name!r}", lambda: submit(spec(name)), Code.INVALID_ARGUMENT)
    # A secret in a spec is never shown back.
    ok = submit(spec("secretive", kafka_properties={"sasl.username": "alice",
                                                    "sasl.password": "hunter2"}))
    assert ok.created
    described = c1.jobs.DescribeJob(pb.DescribeJobRequest(name="secretive"), timeout=10)
    shown = dict(described.spec.kafka_properties)
    assert shown == {"sasl.username": "alice", "sasl.password": "[redacted]"}, shown
    assert "hunter2" not in str(described), "the password came back in DescribeJob"
    c1.jobs.StopJob(pb.StopJobRequest(name="secretive"), timeout=30)
    print("DescribeJob shows sasl.password as [redacted]")

    # Bytes that are not a request: INVALID_ARGUMENT with a reason, not
    # INTERNAL with none. A JobSpec whose query (field 2) is not UTF-8, and
    # plain garbage.
    raw = c1.channel.unary_unary("/sluice.v1.JobService/ValidateJob")
    for what, payload in (("a query that is not UTF-8", b"\x0a\x05\x12\x03\xff\xfe\xfd"),
                          ("garbage bytes", b"\xff\xff\xff\xff\x0f")):
        expect_error(f"a request holding {what}", lambda: raw(payload, timeout=10),
                     Code.INVALID_ARGUMENT, names("ValidateJobRequest"))

    # --- crashing and poisoning it ------------------------------------------
    chain = "SELECT " + "+".join(["1"] * 10_000) + " AS x INTO o FROM telemetry"
    huge = "SELECT " + "+".join(["1"] * 49_000) + " AS x INTO o FROM telemetry"
    parens = "SELECT " + "(" * 7_100 + "1" + ")" * 7_100 + " AS x INTO o FROM telemetry"
    for what, query in (("10,000-term chain", chain), ("49,000-term chain (98 KB)", huge),
                        ("7,100 nested parentheses", parens)):
        started = time.time()
        response = c1.jobs.ValidateJob(pb.ValidateJobRequest(spec=spec("v", query)), timeout=30)
        assert not response.valid and response.errors and response.errors[0].line >= 1, response
        alive()
        print(f"ValidateJob of a {what}: invalid at {response.errors[0].line}:"
              f"{response.errors[0].column} in {time.time() - started:.2f} s "
              f"({response.errors[0].message[:80]})")
        expect_error(f"SubmitJob of a {what}", lambda: submit(spec("deep", query)),
                     Code.INVALID_ARGUMENT, at_position)
    for window in ("HoppingWindow(second, 10, 0.0000001)", "HoppingWindow(second, 604800, 1)",
                   "SessionWindow(second, 5, 0.0000001)"):
        expect_error(window, lambda: submit(spec("unbounded", QUERY.replace(
            "TumblingWindow(second, 5)", window))), Code.INVALID_ARGUMENT, at_position)

    # Nested 30 deep: past the compiler's depth limit (sql/README.md), an
    # error at its position instead of a catalog record no worker reads.
    def nest(levels):
        e = "temperature"
        for _ in range(levels):
            e = f"({e} + 1)"
        return e
    expect_error("an expression nested 30 deep", lambda: submit(spec("deep-30", (
        f"SELECT deviceId, {nest(30)} AS t INTO deepout FROM telemetry"))),
        Code.INVALID_ARGUMENT, at_position)
    # Deep but legal, with a WHERE of 30 ORs: stored, run, and read back by a
    # worker started later.
    deep = (f"SELECT deviceId, {nest(10)} AS t INTO deepout FROM telemetry WHERE " +
            " OR ".join(f"temperature > {i}" for i in range(30)))
    created = submit(spec("deep-ok", deep))
    assert created.created, created
    w2 = cluster.start_worker("worker-2", [], grpc=True)
    c2 = Client(w2.address)
    try:
        c2.wait_ready(30, process=w2, cluster=cluster)
        job = wait_until(lambda: next((j for j in c2.jobs.ListJobs(
            pb.ListJobsRequest(), timeout=10).jobs if j.name == "deep-ok"), None), 20,
            "worker-2 listing the deep job")
        assert job.version == created.job.version
        wait_until(lambda: "deep-ok" in cluster.log_of(w2) and
                   "cannot run" not in cluster.log_of(w2), 20, "worker-2 running the deep job")
    finally:
        c2.close()
    for worker in (w1, w2):
        assert "unreadable record" not in cluster.log_of(worker), cluster.log_of(worker)[-2000:]
    c1.jobs.StopJob(pb.StopJobRequest(name="deep-ok"), timeout=30)
    w2.terminate()
    w2.wait(60)
    print("a nested expression with 30 ORs: stored, run, read back by a later worker")

    # --- the job limit, atomically, under a flood ---------------------------
    running_before = sum(1 for j in c1.jobs.ListJobs(pb.ListJobsRequest(), timeout=10).jobs)
    assert running_before == 0, running_before
    outcomes = {}
    lock = threading.Lock()

    def flood(client_index):
        client = Client(w1.address)
        try:
            for k in range(JOBS // 2):
                name = f"flood-{client_index}-{k}"
                try:
                    submit(spec(name), client=client, timeout=60)
                    code = "OK"
                except grpc.RpcError as e:
                    code = e.code().name
                with lock:
                    outcomes[name] = code
        finally:
            client.close()

    started = time.time()
    threads = [threading.Thread(target=flood, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = {}
    for code in outcomes.values():
        codes[code] = codes.get(code, 0) + 1
    running = [j.name for j in c1.jobs.ListJobs(pb.ListJobsRequest(), timeout=10).jobs]
    print(f"{len(outcomes)} submissions from 20 clients in {time.time() - started:.1f} s: {codes}; "
          f"{len(running)} running with --max-jobs {JOBS}")
    assert len(running) == JOBS, f"{len(running)} jobs running, the limit is {JOBS}"
    assert codes.get("OK") == JOBS and codes.get("RESOURCE_EXHAUSTED", 0) == len(outcomes) - JOBS, codes

    # Every job started (concurrently), then all stopped: the time from
    # StopJob's answer to the job's last task stopped on the worker.
    wait_until(lambda: all(f"{name} | " in cluster.log_of(w1) for name in running), 120,
               "the worker starting every job", 1)
    stop_answered = {}
    stopped_at = {}
    watching = threading.Event()

    def watch_log():
        seen = set()
        while not watching.is_set() or len(seen) < len(running):
            log = cluster.log_of(w1)
            for name in running:
                if name not in seen and re.search(rf"{re.escape(name)} \| stopped \(version", log):
                    seen.add(name)
                    stopped_at[name] = time.time()
            if time.time() - started_stop > 120:
                return
            time.sleep(0.05)

    started_stop = time.time()
    watcher = threading.Thread(target=watch_log)
    watcher.start()
    for name in running:
        c1.jobs.StopJob(pb.StopJobRequest(name=name), timeout=30)
        stop_answered[name] = time.time()
    watching.set()
    watcher.join()
    missing = [n for n in running if n not in stopped_at]
    assert not missing, f"{len(missing)} stopped jobs still run 120 s later: {missing[:5]}"
    delays = sorted(stopped_at[n] - stop_answered[n] for n in running)
    print(f"{len(running)} jobs stopped: StopJob answered -> last task stopped: median "
          f"{delays[len(delays) // 2]:.2f} s, max {delays[-1]:.2f} s; all stops issued in "
          f"{max(stop_answered.values()) - started_stop:.1f} s")

    # --- tails: bounded, and ending with their job ---------------------------
    assert submit(spec("tailed")).created
    wait_until(lambda: "tailed | " in cluster.log_of(w1), 30, "the tailed job starting")

    def proc_status(field):
        return int(re.search(rf"{field}:\s+(\d+)", open(f"/proc/{w1.pid}/status").read())[1])

    def threads():
        return proc_status("Threads")

    threads_before, rss_before = threads(), proc_status("VmRSS")
    ended, rows = [], [0] * TAILS

    def follow(i, stream):
        try:
            for _ in stream:
                rows[i] += 1
            ended.append("OK")
        except grpc.RpcError as e:
            ended.append(f"{e.code().name}: {e.details()}")

    readers = []
    for i in range(TAILS):
        stream = c1.jobs.TailOutput(
            pb.TailOutputRequest(job="tailed", from_beginning=i % 2 == 0), timeout=180)
        t = threading.Thread(target=follow, args=(i, stream))
        t.start()
        readers.append(t)
    time.sleep(2)
    cluster.simulate("telemetry", *TAIL_EVENTS)
    # Every stream gets every row: the ones from the beginning the same rows,
    # the ones from now (all opened before the events) the same rows too.
    def caught_up():
        return ended or (min(rows[1::2]) >= 20 and len(set(rows[0::2])) == 1
                         and len(set(rows[1::2])) == 1)

    try:
        wait_until(caught_up, 60, "every tail receiving every row")
    except AssertionError:
        print(f"rows per tail, from the beginning: {sorted(rows[0::2])}; "
              f"from now: {sorted(rows[1::2])}; ended: {ended[:3]}")
        raise
    assert not ended, f"tails ended early: {ended[:3]}"
    threads_with, rss_with = threads(), proc_status("VmRSS")
    # One thread per stream was the old cost (200 streams: 1,000 threads).
    assert threads_with - threads_before < 16, \
        f"{TAILS} tails cost the worker {threads_with - threads_before} threads"
    expect_error(f"tail number {TAILS + 1}", lambda: list(c1.jobs.TailOutput(
        pb.TailOutputRequest(job="tailed"), timeout=20)), Code.RESOURCE_EXHAUSTED)
    stop_at = time.time()
    c1.jobs.StopJob(pb.StopJobRequest(name="tailed"), timeout=30)
    for t in readers:
        t.join(15)
    took = time.time() - stop_at
    assert len(ended) == TAILS and all(e.startswith("ABORTED") for e in ended), ended
    print(f"{TAILS} tails (rows each: {min(rows)}..{max(rows)}; {threads_with - threads_before} "
          f"worker threads and {(rss_with - rss_before) / 1024:.0f} MB for all of them) ended "
          f"{took:.1f} s after StopJob with {ended[0]}")
    alive()


run_test("hostile-api", {"telemetry": 4, "counts": 4, "deepout": 4}, body)
