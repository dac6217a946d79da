"""Bad control-plane requests get the right gRPC status and change nothing:
the command topic `_sluice_jobs` holds as many records as before and both
workers list the same jobs. Also: conflicting submissions racing through two
workers (exactly one wins, both workers then agree on it), the worker's job
limit, the CLI's error output and exit codes, and degraded health when
Kafka goes away (reads still answer)."""
import json
import re
import signal
import threading
import time

from harness import CATALOG_TOPIC, JOB_SERVICE, Client, free_port, grpc_stubs, run_test, wait_until

QUERY = """SELECT deviceId, COUNT(*) AS n, System.Timestamp() AS windowEnd
INTO counts FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, TumblingWindow(second, 5)
"""
# The error is on line 2.
BAD_QUERY = """SELECT deviceId, COUNT(*) AS n INTO counts
FROM telemetry TIMESTAMP BY eventTime WHERE temperature > > 3
GROUP BY deviceId, TumblingWindow(second, 5)
"""
LONG_WINDOW = QUERY.replace("TumblingWindow(second, 5)", "TumblingWindow(day, 8)")
OTHER_QUERY = QUERY.replace("TumblingWindow(second, 5)", "TumblingWindow(second, 10)")


def body(cluster):
    s = grpc_stubs(cluster.path("stubs"))
    w1 = cluster.start_worker("worker-1", [], grpc=True)
    w2 = cluster.start_worker("worker-2", [], grpc=True, extra=["--max-jobs", "2"])
    c1, c2 = Client(w1.address), Client(w2.address)
    try:
        run(cluster, s, w1, w2, c1, c2)
    finally:
        c1.close()
        c2.close()


