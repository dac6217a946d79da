// `sluice run` (offline replay over JSON-lines files) and `sluice explain`.
//
// `run` is the engine the workers run, fed from files: the same compiled
// plan, operators, time policies and RocksDB state. This file reads the
// command line, compiles the query and binds its inputs, outputs and state
// (a LocalRun); local_run.cc runs it as one task, local_run_partitioned.cc
// as a cluster would. Outputs go to DIR/<output>.jsonl and rejected events
// to DIR/_errors.jsonl.
#include "engine/app/run_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/reference_file.h"
#include "engine/app/base/command_line.h"
#include "engine/app/base/job_loader.h"
#include "engine/app/local_run.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/exec/explain.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"

namespace sluice {
namespace {

const std::vector<FlagSpec>& RunFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"query", true, false, "the job's query", "JOB.sql"},
      {"input", true, true, "bind input ALIAS of the query to a JSON-lines file", "ALIAS=FILE"},
      {"reference", true, true,
       "bind reference input ALIAS (joined on the right of a JOIN) to a JSON-lines, JSON-array "
       "or .csv file, or to a path pattern with {date} and {time} (a version per file, valid "
       "from the time its path names)",
       "ALIAS=PATH"},
      {"output-dir", true, false, "where <output>.jsonl and _errors.jsonl are written", "DIR"},
      {"function", true, true,
       "declare JavaScript user-defined function udf.NAME: FILE.js holds one function, whatever "
       "its own name",
       "NAME=FILE.js"},
      {"function-time-limit", true, false,
       "longest one call of a JavaScript UDF may run (default 100ms); longer calls reject the "
       "event",
       "DURATION"},
      {"function-memory-limit", true, false,
       "a JavaScript UDF interpreter's heap budget (default 16 MiB)", "BYTES"},
      {"out-of-order-tolerance", true, true,
       "events up to this much out of order are reordered (default 0s); ALIAS=D for one input",
       "[ALIAS=]DURATION"},
      {"late-arrival-tolerance", true, true,
       "events older than arrival minus this are late (default 5s); ALIAS=D for one input",
       "[ALIAS=]DURATION"},
      {"late-policy", true, true,
       "late and out-of-order events are adjusted (default) or dropped; ALIAS=P for one input",
       "[ALIAS=]adjust|drop"},
      {"arrival-time-field", true, false,
       "event field holding the arrival time (default: largest event time so far)", "NAME"},
      {"state-dir", true, false,
       "RocksDB state directory (default: a temporary one, removed at the end)", "DIR"},
      {"state-cache-mb", true, false,
       "memory for hot window state before it is written back to RocksDB (default 256)", "MB"},
      {"batch-size", true, false, "events per micro-batch (default 1024)", "N"},
      {"checkpoint-every", true, false,
       "checkpoint state every N events (default: only at the end)", "N"},
      {"restart-after", true, false,
       "testing: after N events checkpoint, drop all in-memory state and the local store, "
       "rebuild the store from the changelog as a worker taking over the partition does, and go "
       "on (with --partitions: the task reading then)",
       "N"},
      {"partitions", true, false,
       "run as a cluster would over N partitions: split each input by its partition key as "
       "Kafka's partitioner does, a task per partition, exchanges between stages (default: one "
       "task over the whole input)",
       "N"},
      {"partition-key", true, false,
       "the event field inputs are partitioned by (default deviceId; '' for unknown)", "FIELD"},
      {"quiet", false, false, "print no summary"},
      {"help", false, false, "show this help"},
  };
  return *flags;
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *ok = false;
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  *ok = true;
  return ss.str();
}

// The job's query and compiled plan, or a printed error.
struct CompiledJob {
  std::string path;
  std::string text;
  sql::CompileResult result;
};

bool CompileJobFile(const std::string& path, const sql::CompileOptions& options, CompiledJob* job) {
  bool ok = false;
  job->path = path;
  job->text = ReadFile(path, &ok);
  if (!ok) {
    std::fprintf(stderr, "%s: error: cannot read the query file\n", path.c_str());
    return false;
  }
  job->result = sql::CompileQuery(job->text, options);
  if (!job->result.ok) {
    std::fprintf(stderr, "%s\n", sql::FormatQueryError(path, job->result.error).c_str());
    return false;
  }
  return true;
}

