// The checkpoint and restore protocol (engine/runtime/checkpoint_protocol.h) with a
// real task, real RocksDB stores and the changelog in memory: what the
// worker does with Kafka, deterministic and without processes.
#include "engine/runtime/checkpoint_protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "connectors/json_decoder.h"
#include "engine/core/value_codec.h"
#include "engine/exec/task.h"
#include "engine/runtime/async_checkpoints.h"
#include "engine/runtime/input_driver.h"
#include "engine/state/changelog_record.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"
#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::CollectingSink;
using testing_support::ScratchDir;

// Events of 12 devices over a few minutes, in order.
std::vector<std::string> Events(int count) {
  return testing_support::TelemetryEvents(count, 12, 7, 300);
}

constexpr char kQuery[] =
    "SELECT deviceId, COUNT(*) AS n, AVG(temperature) AS avgT, System.Timestamp() AS t "
    "INTO o FROM telemetry TIMESTAMP BY eventTime GROUP BY deviceId, TumblingWindow(second, 20)\n"
    "SELECT deviceId, MAX(temperature) AS hi INTO s FROM telemetry TIMESTAMP BY eventTime "
    "GROUP BY deviceId, SlidingWindow(second, 30)";

// The families of a task go to two changelogs, as the worker splits them
// (the task's own bookkeeping, and its operators' state).
const std::string kTaskLog = "task.changelog";
const std::string kStateLog = "state.changelog";

// One life of a task: a store, the protocol, the task.
class Life {
 public:
  Life(const v1::Plan& plan, const OperatorRegistry& registry, const std::string& dir,
       uint64_t incarnation, Sink* o, Sink* s)
      : plan_(plan) {
    auto store = StateStore::Open(dir);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    env_.registry = &registry;
    env_.store = store_.get();
    env_.job_name = "job";
    env_.partition = 3;
    env_.sinks = {o, s};
    CheckpointProtocol::Options options;
    options.store = store_.get();
    AppendBigEndian32(env_.partition, &options.task_prefix);
    options.meta_family = "job/task";
    options.incarnation = incarnation;
    options.logs = {kTaskLog, kStateLog};
    options.log_of = [](std::string_view family) -> const std::string* {
      if (family == "job/task") return &kTaskLog;
      return family.starts_with("job/") ? &kStateLog : nullptr;
    };
    protocol_ = std::make_unique<CheckpointProtocol>(std::move(options));
    decoder_ = std::make_unique<JsonDecoder>(JsonDecoderOptionsFor(plan.inputs(0)));
  }

  // Restores from `log` and starts the task; the input position the
  // checkpoint recorded (0 without one).
  int64_t Start(ChangelogReader& log) {
    auto restored = protocol_->Restore(log, [&]() -> absl::Status {
      TaskEnvironment wipe = env_;
      wipe.fresh_state = true;
      return Task::Create(plan_, wipe).status();
    });
    EXPECT_TRUE(restored.ok()) << restored.status();
    restored_ = *restored;
    env_.fresh_state = !restored_.checkpoint.has_value();
    auto task = Task::Create(plan_, env_);
    EXPECT_TRUE(task.ok()) << task.status();
    task_ = *std::move(task);
    std::string value;
    auto found = task_->meta_table().Get("position", &value);
    EXPECT_TRUE(found.ok());
    std::string_view in = value;
    uint64_t position = 0;
    if (*found) {
      EXPECT_TRUE(DecodeFixed64(&in, &position));
    }
    return static_cast<int64_t>(position);
  }

  void Push(const std::vector<std::string>& events, size_t from, size_t to) {
    std::vector<std::string> padded;
    std::vector<SourceRecord> records;
    padded.reserve(to - from);
    for (size_t i = from; i < to; ++i) {
      padded.push_back(events[i] + std::string(JsonDecoder::kPadding, ' '));
      SourceRecord& r = records.emplace_back();
      r.data = std::string_view(padded.back().data(), events[i].size());
      r.readable_after = JsonDecoder::kPadding;
      r.position = static_cast<int64_t>(i);
    }
    InputDriver driver({{0, decoder_.get()}}, nullptr);
    ASSERT_TRUE(driver.Push(*task_, records).ok());
  }

