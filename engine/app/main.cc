// The `sluice` command: one binary, several roles (design.md).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/harness/bench_command.h"
#include "engine/app/client_commands.h"
#include "engine/app/dev_command.h"
#include "engine/app/run_command.h"
#include "engine/app/stream_commands.h"
#include "engine/app/token_command.h"
#include "engine/expr/javascript/javascript_host.h"

namespace {

constexpr char kUsage[] =
    "usage: sluice <command> [flags]\n"
    "\n"
    "commands:\n"
    "  run       run a job over JSON-lines files (offline replay, test a query)\n"
    "  explain   print the compiled operator DAG of a job\n"
    "  broker    run the embedded Kafka (librdkafka's mock cluster) on loopback\n"
    "  worker    run jobs on the Kafka partitions assigned to this worker\n"
    "  simulate  produce deterministic device telemetry to a topic or a file\n"
    "  dev       broker + workers + simulator + the sample job, output printed live\n"
    "  bench     measure throughput and latency against baselines (core, kafka)\n"
    "  token     create an API token for the workers' --token-file\n"
    "\n"
    "cluster commands (gRPC; --server HOST:PORT or $SLUICE_SERVER, default localhost:9750;\n"
    "  --token-file FILE or $SLUICE_TOKEN, --tls-ca FILE for a worker that wants them):\n"
    "  submit    submit a job: every worker runs it\n"
    "  update    replace a running job's query and bindings\n"
    "  validate  compile a job on a worker: the plan, or the errors\n"
    "  list      the cluster's jobs\n"
    "  describe  a job: spec, plan, and each task's worker, offsets, lag, watermark\n"
    "  stop      stop a job on every worker\n"
    "  tail      print a job's output rows as they are produced\n"
    "  workers   the cluster's live workers\n"
    "\n"
    "  help      show this message\n"
    "\n"
    "Run 'sluice <command> --help' for a command's flags.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "run") return sluice::RunCommand(args);
  // Hidden: the process a task runs a JavaScript UDF in (javascript_host.h).
  if (command == "udf-host") return sluice::javascript::RunJavaScriptHost();
  if (command == "explain") return sluice::ExplainCommand(args);
  if (command == "broker") return sluice::BrokerCommand(args);
  if (command == "worker") return sluice::WorkerCommand(args);
  if (command == "simulate") return sluice::SimulateCommand(args);
  if (command == "dev") return sluice::DevCommand(args);
  if (command == "bench") return sluice::BenchCommand(args);
  if (command == "token") return sluice::TokenCommand(args);
  if (command == "submit") return sluice::SubmitCommand(args);
  if (command == "update") return sluice::UpdateCommand(args);
  if (command == "validate") return sluice::ValidateCommand(args);
  if (command == "list") return sluice::ListCommand(args);
  if (command == "describe") return sluice::DescribeCommand(args);
  if (command == "stop") return sluice::StopCommand(args);
  if (command == "tail") return sluice::TailCommand(args);
  if (command == "workers") return sluice::WorkersCommand(args);
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "sluice: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
