#!/usr/bin/env python3
"""Runs one libFuzzer target for ctest (label `fuzz`).

1. Every input under tests/fuzz/regressions/NAME/ (crashes found before,
   kept as regression tests) runs once: any failure fails the test.
2. The working corpus (in the build tree) gets the seeds: queries from the
   golden tests, events from the golden tests and the samples, job specs,
   and tests/fuzz/corpus/NAME/.
3. The target fuzzes for $SLUICE_FUZZ_SECONDS (default 20) under the
   sanitizers it was built with. A crash fails the test and leaves the
   input as crash-* in the working directory: reproduce it with
   `TARGET FILE`, fix it, and check it in under regressions/NAME/.
Prints the executions and the corpus size at the end.
"""
import glob
import hashlib
import os
import re
import subprocess
import sys

name, binary, corpus = sys.argv[1], sys.argv[2], sys.argv[3]
source = os.environ.get("SLUICE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
seconds = int(os.environ.get("SLUICE_FUZZ_SECONDS", "20"))
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(corpus, exist_ok=True)


def add_seed(data):
    if isinstance(data, str):
        data = data.encode()
    path = os.path.join(corpus, "seed-" + hashlib.sha1(data).hexdigest()[:16])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def golden_sections(kind):
    """Sections of the golden tests: ('query', text) or ('input', line)."""
    for path in sorted(glob.glob(os.path.join(source, "tests/sql/**/*.test"), recursive=True)):
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        section = None
        query = []
        for line in lines:
            m = re.match(rb"^\[(\w+)( [^\]]*)?\]$", line)
            if m:
                section = m.group(1).decode()
                continue
            if section == "query":
                query.append(line)
            elif section == "input" and kind == "input" and line and not line.startswith(b"#"):
                yield line
        if kind == "query" and query:
            yield b"\n".join(query)


if name == "query_compiler_fuzzer":
    for q in golden_sections("query"):
        add_seed(q)
elif name == "event_decoder_fuzzer":
    for i, e in enumerate(golden_sections("input")):
        add_seed(e)
    with open(os.path.join(source, "deploy/samples/telemetry.jsonl"), "rb") as f:
        for line in f.read().split(b"\n")[:50]:
            add_seed(line)
elif name == "job_spec_fuzzer":
    import json
    for i, q in enumerate(golden_sections("query")):
        if i % 4:
            continue
        add_seed(json.dumps({"name": f"job-{i}", "query": q.decode("utf-8", "replace"),
                             "inputs": [{"alias": "telemetry", "topic": "telemetry",
                                         "policy": {"outOfOrderTolerance": "2s"}}],
                             "outputs": [{"name": "out", "file": "out.jsonl"}],
                             "kafkaProperties": {"linger.ms": "5"}}))
for path in glob.glob(os.path.join(here, "corpus", name, "*")):
    with open(path, "rb") as f:
        add_seed(f.read())

regressions = sorted(glob.glob(os.path.join(here, "regressions", name, "*")))
if regressions:
    r = subprocess.run([binary] + regressions)
    if r.returncode != 0:
        print(f"{name}: a regression input fails again", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: {len(regressions)} regression inputs pass")

args = [binary, corpus, f"-max_total_time={seconds}", "-timeout=20", "-rss_limit_mb=2560",
        "-max_len=16384", "-print_final_stats=1", "-close_fd_mask=1",
        # Entropic scheduling spends most of the time updating feature
        # frequencies in binaries this large (measured: 20 vs 100+ exec/s).
        "-entropic=0", "-detect_leaks=0", f"-artifact_prefix={os.path.dirname(corpus)}/"]
dictionary = os.path.join(here, "dictionaries", name + ".dict")
if os.path.exists(dictionary):
    args.append(f"-dict={dictionary}")
r = subprocess.run(args, stderr=subprocess.PIPE, text=True, errors="replace")
execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", r.stderr)
if r.returncode != 0:
    sys.stderr.write(r.stderr[-20000:])
    print(f"{name}: FAILED (exit {r.returncode}); the input is in crash-*/timeout-*/oom-*")
    sys.exit(1)
print(f"{name}: {execs[-1] if execs else '?'} executions in {seconds} s, "
      f"corpus {len(os.listdir(corpus))} inputs, no crash")