using local_run::Fail;
using local_run::InputBinding;
using local_run::LocalRun;
using local_run::RunSettings;

// Time policies: "--late-policy drop" sets every input's, "--late-policy
// telemetry=drop" one input's (the flags repeat). `per_input` is by
// lower-case alias.
absl::Status ParseTimePolicies(const CommandLine& cl, sql::CompileOptions* options,
                               std::map<std::string, v1::TimePolicy>* per_input) {
  auto apply_policy = [&](const char* flag, auto&& set) -> absl::Status {
    for (const std::string& value : cl.GetAll(flag)) {
      const size_t eq = value.find('=');
      const std::string setting = eq == std::string::npos ? value : value.substr(eq + 1);
      if (eq == std::string::npos) {
        if (absl::Status s = set(&options->default_policy, setting); !s.ok()) return s;
        for (auto& [alias, policy] : *per_input) {
          if (absl::Status s = set(&policy, setting); !s.ok()) return s;
        }
        continue;
      }
      const std::string alias = ToLowerAscii(value.substr(0, eq));
      auto [it, inserted] = per_input->try_emplace(alias, options->default_policy);
      if (absl::Status s = set(&it->second, setting); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  auto set_duration = [](auto setter) {
    return [setter](v1::TimePolicy* p, const std::string& text) -> absl::Status {
      auto ticks = ParseDurationTicks(text);
      if (!ticks.ok()) return ticks.status();
      setter(p, *ticks);
      return absl::OkStatus();
    };
  };
  if (absl::Status s =
          apply_policy("out-of-order-tolerance", set_duration([](v1::TimePolicy* p, int64_t t) {
                         p->set_out_of_order_tolerance_ticks(t);
                       }));
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          apply_policy("late-arrival-tolerance", set_duration([](v1::TimePolicy* p, int64_t t) {
                         p->set_late_arrival_tolerance_ticks(t);
                       }));
      !s.ok()) {
    return s;
  }
  return apply_policy("late-policy", [](v1::TimePolicy* p, const std::string& v) -> absl::Status {
    if (v == "adjust") {
      p->set_action(v1::TimePolicy::ACTION_ADJUST);
    } else if (v == "drop") {
      p->set_action(v1::TimePolicy::ACTION_DROP);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--late-policy must be adjust or drop, not '", v, "'"));
    }
    return absl::OkStatus();
  });
}

// The numeric flags; a usage error as a message.
absl::Status ParseRunSettings(const CommandLine& cl, RunSettings* settings) {
  for (auto [flag, target] : std::initializer_list<std::pair<const char*, int64_t*>>{
           {"checkpoint-every", &settings->checkpoint_every},
           {"restart-after", &settings->restart_after}}) {
    if (auto v = cl.Get(flag); v && (!absl::SimpleAtoi(*v, target) || *target < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " takes a whole number, not '", *v, "'"));
    }
  }
  if (auto v = cl.Get("batch-size");
      v && (!absl::SimpleAtoi(*v, &settings->batch_size) || settings->batch_size == 0 ||
            settings->batch_size > 1'000'000)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch-size takes a number from 1 to 1000000, not '", *v, "'"));
  }
  if (auto v = cl.Get("state-cache-mb"); v && !absl::SimpleAtoi(*v, &settings->cache_mb)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--state-cache-mb takes a whole number, not '", *v, "'"));
  }
  if (auto v = cl.Get("partitions");
      v && (!absl::SimpleAtoi(*v, &settings->partitions) || settings->partitions < 1 ||
            settings->partitions > 1024)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--partitions takes a number from 1 to 1024, not '", *v, "'"));
  }
  settings->arrival_field = cl.GetOr("arrival-time-field", "");
  settings->out_dir = *cl.Get("output-dir");
  settings->state_dir = cl.GetOr("state-dir", "");
  settings->quiet = cl.Has("quiet");
  return absl::OkStatus();
}

// Binds each --input ALIAS=FILE to the plan's input of that name; every
// input must have one. Prints the error and returns false otherwise.
bool BindInputs(const CommandLine& cl, const CompiledJob& job, std::vector<InputBinding>* inputs) {
  const v1::Plan& plan = job.result.plan;
  inputs->resize(plan.inputs_size());
  for (const std::string& binding : cl.GetAll("input")) {
    const size_t eq = binding.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == binding.size()) {
      Fail(absl::StrCat("--input takes ALIAS=FILE, got '", binding, "'"), 2);
      return false;
    }
    const std::string alias = binding.substr(0, eq);
    bool matched = false;
    for (int i = 0; i < plan.inputs_size(); ++i) {
      if (EqualsIgnoreCase(plan.inputs(i).name(), alias) && plan.inputs(i).reference()) {
        Fail(absl::StrCat("--input ", alias,
                          ": the query joins it as reference data; bind it with --reference ",
                          alias, "=FILE"),
             2);
        return false;
      }
      if (EqualsIgnoreCase(plan.inputs(i).name(), alias)) {
        (*inputs)[i].alias = plan.inputs(i).name();
        (*inputs)[i].path = binding.substr(eq + 1);
        matched = true;
      }
    }
    if (!matched) {
      std::vector<std::string> names;
      for (const v1::Input& in : plan.inputs()) names.push_back(in.name());
      Fail(absl::StrCat("--input ", alias, ": the query reads no input of that name (it reads: ",
                        absl::StrJoin(names, ", "), ")"),
           2);
      return false;
    }
  }
  for (int i = 0; i < plan.inputs_size(); ++i) {
    if ((*inputs)[i].path.empty() && !plan.inputs(i).reference()) {
      sql::QueryError error;
      error.location.line = plan.inputs(i).span().line();
      error.location.column = plan.inputs(i).span().column();
      error.message = absl::StrCat("input '", plan.inputs(i).name(), "' has no data: add --input ",
                                   plan.inputs(i).name(), "=FILE");
      std::fprintf(stderr, "%s\n", sql::FormatQueryError(job.path, error).c_str());
      return false;
    }
  }
  for (const v1::Node& node : plan.nodes()) {
    if (node.has_event_time() && !node.event_time().has_timestamp_by()) {
      const int up = node.inputs(0);
      (*inputs)[plan.nodes(up).source().input()].by_arrival = true;
    }
  }
  return true;
}

// The --reference ALIAS=PATH bindings, by lower-case alias.
absl::StatusOr<std::map<std::string, std::string>> ReferenceBindings(const CommandLine& cl) {
  std::map<std::string, std::string> bindings;
  for (const std::string& binding : cl.GetAll("reference")) {
    const size_t eq = binding.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == binding.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--reference takes ALIAS=PATH, got '", binding, "'"));
    }
    bindings[ToLowerAscii(binding.substr(0, eq))] = binding.substr(eq + 1);
  }
  return bindings;
}

