// The gRPC client side of the `sluice` command: submit, update, validate,
// list, describe, stop, tail, workers.
#include "engine/app/client_commands.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/app/base/command_line.h"
#include "engine/app/base/job_loader.h"
#include "engine/app/control/api_endpoint.h"
#include "engine/app/control/api_security.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "proto/job_service.grpc.pb.h"

namespace sluice {
namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

const FlagSpec kClientFlags[] = {
    {"server", true, false, "a worker's API address (default: $SLUICE_SERVER, else localhost:9750)",
     "HOST:PORT"},
    {"json", false, false, "print the response as JSON (protobuf's JSON mapping)"},
    {"help", false, false, "show this help"},
};

std::vector<FlagSpec> WithClientFlags(std::vector<FlagSpec> flags) {
  flags.insert(flags.end(), ClientSecurityFlags().begin(), ClientSecurityFlags().end());
  flags.insert(flags.end(), std::begin(kClientFlags), std::end(kClientFlags));
  return flags;
}

bool ParseOrHelp(const char* command, const char* synopsis, const char* about,
                 const std::vector<FlagSpec>& flags, const std::vector<std::string>& args,
                 CommandLine* out, int* exit) {
  return CommandLine::ParseOrHelp(command, synopsis, about, flags, args, out, exit);
}

std::string ServerAddress(const CommandLine& cl) {
  if (auto v = cl.Get("server")) return *v;
  if (const char* env = std::getenv("SLUICE_SERVER"); env != nullptr && *env != '\0') return env;
  return kDefaultServer;
}

class Client {
 public:
  explicit Client(const CommandLine& cl) : command_line_(cl), address_(ServerAddress(cl)) {}

  // Connects; prints why not and returns the exit code when it cannot
  // (0 when connected).
  int Connect(const char* command) {
    auto security = ClientSecurityFromFlags(command_line_);
    if (!security.ok()) {
      std::fprintf(stderr, "sluice %s: %s\n", command,
                   std::string(security.status().message()).c_str());
      return kUsage;
    }
    token_ = security->token;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(address_, security->credentials, args);
    if (!channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr,
                   "sluice %s: cannot reach a Sluice worker at %s (start one with `sluice dev` "
                   "or `sluice worker --grpc-listen HOST:PORT`; choose it with --server or "
                   "SLUICE_SERVER%s)\n",
                   command, address_.c_str(),
                   security->tls ? "; or the TLS handshake failed: does --tls-ca hold the CA "
                                   "that signed the worker's certificate, and does the worker "
                                   "want a client certificate (--tls-cert, --tls-key)?"
                                 : "; a worker serving TLS needs --tls-ca");
      return kUnreachable;
    }
    stub_ = v1::JobService::NewStub(channel_);
    return 0;
  }

  void Prepare(grpc::ClientContext* context, int seconds = 30) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    Authorize(context);
  }

  // Adds the token, if any, to a call.
  void Authorize(grpc::ClientContext* context) {
    if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }

  v1::JobService::Stub* stub() { return stub_.get(); }
  bool json() const { return command_line_.Has("json"); }
  const std::string& address() const { return address_; }

 private:
  const CommandLine& command_line_;
  std::string address_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    default:
      return "UNKNOWN";
  }
}

bool IsQueryError(const std::string& message) {
  // "LINE:COL: error: ..."
  const size_t first = message.find(':');
  if (first == std::string::npos || first == 0) return false;
  const size_t second = message.find(':', first + 1);
  int n = 0;
  return second != std::string::npos && absl::SimpleAtoi(message.substr(0, first), &n) &&
         absl::SimpleAtoi(message.substr(first + 1, second - first - 1), &n) &&
         absl::StartsWith(message.substr(second + 1), " error: ");
}

