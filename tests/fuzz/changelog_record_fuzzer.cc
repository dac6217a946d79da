// Changelog records, as a task restored from Kafka reads them: decoded, put
// into the state store, and then read by the operators that own the state
// when the task is rebuilt and runs on. The starting point is the real
// state of a job with windows of every kind (taken once, at start-up);
// each input mutates those records (truncates, overwrites bytes, replaces
// values, adds keys) so the operators' state decoders see near-valid bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/json_decoder.h"
#include "engine/exec/task.h"
#include "engine/state/changelog_record.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"

namespace sluice {
namespace {

constexpr char kQuery[] = R"(
WITH readings AS (SELECT * FROM telemetry TIMESTAMP BY eventTime)
SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS a, MIN(temperature) AS lo,
       MAX(temperature) AS hi, SUM(temperature) AS s, COUNT(DISTINCT site) AS sites
INTO tumbling FROM readings GROUP BY deviceId, TumblingWindow(second, 10);
SELECT deviceId, COUNT(*) AS n, MAX(temperature) AS hi
INTO sessions FROM readings GROUP BY deviceId, SessionWindow(second, 5, 60);
SELECT deviceId, TopOne(temperature) OVER (ORDER BY temperature DESC) AS top
INTO hopping FROM readings GROUP BY deviceId, HoppingWindow(second, 10, 5)
)";

class NullSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>&) override { return absl::OkStatus(); }
  absl::Status Flush() override { return absl::OkStatus(); }
};

struct Record {
  std::string family;
  char kind;
  std::string key;
  std::string payload;
};

struct Fixture {
  v1::Plan plan;
  OperatorRegistry registry;
  std::unique_ptr<StateStore> store;
  std::vector<NullSink> sinks;
  std::unique_ptr<JsonDecoder> decoder;
  std::vector<Record> base;  // the real checkpoint's changes
  std::string task_prefix;   // the state keys of partition 0's task

  TaskEnvironment Environment(bool fresh) {
    TaskEnvironment env;
    env.registry = &registry;
    env.store = store.get();
    env.job_name = "fuzz";
    for (NullSink& sink : sinks) env.sinks.push_back(&sink);
    env.reject = [](const RejectedRow&) { return absl::OkStatus(); };
    env.fresh_state = fresh;
    env.state_cache_bytes = size_t{1} << 20;
    return env;
  }

  Batch Events(int from, int count) {
    BatchBuilder builder(decoder->num_columns());
    std::string error;
    for (int i = from; i < from + count; ++i) {
      std::string event = absl::StrCat(
          R"({"deviceId":"d)", i % 3, R"(","temperature":)", i * 7 % 50, R"(,"site":"s)", i % 2,
          R"(","eventTime":"2024-01-01T00:00:)", i < 10 ? "0" : "", i % 60, R"(Z"})");
      const size_t length = event.size();
      event.append(JsonDecoder::kPadding, ' ');
      decoder->Decode(std::string_view(event.data(), length), JsonDecoder::kPadding, 0, builder,
                      &error);
    }
    return builder.Finish();
  }
};

Fixture* Setup() {
  auto* f = new Fixture();
  sql::CompileResult compiled = sql::CompileQuery(kQuery);
  if (!compiled.ok) {
    fprintf(stderr, "fuzz query: %s\n", compiled.error.message.c_str());
    std::abort();
  }
  f->plan = compiled.plan;
  RegisterBuiltinOperators(&f->registry);
  const auto dir =
      std::filesystem::temp_directory_path() / absl::StrCat("sluice-changelog-fuzzer-", ::getpid());
  std::filesystem::create_directories(dir);
  auto store = StateStore::Open(dir.string());
  if (!store.ok()) std::abort();
  f->store = *std::move(store);
  f->sinks.resize(static_cast<size_t>(f->plan.outputs_size()));
  f->decoder = std::make_unique<JsonDecoder>(JsonDecoderOptionsFor(f->plan.inputs(0)));
  auto task = Task::Create(f->plan, f->Environment(true));
  if (!task.ok()) std::abort();
  if (!(*task)->Push(0, f->Events(0, 40)).ok()) std::abort();
  StateWriteBatch batch;
  if (!(*task)->Checkpoint(batch).ok()) std::abort();
  StateStore* store_ptr = f->store.get();
  (void)batch.ForEach(
      [&](uint32_t family, char kind, std::string_view key, std::string_view value) {
        f->base.push_back(
            Record{store_ptr->FamilyName(family), kind, std::string(key), std::string(value)});
      });
  if (f->base.empty()) std::abort();
  AppendBigEndian32(0, &f->task_prefix);
  return f;
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  static Fixture* f = Setup();
  std::vector<Record> records = f->base;
  // Mutations: op(1) index(2) position(2) byte(1), then the rest replaces
  // one value outright.
  size_t pos = 0;
  while (pos + 6 <= size) {
    const uint8_t op = data[pos] % 5;
    Record& r = records[(data[pos + 1] | data[pos + 2] << 8) % records.size()];
    const size_t at = static_cast<size_t>(data[pos + 3] | data[pos + 4] << 8);
    const char byte = static_cast<char>(data[pos + 5]);
    pos += 6;
    if (op == 0) {
      r.payload.resize(std::min(r.payload.size(), at));
    } else if (op == 1 && !r.payload.empty()) {
      r.payload[at % r.payload.size()] ^= byte;
    } else if (op == 2) {
      r.payload.insert(std::min(r.payload.size(), at), 1, byte);
    } else if (op == 3 && !r.key.empty()) {
      r.key[at % r.key.size()] ^= byte;
    } else if (op == 4) {
      r.payload.assign(reinterpret_cast<const char*>(data + pos), size - pos);
      break;
    }
  }
  // Through the record format, as the restore reads them.
  StateWriteBatch batch;
  std::string checkpoint_bytes, key, value;
  EncodeChangelogCheckpoint(1, 1, &checkpoint_bytes);
  for (const Record& r : records) {
    EncodeChangelogChange(r.family, r.kind, r.key, r.payload, checkpoint_bytes, &key, &value);
    // What the restore skips (engine/app/worker/worker.cc): not a record, or a
    // change outside the task's keys (a range past its prefix).
    ChangelogRecord decoded;
    if (!DecodeChangelogRecord(key, value, &decoded) ||
        !ChangelogChangeIsTasks(decoded, f->task_prefix)) {
      continue;
    }
    auto table = f->store->OpenTable(std::string(decoded.family), "");
    if (!table.ok()) std::abort();
    if (decoded.kind == 'P') {
      batch.Put(*table, decoded.key, decoded.payload);
    } else if (decoded.kind == 'D') {
      batch.Delete(*table, decoded.key);
    } else if (decoded.kind == 'R') {
      batch.DeleteRange(*table, decoded.key, decoded.payload);
    }
  }
  if (!f->store->Commit(batch).ok()) std::abort();
  {
    // The restored task runs on: every operator reads its state back.
    auto task = Task::Create(f->plan, f->Environment(false));
    if (task.ok()) {
      (void)(*task)->Push(0, f->Events(40, 20));
      (void)(*task)->EndOfInput();
    }
  }
  // Wipe for the next input, as a worker wipes a task before a replay.
  auto wipe = Task::Create(f->plan, f->Environment(true));
  if (!wipe.ok()) std::abort();
  return 0;
}
