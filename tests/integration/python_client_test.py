"""The control plane from a plain gRPC client: Python stubs generated from
proto/ with Debian's protoc. One worker: health and reflection, ValidateJob,
SubmitJob, ListJobs, DescribeJob, TailOutput (streamed while events are
produced, cancelled after N rows; from the beginning with a limit; ended
ABORTED by UpdateJob), UpdateJob, StopJob, ListJobs(include_stopped), ListWorkers."""
import json
import threading
import time

from harness import JOB_SERVICE, Client, grpc_stubs, run_test, wait_until

JOB = "pyjob"
QUERY = """SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgTemp, System.Timestamp() AS windowEnd
INTO counts FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, TumblingWindow(second, 5)
"""
# 10 s of event time in 10 s of wall time: windows close while the tail listens.
EVENTS = ["--devices", "20", "--rate", "200", "--count", "2000", "--realtime",
          "--start-time", "2024-01-01T00:00:00Z", "--seed", "3"]
TAIL_ROWS = 8


def body(cluster):
    s = grpc_stubs(cluster.path("stubs"))
    grpc, pb, job_pb = s.grpc, s.pb, s.job
    worker = cluster.start_worker("worker-1", [], grpc=True)
    client = Client(worker.address)
    try:
        run(cluster, s, grpc, pb, job_pb, worker, client)
    finally:
        client.close()