  // A checkpoint at input position `position`. `markers` false: the task
  // dies after writing its changes, before the markers; `commit` false: it
  // dies after the markers, before its local store has the checkpoint.
  void Checkpoint(int64_t position, InMemoryChangelog& log, bool markers = true,
                  bool commit = true) {
    StateWriteBatch batch;
    ASSERT_TRUE(task_->Checkpoint(batch).ok());
    const CheckpointId id = protocol_->Begin(batch, task_->meta_table());
    std::string value;
    EncodeFixed64(static_cast<uint64_t>(position), &value);
    batch.Put(task_->meta_table(), "position", value);
    ASSERT_TRUE(protocol_->WriteChanges(id, batch, log).ok());
    if (!markers) return;
    ASSERT_TRUE(protocol_->WriteMarkers(id, log).ok());
    if (!commit) return;
    ASSERT_TRUE(store_->Commit(batch).ok());
    protocol_->Completed(id);
    ASSERT_TRUE(task_->CommitSinks().ok());
  }

  // Starts an asynchronous checkpoint at input position `position`, as the
  // worker does (engine/runtime/async_checkpoints.h).
  absl::Status StartCheckpoint(int64_t position, InMemoryChangelog& log, AsyncCheckpoints& async,
                               int64_t now_ms = 0) {
    StateWriteBatch batch;
    if (absl::Status s = task_->Checkpoint(batch); !s.ok()) return s;
    const CheckpointId id = protocol_->Begin(batch, task_->meta_table());
    std::string value;
    EncodeFixed64(static_cast<uint64_t>(position), &value);
    batch.Put(task_->meta_table(), "position", value);
    return async.Start(id, batch, position, &log, now_ms);
  }
  AsyncCheckpoints Async(DeliveryEpochs* epochs) {
    return AsyncCheckpoints(protocol_.get(), epochs, /*timeout_ms=*/60'000);
  }

  void End() { ASSERT_TRUE(task_->EndOfInput().ok()); }

  const CheckpointProtocol::Restored& restored() const { return restored_; }
  CheckpointProtocol& protocol() { return *protocol_; }

 private:
  const v1::Plan& plan_;
  std::unique_ptr<StateStore> store_;
  TaskEnvironment env_;
  std::unique_ptr<CheckpointProtocol> protocol_;
  std::unique_ptr<JsonDecoder> decoder_;
  std::unique_ptr<Task> task_;
  CheckpointProtocol::Restored restored_;
};

// The two outputs across a task's lives: Keep() marks what a checkpoint
// covers, Crash() forgets the rows emitted after it (the next life emits
// them again; downstream readers drop the copies).
struct Outputs {
  CollectingSink o, s;
  size_t kept_o = 0, kept_s = 0;
  void Keep() {
    kept_o = o.rows.size();
    kept_s = s.rows.size();
  }
  void Crash() {
    o.rows.resize(kept_o);
    s.rows.resize(kept_s);
  }
};

// A sink that stages, as a transactional one does: rows written wait,
// Flush stages them, Commit publishes what is staged; a crash loses what
// is not published.
class StagingSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>& rows) override {
    for (const OutputRow& r : rows) pending_.emplace_back(r.json);
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    staged_.insert(staged_.end(), pending_.begin(), pending_.end());
    pending_.clear();
    return absl::OkStatus();
  }
  absl::Status Commit() override {
    published.insert(published.end(), staged_.begin(), staged_.end());
    staged_.clear();
    ++commits;
    return absl::OkStatus();
  }
  void Crash() {
    pending_.clear();
    staged_.clear();
  }
  size_t staged() const { return staged_.size(); }
  std::vector<std::string> published;
  int commits = 0;

 private:
  std::vector<std::string> pending_;
  std::vector<std::string> staged_;
};