// Loads every reference input of the plan into `provider`, reporting rows
// that could not be read and rows that have no join key. A reference input
// is not a stream: the runners, which keep a file per plan input, get an
// empty one for it.
bool LoadReferences(const std::map<std::string, std::string>& bindings, const CompiledJob& job,
                    LocalRun& run, StaticReferenceProvider* provider) {
  const v1::Plan& plan = run.plan;
  for (const auto& [alias, path] : bindings) {
    bool used = false;
    for (const v1::Input& in : plan.inputs()) used = used || ToLowerAscii(in.name()) == alias;
    if (!used) {
      Fail(absl::StrCat("--reference ", alias, ": the query joins no reference input of that name"),
           2);
      return false;
    }
  }
  for (int i = 0; i < plan.inputs_size(); ++i) {
    const v1::Input& in = plan.inputs(i);
    if (!in.reference()) continue;
    auto bound = bindings.find(ToLowerAscii(in.name()));
    if (bound == bindings.end()) {
      sql::QueryError error;
      error.location.line = in.span().line();
      error.location.column = in.span().column();
      error.message = absl::StrCat("reference input '", in.name(),
                                   "' has no data: add --reference ", in.name(), "=FILE");
      std::fprintf(stderr, "%s\n", sql::FormatQueryError(job.path, error).c_str());
      return false;
    }
    ReferenceLoadReport report;
    auto versions = LoadReference(in, bound->second, &report);
    if (!versions.ok()) {
      Fail(std::string(versions.status().message()));
      return false;
    }
    if (report.bad_rows > 0 && !run.settings.quiet) {
      std::fprintf(stderr,
                   "sluice run: reference %s: %lld row(s) could not be read and are left out\n",
                   in.name().c_str(), static_cast<long long>(report.bad_rows));
      for (const std::string& p : report.problems) std::fprintf(stderr, "  %s\n", p.c_str());
    }
    for (const v1::Node& node : plan.nodes()) {
      if (!node.has_reference_join() || node.reference_join().reference_input() != i) continue;
      const v1::ReferenceJoinNode& j = node.reference_join();
      int64_t keyless = 0;
      for (const auto& version : *versions) {
        for (uint32_t r = 0; r < version->rows().num_rows; ++r) {
          for (int32_t slot : j.reference_keys()) {
            if (version->rows()
                    .value(static_cast<size_t>(j.reference_columns(slot)), r)
                    .is_null()) {
              ++keyless;
              break;
            }
          }
        }
      }
      if (keyless > 0 && !run.settings.quiet) {
        std::fprintf(stderr,
                     "sluice run: reference %s: %lld row(s) have no value for the join key (%s) "
                     "and can never match\n",
                     in.name().c_str(), static_cast<long long>(keyless),
                     absl::StrJoin(j.key_text(), ", ").c_str());
      }
    }
    provider->Set(i, *std::move(versions));
    const std::string empty = absl::StrCat(run.settings.state_dir, "/reference-", i, ".jsonl");
    std::ofstream(empty, std::ios::trunc).flush();
    run.inputs[i].alias = in.name();
    run.inputs[i].path = empty;
  }
  run.env.references = provider;
  return true;
}

