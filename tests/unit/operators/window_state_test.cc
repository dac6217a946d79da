// The window state's write-back cache: results must not depend on how much
// of the state is in memory, and a task rebuilt from a checkpoint must carry
// on exactly where the old one stopped.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "connectors/json_decoder.h"
#include "engine/core/value_codec.h"
#include "engine/exec/task.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"
#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::CollectingSink;
using testing_support::ScratchDir;

std::vector<std::string> Events(int count, int devices, uint32_t seed) {
  return testing_support::TelemetryEvents(count, devices, seed);
}

struct Harness {
  explicit Harness(std::string query) {
    sql::CompileResult r = sql::CompileQuery(query);
    EXPECT_TRUE(r.ok) << r.error.message;
    plan = r.plan;
    RegisterBuiltinOperators(&registry);
  }

  // Runs `events`; `checkpoint_at` >= 0 checkpoints there, drops the task and
  // restores it from the store.
  std::vector<std::string> Run(const std::vector<std::string>& events, size_t cache_bytes,
                               int checkpoint_at) {
    ScratchDir dir;
    auto store = StateStore::Open(dir.path());
    EXPECT_TRUE(store.ok()) << store.status();
    CollectingSink sink;
    TaskEnvironment env;
    env.registry = &registry;
    env.store = store->get();
    env.job_name = "test";
    env.sinks = {&sink};
    env.state_cache_bytes = cache_bytes;
    auto task = Task::Create(plan, env);
    EXPECT_TRUE(task.ok()) << task.status();
    JsonDecoder decoder(JsonDecoderOptionsFor(plan.inputs(0)));
    std::string error;
    for (size_t start = 0; start < events.size(); start += 100) {
      BatchBuilder builder(decoder.num_columns());
      for (size_t i = start; i < std::min(events.size(), start + 100); ++i) {
        std::string padded = events[i] + std::string(64, ' ');
        EXPECT_TRUE(decoder.Decode(std::string_view(padded.data(), events[i].size()), 64, 0,
                                   builder, &error))
            << error;
      }
      EXPECT_TRUE((*task)->Push(0, builder.Finish()).ok());
      if (checkpoint_at >= 0 && static_cast<int>(start) + 100 > checkpoint_at &&
          static_cast<int>(start) <= checkpoint_at) {
        StateWriteBatch batch;
        EXPECT_TRUE((*task)->Checkpoint(batch).ok());
        EXPECT_TRUE((*store)->Commit(batch).ok());
        task->reset();
        auto restored = Task::Create(plan, env);
        EXPECT_TRUE(restored.ok()) << restored.status();
        *task = *std::move(restored);
      }
    }
    EXPECT_TRUE((*task)->EndOfInput().ok());
    written_back = (*task)->metrics().state_written_back.load();
    std::vector<std::string> rows = sink.rows;
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // Checkpoints after batch `checkpoint_batch`, goes on to batch
  // `crash_batch`, then drops the task without a checkpoint (a crash: rows
  // emitted since the checkpoint are forgotten, as a downstream reader
  // dedupes them) and replays from the checkpoint with a restored task.
  std::vector<std::string> RunWithCrash(const std::vector<std::string>& events, size_t cache_bytes,
                                        size_t checkpoint_batch, size_t crash_batch) {
    ScratchDir dir;
    auto store = StateStore::Open(dir.path());
    EXPECT_TRUE(store.ok()) << store.status();
    CollectingSink sink;
    TaskEnvironment env;
    env.registry = &registry;
    env.store = store->get();
    env.job_name = "test";
    env.sinks = {&sink};
    env.state_cache_bytes = cache_bytes;
    auto task = Task::Create(plan, env);
    JsonDecoder decoder(JsonDecoderOptionsFor(plan.inputs(0)));
    std::string error;
    size_t rows_at_checkpoint = 0;
    bool crashed = false;
    const size_t batches = (events.size() + 99) / 100;
    for (size_t b = 0; b < batches; ++b) {
      BatchBuilder builder(decoder.num_columns());
      for (size_t i = b * 100; i < std::min(events.size(), b * 100 + 100); ++i) {
        std::string padded = events[i] + std::string(64, ' ');
        decoder.Decode(std::string_view(padded.data(), events[i].size()), 64, 0, builder, &error);
      }
      EXPECT_TRUE((*task)->Push(0, builder.Finish()).ok());
      if (b == checkpoint_batch) {
        StateWriteBatch batch;
        EXPECT_TRUE((*task)->Checkpoint(batch).ok());
        EXPECT_TRUE((*store)->Commit(batch).ok());
        rows_at_checkpoint = sink.rows.size();
      }
      if (b == crash_batch && !crashed) {
        crashed = true;
        written_back = (*task)->metrics().state_written_back.load();
        task->reset();
        sink.rows.resize(rows_at_checkpoint);
        auto restored = Task::Create(plan, env);
        EXPECT_TRUE(restored.ok()) << restored.status();
        *task = *std::move(restored);
        b = checkpoint_batch;  // replay everything after the checkpoint
      }
    }
    EXPECT_TRUE((*task)->EndOfInput().ok());
    std::vector<std::string> rows = sink.rows;
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // Checkpoints after every `every` batches of 100 events; after the
  // checkpoint at batch `restore_batch` the task is dropped and restored.
  // `entries` gets each checkpoint's number of state changes.
  std::vector<std::string> RunCheckpointingEvery(const std::vector<std::string>& events,
                                                 size_t every, size_t restore_batch,
                                                 std::vector<size_t>* entries = nullptr) {
    ScratchDir dir;
    auto store = StateStore::Open(dir.path());
    EXPECT_TRUE(store.ok()) << store.status();
    CollectingSink sink;
    TaskEnvironment env;
    env.registry = &registry;
    env.store = store->get();
    env.job_name = "test";
    env.sinks = {&sink};
    auto task = Task::Create(plan, env);
    EXPECT_TRUE(task.ok()) << task.status();
    JsonDecoder decoder(JsonDecoderOptionsFor(plan.inputs(0)));
    std::string error;
    const size_t batches = (events.size() + 99) / 100;
    for (size_t b = 0; b < batches; ++b) {
      BatchBuilder builder(decoder.num_columns());
      for (size_t i = b * 100; i < std::min(events.size(), b * 100 + 100); ++i) {
        std::string padded = events[i] + std::string(64, ' ');
        EXPECT_TRUE(decoder.Decode(std::string_view(padded.data(), events[i].size()), 64, 0,
                                   builder, &error));
      }
      EXPECT_TRUE((*task)->Push(0, builder.Finish()).ok());
      if ((b + 1) % every != 0) continue;
      StateWriteBatch batch;
      EXPECT_TRUE((*task)->Checkpoint(batch).ok());
      if (entries != nullptr) entries->push_back(batch.count());
      EXPECT_TRUE((*store)->Commit(batch).ok());
      if (b == restore_batch) {
        task->reset();
        auto restored = Task::Create(plan, env);
        EXPECT_TRUE(restored.ok()) << restored.status();
        *task = *std::move(restored);
      }
    }
    EXPECT_TRUE((*task)->EndOfInput().ok());
    std::vector<std::string> rows = sink.rows;
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  v1::Plan plan;
  OperatorRegistry registry;
  int64_t written_back = 0;  // cache entries evicted during the last run
};

constexpr char kTumbling[] =
    "SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgT, MAX(temperature) AS maxT, "
    "System.Timestamp() AS t FROM telemetry TIMESTAMP BY eventTime "
    "GROUP BY deviceId, TumblingWindow(second, 10)";

TEST(WindowStateTest, SpillingToRocksDbDoesNotChangeResults) {
  Harness h(kTumbling);
  const auto events = Events(5000, 300, 7);
  const auto in_memory = h.Run(events, size_t{1} << 30, -1);
  ASSERT_GT(in_memory.size(), 1000u);
  EXPECT_EQ(h.written_back, 0);
  // A few kilobytes of cache: groups are written back and read again.
  const auto spilled = h.Run(events, 4096, -1);
  EXPECT_GT(h.written_back, 1000);
  EXPECT_EQ(in_memory, spilled);
}

TEST(WindowStateTest, CheckpointAndRestoreContinuesExactly) {
  for (const char* query :
       {kTumbling,
        "SELECT deviceId, COUNT(*) AS n, MIN(temperature) AS lo FROM telemetry TIMESTAMP BY "
        "eventTime GROUP BY deviceId, HoppingWindow(second, 10, 5)",
        "SELECT deviceId, COUNT(*) AS n, SUM(temperature) AS s FROM telemetry TIMESTAMP BY "
        "eventTime GROUP BY deviceId, SlidingWindow(second, 3)",
        "SELECT deviceId, COUNT(*) AS n, STDEV(temperature) AS sd FROM telemetry TIMESTAMP BY "
        "eventTime GROUP BY deviceId, SessionWindow(second, 2, 20) OVER (PARTITION BY deviceId)",
        "SELECT COUNT(DISTINCT deviceId) AS devices FROM telemetry TIMESTAMP BY eventTime "
        "GROUP BY TumblingWindow(second, 30)"}) {
    SCOPED_TRACE(query);
    Harness h(query);
    const auto events = Events(3000, 50, 11);
    const auto straight = h.Run(events, size_t{1} << 30, -1);
    ASSERT_FALSE(straight.empty());
    for (int at : {0, 1234, 2950}) {
      EXPECT_EQ(straight, h.Run(events, size_t{1} << 30, at)) << "checkpoint at " << at;
    }
    // Spilling and restoring together.
    EXPECT_EQ(straight, h.Run(events, 2048, 1500));
  }
}

// Sliding and session windows write only what changed at each checkpoint:
// a restore after many such checkpoints must still see exactly the state.
// One case per query, so that ctest runs them side by side (each takes
// about 20 s under the sanitizers).
class IncrementalCheckpointTest : public ::testing::TestWithParam<const char*> {};

TEST_P(IncrementalCheckpointTest, ManyIncrementalCheckpointsThenARestoreContinueExactly) {
  const char* query = GetParam();
  Harness h(query);
  const auto events = Events(3000, 40, 5);
  const auto straight = h.Run(events, size_t{1} << 30, -1);
  ASSERT_FALSE(straight.empty());
  for (size_t every : {1, 3, 7}) {
    for (size_t nth : {1, 2, 4}) {
      // Restores after the nth checkpoint.
      const size_t restore = every * nth - 1;
      EXPECT_EQ(straight, h.RunCheckpointingEvery(events, every, restore))
          << "checkpoint every " << every << " batches, restore after batch " << restore;
    }
  }
  // Checkpoints far apart: the change lists outgrow the state, tracking
  // stops, and the next checkpoint rewrites everything.
  const auto many = Events(12000, 40, 6);
  const auto many_straight = h.Run(many, size_t{1} << 30, -1);
  for (size_t restore : {59, 119}) {
    EXPECT_EQ(many_straight, h.RunCheckpointingEvery(many, 60, restore))
        << "restore after batch " << restore;
  }
}

std::string QueryName(const ::testing::TestParamInfo<const char*>& info) {
  static constexpr const char* kNames[] = {"Sliding3s", "Sliding2min", "SessionPerDevice",
                                           "SessionAllDevices"};
  return kNames[info.index];
}

INSTANTIATE_TEST_SUITE_P(
    WindowStateTest, IncrementalCheckpointTest,
    ::testing::Values(
        "SELECT deviceId, COUNT(*) AS n, SUM(temperature) AS s FROM telemetry TIMESTAMP BY "
        "eventTime GROUP BY deviceId, SlidingWindow(second, 3)",
        "SELECT deviceId, COUNT(*) AS n, MAX(temperature) AS hi FROM telemetry TIMESTAMP BY "
        "eventTime GROUP BY deviceId, SlidingWindow(minute, 2)",
        "SELECT deviceId, COUNT(*) AS n, STDEV(temperature) AS sd FROM telemetry TIMESTAMP BY "
        "eventTime GROUP BY deviceId, SessionWindow(second, 2, 20) OVER (PARTITION BY deviceId)",
        "SELECT COUNT(*) AS n FROM telemetry TIMESTAMP BY eventTime "
        "GROUP BY SessionWindow(second, 1, 10)"),
    QueryName);

// A checkpoint after a change to one key writes that key, not the whole
// buffer (which a checkpoint of every key used to rewrite, so changelog
// traffic grew with state size).
TEST(WindowStateTest, ACheckpointWritesOnlyWhatChanged) {
  for (const char* query :
       {"SELECT deviceId, COUNT(*) AS n FROM telemetry TIMESTAMP BY eventTime "
        "GROUP BY deviceId, SlidingWindow(hour, 1)",
        "SELECT deviceId, COUNT(*) AS n FROM telemetry TIMESTAMP BY eventTime "
        "GROUP BY deviceId, SessionWindow(minute, 30, 60) OVER (PARTITION BY deviceId)"}) {
    SCOPED_TRACE(query);
    Harness h(query);
    // 1,000 devices, one event each within the first second, then batches
    // with one event for one device.
    std::vector<std::string> events;
    for (int d = 0; d < 1000; ++d) {
      events.push_back(absl::StrCat(R"({"deviceId":"dev-)", d,
                                    R"(","temperature":1,"eventTime":"2024-01-01T00:00:00.)",
                                    d / 100, (d / 10) % 10, d % 10, R"(Z"})"));
    }
    for (int i = 0; i < 5; ++i) {
      for (int k = 0; k < 100; ++k) {
        events.push_back(absl::StrCat(R"({"deviceId":"dev-7","temperature":2,)",
                                      R"("eventTime":"2024-01-01T00:00:0)", 1 + i, ".", k / 10,
                                      k % 10, R"(0Z"})"));
      }
    }
    std::vector<size_t> entries;
    const auto rows = h.RunCheckpointingEvery(events, 1, SIZE_MAX, &entries);
    ASSERT_EQ(entries.size(), 15u);
    // The first ten write the 1,000 devices' state, each once or so.
    size_t first = 0;
    for (size_t c = 0; c < 10; ++c) first += entries[c];
    EXPECT_GE(first, 1000u);
    // Then 100 events of one device per batch: its key, its instants or
    // session, its buffered rows; nowhere near the 1,000 devices.
    for (size_t c = 10; c < entries.size(); ++c) {
      EXPECT_LE(entries[c], 250u) << "checkpoint " << c;
    }
    // And the results are those of a run without checkpoints.
    EXPECT_EQ(rows, h.Run(events, size_t{1} << 30, -1));
  }
}

TEST(WindowStateTest, StateWrittenBackAfterACheckpointIsNotSeenByARestore) {
  // One key, one long window: the count must come out exact even though
  // the cache writes the growing accumulator back after the checkpoint and
  // the events behind it are replayed.
  Harness h(
      "SELECT deviceId, COUNT(*) AS n, SUM(temperature) AS s FROM telemetry TIMESTAMP BY "
      "eventTime GROUP BY deviceId, TumblingWindow(hour, 1)");
  const auto events = Events(4000, 200, 21);
  const auto straight = h.Run(events, size_t{1} << 30, -1);
  ASSERT_FALSE(straight.empty());
  for (auto [checkpoint, crash] : {std::pair<size_t, size_t>{5, 30}, {10, 11}, {0, 39}}) {
    EXPECT_EQ(straight, h.RunWithCrash(events, 1024, checkpoint, crash))
        << "checkpoint after batch " << checkpoint << ", crash after batch " << crash;
    EXPECT_GT(h.written_back, 0) << "the cache never wrote back; the test proves nothing";
  }
}

TEST(WindowStateTest, OutOfOrderEventsInTheReorderBufferSurviveARestart) {
  sql::CompileOptions options;
  options.default_policy.set_out_of_order_tolerance_ticks(5 * 10'000'000LL);
  std::string query = kTumbling;
  Harness h(query);
  sql::CompileResult r = sql::CompileQuery(query, options);
  ASSERT_TRUE(r.ok);
  h.plan = r.plan;
  auto events = Events(2000, 20, 3);
  // Shuffle within small neighbourhoods: out of order, within 5 s.
  std::mt19937 rng(5);
  for (size_t i = 0; i + 8 < events.size(); i += 8) {
    std::shuffle(events.begin() + i, events.begin() + i + 8, rng);
  }
  const auto straight = h.Run(events, size_t{1} << 30, -1);
  ASSERT_FALSE(straight.empty());
  EXPECT_EQ(straight, h.Run(events, size_t{1} << 30, 1000));
}

// State a restore reads back may have been damaged (it came from Kafka): a
// bad entry is an error, and whatever was read before it is released (found
// by the changelog fuzzer; under LeakSanitizer both cases leaked before).
class CorruptState {
 public:
  explicit CorruptState(const char* query) : h_(query) {
    auto store = StateStore::Open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    env_.registry = &h_.registry;
    env_.store = store_.get();
    env_.job_name = "test";
    env_.sinks = {&sink_};
  }