// Prints a failed call the way users read compiler errors, and returns the
// exit code.
int Report(const char* command, const grpc::Status& status, const std::string& file = "") {
  const std::string& message = status.error_message();
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && !file.empty() &&
      IsQueryError(message)) {
    std::fprintf(stderr, "%s:%s\n", file.c_str(), message.c_str());
  } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
             (absl::StrContains(message, "failed to connect") ||
              absl::StrContains(message, "Connection refused"))) {
    std::fprintf(stderr, "sluice %s: the worker went away: %s\n", command, message.c_str());
    return kUnreachable;
  } else {
    std::fprintf(stderr, "sluice %s: %s (%s)\n", command, message.c_str(),
                 CodeName(status.error_code()));
  }
  return kFailed;
}

void PrintJson(const google::protobuf::Message& message, bool pretty) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!json.empty() && json.back() == '\n') json.pop_back();
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

std::string FormatMs(int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

std::string StateName(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_RUNNING:
      return "RUNNING";
    case v1::JOB_STATE_STOPPED:
      return "STOPPED";
    default:
      return "UNKNOWN";
  }
}

// A plain text table: columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print() const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()), 0);
      for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
      std::printf("%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

void WarnIfDegraded(const v1::WorkerInfo& info) {
  if (!info.name().empty() && !info.healthy()) {
    std::fprintf(stderr, "warning: %s is degraded (%s); this answer may be stale\n",
                 info.name().c_str(), info.health().c_str());
  }
}

const std::vector<FlagSpec>& SpecFlags() {
  static const std::vector<FlagSpec> flags = {
      {"name", true, false, "the job's name (default: the file name without extension)", "NAME"},
      {"input", true, true, "read input ALIAS from Kafka topic T (default: the topic ALIAS)",
       "ALIAS=topic:T"},
      {"output", true, true,
       "write output NAME to a topic, a JSON-lines file on the workers, or their stdout "
       "(default: the topic NAME)",
       "NAME=topic:T|file:PATH|stdout"},
      {"out-of-order-tolerance", true, false, "for every input (default 0s)", "DURATION"},
      {"late-arrival-tolerance", true, false, "for every input (default 5s)", "DURATION"},
      {"late-policy", true, false, "adjust (default) or drop late and out-of-order events",
       "adjust|drop"},
      {"start-from", true, false,
       "where a new job starts reading: earliest (default) or latest (only new events)",
       "earliest|latest"},
      {"guarantee", true, false,
       "at_least_once (default: replays repeat rows, same sluice.id) or exactly_once (Kafka "
       "transactions; needs a real Kafka)",
       "at_least_once|exactly_once"},
      {"dead-letter-topic", true, false, "where rejected events go (default NAME.errors)", "TOPIC"},
      {"function", true, true,
       "declare JavaScript user-defined function udf.NAME from FILE.js (one function)",
       "NAME=FILE.js"},
      {"function-time-limit", true, false, "per call of a JavaScript UDF (default 100ms)",
       "DURATION"},
      {"function-memory-limit", true, false, "a JavaScript UDF's heap (default 16 MiB)", "BYTES"},
      {"X", true, true, "a librdkafka property for the job's consumers and producers", "KEY=VALUE"},
  };
  return flags;
}

// Builds a JobSpec from a query file (.sql) or a job file (.json) and the
// flags. Prints the problem and returns false when it cannot.
bool BuildSpec(const char* command, const CommandLine& cl, const std::string& path,
               v1::JobSpec* spec) {
  namespace fs = std::filesystem;
  if (absl::EndsWith(path, ".json")) {
    auto read = ReadJobFile(path);
    if (!read.ok()) {
      std::fprintf(stderr, "sluice %s: %s\n", command,
                   std::string(read.status().message()).c_str());
      return false;
    }
    *spec = *std::move(read);
    spec->clear_query_file();
  } else {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "sluice %s: cannot read %s\n", command, path.c_str());
      return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    spec->set_query(text.str());
  }
  if (auto name = cl.Get("name")) {
    spec->set_name(*name);
  } else if (spec->name().empty()) {
    spec->set_name(fs::path(path).stem().string());
  }
  for (const std::string& binding : cl.GetAll("input")) {
    const size_t eq = binding.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "sluice %s: --input takes ALIAS=topic:T, not '%s'\n", command,
                   binding.c_str());
      return false;
    }
    std::string target = binding.substr(eq + 1);
    if (absl::StartsWith(target, "topic:")) target = target.substr(6);
    v1::InputBinding* input = spec->add_inputs();
    input->set_alias(binding.substr(0, eq));
    input->set_topic(target);
  }
  for (const std::string& binding : cl.GetAll("output")) {
    const size_t eq = binding.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "sluice %s: --output takes NAME=topic:T|file:PATH|stdout, not '%s'\n",
                   command, binding.c_str());
      return false;
    }
    const std::string target = binding.substr(eq + 1);
    v1::OutputBinding* output = spec->add_outputs();
    output->set_name(binding.substr(0, eq));
    if (absl::StartsWith(target, "file:")) {
      output->set_file(target.substr(5));
    } else if (target == "stdout") {
      output->set_stdout(true);
    } else {
      output->set_topic(absl::StartsWith(target, "topic:") ? target.substr(6) : target);
    }
  }
  v1::TimePolicySpec* policy = spec->mutable_default_policy();
  if (auto v = cl.Get("out-of-order-tolerance")) policy->set_out_of_order_tolerance(*v);
  if (auto v = cl.Get("late-arrival-tolerance")) policy->set_late_arrival_tolerance(*v);
  if (auto v = cl.Get("late-policy")) policy->set_late_policy(*v);
  if (auto v = cl.Get("dead-letter-topic")) spec->set_dead_letter_topic(*v);
  if (auto v = cl.Get("start-from")) spec->set_start_from(*v);
  if (auto v = cl.Get("guarantee")) spec->set_guarantee(*v);
  if (absl::Status s =
          ReadUserFunctionFlags(cl.GetAll("function"), cl.GetOr("function-time-limit", ""),
                                cl.GetOr("function-memory-limit", ""), spec->mutable_functions());
      !s.ok()) {
    std::fprintf(stderr, "sluice %s: %s\n", command, std::string(s.message()).c_str());
    return false;
  }
  for (const std::string& text : cl.GetAll("X")) {
    auto kv = ParseKafkaProperty(text);
    if (!kv.ok()) {
      std::fprintf(stderr, "sluice %s: %s\n", command, std::string(kv.status().message()).c_str());
      return false;
    }
    (*spec->mutable_kafka_properties())[kv->first] = kv->second;
  }
  return true;
}

