"""What authentication costs a JobService call end to end: one Python gRPC
client calls ListWorkers in a loop against real workers (embedded broker,
loopback) served

  plain          no TLS, no tokens (the baseline: `sluice dev`)
  plain+token    no TLS, a token file (the token is checked on each call)
  tls            TLS, no tokens
  tls+token      TLS and a token file (the Compose setup)
  mtls+token     mutual TLS and a token file

and prints the mean microseconds per call of each run, and per mode the
median run and the best.
Runs are interleaved (every mode once per round) so that drift of the
machine hits all modes alike. The in-process cost of the check alone is
bench/api_auth_benchmark.

  /usr/bin/python3 bench/api_auth_cost.py [--calls 1000] [--rounds 10] [--tokens 100]

Needs build/sluice (or $SLUICE_BINARY), openssl, python3-grpcio.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import SLUICE, Cluster, free_port, grpc_stubs  # noqa: E402
from security_test import create_token, make_certificates  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=100, help="lines in the token file")
    args = parser.parse_args()

    cluster = Cluster("api-auth-cost", {"telemetry": 4})
    try:
        run(cluster, args)
    finally:
        cluster.stop()
        cluster.cleanup(keep=False)


def run(cluster, args):
    s = grpc_stubs(cluster.path("stubs"))
    grpc, pb = s.grpc, s.pb
    pem = make_certificates(cluster.path("tls"))
    tls = lambda name: cluster.path(os.path.join("tls", name))  # noqa: E731
    token, line = create_token("bench", "viewer")
    token_file = cluster.path("tokens")
    with open(token_file, "w") as f:
        for i in range(args.tokens - 1):  # other holders' tokens, to search through
            f.write(f"other-{i} operator sha256:{i:064x} team-*\n")
        f.write(line + "\n")

    server_tls = ["--tls-cert", tls("server.crt"), "--tls-key", tls("server.key")]
    modes = {
        "plain": ([], dict(plain=True), False),
        "plain+token": (["--token-file", token_file], dict(plain=True), True),
        "tls": (server_tls, dict(root=pem["ca.crt"]), False),
        "tls+token": (server_tls + ["--token-file", token_file], dict(root=pem["ca.crt"]), True),
        "mtls+token": (server_tls + ["--tls-client-ca", tls("ca.crt"), "--token-file", token_file],
                       dict(root=pem["ca.crt"], key=pem["client.key"], chain=pem["client.crt"]),
                       True),
    }
    stubs = {}
    for name, (flags, channel, with_token) in modes.items():
        address = f"127.0.0.1:{free_port()}"
        cluster.start(name, [SLUICE, "worker", "--bootstrap-file", cluster.bootstrap_file,
                             "--name", name, "--state-dir", cluster.path(f"state-{name}"),
                             "--status-interval", "0", "--threads", "1",
                             "--grpc-listen", address] + flags)
        if channel.get("plain"):
            ch = grpc.insecure_channel(address)
        else:
            ch = grpc.secure_channel(address, grpc.ssl_channel_credentials(
                root_certificates=channel["root"], private_key=channel.get("key"),
                certificate_chain=channel.get("chain")))
        metadata = (("authorization", f"Bearer {token}"),) if with_token else ()
        stubs[name] = (s.rpc.JobServiceStub(ch), metadata)

    request = pb.ListWorkersRequest()
    for name, (stub, metadata) in stubs.items():
        deadline = time.time() + 60
        while True:
            try:
                stub.ListWorkers(request, timeout=5, metadata=metadata)
                break
            except grpc.RpcError as e:
                if time.time() > deadline:
                    raise AssertionError(f"{name}: {e.code().name} {e.details()}")
                time.sleep(0.3)
        for _ in range(300):  # warm up: connection, handshake, caches
            stub.ListWorkers(request, timeout=5, metadata=metadata)

    results = {name: [] for name in stubs}
    for _ in range(args.rounds):
        for name, (stub, metadata) in stubs.items():
            call = stub.ListWorkers
            started = time.perf_counter()
            for _ in range(args.calls):
                call(request, timeout=5, metadata=metadata)
            results[name].append((time.perf_counter() - started) / args.calls * 1e6)

    print(f"ListWorkers from one Python client, {args.calls} calls x {args.rounds} rounds, "
          f"token file of {args.tokens} tokens; us per call (each run's mean; the median "
          f"and the best run of each mode):")
    base = statistics.median(results["plain"])
    for name, runs in results.items():
        median = statistics.median(runs)
        print(f"  {name:12s} median {median:6.1f} ({median - base:+5.1f} vs plain), best "
              f"{min(runs):6.1f}   runs: " + " ".join(f"{r:.0f}" for r in runs))


if __name__ == "__main__":
    main()
