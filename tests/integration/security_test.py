"""The API's security with real processes and an independent client (Python
stubs from proto/):

* tokens and roles: every JobService method x {no token, unknown token,
  viewer, operator, admin} gets OK or the right code (UNAUTHENTICATED,
  PERMISSION_DENIED); a token limited to `team-a-*` is refused team-b-x
  (describe, tail, stop, submit, update) and ListJobs shows it only its
  jobs; health answers without a token, reflection is off with tokens;
* TLS: the worker above serves TLS; a plaintext client and a client that
  does not trust its CA fail; mutual TLS: a client without a certificate is
  refused, one with a certificate from the CA gets in and is named by its
  CN in the audit trail;
* the loopback rule: --grpc-listen 0.0.0.0:PORT without TLS and tokens (and
  with tokens but no TLS) exits non-zero saying why; with --insecure the
  worker starts and says INSECURE in its log and in its health text;
* the token file is re-read: a token added works within ~2 s, and stops
  working once removed;
* the audit trail: one record on `_sluice_audit` per write request (keyed by
  job), denied ones included, and the same JSON lines in the worker's log;
* the CLI with --token-file and --tls-ca (and $SLUICE_TOKEN, $SLUICE_TLS_CA)
  against the TLS worker.

Certificates are made with the `openssl` command in the scratch directory.
"""
import collections
import json
import os
import subprocess
import time

from harness import SLUICE, free_port, grpc_stubs, run_test, wait_until

AUDIT_TOPIC = "_sluice_audit"
QUERY = """SELECT deviceId, COUNT(*) AS n, System.Timestamp() AS windowEnd
INTO counts FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, TumblingWindow(second, 5)
"""
OTHER_QUERY = QUERY.replace("TumblingWindow(second, 5)", "TumblingWindow(second, 10)")


# --- certificates and tokens ------------------------------------------------

def openssl(cwd, *args):
    result = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"openssl {' '.join(args)}:\n{result.stderr}"