int SubmitOrUpdate(bool update, const std::vector<std::string>& args) {
  const char* command = update ? "update" : "submit";
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp(command, "JOB.sql|JOB.json [flags]",
                   update ? "Replaces a running job's query and bindings. Its tasks restart from "
                            "the latest committed offsets with empty window state."
                          : "Submits a job to the cluster: every worker starts it. A JSON job file "
                            "(a JobSpec) works too; flags override it.",
                   WithClientFlags(SpecFlags()), args, &cl, &exit)) {
    return exit;
  }
  if (cl.positional().size() != 1) {
    std::fprintf(stderr, "sluice %s: give one query file (JOB.sql) or job file (JOB.json)\n",
                 command);
    return kUsage;
  }
  const std::string path = cl.positional()[0];
  v1::JobSpec spec;
  if (!BuildSpec(command, cl, path, &spec)) return kUsage;
  Client client(cl);
  if (int code = client.Connect(command); code != 0) return code;
  grpc::ClientContext context;
  client.Prepare(&context);
  v1::JobInfo job;
  bool created = true;
  grpc::Status status;
  if (update) {
    v1::UpdateJobRequest request;
    *request.mutable_spec() = spec;
    v1::UpdateJobResponse response;
    status = client.stub()->UpdateJob(&context, request, &response);
    if (status.ok() && client.json()) PrintJson(response, true);
    job = response.job();
  } else {
    v1::SubmitJobRequest request;
    *request.mutable_spec() = spec;
    v1::SubmitJobResponse response;
    status = client.stub()->SubmitJob(&context, request, &response);
    if (status.ok() && client.json()) PrintJson(response, true);
    job = response.job();
    created = response.created();
  }
  if (!status.ok()) return Report(command, status, path);
  if (client.json()) return 0;
  if (!created) {
    std::printf("job %s already runs this spec (version %lld); nothing changed\n",
                job.name().c_str(), static_cast<long long>(job.version()));
  } else {
    std::printf("%s job %s (version %lld)\n", update ? "updated" : "submitted", job.name().c_str(),
                static_cast<long long>(job.version()));
    std::printf("  reads %s; writes %s\n", absl::StrJoin(job.input_topics(), ", ").c_str(),
                absl::StrJoin(job.outputs(), ", ").c_str());
    std::printf("  watch it: sluice describe %s, sluice tail %s\n", job.name().c_str(),
                job.name().c_str());
  }
  return 0;
}

}  // namespace