// A log whose acknowledgements the test gives by hand.
class ManualEpochs final : public DeliveryEpochs {
 public:
  int64_t Cut() override { return next_++; }
  absl::StatusOr<bool> Acknowledged(int64_t epoch) override {
    if (!refused_.empty()) return absl::UnavailableError(refused_);
    return epoch <= acknowledged_;
  }
  // Everything handed over so far.
  void AcknowledgeAll() { acknowledged_ = next_ - 1; }
  void Refuse(std::string why) { refused_ = std::move(why); }

 private:
  int64_t next_ = 0;
  int64_t acknowledged_ = -1;
  std::string refused_;
};

size_t Markers(InMemoryChangelog& log) {
  size_t n = 0;
  for (const std::string& name : {kTaskLog, kStateLog}) {
    for (const auto& [key, value] : log.records(name)) {
      ChangelogRecord record;
      if (DecodeChangelogRecord(key, value, &record) && record.kind == kChangelogMarker) ++n;
    }
  }
  return n;
}

class CheckpointProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sql::CompileResult r = sql::CompileQuery(kQuery);
    ASSERT_TRUE(r.ok) << r.error.message;
    plan_ = r.plan;
    RegisterBuiltinOperators(&registry_);
    events_ = Events(3000);
    // The reference: one life, no checkpoint.
    InMemoryChangelog none;
    Life life(plan_, registry_, dir_.path("straight"), 1, &straight_o_, &straight_s_);
    life.Start(none);
    life.Push(events_, 0, events_.size());
    life.End();
    ASSERT_FALSE(straight_o_.rows.empty());
    ASSERT_FALSE(straight_s_.rows.empty());
  }

  // Rows emitted after a checkpoint that a crash loses are emitted again
  // by the next life (downstream readers drop the copies): what counts is
  // the rows up to the checkpoint plus the next life's.
  static std::vector<std::string> Sorted(std::vector<std::string> rows) {
    std::sort(rows.begin(), rows.end());
    return rows;
  }
  void ExpectExact(const CollectingSink& o, const CollectingSink& s) {
    EXPECT_EQ(Sorted(o.rows), Sorted(straight_o_.rows));
    EXPECT_EQ(Sorted(s.rows), Sorted(straight_s_.rows));
  }

  ScratchDir dir_;
  v1::Plan plan_;
  OperatorRegistry registry_;
  std::vector<std::string> events_;
  CollectingSink straight_o_, straight_s_;
};

TEST_F(CheckpointProtocolTest, ACheckpointRestoresIntoAnEmptyStoreAndContinuesExactly) {
  InMemoryChangelog log;
  Outputs out;
  CollectingSink& o = out.o;
  CollectingSink& s = out.s;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    EXPECT_EQ(first.Start(log), 0);
    EXPECT_FALSE(first.restored().checkpoint.has_value());
    first.Push(events_, 0, 1000);
    first.Checkpoint(1000, log);
    first.Push(events_, 1000, 1700);
    first.Checkpoint(1700, log);
    out.Keep();
    first.Push(events_, 1700, 2100);  // then it dies: these rows are replayed
  }
  out.Crash();
  // Another worker: an empty store, everything from the changelog.
  Life second(plan_, registry_, dir_.path("b"), 2, &o, &s);
  EXPECT_EQ(second.Start(log), 1700);
  ASSERT_TRUE(second.restored().checkpoint.has_value());
  EXPECT_EQ(second.restored().checkpoint->number, 2);
  EXPECT_EQ(second.restored().checkpoint->incarnation, 1u);
  EXPECT_TRUE(second.restored().from_log);
  EXPECT_GT(second.restored().changes, 0);
  second.Push(events_, 1700, events_.size());
  second.End();
  ExpectExact(o, s);
  // Its next checkpoint follows the restored one.
  EXPECT_EQ(second.protocol().last_number(), 2);
}