def run(cluster, s, grpc, pb, job_pb, worker, client):
    api = client.jobs
    client.wait_ready(30, process=worker, cluster=cluster)
    # Health: SERVING once the catalog is read. A failure here is reported at
    # the end, so the rest still runs.
    problems = []
    try:
        client.wait_serving(10, process=worker, cluster=cluster)
        print(f"health: {JOB_SERVICE} SERVING on {worker.address}")
    except AssertionError as e:
        problems.append(f"{e} (ListJobs answers)")
        print(f"health: {problems[-1]}")
    assert client.health_status("") == "SERVING", client.health_status("")

    # Reflection lists the services (Debian's gRPC 1.51 serves v1alpha).
    if s.reflection is not None:
        reflect = s.reflection_rpc.ServerReflectionStub(client.channel)
        responses = list(reflect.ServerReflectionInfo(
            iter([s.reflection.ServerReflectionRequest(list_services="")]), timeout=10))
        names = {svc.name for r in responses for svc in r.list_services_response.service}
        assert {JOB_SERVICE, "grpc.health.v1.Health"} <= names, f"reflection lists {names}"
        print(f"reflection: {sorted(names)}")

    spec = job_pb.JobSpec(name=JOB, query=QUERY,
                          inputs=[job_pb.InputBinding(alias="telemetry", topic="telemetry")],
                          outputs=[job_pb.OutputBinding(name="counts", topic="counts")])

    # ValidateJob: a plan for a good query, positions for a bad one.
    valid = api.ValidateJob(pb.ValidateJobRequest(spec=spec), timeout=10)
    assert valid.valid and not valid.errors and "counts" in valid.explain, valid
    assert len(valid.plan.ListFields()) > 0, "ValidateJob returned no plan"
    bad = job_pb.JobSpec(name=JOB, query=QUERY.replace("COUNT(*) AS n,", "COUNT(*) AS n,,"))
    invalid = api.ValidateJob(pb.ValidateJobRequest(spec=bad), timeout=10)
    assert not invalid.valid and invalid.errors, invalid
    assert invalid.errors[0].line == 1 and invalid.errors[0].column > 0, invalid.errors

    # SubmitJob.
    submitted = api.SubmitJob(pb.SubmitJobRequest(spec=spec), timeout=20)
    assert submitted.created, submitted
    info = submitted.job
    assert info.name == JOB and info.state == pb.JOB_STATE_RUNNING and info.version > 0, info
    assert info.submitted_at_ms > 0 and info.submitted_via.startswith("worker-1"), info
    print(f"submitted {JOB} version {info.version}")

    # ListJobs.
    jobs = api.ListJobs(pb.ListJobsRequest(), timeout=10)
    listed = {j.name: j for j in jobs.jobs}
    assert JOB in listed and listed[JOB].state == pb.JOB_STATE_RUNNING, jobs
    assert list(listed[JOB].input_topics) == ["telemetry"], listed[JOB]
    assert any("counts" in o for o in listed[JOB].outputs), listed[JOB]
    assert listed[JOB].version == info.version, listed[JOB]
    assert jobs.answered_by.name == "worker-1", jobs.answered_by

    # DescribeJob: one task per partition, all on worker-1.
    def assigned():
        d = api.DescribeJob(pb.DescribeJobRequest(name=JOB), timeout=10)
        return d if sorted(t.partition for t in d.tasks) == [0, 1, 2, 3] else None
    d = wait_until(assigned, 30, "DescribeJob showing tasks for telemetry[0..3]", 0.5)
    assert all(t.worker.startswith("worker-1") and t.topic == "telemetry" for t in d.tasks), d.tasks
    assert all(t.started_at_ms > 0 for t in d.tasks), d.tasks
    assert d.spec.name == JOB and d.spec.query.strip() == QUERY.strip(), d.spec
    assert d.explain and d.job.version == info.version, d.job
    assert [w.name for w in d.workers] and d.workers[0].version == info.version, d.workers

    # TailOutput: a reader thread; events produced after it starts.
    tailed, errors = [], []
    call = api.TailOutput(pb.TailOutputRequest(job=JOB, output="counts"))

    def reader():
        try:
            for response in call:
                tailed.append(response)
                if len(tailed) >= TAIL_ROWS:
                    call.cancel()
                    return
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                errors.append(e)
    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(1)  # let the stream subscribe
    started = time.time()
    producer = threading.Thread(target=cluster.simulate, args=("telemetry", *EVENTS))
    producer.start()
    thread.join(timeout=40)
    if thread.is_alive():
        call.cancel()
        thread.join(5)
        raise AssertionError(f"TailOutput gave {len(tailed)} of {TAIL_ROWS} rows in 40 s")
    tail_seconds = time.time() - started
    producer.join()
    assert not errors, f"TailOutput failed: {errors[0].code().name} {errors[0].details()}"
    assert len(tailed) == TAIL_ROWS, f"{len(tailed)} rows"
    for r in tailed:
        assert r.output == "counts" and r.topic == "counts", r
        assert 0 <= r.partition < 4 and r.offset >= 0, r
        row = json.loads(r.row)
        assert row.get("deviceId") and "windowEnd" in row, r.row
    print(f"TailOutput: {TAIL_ROWS} rows {tail_seconds:.1f} s after the producer started; cancelled")

    # What TailOutput streamed is what the topic holds at those offsets.
    def on_topic():
        records = {}
        for line in cluster.read_topic("counts", fmt="%p %o %s\\n"):
            p, o, row = line.split(" ", 2)
            records[(int(p), int(o))] = row
        return records if all((r.partition, r.offset) in records for r in tailed) else None
    records = wait_until(on_topic, 15, "the tailed offsets on the topic", 0.5)
    for r in tailed:
        assert records[(r.partition, r.offset)] == r.row, (
            f"TailOutput row at {r.partition}/{r.offset} is {r.row}, the topic has "
            f"{records[(r.partition, r.offset)]}")

    # From the beginning with a limit: exactly that many rows, then the stream ends.
    first = list(api.TailOutput(pb.TailOutputRequest(job=JOB, output="counts",
                                                     from_beginning=True, limit=5), timeout=30))
    assert len(first) == 5, f"from_beginning limit 5 gave {len(first)} rows"
    assert all(records.get((r.partition, r.offset)) == r.row for r in first), first
    # An output the job does not have.
    try:
        list(api.TailOutput(pb.TailOutputRequest(job=JOB, output="nosuch", limit=1), timeout=10))
        raise AssertionError("TailOutput of an unknown output succeeded")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, f"{e.code().name}: {e.details()}"

    # A tail follows one version of its job: UpdateJob ends it, ABORTED.
    following = api.TailOutput(pb.TailOutputRequest(job=JOB, output="counts"), timeout=60)
    time.sleep(1)  # the stream is open
    updated = job_pb.JobSpec()
    updated.CopyFrom(spec)
    updated.query = QUERY.replace("TumblingWindow(second, 5)", "TumblingWindow(second, 6)")
    version = api.UpdateJob(pb.UpdateJobRequest(spec=updated), timeout=20).job.version
    try:
        list(following)
        raise AssertionError("a tail of an updated job ended OK")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.ABORTED, f"{e.code().name}: {e.details()}"
        assert f"updated to version {version}" in e.details(), e.details()
        print(f"TailOutput across UpdateJob: {e.code().name} ({e.details()})")

    # StopJob, twice.
    stopped = api.StopJob(pb.StopJobRequest(name=JOB), timeout=20)
    assert stopped.stopped and stopped.job.state == pb.JOB_STATE_STOPPED, stopped
    again = api.StopJob(pb.StopJobRequest(name=JOB), timeout=20)
    assert not again.stopped and again.job.state == pb.JOB_STATE_STOPPED, again

    running = api.ListJobs(pb.ListJobsRequest(), timeout=10)
    assert JOB not in [j.name for j in running.jobs], f"ListJobs lists the stopped job: {running}"
    every = api.ListJobs(pb.ListJobsRequest(include_stopped=True), timeout=10)
    listed = {j.name: j for j in every.jobs}
    assert JOB in listed and listed[JOB].state == pb.JOB_STATE_STOPPED, every
    assert listed[JOB].stopped_at_ms >= listed[JOB].submitted_at_ms > 0, listed[JOB]

    def no_tasks():
        d = api.DescribeJob(pb.DescribeJobRequest(name=JOB), timeout=10)
        return d if not d.tasks else None
    wait_until(no_tasks, 20, "DescribeJob without tasks after StopJob", 0.5)

    # ListWorkers: this worker, healthy, with its address.
    workers = api.ListWorkers(pb.ListWorkersRequest(), timeout=10)
    me = [w for w in workers.workers if w.name == "worker-1"]
    port = worker.address.rsplit(":", 1)[1]
    assert me and me[0].healthy and me[0].grpc_address.endswith(f":{port}"), workers
    assert workers.answered_by.name == "worker-1", workers.answered_by
    print("StopJob, ListJobs(include_stopped), ListWorkers: ok")
    assert not problems, "; ".join(problems)


run_test("python-client", {"telemetry": 4, "counts": 4}, body)