  // Runs `events` with `cache_bytes` of cache, checkpoints, and returns the
  // checkpoint's entries in the family ending in `suffix`, keyed as the
  // operator keys them.
  std::vector<std::pair<std::string, std::string>> Checkpoint(
      const std::vector<std::string>& events, size_t cache_bytes, const std::string& suffix) {
    env_.state_cache_bytes = cache_bytes;
    auto task = Task::Create(h_.plan, env_);
    EXPECT_TRUE(task.ok()) << task.status();
    JsonDecoderOptions options;
    options.fields.assign(h_.plan.inputs(0).fields().begin(), h_.plan.inputs(0).fields().end());
    JsonDecoder decoder(options);
    std::string error;
    // In batches: the watermark moves between them, so windows fill.
    for (size_t start = 0; start < events.size(); start += 50) {
      BatchBuilder builder(decoder.num_columns());
      for (size_t i = start; i < std::min(events.size(), start + 50); ++i) {
        std::string padded = events[i] + std::string(64, ' ');
        EXPECT_TRUE(decoder.Decode(std::string_view(padded.data(), events[i].size()), 64, 0,
                                   builder, &error))
            << error;
      }
      EXPECT_TRUE((*task)->Push(0, builder.Finish()).ok());
    }
    StateWriteBatch batch;
    EXPECT_TRUE((*task)->Checkpoint(batch).ok());
    EXPECT_TRUE(store_->Commit(batch).ok());
    std::vector<std::pair<std::string, std::string>> entries;
    EXPECT_TRUE(
        batch
            .ForEach([&](uint32_t family, char kind, std::string_view key, std::string_view value) {
              family_ = store_->FamilyName(family);
              if (!family_.ends_with(suffix)) return;
              matched_family_ = family_;
              if (kind == 'P') entries.emplace_back(std::string(key), std::string(value));
            })
            .ok());
    // The table's keys carry the task's prefix: its partition, four bytes
    // (engine/exec/task.cc).
    for (auto& [key, value] : entries) {
      EXPECT_GE(key.size(), 4u);
      prefix_ = key.substr(0, 4);
      key.erase(0, 4);
    }
    return entries;
  }