TEST_F(CheckpointProtocolTest, RestoreFromACurrentLocalStoreReadsNothingIn) {
  InMemoryChangelog log;
  Outputs out;
  CollectingSink& o = out.o;
  CollectingSink& s = out.s;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    first.Start(log);
    first.Push(events_, 0, 1500);
    first.Checkpoint(1500, log);
    out.Keep();
  }
  out.Crash();
  Life again(plan_, registry_, dir_.path("a"), 2, &o, &s);
  EXPECT_EQ(again.Start(log), 1500);
  EXPECT_FALSE(again.restored().from_log);
  EXPECT_EQ(again.restored().changes, 0);
  again.Push(events_, 1500, events_.size());
  again.End();
  ExpectExact(o, s);
}

TEST_F(CheckpointProtocolTest, RestoreFromAStaleLocalStoreRebuildsItFromTheChangelog) {
  InMemoryChangelog log;
  Outputs out;
  CollectingSink& o = out.o;
  CollectingSink& s = out.s;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    first.Start(log);
    first.Push(events_, 0, 800);
    first.Checkpoint(800, log);
    first.Push(events_, 800, 1900);
    // Complete in the changelog, but the process died before its own store
    // had it: the store holds checkpoint 1, the log checkpoint 2.
    first.Checkpoint(1900, log, /*markers=*/true, /*commit=*/false);
    out.Keep();
  }
  out.Crash();
  Life again(plan_, registry_, dir_.path("a"), 2, &o, &s);
  EXPECT_EQ(again.Start(log), 1900);
  EXPECT_EQ(again.restored().checkpoint->number, 2);
  EXPECT_TRUE(again.restored().from_log);
  again.Push(events_, 1900, events_.size());
  again.End();
  ExpectExact(o, s);
}

// A task that died between its changes and its markers left changes under
// a number the next owner takes again; the next owner's checkpoint of that
// number has another incarnation, and only its changes count.
TEST_F(CheckpointProtocolTest, IncarnationFencingIgnoresADeadTasksUnfinishedCheckpoint) {
  InMemoryChangelog log;
  Outputs out;
  CollectingSink& o = out.o;
  CollectingSink& s = out.s;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    first.Start(log);
    first.Push(events_, 0, 900);
    first.Checkpoint(900, log);
    out.Keep();
    first.Push(events_, 900, 2400);
    first.Checkpoint(2400, log, /*markers=*/false);  // dies before its markers
  }
  out.Crash();
  {
    Life second(plan_, registry_, dir_.path("b"), 2, &o, &s);
    EXPECT_EQ(second.Start(log), 900);
    EXPECT_EQ(second.restored().checkpoint->number, 1);
    second.Push(events_, 900, 1300);
    second.Checkpoint(1300, log);  // number 2 again, incarnation 2
    out.Keep();
  }
  out.Crash();
  Life third(plan_, registry_, dir_.path("c"), 3, &o, &s);
  EXPECT_EQ(third.Start(log), 1300);
  EXPECT_EQ(third.restored().checkpoint->number, 2);
  EXPECT_EQ(third.restored().checkpoint->incarnation, 2u);
  third.Push(events_, 1300, events_.size());
  third.End();
  ExpectExact(o, s);
}

TEST_F(CheckpointProtocolTest, ACheckpointWithoutItsMarkerInEveryLogIsNotComplete) {
  InMemoryChangelog log;
  Outputs out;
  CollectingSink& o = out.o;
  CollectingSink& s = out.s;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    first.Start(log);
    first.Push(events_, 0, 1100);
    first.Checkpoint(1100, log);
    out.Keep();
    first.Push(events_, 1100, 2000);
    first.Checkpoint(2000, log, /*markers=*/true, /*commit=*/false);
  }
  // The state log lost checkpoint 2's marker (its last record).
  auto& records = log.records(kStateLog);
  ChangelogRecord last;
  ASSERT_TRUE(DecodeChangelogRecord(records.back().first, records.back().second, &last));
  ASSERT_EQ(last.kind, kChangelogMarker);
  ASSERT_EQ(last.checkpoint, 2);
  records.pop_back();
  out.Crash();
  Life again(plan_, registry_, dir_.path("b"), 2, &o, &s);
  EXPECT_EQ(again.Start(log), 1100);
  EXPECT_EQ(again.restored().checkpoint->number, 1);
  again.Push(events_, 1100, events_.size());
  again.End();
  ExpectExact(o, s);
}