def run(cluster, s, w1, w2, c1, c2):
    grpc, pb, job_pb = s.grpc, s.pb, s.job
    Code = grpc.StatusCode
    # Ready when ListJobs answers; health is checked at the end.
    c1.wait_ready(30, process=w1, cluster=cluster)
    c2.wait_ready(30, process=w2, cluster=cluster)

    def spec(name, query=QUERY, **kwargs):
        return job_pb.JobSpec(name=name, query=query, **kwargs)

    def submit(client, job_spec, timeout=20):
        return client.jobs.SubmitJob(pb.SubmitJobRequest(spec=job_spec), timeout=timeout)

    def jobs_of(client):
        """What ListJobs says, without the counters that move as jobs run."""
        response = client.jobs.ListJobs(pb.ListJobsRequest(include_stopped=True), timeout=10)
        return sorted((j.name, j.state, j.version, j.submitted_at_ms, j.stopped_at_ms,
                       tuple(j.input_topics), tuple(j.outputs)) for j in response.jobs)

    def snapshot():
        return {"records": cluster.count_records(CATALOG_TOPIC),
                "worker-1": jobs_of(c1), "worker-2": jobs_of(c2)}

    def agreed_snapshot():
        """A snapshot once both workers list the same jobs."""
        def same():
            snap = snapshot()
            return snap if snap["worker-1"] == snap["worker-2"] else None
        return wait_until(same, 15, "both workers listing the same jobs", 0.5)

    results = []

    def expect_error(what, call, code, check=None):
        before = agreed_snapshot()
        try:
            call()
        except grpc.RpcError as e:
            got, details = e.code(), e.details() or ""
        else:
            raise AssertionError(f"{what}: succeeded, expected {code.name}")
        assert got == code, f"{what}: {got.name} ({details!r}), expected {code.name}"
        if check:
            check(details)
        after = snapshot()
        assert after == before, f"{what} changed the catalog:\nbefore {before}\nafter  {after}"
        results.append(f"{what}: {got.name} ({details[:100]})")
        print(results[-1])

    # A job to collide with.
    base = submit(c1, spec("base"))
    assert base.created and base.job.version > 0, base
    version = base.job.version
    agreed_snapshot()

    def has_position(details):
        assert re.search(r"(^|\D)2:\d+", details), f"no line 2 position in {details!r}"

    def names_nosuch(details):
        assert "nosuch" in details, f"the message does not name the binding: {details!r}"

    expect_error("invalid query", lambda: submit(c1, spec("broken", BAD_QUERY)),
                 Code.INVALID_ARGUMENT, has_position)
    expect_error("binding for an input the query does not read", lambda: submit(c2, spec(
        "unbound", inputs=[job_pb.InputBinding(alias="nosuch", topic="nosuch")])),
        Code.INVALID_ARGUMENT, names_nosuch)
    expect_error("binding for an output the query does not have", lambda: submit(c1, spec(
        "unbound-out", outputs=[job_pb.OutputBinding(name="nosuch", topic="x")])),
        Code.INVALID_ARGUMENT)
    expect_error("bad job name", lambda: submit(c1, spec("bad name!")), Code.INVALID_ARGUMENT)
    expect_error("empty job name", lambda: submit(c1, spec("")), Code.INVALID_ARGUMENT)
    expect_error("TumblingWindow(day, 8)", lambda: submit(c2, spec("long", LONG_WINDOW)),
                 Code.INVALID_ARGUMENT)
    expect_error("bad time policy", lambda: submit(c1, spec("policy", default_policy=job_pb.TimePolicySpec(
        late_policy="sometimes"))), Code.INVALID_ARGUMENT)
    expect_error("same name, other query", lambda: submit(c2, spec("base", OTHER_QUERY)),
                 Code.ALREADY_EXISTS)
    expect_error("200 KB query", lambda: submit(c1, spec("huge", QUERY + " " * 200_000)),
                 Code.RESOURCE_EXHAUSTED)
    expect_error("DescribeJob of an unknown job",
                 lambda: c1.jobs.DescribeJob(pb.DescribeJobRequest(name="nosuch"), timeout=10),
                 Code.NOT_FOUND)
    expect_error("StopJob of an unknown job",
                 lambda: c2.jobs.StopJob(pb.StopJobRequest(name="nosuch"), timeout=10),
                 Code.NOT_FOUND)

    # The identical spec again is a no-op.
    before = agreed_snapshot()
    again = submit(c2, spec("base"))
    assert not again.created and again.job.version == version, f"identical resubmit: {again}"
    assert jobs_of(c1) == before["worker-1"] and jobs_of(c2) == before["worker-2"], (
        "the identical resubmit changed ListJobs")
    print(f"identical resubmit: OK, created=false, version {again.job.version}")

    # Two workers take conflicting submits of one name at the same moment.
    queries = {"worker-1": QUERY, "worker-2": OTHER_QUERY}
    outcomes = {}
    barrier = threading.Barrier(2)

    def race(worker, client):
        barrier.wait()
        try:
            outcomes[worker] = ("OK", submit(client, spec("race", queries[worker])))
        except grpc.RpcError as e:
            outcomes[worker] = (e.code().name, e.details())
    threads = [threading.Thread(target=race, args=("worker-1", c1)),
               threading.Thread(target=race, args=("worker-2", c2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(o[0] for o in outcomes.values())
    assert codes == ["ALREADY_EXISTS", "OK"], f"racing submits: {outcomes}"
    winner = next(w for w, o in outcomes.items() if o[0] == "OK")
    won = outcomes[winner][1]
    assert won.created, won

    def agree():
        d1 = c1.jobs.DescribeJob(pb.DescribeJobRequest(name="race"), timeout=10)
        d2 = c2.jobs.DescribeJob(pb.DescribeJobRequest(name="race"), timeout=10)
        return (d1, d2) if (d1.job.version, d1.spec.query) == (d2.job.version, d2.spec.query) else None
    try:
        d1, d2 = wait_until(agree, 15, "both workers describing the same version of 'race'", 0.5)
    except AssertionError as e:
        d1 = c1.jobs.DescribeJob(pb.DescribeJobRequest(name="race"), timeout=10)
        d2 = c2.jobs.DescribeJob(pb.DescribeJobRequest(name="race"), timeout=10)
        raise AssertionError(f"{e}: worker-1 has version {d1.job.version} {d1.spec.query!r}, "
                             f"worker-2 version {d2.job.version} {d2.spec.query!r}")
    assert d1.job.version == won.job.version, (d1.job, won.job)
    assert d1.spec.query.strip() == queries[winner].strip(), (
        f"the catalog holds {d1.spec.query!r}, but {winner}'s submit won")
    summary = {w: o[0] if o[0] == "OK" else f"{o[0]} ({o[1]})" for w, o in outcomes.items()}
    print(f"racing submits: {summary}; both workers describe version {d1.job.version} with "
          f"{winner}'s query")

    # worker-2 runs at most 2 jobs: base and race.
    expect_error("a third job on the --max-jobs 2 worker",
                 lambda: submit(c2, spec("third")), Code.RESOURCE_EXHAUSTED)

    # The CLI: compile errors with FILE:LINE:COL, codes in messages, exit codes.
    bad_file = cluster.path("bad.sql")
    with open(bad_file, "w") as f:
        f.write(BAD_QUERY)
    good_file = cluster.path("good.sql")
    with open(good_file, "w") as f:
        f.write(QUERY)
    before = agreed_snapshot()
    r = cluster.cli("submit", bad_file, server=w1.address)
    assert r.returncode == 1, f"submit of a bad query exited {r.returncode}: {r.stderr}"
    assert re.search(r"bad\.sql:2:\d+: error: ", r.stderr), f"submit's stderr: {r.stderr!r}"
    r = cluster.cli("validate", bad_file, server=w2.address)
    assert r.returncode == 1 and re.search(r"bad\.sql:2:\d+: error: ", r.stderr), (
        f"validate exited {r.returncode}: {r.stderr!r}")
    r = cluster.cli("submit", good_file, "--name", "bad name!", server=w1.address)
    assert r.returncode == 1 and "(INVALID_ARGUMENT)" in r.stderr, (
        f"bad name: exit {r.returncode}, {r.stderr!r}")
    assert r.stderr.startswith("sluice submit: "), r.stderr
    r = cluster.cli("describe", "nosuch", server=w2.address)
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr, f"describe nosuch: {r.returncode} {r.stderr!r}"
    r = cluster.cli("stop", "nosuch", server=w1.address)
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr, f"stop nosuch: {r.returncode} {r.stderr!r}"
    r = cluster.cli("submit", server=w1.address)
    assert r.returncode == 2, f"submit without a file exited {r.returncode}: {r.stderr!r}"
    r = cluster.cli("list", server=f"127.0.0.1:{free_port()}", timeout=60)
    assert r.returncode == 3, f"list against a closed port exited {r.returncode}: {r.stderr!r}"
    assert snapshot() == before, "the CLI's failed requests changed the catalog"
    print("CLI: FILE:LINE:COL errors, exit codes 1, 2, 3")

    # The CLI's flags become the spec; --json prints the response.
    out = cluster.cli_json("submit", good_file, "--name", "via-cli", "--input", "telemetry=topic:telemetry",
                           "--output", "counts=topic:counts", "--late-policy", "drop",
                           "--out-of-order-tolerance", "1s", "--late-arrival-tolerance", "10s",
                           server=w1.address)
    job = out.get("job", {})
    assert out.get("created") is True and job.get("name") == "via-cli", out
    assert job.get("version") == "1" and job.get("state") == "JOB_STATE_RUNNING", out
    # worker-2 knows the job once it has read the catalog record.
    def described_on_2():
        result = cluster.cli("describe", "via-cli", "--json", server=w2.address)
        return json.loads(result.stdout) if result.returncode == 0 else None
    submitted_at = time.time()
    described = wait_until(described_on_2, 10, "worker-2 describing via-cli", 0.1)
    print(f"worker-2 describes the job {time.time() - submitted_at:.1f} s after worker-1 accepted it")
    inputs = described.get("spec", {}).get("inputs", [])
    policy = inputs[0].get("policy", {}) if inputs else {}
    if not policy:
        policy = described.get("spec", {}).get("defaultPolicy", {})
    assert policy.get("latePolicy") == "drop" and policy.get("outOfOrderTolerance") == "1s" and (
        policy.get("lateArrivalTolerance") == "10s"), f"the spec from the CLI flags: {described.get('spec')}"
    again = cluster.cli_json("submit", good_file, "--name", "via-cli", "--input", "telemetry=topic:telemetry",
                             "--output", "counts=topic:counts", "--late-policy", "drop",
                             "--out-of-order-tolerance", "1s", "--late-arrival-tolerance", "10s",
                             server=w2.address)
    assert not again.get("created", False) and again.get("job", {}).get("version") == "1", again
    out = cluster.cli_ok("stop", "via-cli", server=w2.address)
    assert out.strip() == "stopped job via-cli", out
    print("CLI: submit --json with flags, identical resubmit, stop")

    # Kafka goes away: the JobService turns NOT_SERVING, reads still answer.
    # A worker that is not SERVING beforehand fails the test, but only at the
    # end: the degraded checks still run on one that is.
    health = {"worker-1": c1.health_status(), "worker-2": c2.health_status()}
    problems = []
    if set(health.values()) != {"SERVING"}:
        problems.append(f"health of {JOB_SERVICE} before the broker is killed: {health}")
    name, client = next(((n, c) for n, c in (("worker-1", c1), ("worker-2", c2))
                         if health[n] == "SERVING"), ("worker-1", c1))
    known = jobs_of(client)
    cluster.broker.send_signal(signal.SIGKILL)
    cluster.broker.wait()
    killed = time.time()
    wait_until(lambda: client.health_status() == "NOT_SERVING", 15,
               f"{name}'s health NOT_SERVING after the broker died (it says {client.health_status()})",
               0.5)
    print(f"{name}: health NOT_SERVING {time.time() - killed:.1f} s after the broker was killed "
          f"(it was {health[name]})")
    assert client.health_status("") == "SERVING", f"overall health: {client.health_status('')}"
    degraded = jobs_of(client)
    assert degraded == known, f"ListJobs while degraded: {degraded}, before {known}"
    names = [j[0] for j in known]
    assert "base" in names and "race" in names, known
    d = client.jobs.DescribeJob(pb.DescribeJobRequest(name="base"), timeout=10)
    assert d.job.name == "base" and d.job.version == version, d.job
    print(f"{name}: ListJobs and DescribeJob answer while degraded")
    print(f"{len(results)} bad requests rejected, catalog unchanged")
    assert not problems, "; ".join(problems)


run_test("control-errors", {"telemetry": 4, "counts": 4}, body)