  // Replaces the entry at `key` (without the task's prefix).
  void Overwrite(const std::string& key, const std::string& value) {
    auto table = store_->OpenTable(matched_family_, "");
    ASSERT_TRUE(table.ok());
    StateWriteBatch batch;
    batch.Put(*table, prefix_ + key, value);
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  // The restored task's first error: when it opens, or when it runs to the end.
  absl::Status Restore() {
    auto task = Task::Create(h_.plan, env_);
    if (!task.ok()) return task.status();
    return (*task)->EndOfInput();
  }

 private:
  ScratchDir dir_;
  Harness h_;
  std::unique_ptr<StateStore> store_;
  CollectingSink sink_;
  TaskEnvironment env_;
  std::string family_;
  std::string matched_family_;
  std::string prefix_;
};

TEST(WindowStateTest, ASessionHoldingOneGroupTwiceIsDataLoss) {
  CorruptState state(
      "SELECT deviceId, COUNT(*) AS n FROM telemetry TIMESTAMP BY eventTime "
      "GROUP BY deviceId, SessionWindow(second, 50, 500)");
  const auto entries = state.Checkpoint(Events(200, 5, 9), size_t{1} << 30, ".sessions");
  // The one open session: start, last, a count of groups and the groups.
  const auto session = std::find_if(entries.begin(), entries.end(),
                                    [](const auto& e) { return e.first.starts_with("s"); });
  ASSERT_NE(session, entries.end()) << "no open session in the checkpoint";
  std::string_view in = session->second;
  uint64_t start, last, n;
  ASSERT_TRUE(DecodeFixed64(&in, &start) && DecodeFixed64(&in, &last) && DecodeVarint(&in, &n));
  ASSERT_GE(n, 1u);
  std::string_view first = in;
  std::string_view group_key, acc;
  ASSERT_TRUE(DecodeBytes(&in, &group_key) && DecodeBytes(&in, &acc));
  first = first.substr(0, first.size() - in.size());
  // The same group again after the real ones.
  std::string value = session->second.substr(0, 16);
  EncodeVarint(n + 1, &value);
  value.append(session->second.substr(session->second.size() - in.size() - first.size()));
  value.append(first);
  state.Overwrite(session->first, value);
  EXPECT_EQ(state.Restore().code(), absl::StatusCode::kDataLoss);
}

TEST(WindowStateTest, AMalformedEntryInASpilledWindowIsDataLoss) {
  CorruptState state(kTumbling);
  // A small cache: the window is written back and closes from the store.
  auto entries = state.Checkpoint(Events(400, 50, 13), 512, ".windows");
  ASSERT_GE(entries.size(), 3u);
  std::sort(entries.begin(), entries.end());
  // The last group of the first window: the groups before it are read first.
  const std::string window = entries[0].first.substr(0, 8);
  size_t last = 0;
  while (last + 1 < entries.size() && entries[last + 1].first.starts_with(window)) ++last;
  ASSERT_GT(last, 0u) << "the first window holds one group; the test proves nothing";
  state.Overwrite(entries[last].first, entries[last].second + "x");
  EXPECT_EQ(state.Restore().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace sluice