TEST_F(CheckpointProtocolTest, GarbageAndOtherTasksRecordsInTheLogAreSkipped) {
  InMemoryChangelog log;
  Outputs out;
  CollectingSink& o = out.o;
  CollectingSink& s = out.s;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    first.Start(log);
    first.Push(events_, 0, 1200);
    first.Checkpoint(1200, log);
    out.Keep();
  }
  // Records anyone with write access to the topics could add: garbage,
  // another task's changes and markers, a change of a family the task does
  // not log there.
  std::string id, key, value;
  EncodeChangelogCheckpoint(1, 1, &id);
  std::string other;
  AppendBigEndian32(4, &other);
  EncodeChangelogChange("job/2.windows", 'P', other + "k", "v", id, &key, &value);
  ASSERT_TRUE(log.Append(kStateLog, key, value).ok());
  EncodeChangelogMarker(other, id, &key, &value);
  ASSERT_TRUE(log.Append(kTaskLog, key, value).ok());
  std::string mine;
  AppendBigEndian32(3, &mine);
  EncodeChangelogChange("job/task", 'D', mine + "position", "", id, &key, &value);
  ASSERT_TRUE(log.Append(kStateLog, key, value).ok());  // not where job/task is logged
  ASSERT_TRUE(log.Append(kStateLog, "garbage", "\x01\x02").ok());
  ASSERT_TRUE(log.Append(kTaskLog, "", "").ok());
  out.Crash();
  Life again(plan_, registry_, dir_.path("b"), 2, &o, &s);
  EXPECT_EQ(again.Start(log), 1200);
  again.Push(events_, 1200, events_.size());
  again.End();
  ExpectExact(o, s);
}

TEST_F(CheckpointProtocolTest, ATaskThatNeverCheckpointedStartsFresh) {
  InMemoryChangelog log;
  CollectingSink o, s;
  {
    // State in the local store, but no checkpoint ever completed.
    Life first(plan_, registry_, dir_.path("a"), 1, &o, &s);
    first.Start(log);
    first.Push(events_, 0, 600);
    first.Checkpoint(600, log, /*markers=*/false);
  }
  o.rows.clear();
  s.rows.clear();
  Life again(plan_, registry_, dir_.path("a"), 2, &o, &s);
  EXPECT_EQ(again.Start(log), 0);
  EXPECT_FALSE(again.restored().checkpoint.has_value());
  again.Push(events_, 0, events_.size());
  again.End();
  ExpectExact(o, s);
}

TEST_F(CheckpointProtocolTest, AStagingSinkPublishesOnlyCompleteCheckpointsSoACrashRepeatsNothing) {
  // The commit phase: a sink that stages its rows until the checkpoint is
  // complete ends with exactly the straight run's rows, each once, across
  // a task that dies after writing a checkpoint's changes but before its
  // markers (that checkpoint is not complete: its rows stay unpublished).
  InMemoryChangelog log;
  StagingSink o, s;
  {
    Life life(plan_, registry_, dir_.path("first"), 1, &o, &s);
    EXPECT_EQ(life.Start(log), 0);
    life.Push(events_, 0, 1000);
    life.Checkpoint(1000, log);
    EXPECT_EQ(o.commits, 1);
    const size_t published = o.published.size() + s.published.size();
    EXPECT_GT(published, 0u);
    life.Push(events_, 1000, 1700);
    life.Checkpoint(1700, log, /*markers=*/false);
    EXPECT_GT(o.staged() + s.staged(), 0u) << "the incomplete checkpoint staged rows";
    EXPECT_EQ(o.published.size() + s.published.size(), published) << "and published none";
    o.Crash();
    s.Crash();
  }
  Life next(plan_, registry_, dir_.path("second"), 2, &o, &s);
  EXPECT_EQ(next.Start(log), 1000);
  next.Push(events_, 1000, events_.size());
  next.End();
  EXPECT_EQ(Sorted(o.published), Sorted(straight_o_.rows));
  EXPECT_EQ(Sorted(s.published), Sorted(straight_s_.rows));
}

