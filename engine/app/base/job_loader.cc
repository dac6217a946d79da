#include "engine/app/base/job_loader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/app/base/command_line.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/expr/javascript/javascript_host.h"
#include "engine/expr/javascript/javascript_interpreter.h"
#include "google/protobuf/util/json_util.h"
#include "sql/compiler.h"
#include "sql/limits.h"

namespace sluice {
namespace {

// A name from a request as it may appear in a message: at most 120 bytes,
// bytes outside printable ASCII as \xNN (no NUL, control or broken UTF-8).
std::string DescribeName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size() && i < 120; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  if (name.size() > 120) out += "...";
  return out;
}

// Job names become parts of topic names (`<name>.errors`,
// `sluice.<name>.<node>.changelog`), consumer groups and paths: letters,
// digits, '-', '_' and '.', starting with a letter or digit, no "..".
bool ValidJobName(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  if (name.find("..") != std::string::npos) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

constexpr char kJobNameRule[] =
    "a job name is 1 to 100 letters, digits, '-', '_' or '.', starting with a letter or digit "
    "and without '..', not ";

// Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
absl::Status CheckTopicName(const std::string& what, const std::string& topic) {
  bool ok = !topic.empty() && topic.size() <= 249 && topic != "." && topic != "..";
  for (char c : topic) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what,
                   ": a Kafka topic name is 1 to 249 letters, digits, '.', '_' or '-' "
                   "(not '.' or '..'), not '",
                   DescribeName(topic), "'"));
}

}  // namespace

absl::StatusOr<v1::JobSpec> ParseJobSpec(const std::string& json, const std::string& where) {
  v1::JobSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &spec, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " is not a valid job: ", DescribeName(status.ToString())));
  }
  return spec;
}

absl::StatusOr<v1::JobSpec> ReadJobFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read job file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseJobSpec(ss.str(), absl::StrCat("job file ", path));
  if (!parsed.ok()) return parsed.status();
  v1::JobSpec spec = *std::move(parsed);
  if (spec.query().empty() && !spec.query_file().empty()) {
    std::filesystem::path query_path(spec.query_file());
    if (query_path.is_relative()) {
      query_path = std::filesystem::path(path).parent_path() / query_path;
    }
    std::ifstream q(query_path);
    if (!q)
      return absl::NotFoundError(absl::StrCat("cannot read query file ", query_path.string()));
    std::stringstream qs;
    qs << q.rdbuf();
    spec.set_query(qs.str());
  }
  return spec;
}

absl::StatusOr<v1::TimePolicy> ParseTimePolicy(const v1::TimePolicySpec& spec,
                                               const v1::TimePolicy& base) {
  v1::TimePolicy policy = base;
  if (!spec.out_of_order_tolerance().empty()) {
    auto t = ParseDurationTicks(spec.out_of_order_tolerance());
    if (!t.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("outOfOrderTolerance: ", t.status().message()));
    policy.set_out_of_order_tolerance_ticks(*t);
  }
  if (!spec.late_arrival_tolerance().empty()) {
    auto t = ParseDurationTicks(spec.late_arrival_tolerance());
    if (!t.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("lateArrivalTolerance: ", t.status().message()));
    policy.set_late_arrival_tolerance_ticks(*t);
  }
  if (!spec.late_policy().empty()) {
    if (spec.late_policy() == "adjust") {
      policy.set_action(v1::TimePolicy::ACTION_ADJUST);
    } else if (spec.late_policy() == "drop") {
      policy.set_action(v1::TimePolicy::ACTION_DROP);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("latePolicy must be adjust or drop, not '", spec.late_policy(), "'"));
    }
  }
  return policy;
}

absl::Status ReadUserFunctionFlags(const std::vector<std::string>& bindings,
                                   const std::string& time_limit, const std::string& memory_limit,
                                   google::protobuf::RepeatedPtrField<v1::UserFunctionSpec>* out) {
  int64_t memory = 0;
  if (!memory_limit.empty() && !absl::SimpleAtoi(memory_limit, &memory)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--function-memory-limit takes a number of bytes, not '", memory_limit, "'"));
  }
  for (const std::string& binding : bindings) {
    const size_t eq = binding.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == binding.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--function takes NAME=FILE.js, got '", binding, "'"));
    }
    const std::string path = binding.substr(eq + 1);
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read function file ", path));
    // One byte past the limit is enough to refuse it.
    std::string source(static_cast<size_t>(sql::kMaxUserFunctionSourceBytes) + 1, '\0');
    in.read(source.data(), static_cast<std::streamsize>(source.size()));
    source.resize(static_cast<size_t>(in.gcount()));
    v1::UserFunctionSpec* f = out->Add();
    f->set_name(binding.substr(0, eq));
    f->set_source(std::move(source));
    f->set_time_limit(time_limit);
    f->set_memory_limit_bytes(memory);
  }
  return absl::OkStatus();
}