int SubmitCommand(const std::vector<std::string>& args) { return SubmitOrUpdate(false, args); }
int UpdateCommand(const std::vector<std::string>& args) { return SubmitOrUpdate(true, args); }

int ValidateCommand(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp("validate", "JOB.sql|JOB.json [flags]",
                   "Compiles a job on a worker without running it: prints the plan, or the "
                   "errors with line and column.",
                   WithClientFlags(SpecFlags()), args, &cl, &exit)) {
    return exit;
  }
  if (cl.positional().size() != 1) {
    std::fprintf(stderr, "sluice validate: give one query file (JOB.sql) or job file\n");
    return kUsage;
  }
  const std::string path = cl.positional()[0];
  v1::ValidateJobRequest request;
  if (!BuildSpec("validate", cl, path, request.mutable_spec())) return kUsage;
  Client client(cl);
  if (int code = client.Connect("validate"); code != 0) return code;
  grpc::ClientContext context;
  client.Prepare(&context);
  v1::ValidateJobResponse response;
  grpc::Status status = client.stub()->ValidateJob(&context, request, &response);
  if (!status.ok()) return Report("validate", status, path);
  if (client.json()) {
    response.clear_plan();  // the explanation says it for people; --json keeps it short
    PrintJson(response, true);
    return response.valid() ? 0 : kFailed;
  }
  if (!response.valid()) {
    for (const v1::CompileError& error : response.errors()) {
      if (error.line() > 0) {
        std::fprintf(stderr, "%s:%d:%d: error: %s\n", path.c_str(), error.line(), error.column(),
                     error.message().c_str());
      } else {
        std::fprintf(stderr, "%s: error: %s\n", path.c_str(), error.message().c_str());
      }
    }
    return kFailed;
  }
  std::printf("%s: valid\n%s", path.c_str(), response.explain().c_str());
  return 0;
}

int ListCommand(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp("list", "[flags]", "Lists the cluster's jobs.",
                   WithClientFlags({{"all", false, false, "include stopped jobs"}}), args, &cl,
                   &exit)) {
    return exit;
  }
  Client client(cl);
  if (int code = client.Connect("list"); code != 0) return code;
  grpc::ClientContext context;
  client.Prepare(&context);
  v1::ListJobsRequest request;
  request.set_include_stopped(cl.Has("all"));
  v1::ListJobsResponse response;
  grpc::Status status = client.stub()->ListJobs(&context, request, &response);
  if (!status.ok()) return Report("list", status);
  if (client.json()) {
    PrintJson(response, true);
    return 0;
  }
  WarnIfDegraded(response.answered_by());
  if (response.jobs().empty()) {
    std::printf("no jobs%s; submit one with: sluice submit JOB.sql\n",
                cl.Has("all") ? "" : " running");
    return 0;
  }
  Table table({"NAME", "STATE", "VERSION", "TASKS", "EVENTS", "ROWS", "INPUTS", "OUTPUTS"});
  for (const v1::JobInfo& job : response.jobs()) {
    table.Add({job.name(), StateName(job.state()), absl::StrCat(job.version()),
               absl::StrCat(job.tasks()), absl::StrCat(job.events_in()),
               absl::StrCat(job.rows_out()), absl::StrJoin(job.input_topics(), ","),
               absl::StrJoin(job.outputs(), ", ")});
  }
  table.Print();
  return 0;
}