// DIR/<output>.jsonl for each output and DIR/_errors.jsonl.
absl::Status OpenOutputs(LocalRun& run) {
  std::error_code ec;
  std::filesystem::create_directories(run.settings.out_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create --output-dir ", run.settings.out_dir, ": ", ec.message()));
  }
  for (const v1::Output& output : run.plan.outputs()) {
    auto sink =
        JsonLinesSink::Create(absl::StrCat(run.settings.out_dir, "/", output.name(), ".jsonl"));
    if (!sink.ok()) return sink.status();
    run.env.sinks.push_back(sink->get());
    run.sinks.push_back(*std::move(sink));
  }
  auto error_sink = JsonLinesSink::Create(absl::StrCat(run.settings.out_dir, "/_errors.jsonl"));
  if (!error_sink.ok()) return error_sink.status();
  run.errors = std::make_unique<local_run::ErrorOutput>(*std::move(error_sink));
  return absl::OkStatus();
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  auto parsed = CommandLine::Parse(RunFlags(), args);
  if (!parsed.ok()) {
    return Fail(absl::StrCat(parsed.status().message(),
                             "\n\nusage: sluice run --query JOB.sql --input ALIAS=FILE ... "
                             "--output-dir DIR [flags]\n",
                             CommandLine::Help(RunFlags())),
                2);
  }
  const CommandLine& cl = *parsed;
  if (cl.Has("help")) {
    std::printf(
        "usage: sluice run --query JOB.sql --input ALIAS=FILE [--input ...] --output-dir DIR "
        "[flags]\n\n%s",
        CommandLine::Help(RunFlags()).c_str());
    return 0;
  }
  if (!cl.Has("query") || !cl.Has("output-dir")) {
    return Fail("--query and --output-dir are required (see sluice run --help)", 2);
  }
  sql::CompileOptions options;
  std::map<std::string, v1::TimePolicy> per_input;  // by lower-case alias
  if (absl::Status s = ParseTimePolicies(cl, &options, &per_input); !s.ok()) {
    return Fail(std::string(s.message()), 2);
  }
  LocalRun run;
  if (absl::Status s = ParseRunSettings(cl, &run.settings); !s.ok()) {
    return Fail(std::string(s.message()), 2);
  }
  if (auto v = cl.Get("partition-key")) options.default_partition_key = *v;
  auto references = ReferenceBindings(cl);
  if (!references.ok()) return Fail(std::string(references.status().message()), 2);
  for (const auto& [alias, path] : *references) options.reference_inputs.push_back(alias);
  google::protobuf::RepeatedPtrField<v1::UserFunctionSpec> functions;
  if (absl::Status s =
          ReadUserFunctionFlags(cl.GetAll("function"), cl.GetOr("function-time-limit", ""),
                                cl.GetOr("function-memory-limit", ""), &functions);
      !s.ok()) {
    return Fail(std::string(s.message()), 2);
  }
  if (absl::Status s = AddUserFunctions(functions, &options); !s.ok()) {
    return Fail(std::string(s.message()), 2);
  }

  CompiledJob job;
  if (!CompileJobFile(*cl.Get("query"), options, &job)) return 2;
  for (const auto& [alias, policy] : per_input) {
    bool found = false;
    for (v1::Node& node : *job.result.plan.mutable_nodes()) {
      if (node.has_event_time() && ToLowerAscii(node.event_time().input_name()) == alias) {
        *node.mutable_event_time()->mutable_policy() = policy;
        found = true;
      }
    }
    if (!found) {
      return Fail(
          absl::StrCat("a time policy names input '", alias, "', which the query does not read"),
          2);
    }
  }
  if (!BindInputs(cl, job, &run.inputs)) return 2;
  run.plan = std::move(job.result.plan);
  if (absl::Status s = OpenOutputs(run); !s.ok()) return Fail(std::string(s.message()));

  // State: --state-dir, or a temporary directory removed at the end.
  local_run::TempDir temp;
  if (run.settings.state_dir.empty()) {
    if (temp.path().empty()) return Fail("cannot create a temporary state directory");
    run.settings.state_dir = temp.path();
  }
  std::error_code ec;
  std::filesystem::create_directories(run.settings.state_dir, ec);
  StaticReferenceProvider reference_data;
  if (!LoadReferences(*references, job, run, &reference_data)) return 2;
  RegisterBuiltinOperators(&run.registry);
  if (absl::Status s = local_run::OpenInputs(run); !s.ok()) return Fail(std::string(s.message()));
  auto store = StateStore::Open(run.settings.state_dir);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  run.store = *std::move(store);

  run.env.registry = &run.registry;
  run.env.store = run.store.get();
  run.env.job_name = "run";
  run.env.partition = 0;
  run.env.state_cache_bytes = run.settings.cache_mb << 20;
  return run.settings.partitions > 0 ? local_run::RunPartitioned(run) : local_run::RunOneTask(run);
}