absl::Status AddUserFunctions(const google::protobuf::RepeatedPtrField<v1::UserFunctionSpec>& specs,
                              sql::CompileOptions* options) {
  if (specs.size() > sql::kMaxUserFunctions) {
    return absl::InvalidArgumentError(absl::StrCat("a job declares at most ",
                                                   sql::kMaxUserFunctions,
                                                   " user-defined functions, not ", specs.size()));
  }
  for (const v1::UserFunctionSpec& f : specs) {
    bool identifier = !f.name().empty() && f.name().size() <= 64 &&
                      !std::isdigit(static_cast<unsigned char>(f.name()[0]));
    for (char c : f.name())
      identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!identifier) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a user-defined function's name is 1 to 64 letters, digits or '_', not starting with a "
          "digit, not '",
          DescribeName(f.name()), "'"));
    }
    const std::string name = ToLowerAscii(f.name());
    const std::string what = absl::StrCat("function udf.", f.name(), ": ");
    if (options->user_functions.count(name) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, "declared twice"));
    }
    if (static_cast<int64_t>(f.source().size()) > sql::kMaxUserFunctionSourceBytes) {
      return absl::InvalidArgumentError(absl::StrCat(what, "the source is ", f.source().size(),
                                                     " bytes; the limit is ",
                                                     sql::kMaxUserFunctionSourceBytes));
    }
    sql::CompileOptions::UserFunction declared;
    declared.source = f.source();
    if (!f.time_limit().empty()) {
      auto ticks = ParseDurationTicks(f.time_limit());
      if (!ticks.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, "timeLimit: ", ticks.status().message()));
      }
      declared.time_limit_ms = *ticks / kTicksPerMillisecond;
      if (declared.time_limit_ms < 1 || declared.time_limit_ms > 10'000) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, "the time limit is 1ms to 10s, not ", f.time_limit()));
      }
    }
    if (f.memory_limit_bytes() != 0) {
      if (f.memory_limit_bytes() < javascript::kMinMemoryLimitBytes ||
          f.memory_limit_bytes() > (256 << 20)) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, "the memory limit is 1 MiB to 256 MiB, not ", f.memory_limit_bytes()));
      }
      declared.memory_limit_bytes = f.memory_limit_bytes();
    }
    // Compiling parses the source within the heap budget and runs nothing.
    auto compiled = javascript::JavaScriptInterpreter::Create(
        name, f.source(),
        declared.memory_limit_bytes > 0 ? declared.memory_limit_bytes
                                        : javascript::kDefaultMemoryLimitBytes);
    if (!compiled.ok()) return compiled.status();
    options->user_functions[name] = std::move(declared);
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedJob> LoadJob(const v1::JobSpec& spec) {
  if (!ValidJobName(spec.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat(kJobNameRule, "'", DescribeName(spec.name()), "'"));
  }
  if (spec.query().empty()) return absl::InvalidArgumentError("the job has no query");
  auto base = ParseTimePolicy(spec.default_policy(), sql::CompileOptions::DefaultTimePolicy());
  if (!base.ok()) return base.status();
  sql::CompileOptions options;
  options.default_policy = *base;
  for (const v1::InputBinding& binding : spec.inputs()) {
    if (binding.reference()) options.reference_inputs.push_back(binding.alias());
  }
  if (absl::Status s = AddUserFunctions(spec.functions(), &options); !s.ok()) return s;
  sql::CompileResult compiled = sql::CompileQuery(spec.query(), options);
  if (!compiled.ok) {
    return absl::InvalidArgumentError(sql::FormatQueryError("", compiled.error));
  }
  return BindJob(spec, std::move(compiled.plan));
}