int DescribeCommand(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp("describe", "NAME [flags]",
                   "Shows a job: its spec and plan, and per task where it runs and how far it "
                   "is.",
                   WithClientFlags({}), args, &cl, &exit)) {
    return exit;
  }
  if (cl.positional().size() != 1) {
    std::fprintf(stderr, "sluice describe: name one job\n");
    return kUsage;
  }
  Client client(cl);
  if (int code = client.Connect("describe"); code != 0) return code;
  grpc::ClientContext context;
  client.Prepare(&context);
  v1::DescribeJobRequest request;
  request.set_name(cl.positional()[0]);
  v1::DescribeJobResponse response;
  grpc::Status status = client.stub()->DescribeJob(&context, request, &response);
  if (!status.ok()) return Report("describe", status);
  if (client.json()) {
    response.clear_plan();
    PrintJson(response, true);
    return 0;
  }
  WarnIfDegraded(response.answered_by());
  const v1::JobInfo& job = response.job();
  std::printf("job %s: %s, version %lld, submitted %s via %s\n", job.name().c_str(),
              StateName(job.state()).c_str(), static_cast<long long>(job.version()),
              FormatMs(job.submitted_at_ms()).c_str(), job.submitted_via().c_str());
  if (job.state() == v1::JOB_STATE_STOPPED) {
    std::printf("stopped %s\n", FormatMs(job.stopped_at_ms()).c_str());
  }
  std::printf("inputs:  %s\noutputs: %s\n", absl::StrJoin(job.input_topics(), ", ").c_str(),
              absl::StrJoin(job.outputs(), ", ").c_str());
  std::vector<std::string> workers;
  for (const v1::JobOnWorker& w : response.workers()) {
    workers.push_back(absl::StrCat(w.worker(), " (version ", w.version(), ", ", w.tasks_size(),
                                   w.tasks_size() == 1 ? " task)" : " tasks)"));
  }
  std::printf("workers: %s\n\n",
              workers.empty() ? "none runs it" : absl::StrJoin(workers, ", ").c_str());
  if (!response.tasks().empty()) {
    Table table({"WORKER", "TOPIC", "PARTITION", "OFFSET", "CHECKPOINTED", "LAG", "WATERMARK",
                 "EVENTS", "ROWS", "ADJUSTED", "DROPPED", "DEAD-LETTERED", "STATE"});
    for (const v1::TaskStatus& t : response.tasks()) {
      const int64_t late = t.late_adjusted() + t.out_of_order_adjusted();
      const int64_t dropped = t.late_dropped() + t.out_of_order_dropped() + t.early_dropped();
      std::string state = absl::StrCat(t.state_bytes() / 1024, " KiB");
      if (t.failed()) state += absl::StrCat(" FAILED: ", t.error());
      table.Add({t.worker(), t.topic(), absl::StrCat(t.partition()),
                 t.next_offset() < 0 ? "-" : absl::StrCat(t.next_offset()),
                 t.committed_offset() < 0 ? "-" : absl::StrCat(t.committed_offset()),
                 t.lag() < 0 ? "-" : absl::StrCat(t.lag()),
                 t.watermark().empty() ? "-" : t.watermark(), absl::StrCat(t.events_in()),
                 absl::StrCat(t.rows_out()), absl::StrCat(late), absl::StrCat(dropped),
                 absl::StrCat(t.dead_lettered()), state});
    }
    table.Print();
    std::printf("\n");
  }
  std::printf("query:\n");
  std::istringstream query(response.spec().query());
  for (std::string line; std::getline(query, line);) std::printf("  %s\n", line.c_str());
  std::printf("\nplan:\n%s", response.explain().c_str());
  return 0;
}

int StopCommand(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp("stop", "NAME [flags]",
                   "Stops a job on every worker; finished work is committed. Submitting it "
                   "again resumes from there.",
                   WithClientFlags({}), args, &cl, &exit)) {
    return exit;
  }
  if (cl.positional().size() != 1) {
    std::fprintf(stderr, "sluice stop: name one job\n");
    return kUsage;
  }
  Client client(cl);
  if (int code = client.Connect("stop"); code != 0) return code;
  grpc::ClientContext context;
  client.Prepare(&context);
  v1::StopJobRequest request;
  request.set_name(cl.positional()[0]);
  v1::StopJobResponse response;
  grpc::Status status = client.stub()->StopJob(&context, request, &response);
  if (!status.ok()) return Report("stop", status);
  if (client.json()) {
    PrintJson(response, true);
    return 0;
  }
  if (response.stopped()) {
    std::printf("stopped job %s\n", request.name().c_str());
  } else {
    std::printf("job %s was already stopped\n", request.name().c_str());
  }
  return 0;
}