int ExplainCommand(const std::vector<std::string>& args) {
  static const auto* flags = new std::vector<FlagSpec>{
      {"reference", true, true, "ALIAS is reference data (joined on the right of a JOIN)", "ALIAS"},
      {"function", true, true, "declare JavaScript user-defined function udf.NAME", "NAME=FILE.js"},
      {"help", false, false, "show this help"},
  };
  auto parsed = CommandLine::Parse(*flags, args);
  if (!parsed.ok() || parsed->positional().size() != 1 || parsed->Has("help")) {
    std::fprintf(parsed.ok() && parsed->Has("help") ? stdout : stderr,
                 "usage: sluice explain [--reference ALIAS ...] [--function NAME=FILE.js ...] "
                 "JOB.sql\n\nPrints the compiled "
                 "operator DAG: steps, keys, windows, joins and the state each operator "
                 "keeps.\n");
    return parsed.ok() && parsed->Has("help") ? 0 : 2;
  }
  sql::CompileOptions options;
  for (const std::string& alias : parsed->GetAll("reference")) {
    // ALIAS, or ALIAS=PATH as sluice run takes it.
    options.reference_inputs.push_back(alias.substr(0, alias.find('=')));
  }
  google::protobuf::RepeatedPtrField<v1::UserFunctionSpec> functions;
  if (absl::Status s = ReadUserFunctionFlags(parsed->GetAll("function"), "", "", &functions);
      !s.ok()) {
    return Fail(std::string(s.message()), 2);
  }
  if (absl::Status s = AddUserFunctions(functions, &options); !s.ok()) {
    return Fail(std::string(s.message()), 2);
  }
  CompiledJob job;
  if (!CompileJobFile(parsed->positional()[0], options, &job)) return 2;
  OperatorRegistry registry;
  RegisterBuiltinOperators(&registry);
  auto text = ExplainPlan(job.result.plan, registry, job.result.passes);
  if (!text.ok()) {
    std::fprintf(stderr, "sluice explain: internal error: %s\n",
                 std::string(text.status().message()).c_str());
    return 1;
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

}  // namespace sluice
