// `sluice run` (offline replay over JSON-lines files) and `sluice explain`.
//
// `run` is the engine the workers run, fed from files: the same compiled
// plan, operators, time policies and RocksDB state. Inputs are read batch by
// batch, round-robin across inputs; outputs go to DIR/<output>.jsonl and
// rejected events to DIR/_errors.jsonl.
#include "engine/app/run_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/file_sink.h"
#include "connectors/json_decoder.h"
#include "connectors/json_lines_file.h"
#include "engine/app/base/command_line.h"
#include "engine/core/murmur2.h"
#include "engine/core/value.h"
#include "engine/core/value_codec.h"
#include "engine/exec/explain.h"
#include "engine/exec/staged_job.h"
#include "engine/exec/task.h"
#include "engine/runtime/checkpoint_protocol.h"
#include "engine/runtime/input_driver.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "simdjson.h"
#include "sql/compiler.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

const std::vector<FlagSpec>& RunFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"query", true, false, "the job's query", "JOB.sql"},
      {"input", true, true, "bind input ALIAS of the query to a JSON-lines file", "ALIAS=FILE"},
      {"output-dir", true, false, "where <output>.jsonl and _errors.jsonl are written", "DIR"},
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
       "on",
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

// Writes rejected events as JSON lines: input, line (or element), reason,
// and the raw event when it is still at hand.
class ErrorOutput {
 public:
  explicit ErrorOutput(std::unique_ptr<JsonLinesSink> sink) : sink_(std::move(sink)) {}

  absl::Status Write(std::string_view input, bool array_mode, int64_t position,
                     std::string_view reason, std::string_view data) {
    std::string line = "{\"input\":";
    if (input.empty()) {
      line += "null";
    } else {
      AppendJsonString(input, &line);
    }
    absl::StrAppend(&line, ",\"", array_mode ? "element" : "line", "\":");
    if (position >= 0) {
      absl::StrAppend(&line, position);
    } else {
      line += "null";
    }
    line += ",\"reason\":";
    AppendJsonString(reason, &line);
    if (!data.empty()) AppendRawTextField("data", data, &line);
    line += "}";
    ++count_;
    return sink_->WriteLine(line);
  }
  absl::Status Flush() { return sink_->Flush(); }
  int64_t count() const { return count_; }

 private:
  std::unique_ptr<JsonLinesSink> sink_;
  int64_t count_ = 0;
};

struct InputBinding {
  std::string alias;
  std::string path;
  std::unique_ptr<JsonLinesFile> file;
  std::unique_ptr<JsonDecoder> decoder;
  bool by_arrival = false;  // some step reads it without TIMESTAMP BY
  bool done = false;
};

int Fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "sluice run: %s\n", message.c_str());
  return code;
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

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(base ? base : "/tmp", "/sluice-run-XXXXXX");
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The field `key` of a JSON event as Kafka's producer would have keyed it:
// a string's characters, another value's JSON text. Empty when the event is
// not an object, lacks the field or holds null there: such events all go to
// partition 0, so that GROUP BY's one NULL group stays in one place.
std::string PartitionKeyOf(std::string_view line, const std::string& key) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return "";
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return "";
  for (auto field : object) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) return "";
    if (!EqualsIgnoreCase(name, key)) continue;
    simdjson::ondemand::value value = field.value();
    simdjson::ondemand::json_type type;
    if (value.type().get(type) == simdjson::SUCCESS &&
        type == simdjson::ondemand::json_type::null) {
      return "";
    }
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    if (field.value().raw_json_token().get(text) == simdjson::SUCCESS) {
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
      return std::string(text);
    }
    return "";
  }
  return "";
}