int TailCommand(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp(
          "tail", "NAME [OUTPUT] [flags]",
          "Prints a job's output rows as they are produced (every Kafka output, or OUTPUT), "
          "until Ctrl-C. Copies of a row that a replay after a crash produced again (same "
          "sluice.id) are dropped.",
          WithClientFlags(
              {{"from-beginning", false, false, "start with the rows already in the output"},
               {"keep-duplicates", false, false,
                "also print the copies a replay produced (same sluice.id as a row printed)"},
               {"limit", true, false, "stop after N rows", "N"}}),
          args, &cl, &exit)) {
    return exit;
  }
  if (cl.positional().empty() || cl.positional().size() > 2) {
    std::fprintf(stderr, "sluice tail: name a job, and optionally one of its outputs\n");
    return kUsage;
  }
  v1::TailOutputRequest request;
  request.set_job(cl.positional()[0]);
  if (cl.positional().size() == 2) request.set_output(cl.positional()[1]);
  request.set_from_beginning(cl.Has("from-beginning"));
  request.set_keep_duplicates(cl.Has("keep-duplicates"));
  if (auto v = cl.Get("limit")) {
    int64_t limit = 0;
    if (!absl::SimpleAtoi(*v, &limit) || limit < 1) {
      std::fprintf(stderr, "sluice tail: --limit takes a positive number\n");
      return kUsage;
    }
    request.set_limit(limit);
  }
  Client client(cl);
  if (int code = client.Connect("tail"); code != 0) return code;
  grpc::ClientContext context;
  client.Authorize(&context);
  auto reader = client.stub()->TailOutput(&context, request);
  v1::TailOutputResponse row;
  std::string first_output;
  bool several = false;
  while (reader->Read(&row)) {
    if (client.json()) {
      PrintJson(row, false);
      continue;
    }
    if (first_output.empty()) first_output = row.output();
    several = several || row.output() != first_output;
    // With one output, rows print bare (pipe them to jq); with several,
    // each says where it comes from.
    if (several || request.output().empty()) {
      std::printf("%s | %s\n", row.output().c_str(), row.row().c_str());
    } else {
      std::printf("%s\n", row.row().c_str());
    }
    std::fflush(stdout);
  }
  grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::ABORTED) {
    // The job was stopped or updated: the end of its output, not a failure.
    std::fprintf(stderr, "sluice tail: %s\n", status.error_message().c_str());
    return 0;
  }
  if (!status.ok()) return Report("tail", status);
  return 0;
}

int WorkersCommand(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!ParseOrHelp("workers", "[flags]",
                   "Lists the cluster's live workers, as the one asked sees them.",
                   WithClientFlags({}), args, &cl, &exit)) {
    return exit;
  }
  Client client(cl);
  if (int code = client.Connect("workers"); code != 0) return code;
  grpc::ClientContext context;
  client.Prepare(&context);
  v1::ListWorkersResponse response;
  grpc::Status status = client.stub()->ListWorkers(&context, v1::ListWorkersRequest(), &response);
  if (!status.ok()) return Report("workers", status);
  if (client.json()) {
    PrintJson(response, true);
    return 0;
  }
  Table table({"NAME", "API", "HEALTH", "STARTED", "CATALOG"});
  for (const v1::WorkerInfo& w : response.workers()) {
    table.Add({w.name(), w.grpc_address().empty() ? "-" : w.grpc_address(), w.health(),
               FormatMs(w.started_at_ms()), absl::StrCat(w.catalog_version(), " commands")});
  }
  table.Print();
  return 0;
}

}  // namespace sluice