TEST_F(CheckpointProtocolTest, ARestoreFromACompactedChangelogIsExact) {
  // On a real cluster the changelogs are compacted: only the last record
  // of each key stays. The checkpoints here are a few events apart, so
  // most keys' last complete value is an early checkpoint's: every marker
  // must stay (each is its own key), and a dead task's unfinished
  // checkpoint must not leave the only record of a key (the next life
  // writes such keys again at its first checkpoint).
  InMemoryChangelog log;
  Outputs out;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &out.o, &out.s);
    first.Start(log);
    first.Push(events_, 0, 900);
    first.Checkpoint(900, log);
    first.Push(events_, 900, 905);
    first.Checkpoint(905, log);
    out.Keep();
    first.Push(events_, 905, 1000);
    // Dies after writing the changes of its third checkpoint.
    first.Checkpoint(1000, log, /*markers=*/false);
  }
  {
    // The next life restores the second checkpoint and checkpoints a few
    // events later, before it reaches what the dead one had changed.
    out.Crash();
    Life second(plan_, registry_, dir_.path("b"), 2, &out.o, &out.s);
    EXPECT_EQ(second.Start(log), 905);
    second.Push(events_, 905, 910);
    second.Checkpoint(910, log);
    out.Keep();
    second.Push(events_, 910, 1200);
  }
  const size_t before = log.size();
  log.Compact();
  ASSERT_LT(log.size(), before) << "compaction dropped nothing: the test proves nothing";
  out.Crash();
  Life third(plan_, registry_, dir_.path("c"), 3, &out.o, &out.s);
  EXPECT_EQ(third.Start(log), 910);
  EXPECT_TRUE(third.restored().from_log);
  third.Push(events_, 910, events_.size());
  third.End();
  ExpectExact(out.o, out.s);
}

// The worker's checkpoints do not wait for Kafka: the task goes on while
// the log acknowledges, and the markers follow the acknowledged changes.
TEST_F(CheckpointProtocolTest, AnAsyncCheckpointLetsTheTaskGoOnAndCompletesOnceAcknowledged) {
  InMemoryChangelog log;
  Outputs out;
  ManualEpochs epochs;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &out.o, &out.s);
    first.Start(log);
    AsyncCheckpoints async = first.Async(&epochs);
    first.Push(events_, 0, 1000);
    ASSERT_TRUE(first.StartCheckpoint(1000, log, async).ok());
    out.Keep();
    const size_t changes = log.size();
    EXPECT_GT(changes, 0u);
    EXPECT_EQ(Markers(log), 0u);
    // Not acknowledged yet: the task goes on, and nothing more is written.
    first.Push(events_, 1000, 1500);
    auto step = async.Advance(1);
    ASSERT_TRUE(step.ok()) << step.status();
    EXPECT_FALSE(step->has_value());
    EXPECT_TRUE(async.in_flight());
    EXPECT_EQ(log.size(), changes);
    // One at a time: the next cannot start while this one waits.
    StateWriteBatch another;
    EXPECT_TRUE(
        absl::IsFailedPrecondition(async.Start(CheckpointId{2, 1}, another, 1500, &log, 1)));
    // The changes are acknowledged: the markers go, one in each log; the
    // checkpoint is complete once they are acknowledged too.
    epochs.AcknowledgeAll();
    step = async.Advance(2);
    ASSERT_TRUE(step.ok()) << step.status();
    EXPECT_FALSE(step->has_value());
    EXPECT_EQ(Markers(log), 2u);
    epochs.AcknowledgeAll();
    step = async.Advance(3);
    ASSERT_TRUE(step.ok()) << step.status();
    ASSERT_TRUE(step->has_value());
    EXPECT_EQ((*step)->position, 1000);
    EXPECT_EQ((*step)->id.number, 1);
    EXPECT_FALSE(async.in_flight());
  }
  // The task dies; the next owner has an empty store.
  out.Crash();
  Life again(plan_, registry_, dir_.path("b"), 2, &out.o, &out.s);
  EXPECT_EQ(again.Start(log), 1000);
  EXPECT_TRUE(again.restored().from_log);
  again.Push(events_, 1000, events_.size());
  again.End();
  ExpectExact(out.o, out.s);
}