absl::StatusOr<LoadedJob> BindJob(const v1::JobSpec& spec, v1::Plan plan) {
  if (!ValidJobName(spec.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat(kJobNameRule, "'", DescribeName(spec.name()), "'"));
  }
  if (plan.version() > sql::kPlanVersion) {
    return absl::FailedPreconditionError(absl::StrCat("the plan has format version ",
                                                      plan.version(), "; this worker runs up to ",
                                                      sql::kPlanVersion, " (upgrade it)"));
  }
  auto base = ParseTimePolicy(spec.default_policy(), sql::CompileOptions::DefaultTimePolicy());
  if (!base.ok()) return base.status();
  LoadedJob job;
  job.spec = spec;
  job.plan = std::move(plan);
  // Inputs: bound ones, else the topic named like the alias.
  for (const v1::InputBinding& binding : spec.inputs()) {
    bool found = false;
    for (const v1::Input& input : job.plan.inputs())
      found |= EqualsIgnoreCase(input.name(), binding.alias());
    if (!found) {
      std::vector<std::string> names;
      for (const v1::Input& input : job.plan.inputs()) names.push_back(input.name());
      return absl::InvalidArgumentError(
          absl::StrCat("input '", binding.alias(),
                       "' is not read by the query (it reads: ", absl::StrJoin(names, ", "), ")"));
    }
    if (!binding.format().empty() && binding.format() != "json") {
      return absl::InvalidArgumentError(absl::StrCat("input '", binding.alias(), "': format '",
                                                     binding.format(),
                                                     "' is not supported (json is)"));
    }
  }
  for (const v1::Input& input : job.plan.inputs()) {
    std::string topic = input.name();
    for (const v1::InputBinding& binding : spec.inputs()) {
      if (!EqualsIgnoreCase(binding.alias(), input.name())) continue;
      if (!binding.topic().empty()) topic = binding.topic();
      if (binding.has_policy()) {
        auto policy = ParseTimePolicy(binding.policy(), *base);
        if (!policy.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("input '", binding.alias(), "': ", policy.status().message()));
        }
        for (v1::Node& node : *job.plan.mutable_nodes()) {
          if (node.has_event_time() &&
              EqualsIgnoreCase(node.event_time().input_name(), input.name())) {
            *node.mutable_event_time()->mutable_policy() = *policy;
          }
        }
      }
    }
    if (absl::Status s = CheckTopicName(absl::StrCat("input ", input.name()), topic); !s.ok()) {
      return s;
    }
    // The plan and the spec agree on which inputs are reference data (a
    // plan from the catalog was compiled from this spec).
    bool reference = false;
    for (const v1::InputBinding& binding : spec.inputs()) {
      reference |= EqualsIgnoreCase(binding.alias(), input.name()) && binding.reference();
    }
    if (reference != input.reference()) {
      return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "' is ",
                                                     input.reference() ? "" : "not ",
                                                     "reference data in the compiled plan, but the "
                                                     "job spec says otherwise; compile it again"));
    }
    for (const v1::InputBinding& binding : spec.inputs()) {
      if (!EqualsIgnoreCase(binding.alias(), input.name())) continue;
      if (binding.file().empty()) {
        if (!binding.refresh_interval().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "input '", input.name(),
              "': refreshInterval is for reference files; a reference topic is followed as it "
              "changes"));
        }
        continue;
      }
      if (!binding.reference()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", input.name(), "': only reference inputs read a file (\"reference\": true)"));
      }
      // A path under the worker's --reference-root: CheckJobPolicy.
      LoadedJob::ReferenceFile file;
      file.path = binding.file();
      if (!binding.refresh_interval().empty()) {
        auto t = ParseDurationTicks(binding.refresh_interval());
        if (!t.ok() || *t < 100 * kTicksPerMillisecond) {
          return absl::InvalidArgumentError(
              absl::StrCat("input '", input.name(), "': refreshInterval must be a duration of ",
                           "at least 100ms, like \"5m\", not '", binding.refresh_interval(), "'"));
        }
        file.refresh_ms = *t / kTicksPerMillisecond;
      }
      job.reference_files[static_cast<int>(job.input_topics.size())] = std::move(file);
    }
    job.input_topics.push_back(topic);
  }
  // Outputs: bound ones, else the topic named like the output.
  for (const v1::OutputBinding& binding : spec.outputs()) {
    bool found = false;
    for (const v1::Output& output : job.plan.outputs())
      found |= EqualsIgnoreCase(output.name(), binding.name());
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", binding.name(), "' is not written by the query"));
    }
  }
  for (const v1::Output& output : job.plan.outputs()) {
    OutputTarget target{OutputTarget::Kind::kTopic, output.name()};
    for (const v1::OutputBinding& binding : spec.outputs()) {
      if (!EqualsIgnoreCase(binding.name(), output.name())) continue;
      if (binding.has_file()) {
        target = {OutputTarget::Kind::kFile, binding.file()};
      } else if (binding.has_stdout() && binding.stdout()) {
        target = {OutputTarget::Kind::kStdout, output.name()};
      } else if (binding.has_topic() && !binding.topic().empty()) {
        target = {OutputTarget::Kind::kTopic, binding.topic()};
      }
    }
    if (target.kind == OutputTarget::Kind::kTopic) {
      if (absl::Status s = CheckTopicName(absl::StrCat("output ", output.name()), target.name);
          !s.ok()) {
        return s;
      }
    }
    job.outputs.push_back(target);
  }
  job.dead_letter_topic = spec.dead_letter_topic().empty() ? absl::StrCat(spec.name(), ".errors")
                                                           : spec.dead_letter_topic();
  if (absl::Status s = CheckTopicName("dead-letter topic", job.dead_letter_topic); !s.ok()) {
    return s;
  }
  if (!spec.guarantee().empty() && spec.guarantee() != "at_least_once" &&
      spec.guarantee() != "exactly_once") {
    return absl::InvalidArgumentError(absl::StrCat(
        "guarantee must be at_least_once or exactly_once, not '", spec.guarantee(), "'"));
  }
  job.exactly_once = spec.guarantee() == "exactly_once";
  if (!spec.start_from().empty()) {
    if (spec.start_from() != "earliest" && spec.start_from() != "latest") {
      return absl::InvalidArgumentError(
          absl::StrCat("startFrom must be earliest or latest, not '", spec.start_from(), "'"));
    }
    job.kafka.emplace_back("auto.offset.reset", spec.start_from());
  }
  for (const auto& [key, value] : spec.kafka_properties()) job.kafka.emplace_back(key, value);
  return job;
}

}  // namespace sluice