// `sluice run --partitions N`: each input split by its partition key as
// Kafka's default partitioner splits a topic keyed by it, a task per
// partition, in-process exchanges between stages (StagedJob). Events
// without the key go to partition 0. Rejected events keep their line in
// the original file.
int RunPartitioned(const v1::Plan& plan, int partitions, const TaskEnvironment& base,
                   std::vector<InputBinding>& inputs, const std::string& arrival_field,
                   uint32_t batch_size, ErrorOutput& errors,
                   std::vector<std::unique_ptr<JsonLinesSink>>& sinks, const std::string& out_dir,
                   bool quiet) {
  TempDir split_dir;
  if (split_dir.path().empty()) return Fail("cannot create a temporary directory");
  // lines[i][p][k]: the original line (element, for a JSON array) of the
  // k-th event (1-based) of input i in partition p. Each partition's events
  // are written one per line.
  std::vector<std::vector<std::vector<int64_t>>> lines(inputs.size());
  std::vector<std::vector<std::string>> paths(inputs.size());
  std::vector<SourceRecord> records;
  std::string event;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& key = plan.inputs(static_cast<int>(i)).partition_key();
    std::vector<std::ofstream> outs;
    lines[i].resize(partitions);
    for (int p = 0; p < partitions; ++p) {
      paths[i].push_back(absl::StrCat(split_dir.path(), "/", i, "-", p, ".jsonl"));
      outs.emplace_back(paths[i].back(), std::ios::binary);
    }
    JsonLinesFile& file = *inputs[i].file;
    while (true) {
      records.clear();
      auto more = file.Read(1024, &records);
      if (!more.ok()) return Fail(std::string(more.status().message()));
      if (!*more) break;
      for (const SourceRecord& r : records) {
        // An array element may span lines; JSON allows a line break only
        // as white space, so it becomes a space.
        event.assign(r.data);
        std::replace(event.begin(), event.end(), '\n', ' ');
        std::replace(event.begin(), event.end(), '\r', ' ');
        const std::string k = key.empty() ? std::string() : PartitionKeyOf(event, key);
        const int p = k.empty() ? 0 : KafkaPartitionForKey(k, partitions);
        outs[p] << event << '\n';
        lines[i][p].push_back(r.position);
      }
    }
  }
  std::vector<std::unique_ptr<JsonLinesFile>> files(inputs.size());
  int current = 0;  // the partition being read
  // The original line (or element) of line `position` of input i's file for
  // partition `p` (-1: the current one), or -1.
  auto original_line = [&](size_t i, int p, int64_t position) -> int64_t {
    const auto& map = lines[i][p >= 0 && p < partitions ? p : current];
    return position >= 1 && position <= static_cast<int64_t>(map.size()) ? map[position - 1] : -1;
  };
  TaskEnvironment env = base;
  env.reject = [&](const RejectedRow& row) -> absl::Status {
    std::string_view input;
    std::string_view data;
    int64_t position = -1;
    bool array_mode = false;
    if (row.origin.input >= 0 && row.origin.input < static_cast<int>(inputs.size())) {
      const InputBinding& in = inputs[row.origin.input];
      input = in.alias;
      array_mode = in.file->array_mode();
      position = original_line(row.origin.input, row.origin.partition, row.origin.position);
      data = in.file->EventText(position);
    }
    return errors.Write(input, array_mode, position, row.reason, data);
  };
  auto job = StagedJob::Create(plan, partitions, env);
  if (!job.ok()) return Fail(std::string(job.status().message()));
  std::vector<InputDriver> drivers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    drivers.emplace_back(
        std::vector<InputDriver::Feed>{{static_cast<int>(i), inputs[i].decoder.get()}},
        [&, i](const SourceRecord& r, std::string_view reason) {
          const InputBinding& in = inputs[i];
          const int64_t line = original_line(i, current, r.position);
          return errors.Write(in.alias, in.file->array_mode(), line, reason,
                              in.file->EventText(line));
        });
  }
  const auto started = std::chrono::steady_clock::now();
  for (int p = 0; p < partitions; ++p) {
    current = p;
    std::vector<bool> done(inputs.size(), false);
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto file = JsonLinesFile::Open(paths[i][p]);
      if (!file.ok()) return Fail(std::string(file.status().message()));
      files[i] = *std::move(file);
      if (inputs[i].by_arrival && arrival_field.empty()) {
        // The events arrived when the original file was last written.
        files[i]->SetEstimatedArrival(inputs[i].file->modified_time_ticks());
      }
    }
    for (InputDriver& driver : drivers) driver.set_partition(p);
    Task* task = (*job)->source_task(p);
    bool any = true;
    while (any) {
      any = false;
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (done[i]) continue;
        auto more = drivers[i].PumpOnce(*files[i], *task, batch_size);
        if (!more.ok()) return Fail(std::string(more.status().message()));
        done[i] = !*more;
        any = any || *more;
      }
    }
    if (absl::Status s = (*job)->EndSource(p); !s.ok()) {
      return Fail(absl::StrCat("internal error: ", s.message()));
    }
  }
  int64_t total = 0;
  for (const InputDriver& driver : drivers) total += driver.decoded();
  if (absl::Status s = (*job)->Finish(); !s.ok()) {
    return Fail(absl::StrCat("internal error: ", s.message()));
  }
  if (absl::Status s = errors.Flush(); !s.ok()) return Fail(std::string(s.message()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!quiet) {
    std::vector<std::string> outputs;
    for (size_t i = 0; i < sinks.size(); ++i) {
      outputs.push_back(absl::StrCat(plan.outputs(static_cast<int>(i)).name(), " ",
                                     sinks[i]->rows_written(),
                                     sinks[i]->rows_written() == 1 ? " row" : " rows"));
    }
    std::fprintf(stderr,
                 "sluice run: %lld events in %.3f s over %d partitions, %d stage%s (%lld rows "
                 "crossed exchanges); wrote %s\n",
                 static_cast<long long>(total), seconds, partitions, std::max(plan.stages(), 1),
                 plan.stages() > 1 ? "s" : "", static_cast<long long>((*job)->exchanged_rows()),
                 absl::StrJoin(outputs, ", ").c_str());
    if (errors.count() > 0) {
      std::fprintf(stderr, "sluice run: rejected %lld events, see %s/_errors.jsonl\n",
                   static_cast<long long>(errors.count()), out_dir.c_str());
    }
  }
  return 0;
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

  // Time policies: "--late-policy drop" sets every input's, "--late-policy
  // telemetry=drop" one input's (the flags repeat).
  sql::CompileOptions options;
  std::map<std::string, v1::TimePolicy> per_input;  // by lower-case alias
  auto apply_policy = [&](const char* flag, auto&& set) -> absl::Status {
    for (const std::string& value : cl.GetAll(flag)) {
      const size_t eq = value.find('=');
      const std::string setting = eq == std::string::npos ? value : value.substr(eq + 1);
      if (eq == std::string::npos) {
        if (absl::Status s = set(&options.default_policy, setting); !s.ok()) return s;
        for (auto& [alias, policy] : per_input) {
          if (absl::Status s = set(&policy, setting); !s.ok()) return s;
        }
        continue;
      }
      const std::string alias = ToLowerAscii(value.substr(0, eq));
      auto [it, inserted] = per_input.try_emplace(alias, options.default_policy);
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
  absl::Status policy_status = apply_policy(
      "out-of-order-tolerance",
      set_duration([](v1::TimePolicy* p, int64_t t) { p->set_out_of_order_tolerance_ticks(t); }));
  if (policy_status.ok()) {
    policy_status = apply_policy(
        "late-arrival-tolerance",
        set_duration([](v1::TimePolicy* p, int64_t t) { p->set_late_arrival_tolerance_ticks(t); }));
  }
  if (policy_status.ok()) {
    policy_status =
        apply_policy("late-policy", [](v1::TimePolicy* p, const std::string& v) -> absl::Status {
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
  if (!policy_status.ok()) return Fail(std::string(policy_status.message()), 2);
  uint32_t batch_size = 1024;
  int64_t checkpoint_every = 0;
  int64_t restart_after = 0;
  uint64_t cache_mb = 256;
  for (auto [flag, target] : std::initializer_list<std::pair<const char*, int64_t*>>{
           {"checkpoint-every", &checkpoint_every}, {"restart-after", &restart_after}}) {
    if (auto v = cl.Get(flag); v && (!absl::SimpleAtoi(*v, target) || *target < 0)) {
      return Fail(absl::StrCat("--", flag, " takes a whole number, not '", *v, "'"), 2);
    }
  }
  if (auto v = cl.Get("batch-size");
      v && (!absl::SimpleAtoi(*v, &batch_size) || batch_size == 0 || batch_size > 1'000'000)) {
    return Fail(absl::StrCat("--batch-size takes a number from 1 to 1000000, not '", *v, "'"), 2);
  }
  if (auto v = cl.Get("state-cache-mb"); v && !absl::SimpleAtoi(*v, &cache_mb)) {
    return Fail(absl::StrCat("--state-cache-mb takes a whole number, not '", *v, "'"), 2);
  }

  int partitions = 0;
  if (auto v = cl.Get("partitions");
      v && (!absl::SimpleAtoi(*v, &partitions) || partitions < 1 || partitions > 1024)) {
    return Fail(absl::StrCat("--partitions takes a number from 1 to 1024, not '", *v, "'"), 2);
  }
  if (partitions > 0 && (checkpoint_every > 0 || restart_after > 0)) {
    return Fail("--partitions cannot be combined with --checkpoint-every or --restart-after", 2);
  }
  if (auto v = cl.Get("partition-key")) options.default_partition_key = *v;

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
  const v1::Plan& plan = job.result.plan;

  // Bind inputs.
  std::vector<InputBinding> inputs(plan.inputs_size());
  for (const std::string& binding : cl.GetAll("input")) {
    const size_t eq = binding.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == binding.size()) {
      return Fail(absl::StrCat("--input takes ALIAS=FILE, got '", binding, "'"), 2);
    }
    const std::string alias = binding.substr(0, eq);
    bool matched = false;
    for (int i = 0; i < plan.inputs_size(); ++i) {
      if (EqualsIgnoreCase(plan.inputs(i).name(), alias)) {
        inputs[i].alias = plan.inputs(i).name();
        inputs[i].path = binding.substr(eq + 1);
        matched = true;
      }
    }
    if (!matched) {
      std::vector<std::string> names;
      for (const v1::Input& in : plan.inputs()) names.push_back(in.name());
      return Fail(
          absl::StrCat("--input ", alias, ": the query reads no input of that name (it reads: ",
                       absl::StrJoin(names, ", "), ")"),
          2);
    }
  }
  for (int i = 0; i < plan.inputs_size(); ++i) {
    if (inputs[i].path.empty()) {
      sql::QueryError error;
      error.location.line = plan.inputs(i).span().line();
      error.location.column = plan.inputs(i).span().column();
      error.message = absl::StrCat("input '", plan.inputs(i).name(), "' has no data: add --input ",
                                   plan.inputs(i).name(), "=FILE");
      std::fprintf(stderr, "%s\n", sql::FormatQueryError(job.path, error).c_str());
      return 2;
    }
  }
  for (const v1::Node& node : plan.nodes()) {
    if (node.has_event_time() && !node.event_time().has_timestamp_by()) {
      const int up = node.inputs(0);
      inputs[plan.nodes(up).source().input()].by_arrival = true;
    }
  }

  // Outputs.
  const std::string out_dir = *cl.Get("output-dir");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Fail(absl::StrCat("cannot create --output-dir ", out_dir, ": ", ec.message()));
  std::vector<std::unique_ptr<JsonLinesSink>> sinks;
  std::vector<Sink*> sink_ptrs;
  for (const v1::Output& output : plan.outputs()) {
    auto sink = JsonLinesSink::Create(absl::StrCat(out_dir, "/", output.name(), ".jsonl"));
    if (!sink.ok()) return Fail(std::string(sink.status().message()));
    sink_ptrs.push_back(sink->get());
    sinks.push_back(*std::move(sink));
  }
  auto error_sink = JsonLinesSink::Create(absl::StrCat(out_dir, "/_errors.jsonl"));
  if (!error_sink.ok()) return Fail(std::string(error_sink.status().message()));
  ErrorOutput errors(*std::move(error_sink));

  // State.
  TempDir temp;
  std::string state_dir = cl.GetOr("state-dir", "");
  if (state_dir.empty()) {
    if (temp.path().empty()) return Fail("cannot create a temporary state directory");
    state_dir = temp.path();
  }
  fs::create_directories(state_dir, ec);
  OperatorRegistry registry;
  RegisterBuiltinOperators(&registry);
  const std::string arrival_field = cl.GetOr("arrival-time-field", "");

  auto open_inputs = [&]() -> absl::Status {
    for (InputBinding& in : inputs) {
      auto file = JsonLinesFile::Open(in.path);
      if (!file.ok()) return file.status();
      in.file = *std::move(file);
      in.done = false;
      if (in.by_arrival && arrival_field.empty()) {
        in.file->SetEstimatedArrival(in.file->modified_time_ticks());
      }
    }
    for (int i = 0; i < plan.inputs_size(); ++i) {
      inputs[i].decoder =
          std::make_unique<JsonDecoder>(JsonDecoderOptionsFor(plan.inputs(i), arrival_field));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = open_inputs(); !s.ok()) return Fail(std::string(s.message()));

  std::unique_ptr<StateStore> store;
  {
    auto opened = StateStore::Open(state_dir);
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    store = *std::move(opened);
  }

  TaskEnvironment env;
  env.registry = &registry;
  env.store = store.get();
  env.job_name = "run";
  env.partition = 0;
  env.sinks = sink_ptrs;
  env.state_cache_bytes = cache_mb << 20;
  env.reject = [&](const RejectedRow& row) -> absl::Status {
    std::string_view input;
    std::string_view data;
    bool array_mode = false;
    if (row.origin.input >= 0 && row.origin.input < static_cast<int>(inputs.size())) {
      const InputBinding& in = inputs[row.origin.input];
      input = in.alias;
      if (in.file) {
        data = in.file->EventText(row.origin.position);
        array_mode = in.file->array_mode();
      }
    }
    return errors.Write(input, array_mode, row.origin.input >= 0 ? row.origin.position : -1,
                        row.reason, data);
  };

  if (partitions > 0) {
    return RunPartitioned(plan, partitions, env, inputs, arrival_field, batch_size, errors, sinks,
                          out_dir, cl.Has("quiet"));
  }

  auto create_task = [&]() -> absl::StatusOr<std::unique_ptr<Task>> {
    return Task::Create(plan, env);
  };
  auto task_or = create_task();
  if (!task_or.ok()) return Fail(std::string(task_or.status().message()));
  std::unique_ptr<Task> task = *std::move(task_or);

  // Input positions live in the task's metadata table, so a restore resumes
  // exactly after the last checkpointed event.
  auto positions_key = [](int input) { return absl::StrCat("position/", input); };
  auto restore_positions = [&]() -> absl::Status {
    for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
      std::string value;
      auto found = task->meta_table().Get(positions_key(i), &value);
      if (!found.ok()) return found.status();
      if (!*found) continue;
      std::string_view in(value);
      uint64_t position;
      if (!DecodeFixed64(&in, &position)) return absl::DataLossError("bad input position");
      inputs[i].file->SkipTo(static_cast<int64_t>(position));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = restore_positions(); !s.ok()) return Fail(std::string(s.message()));

  // Checkpoints follow the worker's protocol (engine/runtime/checkpoint_protocol.h)
  // over a changelog in memory: --restart-after rebuilds the state from it
  // into an empty store, exactly as a worker that takes over a partition.
  InMemoryChangelog changelog;
  // Only the restart reads the log back: once it is behind (or without
  // one), checkpoints are not kept, so memory does not grow with them.
  bool keep_log = restart_after > 0;
  class Discard final : public ChangelogWriter {
   public:
    absl::Status Append(const std::string&, std::string_view, std::string_view) override {
      return absl::OkStatus();
    }
  } discard;
  const std::string changelog_name = "run.changelog";
  uint64_t incarnation = 0;
  auto make_protocol = [&] {
    CheckpointProtocol::Options options;
    options.store = store.get();
    std::string prefix;
    AppendBigEndian32(env.partition, &prefix);
    options.task_prefix = prefix;
    options.meta_family = absl::StrCat(env.job_name, "/task");
    options.incarnation = ++incarnation;
    options.logs = {changelog_name};
    options.log_of = [&changelog_name](std::string_view) { return &changelog_name; };
    return std::make_unique<CheckpointProtocol>(std::move(options));
  };
  std::unique_ptr<CheckpointProtocol> checkpoints = make_protocol();
  auto checkpoint = [&]() -> absl::Status {
    StateWriteBatch batch;
    if (absl::Status s = task->Checkpoint(batch); !s.ok()) return s;
    const CheckpointId id = checkpoints->Begin(batch, task->meta_table());
    for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
      std::string value;
      EncodeFixed64(static_cast<uint64_t>(inputs[i].file->position()), &value);
      batch.Put(task->meta_table(), positions_key(i), value);
    }
    if (absl::Status s = errors.Flush(); !s.ok()) return s;
    ChangelogWriter& log = keep_log ? static_cast<ChangelogWriter&>(changelog)
                                    : static_cast<ChangelogWriter&>(discard);
    if (absl::Status s = checkpoints->WriteChanges(id, batch, log); !s.ok()) return s;
    if (absl::Status s = checkpoints->WriteMarkers(id, log); !s.ok()) return s;
    if (absl::Status s = store->Commit(batch); !s.ok()) return s;
    checkpoints->Completed(id);
    return absl::OkStatus();
  };

  std::vector<InputDriver> drivers;
  for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
    drivers.emplace_back(std::vector<InputDriver::Feed>{{i, inputs[i].decoder.get()}},
                         [&, i](const SourceRecord& r, std::string_view reason) {
                           const InputBinding& in = inputs[i];
                           return errors.Write(in.alias, in.file->array_mode(), r.position, reason,
                                               r.data);
                         });
  }
  const auto started = std::chrono::steady_clock::now();
  int64_t total = 0;
  int64_t since_checkpoint = 0;
  bool restarted = false;
  while (true) {
    bool any = false;
    for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
      InputBinding& in = inputs[i];
      if (in.done) continue;
      const int64_t before = drivers[i].decoded();
      auto more = drivers[i].PumpOnce(*in.file, *task, batch_size);
      if (!more.ok()) return Fail(std::string(more.status().message()));
      if (!*more) {
        in.done = true;
        continue;
      }
      any = true;
      const int64_t decoded = drivers[i].decoded() - before;
      total += decoded;
      since_checkpoint += decoded;
      if (restart_after > 0 && !restarted && total >= restart_after) {
        // Prove restore: checkpoint, throw away every in-memory structure,
        // and rebuild the task and the readers from what RocksDB holds.
        restarted = true;
        if (absl::Status s = checkpoint(); !s.ok()) return Fail(std::string(s.message()));
        task.reset();
        store.reset();
        // A new, empty store, rebuilt from the changelog.
        const fs::path restored_dir = fs::path(state_dir) / "restored";
        fs::remove_all(restored_dir, ec);
        auto reopened = StateStore::Open(restored_dir.string());
        if (!reopened.ok()) return Fail(std::string(reopened.status().message()));
        store = *std::move(reopened);
        env.store = store.get();
        checkpoints = make_protocol();
        auto rebuilt = checkpoints->Restore(changelog, [&]() -> absl::Status {
          TaskEnvironment wipe = env;
          wipe.fresh_state = true;
          return Task::Create(plan, wipe).status();
        });
        if (!rebuilt.ok()) return Fail(std::string(rebuilt.status().message()));
        if (!rebuilt->checkpoint || !rebuilt->from_log) {
          return Fail("internal error: the checkpoint is not in the changelog");
        }
        keep_log = false;
        if (absl::Status s = open_inputs(); !s.ok()) return Fail(std::string(s.message()));
        for (int k = 0; k < static_cast<int>(inputs.size()); ++k) {
          drivers[k].set_decoder(0, inputs[k].decoder.get());
        }
        auto recreated = create_task();
        if (!recreated.ok()) return Fail(std::string(recreated.status().message()));
        task = *std::move(recreated);
        if (absl::Status s = restore_positions(); !s.ok()) return Fail(std::string(s.message()));
        since_checkpoint = 0;
      } else if (checkpoint_every > 0 && since_checkpoint >= checkpoint_every) {
        if (absl::Status s = checkpoint(); !s.ok()) return Fail(std::string(s.message()));
        since_checkpoint = 0;
      }
    }
    if (!any) break;
  }
  if (absl::Status s = task->EndOfInput(); !s.ok()) {
    return Fail(absl::StrCat("internal error: ", s.message()));
  }
  if (absl::Status s = errors.Flush(); !s.ok()) return Fail(std::string(s.message()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (!cl.Has("quiet")) {
    const TaskMetrics& m = task->metrics();
    std::vector<std::string> outputs;
    for (size_t i = 0; i < sinks.size(); ++i) {
      outputs.push_back(absl::StrCat(plan.outputs(i).name(), " ", sinks[i]->rows_written(),
                                     sinks[i]->rows_written() == 1 ? " row" : " rows"));
    }
    std::fprintf(stderr, "sluice run: %lld events in %.3f s (%.0f events/s); wrote %s\n",
                 static_cast<long long>(total), seconds, seconds > 0 ? total / seconds : 0.0,
                 absl::StrJoin(outputs, ", ").c_str());
    if (errors.count() > 0) {
      std::fprintf(stderr, "sluice run: rejected %lld events, see %s/_errors.jsonl\n",
                   static_cast<long long>(errors.count()), out_dir.c_str());
    }
    const int64_t late = m.late_adjusted + m.late_dropped + m.out_of_order_adjusted +
                         m.out_of_order_dropped + m.early_dropped;
    if (late > 0) {
      std::fprintf(stderr,
                   "sluice run: time policy: %lld late adjusted, %lld late dropped, %lld "
                   "out-of-order adjusted, %lld out-of-order dropped, %lld early dropped\n",
                   static_cast<long long>(m.late_adjusted.load()),
                   static_cast<long long>(m.late_dropped.load()),
                   static_cast<long long>(m.out_of_order_adjusted.load()),
                   static_cast<long long>(m.out_of_order_dropped.load()),
                   static_cast<long long>(m.early_dropped.load()));
    }
  }
  return 0;
}

int ExplainCommand(const std::vector<std::string>& args) {
  static const auto* flags = new std::vector<FlagSpec>{
      {"help", false, false, "show this help"},
  };
  auto parsed = CommandLine::Parse(*flags, args);
  if (!parsed.ok() || parsed->positional().size() != 1 || parsed->Has("help")) {
    std::fprintf(parsed.ok() && parsed->Has("help") ? stdout : stderr,
                 "usage: sluice explain JOB.sql\n\nPrints the compiled operator DAG: steps, "
                 "keys, windows and the state each operator keeps.\n");
    return parsed.ok() && parsed->Has("help") ? 0 : 2;
  }
  CompiledJob job;
  if (!CompileJobFile(parsed->positional()[0], sql::CompileOptions(), &job)) return 2;
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