// The local store gets a checkpoint's batch when it starts, ahead of the
// log. A task that dies before the log acknowledged leaves a store that
// claims a checkpoint the log never completed: the restore must not trust
// it, and rebuilds the previous checkpoint from the log.
TEST_F(CheckpointProtocolTest,
       RestoreAfterACrashBeforeTheLogAcknowledgedIgnoresTheStoresCheckpoint) {
  InMemoryChangelog log;
  Outputs out;
  ManualEpochs epochs;
  {
    Life first(plan_, registry_, dir_.path("a"), 1, &out.o, &out.s);
    first.Start(log);
    AsyncCheckpoints async = first.Async(&epochs);
    first.Push(events_, 0, 800);
    ASSERT_TRUE(first.StartCheckpoint(800, log, async).ok());
    out.Keep();
    for (int i = 0; i < 2; ++i) {
      epochs.AcknowledgeAll();
      ASSERT_TRUE(async.Advance(i).ok());
    }
    ASSERT_FALSE(async.in_flight());
    first.Push(events_, 800, 1600);
    ASSERT_TRUE(first.StartCheckpoint(1600, log, async).ok());
    first.Push(events_, 1600, 2000);
    // Dies here: checkpoint 2's changes are in the log, its markers never.
  }
  out.Crash();
  Life again(plan_, registry_, dir_.path("a"), 2, &out.o, &out.s);
  EXPECT_EQ(again.Start(log), 800);
  ASSERT_TRUE(again.restored().checkpoint.has_value());
  EXPECT_EQ(again.restored().checkpoint->number, 1);
  EXPECT_TRUE(again.restored().from_log);
  again.Push(events_, 800, events_.size());
  again.End();
  ExpectExact(out.o, out.s);
}

TEST_F(CheckpointProtocolTest, AnAsyncCheckpointTheLogRefusesOrNeverAcknowledgesFails) {
  InMemoryChangelog log;
  Outputs out;
  ManualEpochs epochs;
  Life task(plan_, registry_, dir_.path("a"), 1, &out.o, &out.s);
  task.Start(log);
  AsyncCheckpoints async = task.Async(&epochs);
  task.Push(events_, 0, 500);
  // Never acknowledged: still waiting just before the timeout, failed after.
  ASSERT_TRUE(task.StartCheckpoint(500, log, async, /*now_ms=*/1000).ok());
  auto step = async.Advance(1000 + 60'000);
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->has_value());
  step = async.Advance(1000 + 60'001);
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("did not acknowledge"), std::string::npos)
      << step.status();
  EXPECT_FALSE(async.in_flight());
  // Refused: the log's reason is the error's.
  task.Push(events_, 500, 700);
  ASSERT_TRUE(task.StartCheckpoint(700, log, async, 2000).ok());
  epochs.Refuse("Broker: Message size too large");
  step = async.Advance(2001);
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("Message size too large"), std::string::npos)
      << step.status();
  EXPECT_EQ(Markers(log), 0u);
}

}  // namespace
}  // namespace sluice