def make_certificates(directory):
    """A CA, a server certificate for localhost/127.0.0.1, a client
    certificate (CN ops-client) signed by the CA, and a second, unrelated CA."""
    os.makedirs(directory, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "rogue-ca"):
        openssl(directory, "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
                "-days", "2", "-subj", f"/CN=Sluice test {ca}")
    extensions = {
        "server": "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        "client": "extendedKeyUsage=clientAuth\n",
    }
    for name, subject in (("server", "/CN=localhost"), ("client", "/CN=ops-client")):
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write(extensions[name])
        openssl(directory, "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject)
        openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey",
                "ca.key", "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
                f"{name}.ext")

    def read(name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()
    return {name: read(name) for name in
            ("ca.crt", "rogue-ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


def create_token(name, role, jobs=None):
    """`sluice token create`: (token, line for the token file)."""
    args = [SLUICE, "token", "create", "--name", name, "--role", role]
    if jobs:
        args += ["--jobs", jobs]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(": ", 1) for line in result.stdout.strip().split("\n"))
    token, line = fields["token"], fields["line"]
    assert token.startswith("sluice_") and len(token) == 50, token
    assert token not in line and line.startswith(f"{name} {role} sha256:"), line
    return token, line


# --- a client with credentials ------------------------------------------------

class SecureClient:
    """JobService + health + reflection stubs over a TLS (or plain) channel;
    calls carry `token` as `authorization: Bearer`."""

    def __init__(self, address, token=None, root=None, key=None, chain=None, plain=False):
        s = grpc_stubs()
        if plain:
            self.channel = s.grpc.insecure_channel(address)
        else:
            credentials = s.grpc.ssl_channel_credentials(
                root_certificates=root, private_key=key, certificate_chain=chain)
            self.channel = s.grpc.secure_channel(address, credentials)
        self.jobs = s.rpc.JobServiceStub(self.channel)
        self.health = s.health_rpc.HealthStub(self.channel)
        self.reflection = (s.reflection_rpc.ServerReflectionStub(self.channel)
                           if s.reflection_rpc else None)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def call(self, method, request, timeout=20):
        """(code name, response or details)."""
        s = grpc_stubs()
        try:
            if method == "TailOutput":
                response = list(self.jobs.TailOutput(request, timeout=timeout,
                                                     metadata=self.metadata))
            else:
                response = getattr(self.jobs, method)(request, timeout=timeout,
                                                      metadata=self.metadata)
            return "OK", response
        except s.grpc.RpcError as e:
            return e.code().name, e.details() or ""

    def close(self):
        self.channel.close()


def wait_answering(client, process, cluster, timeout=30):
    """Waits until ListJobs answers (the worker has read the catalog)."""
    s = grpc_stubs()
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        assert process.poll() is None, (
            f"{process.name} exited with {process.returncode}:\n{cluster.log_of(process)[-3000:]}")
        last = client.call("ListJobs", s.pb.ListJobsRequest(), timeout=5)
        if last[0] == "OK":
            return
        time.sleep(0.3)
    raise AssertionError(f"{process.name}: ListJobs does not answer after {timeout} s: {last}")


def start_worker(cluster, name, listen, extra):
    args = [SLUICE, "worker", "--bootstrap-file", cluster.bootstrap_file, "--name", name,
            "--state-dir", cluster.path(f"state-{name}"), "--status-interval", "0",
            "--threads", "1", "--grpc-listen", listen] + list(extra)
    process = cluster.start(name, args)
    process.address = listen.replace("0.0.0.0", "127.0.0.1")
    return process


# --- the test ---------------------------------------------------------------

def body(cluster):
    s = grpc_stubs(cluster.path("stubs"))
    pb, job_pb = s.pb, s.job
    started = time.time()
    pem = make_certificates(cluster.path("tls"))
    tls = lambda name: cluster.path(os.path.join("tls", name))  # noqa: E731

    tokens = {}
    lines = []
    for name, role, jobs in (("viewer-1", "viewer", None), ("operator-1", "operator", None),
                             ("admin-1", "admin", None), ("team-a", "operator", "team-a-*")):
        tokens[name], line = create_token(name, role, jobs)
        lines.append(line)
    token_file = cluster.path("tokens")
    with open(token_file, "w") as f:
        f.write("# NAME ROLE HASH [JOBS]\n" + "\n".join(lines) + "\n")

    # The loopback rule: refused setups exit at once, before reaching Kafka.
    for what, extra in (("no TLS, no tokens", []),
                        ("tokens without TLS", ["--token-file", token_file])):
        listen = f"0.0.0.0:{free_port()}"
        refused = subprocess.run(
            [SLUICE, "worker", "--bootstrap-file", cluster.bootstrap_file, "--grpc-listen",
             listen] + extra, capture_output=True, text=True, timeout=30)
        assert refused.returncode != 0, f"{what}: the worker started on {listen}"
        assert "--insecure" in refused.stderr and listen in refused.stderr, refused.stderr
        print(f"loopback rule, {what}: exit {refused.returncode}: {refused.stderr.strip()}")

    # W1: TLS and tokens. W2: mutual TLS, no tokens. W3: 0.0.0.0 with --insecure.
    w1 = start_worker(cluster, "secure-1", f"127.0.0.1:{free_port()}",
                      ["--tls-cert", tls("server.crt"), "--tls-key", tls("server.key"),
                       "--token-file", token_file])
    w2 = start_worker(cluster, "mutual-2", f"127.0.0.1:{free_port()}",
                      ["--tls-cert", tls("server.crt"), "--tls-key", tls("server.key"),
                       "--tls-client-ca", tls("ca.crt")])
    w3 = start_worker(cluster, "insecure-3", f"0.0.0.0:{free_port()}", ["--insecure"])

    def client(token=None, **kwargs):
        return SecureClient(w1.address, token=token, root=pem["ca.crt"], **kwargs)

    clients = {name: client(token) for name, token in tokens.items()}
    clients["no token"] = client()
    clients["unknown token"] = client("sluice_" + "x" * 43)
    admin = clients["admin-1"]
    wait_answering(admin, w1, cluster)
    print(f"secure-1 answers over TLS with a token ({time.time() - started:.1f} s in)")

    writes = []  # (who, method, job, code) of every write request, for the audit check

    def call(who, method, request, job=None, expect=None):
        code, answer = clients[who].call(method, request)
        if method in ("SubmitJob", "UpdateJob", "StopJob"):
            writes.append((who, method, job, code))
        if expect is not None:
            assert code == expect, f"{who} {method} {job}: {code} ({answer}), expected {expect}"
        return code, answer

    def spec(name, query=QUERY):
        return job_pb.JobSpec(name=name, query=query)

    # Jobs of two teams, submitted by an operator and an admin.
    call("operator-1", "SubmitJob", pb.SubmitJobRequest(spec=spec("team-a-x")), "team-a-x", "OK")
    call("admin-1", "SubmitJob", pb.SubmitJobRequest(spec=spec("team-b-x")), "team-b-x", "OK")

    # Every method x role.
    requests = {
        "ListJobs": (lambda j: pb.ListJobsRequest(include_stopped=True), None),
        "DescribeJob": (lambda j: pb.DescribeJobRequest(name=j), "team-b-x"),
        # An output the job lacks: NOT_FOUND once past the door, at once.
        "TailOutput": (lambda j: pb.TailOutputRequest(job=j, output="nosuch", limit=1),
                       "team-b-x"),
        "ValidateJob": (lambda j: pb.ValidateJobRequest(spec=spec("team-b-v")), None),
        "ListWorkers": (lambda j: pb.ListWorkersRequest(), None),
        "SubmitJob": (lambda j: pb.SubmitJobRequest(spec=spec(j)), "team-b-x"),  # identical: no-op
        "UpdateJob": (lambda j: pb.UpdateJobRequest(spec=spec(j)), "team-b-x"),  # identical: no-op
        "StopJob": (lambda j: pb.StopJobRequest(name=j), "nosuch-job"),  # NOT_FOUND once past
    }
    passed = {"ListJobs": "OK", "DescribeJob": "OK", "TailOutput": "NOT_FOUND",
              "ValidateJob": "OK", "ListWorkers": "OK", "SubmitJob": "OK", "UpdateJob": "OK",
              "StopJob": "NOT_FOUND"}
    reads = {"ListJobs", "DescribeJob", "TailOutput", "ValidateJob", "ListWorkers"}
    matrix = []
    for who in ("no token", "unknown token", "viewer-1", "operator-1", "admin-1"):
        row = []
        for method, (make, job) in requests.items():
            if who in ("no token", "unknown token"):
                expected = "UNAUTHENTICATED"
            elif who == "viewer-1" and method not in reads:
                expected = "PERMISSION_DENIED"
            else:
                expected = passed[method]
            code, answer = call(who, method, make(job), job, expected)
            if code == "UNAUTHENTICATED":
                assert "token" in answer, answer
            row.append(f"{method}={code}")
        matrix.append(f"  {who:13s} " + " ".join(row))
    print("method x role:\n" + "\n".join(matrix))

    # The team-a token: its own jobs only.
    call("team-a", "DescribeJob", pb.DescribeJobRequest(name="team-a-x"), None, "OK")
    for method, job, request in (
            ("DescribeJob", "team-b-x", pb.DescribeJobRequest(name="team-b-x")),
            ("TailOutput", "team-b-x", pb.TailOutputRequest(job="team-b-x", limit=1)),
            ("StopJob", "team-b-x", pb.StopJobRequest(name="team-b-x")),
            ("SubmitJob", "team-b-y", pb.SubmitJobRequest(spec=spec("team-b-y"))),
            ("UpdateJob", "team-b-x", pb.UpdateJobRequest(spec=spec("team-b-x", OTHER_QUERY)))):
        code, answer = call("team-a", method, request, job, "PERMISSION_DENIED")
        assert "team-a-*" in answer, answer
    call("team-a", "SubmitJob", pb.SubmitJobRequest(spec=spec("team-a-y")), "team-a-y", "OK")
    call("team-a", "UpdateJob", pb.UpdateJobRequest(spec=spec("team-a-y", OTHER_QUERY)),
         "team-a-y", "OK")
    _, listed = call("team-a", "ListJobs", pb.ListJobsRequest(include_stopped=True), None, "OK")
    mine = sorted(j.name for j in listed.jobs)
    _, everything = call("admin-1", "ListJobs", pb.ListJobsRequest(include_stopped=True), None, "OK")
    assert mine == ["team-a-x", "team-a-y"], f"team-a's ListJobs: {mine}"
    assert {"team-a-x", "team-a-y", "team-b-x"} <= {j.name for j in everything.jobs}, everything
    print(f"team-a-*: refused team-b-x 5 ways; ListJobs shows it {mine} "
          f"of {sorted(j.name for j in everything.jobs)}")

    # Health without a token; no reflection with tokens.
    health = clients["no token"].health.Check(s.health.HealthCheckRequest(service=""), timeout=5)
    assert health.status == s.health.HealthCheckResponse.SERVING, health
    if admin.reflection is not None:
        try:
            list(admin.reflection.ServerReflectionInfo(
                iter([s.reflection.ServerReflectionRequest(list_services="")]), timeout=5))
            raise AssertionError("reflection answered on a worker with tokens")
        except s.grpc.RpcError as e:
            assert e.code() == s.grpc.StatusCode.UNIMPLEMENTED, e.code()
    print("health: SERVING without a token; reflection: UNIMPLEMENTED with tokens")

    # TLS: a plaintext client, and a client that does not trust the CA.
    for what, bad in (("plaintext", SecureClient(w1.address, tokens["admin-1"], plain=True)),
                      ("untrusted CA", SecureClient(w1.address, tokens["admin-1"],
                                                    root=pem["rogue-ca.crt"]))):
        code, answer = bad.call("ListWorkers", pb.ListWorkersRequest(), timeout=5)
        bad.close()
        assert code == "UNAVAILABLE", f"{what} client: {code} {answer}"
        print(f"TLS: a {what} client fails: {code}")

    # Mutual TLS (no tokens): a certificate from the CA names the caller.
    wait_answering(SecureClient(w2.address, root=pem["ca.crt"], key=pem["client.key"],
                                chain=pem["client.crt"]), w2, cluster)
    with_cert = SecureClient(w2.address, root=pem["ca.crt"], key=pem["client.key"],
                             chain=pem["client.crt"])
    without = SecureClient(w2.address, root=pem["ca.crt"])
    code, answer = without.call("ListJobs", pb.ListJobsRequest(), timeout=5)
    assert code == "UNAVAILABLE", f"mutual TLS without a client certificate: {code} {answer}"
    code, answer = with_cert.call("StopJob", pb.StopJobRequest(name="team-b-x"))
    assert code == "OK" and answer.stopped, f"mutual TLS StopJob: {code} {answer}"
    writes.append(("ops-client", "StopJob", "team-b-x", "OK"))
    if with_cert.reflection is not None:
        names = {svc.name for r in with_cert.reflection.ServerReflectionInfo(
            iter([s.reflection.ServerReflectionRequest(list_services="")]), timeout=5)
            for svc in r.list_services_response.service}
        assert "sluice.v1.JobService" in names, names
    with_cert.close()
    without.close()
    print("mutual TLS: refused without a client certificate; with one, StopJob OK; "
          "reflection on (no tokens)")

    # --insecure on 0.0.0.0: it starts, and says so in its log and health.
    plain = SecureClient(w3.address, plain=True)
    wait_answering(plain, w3, cluster)
    _, workers = plain.call("ListWorkers", pb.ListWorkersRequest())
    me = [w for w in workers.workers if w.name == "insecure-3"]
    assert me and "INSECURE" in me[0].health and me[0].healthy, workers
    plain.close()
    log = cluster.log_of(w3)
    assert "WARNING: INSECURE" in log, log[-2000:]
    print(f"--insecure: log says {[l for l in log.splitlines() if 'INSECURE' in l][0]!r}; "
          f"health text {me[0].health!r}")

    # Token file reload: a new token works within ~2 s; removed, it stops.
    late_token, late_line = create_token("late", "viewer")
    late = client(late_token)
    assert late.call("ListWorkers", pb.ListWorkersRequest())[0] == "UNAUTHENTICATED"
    with open(token_file, "a") as f:
        f.write(late_line + "\n")
    added = time.time()
    wait_until(lambda: late.call("ListWorkers", pb.ListWorkersRequest())[0] == "OK", 10,
               "a token appended to the token file working", 0.1)
    took_add = time.time() - added
    with open(token_file + ".new", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(token_file + ".new", token_file)
    removed = time.time()
    wait_until(lambda: late.call("ListWorkers", pb.ListWorkersRequest())[0] == "UNAUTHENTICATED",
               10, "a token removed from the token file refused", 0.1)
    took_remove = time.time() - removed
    # A broken file keeps the tokens, and the log says why.
    with open(token_file, "a") as f:
        f.write("broken line\n")
    wait_until(lambda: "keeping the previous" in cluster.log_of(w1), 10,
               "the worker logging a broken token file", 0.2)
    assert admin.call("ListWorkers", pb.ListWorkersRequest())[0] == "OK"
    late.close()
    assert took_add < 3 and took_remove < 3, (took_add, took_remove)
    print(f"reload: added token works after {took_add:.1f} s, removed one refused after "
          f"{took_remove:.1f} s; a broken file keeps the tokens")

    # The CLI with --token-file and --tls-ca.
    token_files = {}
    for name in ("operator-1", "team-a"):
        token_files[name] = cluster.path(f"{name}.token")
        with open(token_files[name], "w") as f:
            f.write(tokens[name] + "\n")
    query_file = cluster.path("team-a-cli.sql")
    with open(query_file, "w") as f:
        f.write(QUERY)
    server = w1.address
    secure = ["--tls-ca", tls("ca.crt")]
    op = secure + ["--token-file", token_files["operator-1"]]
    team_a = secure + ["--token-file", token_files["team-a"]]

    def cli(*args, env=None):
        return cluster.cli(*args, server=server, env=env, timeout=30)

    cli_results = []

    def expect_cli(args, code, says=None, env=None, write=None):
        result = cli(*args, env=env)
        assert result.returncode == code, (
            f"sluice {' '.join(args)}: exit {result.returncode}, expected {code}\n"
            f"{result.stdout[-1000:]}\n{result.stderr[-1000:]}")
        if says:
            assert says in result.stdout + result.stderr, (
                f"sluice {' '.join(args)}: no {says!r} in\n{result.stdout}\n{result.stderr}")
        if write:
            writes.append(write)
        cli_results.append(f"  sluice {args[0]}: exit {code}")
        return result

    expect_cli(["list", *op], 0, "team-a-x")
    expect_cli(["workers", *op], 0, "secure-1")
    expect_cli(["describe", "team-a-x", *op], 0, "team-a-x")
    expect_cli(["validate", query_file, *op], 0, "valid")
    expect_cli(["tail", "team-a-x", "nosuch", *op], 1, "NOT_FOUND")
    expect_cli(["tail", "team-b-x", *team_a], 1, "PERMISSION_DENIED")
    expect_cli(["submit", query_file, "--name", "team-a-cli", *team_a], 0, "submitted",
               write=("team-a", "SubmitJob", "team-a-cli", "OK"))
    expect_cli(["update", query_file, "--name", "team-b-x", *team_a], 1, "PERMISSION_DENIED",
               write=("team-a", "UpdateJob", "team-b-x", "PERMISSION_DENIED"))
    expect_cli(["stop", "team-b-x", *team_a], 1, "PERMISSION_DENIED",
               write=("team-a", "StopJob", "team-b-x", "PERMISSION_DENIED"))
    expect_cli(["stop", "team-a-cli", *team_a], 0, "stopped",
               write=("team-a", "StopJob", "team-a-cli", "OK"))
    expect_cli(["list", *secure], 1, "UNAUTHENTICATED")
    expect_cli(["list", "--token-file", token_files["operator-1"]], 3, "--tls-ca")
    # The environment instead of flags.
    expect_cli(["list"], 0, "team-a-x",
               env={"SLUICE_TOKEN": tokens["viewer-1"], "SLUICE_TLS_CA": tls("ca.crt")})
    expect_cli(["stop", "team-a-x"], 1, "PERMISSION_DENIED",
               env={"SLUICE_TOKEN": tokens["viewer-1"], "SLUICE_TLS_CA": tls("ca.crt")},
               write=("viewer-1", "StopJob", "team-a-x", "PERMISSION_DENIED"))
    print("CLI over TLS with tokens:\n" + "\n".join(cli_results))

    # The audit trail: one record per write request, denied ones included.
    unauthenticated = {"no token", "unknown token"}
    expected = sorted(("unauthenticated" if who in unauthenticated else who, method, job or "",
                       code) for who, method, job, code in writes)

    def audit_records():
        records = []
        for line in cluster.read_topic(AUDIT_TOPIC, fmt="%k\\t%s\\n"):
            key, _, value = line.partition("\t")
            record = json.loads(value)
            assert key == record["job"], f"audit record keyed {key!r}: {record}"
            records.append(record)
        return records if len(records) >= len(expected) else None
    records = wait_until(audit_records, 20, f"{len(expected)} records on {AUDIT_TOPIC}", 0.5)
    got = sorted((r["who"], r["method"], r["job"], r["code"]) for r in records)
    assert got == expected, (
        f"audit records differ from the write requests:\n missing {sorted(set(expected) - set(got))}"
        f"\n extra {sorted(set(got) - set(expected))}")
    for r in records:
        assert r["time"].endswith("Z") and r["peer"].startswith("ipv4:127.0.0.1:"), r
        assert r["worker"] in ("secure-1", "mutual-2"), r
        if r["who"] == "ops-client":
            assert r["via"] == "certificate" and r["client_cn"] == "ops-client", r
        elif r["who"] != "unauthenticated":
            assert r["via"] == "token" and r["role"], r
    logged = [line for w in (w1, w2) for line in cluster.log_of(w).splitlines()
              if " | audit {" in line]
    assert len(logged) == len(records), f"{len(logged)} audit log lines, {len(records)} records"
    codes = collections.Counter(r["code"] for r in records)
    print(f"audit: {len(records)} records on {AUDIT_TOPIC} ({dict(codes)}) match the "
          f"{len(writes)} write requests; e.g. {json.dumps(records[-1])}")

    for c in clients.values():
        c.close()
    print(f"security test done in {time.time() - started:.1f} s")


if __name__ == "__main__":  # bench/api_auth_cost.py borrows the certificates and tokens
    run_test("security", {"telemetry": 4, "counts": 4}, body)
