// The stream-stream join operator in a real task over a real state store:
// its output equals a brute-force join whatever the order the two sides
// arrive in and wherever a checkpoint and restore fall, its buffers stay
// bounded by the time bound, and a malformed state entry refuses the task.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/json_decoder.h"
#include "connectors/kafka_producer.h"
#include "engine/exec/explain.h"
#include "engine/exec/task.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"
#include "tests/unit/operators/query_task.h"
#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::CollectingSink;
using testing_support::ScratchDir;

struct Event {
  int side;  // 0: input a, 1: input b, 2: input c
  int id;
  int device;
  int64_t ms;
};

std::string Json(const Event& e) {
  const int64_t s = e.ms / 1000;
  return absl::StrCat(R"({"id":)", e.id, R"(,"deviceId":"d)", e.device, R"(","t":"2024-01-01T)",
                      s / 3600 < 10 ? "0" : "", s / 3600, ":", s / 60 % 60 < 10 ? "0" : "",
                      s / 60 % 60, ":", s % 60 < 10 ? "0" : "", s % 60, ".", (e.ms % 1000) / 100,
                      (e.ms % 100) / 10, e.ms % 10, R"(Z"})");
}

// Per side, in time order; ids are unique across sides.
std::vector<Event> RandomEvents(int per_side, int devices, uint32_t seed, int sides = 2) {
  std::mt19937 rng(seed);
  std::vector<Event> events;
  for (int side = 0; side < sides; ++side) {
    int64_t ms = 0;
    for (int i = 0; i < per_side; ++i) {
      ms += rng() % 50;
      events.push_back(Event{side, side * 100000 + i, static_cast<int>(rng() % devices), ms});
    }
  }
  return events;
}

constexpr int64_t kLowMs = -300;
constexpr int64_t kHighMs = 500;

constexpr char kQuery[] = R"(
SELECT x.id AS aid, y.id AS bid
INTO o
FROM a x TIMESTAMP BY t
LEFT JOIN b y TIMESTAMP BY t
ON x.deviceId = y.deviceId AND DATEDIFF(millisecond, x, y) BETWEEN -300 AND 500
)";

std::vector<std::string> BruteForce(const std::vector<Event>& events) {
  std::vector<std::string> rows;
  for (const Event& l : events) {
    if (l.side != 0) continue;
    bool matched = false;
    for (const Event& r : events) {
      if (r.side != 1 || r.device != l.device) continue;
      if (r.ms - l.ms < kLowMs || r.ms - l.ms > kHighMs) continue;
      matched = true;
      rows.push_back(absl::StrCat(R"({"aid":)", l.id, R"(,"bid":)", r.id, "}"));
    }
    if (!matched) rows.push_back(absl::StrCat(R"({"aid":)", l.id, R"(,"bid":null})"));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The join query in a task; events go in as their side's input, named by
// their ids as positions.
class JoinHarness : public testing_support::QueryTask {
 public:
  explicit JoinHarness(const char* query = kQuery) : QueryTask(query) {}

  // Pushes `events` of one side as one batch.
  void Push(const std::vector<Event>& events) {
    if (events.empty()) return;
    std::vector<std::string> texts;
    std::vector<int64_t> positions;
    for (const Event& e : events) {
      texts.push_back(Json(e));
      positions.push_back(e.id);
    }
    QueryTask::Push(events[0].side, texts, positions);
  }
};

// Splits each side into batches of `batch` events and interleaves the two
// sides' batches as `order` says: 0 all of a first, 1 all of b first, 2
// alternating, 3 random.
// With three sides, the order is always random.
std::vector<std::vector<Event>> Schedule(const std::vector<Event>& events, size_t batch, int order,
                                         uint32_t seed) {
  std::vector<std::vector<Event>> per_side[3];
  for (const Event& e : events) {
    auto& side = per_side[e.side];
    if (side.empty() || side.back().size() == batch) side.emplace_back();
    side.back().push_back(e);
  }
  std::vector<std::vector<Event>> out;
  size_t next[3] = {0, 0, 0};
  std::mt19937 rng(seed);
  if (!per_side[2].empty()) {
    while (next[0] < per_side[0].size() || next[1] < per_side[1].size() ||
           next[2] < per_side[2].size()) {
      const int side = static_cast<int>(rng() % 3);
      if (next[side] < per_side[side].size()) out.push_back(per_side[side][next[side]++]);
    }
    return out;
  }
  while (next[0] < per_side[0].size() || next[1] < per_side[1].size()) {
    int side;
    if (next[0] == per_side[0].size()) {
      side = 1;
    } else if (next[1] == per_side[1].size()) {
      side = 0;
    } else if (order == 0 || order == 1) {
      side = order;
    } else if (order == 2) {
      side = next[0] <= next[1] ? 0 : 1;
    } else {
      side = static_cast<int>(rng() % 2);
    }
    out.push_back(per_side[side][next[side]++]);
  }
  return out;
}

TEST(JoinOperatorTest, OutputEqualsABruteForceJoinWhateverTheArrivalOrder) {
  const auto events = RandomEvents(600, 7, 11);
  const auto expected = BruteForce(events);
  ASSERT_GT(expected.size(), 600u);
  for (int order = 0; order < 4; ++order) {
    for (size_t batch : {1u, 17u, 1000u}) {
      JoinHarness h;
      ASSERT_TRUE(h.Start().ok());
      for (const auto& b : Schedule(events, batch, order, 5)) h.Push(b);
      EXPECT_EQ(h.Finish(), expected) << "order " << order << ", batches of " << batch;
    }
  }
}

TEST(JoinOperatorTest, ACheckpointAndRestoreAnywhereChangesNothing) {
  const auto events = RandomEvents(400, 5, 12);
  const auto expected = BruteForce(events);
  const auto schedule = Schedule(events, 13, 3, 9);
  for (size_t at : {size_t{0}, schedule.size() / 3, schedule.size() / 2, schedule.size() - 1}) {
    JoinHarness h;
    ASSERT_TRUE(h.Start().ok());
    for (size_t i = 0; i < schedule.size(); ++i) {
      h.Push(schedule[i]);
      if (i == at) h.CheckpointAndRestore();
    }
    EXPECT_EQ(h.Finish(), expected) << "restored after batch " << at;
  }
}

// A join's row is named by its two events (RowIdentifier), so that a replay
// after a crash names it the same however its batches fall: each row
// carries the origins of exactly the events whose values it holds, also
// after a restore, and no two rows share a name.
TEST(JoinOperatorTest, EveryRowCarriesItsTwoEventsForItsIdentity) {
  const auto events = RandomEvents(300, 5, 14);
  const auto schedule = Schedule(events, 11, 3, 4);
  JoinHarness h;
  ASSERT_TRUE(h.Start().ok());
  for (size_t i = 0; i < schedule.size(); ++i) {
    h.Push(schedule[i]);
    if (i == schedule.size() / 2) h.CheckpointAndRestore();
  }
  const auto expected = h.Finish();
  ASSERT_EQ(expected, BruteForce(events));
  const CollectingSink& sink = h.sink();
  RowIdentifier ids("join/o", "a:0");
  std::set<std::string> names;
  for (size_t i = 0; i < sink.rows.size(); ++i) {
    ASSERT_TRUE(sink.has_pair[i]) << sink.rows[i];
    const RowOrigin& l = sink.origins[i];
    ASSERT_EQ(sink.paired[i].size(), 1u);
    const RowOrigin& r = sink.paired[i][0];
    EXPECT_EQ(l.input, 0);
    const std::string right = r.position < 0 ? "null" : absl::StrCat(r.position);
    EXPECT_EQ(sink.rows[i], absl::StrCat(R"({"aid":)", l.position, R"(,"bid":)", right, "}"));
    if (r.position >= 0) {
      EXPECT_EQ(r.input, 1);
    }
    OutputRow row{"", sink.rows[i], 0, l.position, &l, &sink.paired[i]};
    ids.Reset();
    EXPECT_TRUE(names.insert(ids.Next(row)).second) << ids.Next(row);
  }
}

// A three-way join is two join nodes; the second's row is named by all
// three events (b and c after a), also after a restore, and the second
// finds exactly the triples within every pair's bound.
TEST(JoinOperatorTest, AThreeWayRowCarriesItsThreeEvents) {
  constexpr char kThreeWay[] = R"(
SELECT x.id AS aid, y.id AS bid, z.id AS cid
INTO o
FROM a x TIMESTAMP BY t
JOIN b y TIMESTAMP BY t ON x.deviceId = y.deviceId AND DATEDIFF(millisecond, x, y) BETWEEN -300 AND 500
LEFT JOIN c z TIMESTAMP BY t
  ON y.deviceId = z.deviceId AND DATEDIFF(millisecond, x, z) BETWEEN 0 AND 400
  AND DATEDIFF(millisecond, y, z) BETWEEN -200 AND 200
)";
  const auto events = RandomEvents(200, 5, 17, 3);
  std::vector<std::string> expected;
  for (const Event& a : events) {
    if (a.side != 0) continue;
    for (const Event& b : events) {
      if (b.side != 1 || b.device != a.device || b.ms - a.ms < -300 || b.ms - a.ms > 500) continue;
      bool matched = false;
      for (const Event& c : events) {
        if (c.side != 2 || c.device != b.device || c.ms - a.ms < 0 || c.ms - a.ms > 400 ||
            c.ms - b.ms < -200 || c.ms - b.ms > 200) {
          continue;
        }
        matched = true;
        expected.push_back(
            absl::StrCat(R"({"aid":)", a.id, R"(,"bid":)", b.id, R"(,"cid":)", c.id, "}"));
      }
      if (!matched) {
        expected.push_back(absl::StrCat(R"({"aid":)", a.id, R"(,"bid":)", b.id, R"(,"cid":null})"));
      }
    }
  }
  std::sort(expected.begin(), expected.end());
  const auto schedule = Schedule(events, 9, 3, 5);
  JoinHarness h(kThreeWay);
  ASSERT_TRUE(h.Start().ok());
  for (size_t i = 0; i < schedule.size(); ++i) {
    h.Push(schedule[i]);
    if (i == schedule.size() / 2) h.CheckpointAndRestore();
  }
  ASSERT_EQ(h.Finish(), expected);
  const CollectingSink& sink = h.sink();
  RowIdentifier ids("join/o", "a:0");
  std::set<std::string> names;
  for (size_t i = 0; i < sink.rows.size(); ++i) {
    ASSERT_TRUE(sink.has_pair[i]) << sink.rows[i];
    ASSERT_EQ(sink.paired[i].size(), 2u) << sink.rows[i];
    const RowOrigin& a = sink.origins[i];
    const RowOrigin& b = sink.paired[i][0];
    const RowOrigin& c = sink.paired[i][1];
    EXPECT_EQ(a.input, 0);
    EXPECT_EQ(b.input, 1);
    const std::string cid = c.position < 0 ? "null" : absl::StrCat(c.position);
    EXPECT_EQ(sink.rows[i], absl::StrCat(R"({"aid":)", a.position, R"(,"bid":)", b.position,
                                         R"(,"cid":)", cid, "}"));
    if (c.position >= 0) {
      EXPECT_EQ(c.input, 2);
    }
    OutputRow row{"", sink.rows[i], 0, a.position, &a, &sink.paired[i]};
    ids.Reset();
    const std::string id = ids.Next(row);
    EXPECT_EQ(id, absl::StrCat("join/o/0:0@", a.position, "+1:0@", b.position, "+",
                               c.position < 0 ? "-" : absl::StrCat("2:0@", c.position)));
    EXPECT_TRUE(names.insert(id).second) << id;
  }
}

// `sluice explain` of a three-way join followed by a reference join: each
// join with its keys and bounds (each stream pair's, and what they make of
// the third stream's time against the pair's), the exchanges in front of
// the joins and the broadcast reference table.
TEST(JoinExplainTest, ShowsEachJoinItsBoundsExchangesAndTheBroadcastTable) {
  sql::CompileOptions options;
  options.reference_inputs = {"devices"};
  const sql::CompileResult r = sql::CompileQuery(R"(
SELECT d.deviceId, m.n AS moved, c.n AS closed, r.building
INTO o
FROM opens d TIMESTAMP BY t
JOIN motions m TIMESTAMP BY t ON d.deviceId = m.deviceId AND DATEDIFF(second, d, m) BETWEEN 0 AND 10
JOIN closes c TIMESTAMP BY t
  ON m.zone = c.zone AND DATEDIFF(second, d, c) BETWEEN 5 AND 30 AND DATEDIFF(second, m, c) BETWEEN 0 AND 5
JOIN devices r ON d.deviceId = r.deviceId
)",
                                                 options);
  ASSERT_TRUE(r.ok) << r.error.message;
  OperatorRegistry registry;
  RegisterBuiltinOperators(&registry);
  const auto text = ExplainPlan(r.plan, registry, r.passes);
  ASSERT_TRUE(text.ok()) << text.status();
  for (const char* part : {
           "Join d with m (stream-stream)",
           "keys: d.deviceId = m.deviceId",
           "[m from 0s to 10s after d]",
           "Join (d, m) with c (stream-stream)",
           "keys: m.zone = c.zone",
           "[c from 5s to 30s after d; c from 0s to 5s after m; so c from 0s to 5s after the "
           "latest of (d, m)]",
           "repartition by: m.zone",
           "repartition by: c.zone",
           "Join (d, m, c) with reference data devices AS r",
           "keys: d.deviceId = r.deviceId",
           "broadcast: every task joins with the whole table",
       }) {
    EXPECT_NE(text->find(part), std::string::npos) << part << "\n" << *text;
  }
}

TEST(JoinOperatorTest, BuffersStayBoundedByTheTimeBound) {
  // 20,000 events per side over about 8 minutes; the bound spans 0.8 s, so
  // only the rows of the last second or so may stay buffered.
  const auto events = RandomEvents(20000, 50, 13);
  JoinHarness h;
  ASSERT_TRUE(h.Start().ok());
  size_t most = 0;
  for (const auto& b : Schedule(events, 100, 2, 1)) {
    h.Push(b);
    most = std::max(most, h.task().MemoryStateBytes());
  }
  // A second of events per side is about 40 rows; allow for the event-time
  // reorder and generous per-row overhead.
  EXPECT_GT(most, 0u);
  EXPECT_LT(most, 100u * 1024u) << "join buffers grew with the input";
  h.Finish();
}

// The operator alone, with a recording emitter: what it emits, in order.
class RecordingEmitter final : public Emitter {
 public:
  absl::Status Emit(const Batch& batch) override {
    for (uint32_t r : batch.active_rows()) {
      EXPECT_GE(batch.timestamp(r), watermark) << "a row older than the watermark passed on";
      ++rows;
    }
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t w) override {
    EXPECT_GE(w, watermark);
    watermark = w;
    return absl::OkStatus();
  }
  absl::Status Reject(RejectedRow) override { return absl::OkStatus(); }
  int64_t watermark = kBeginningOfTime;
  int rows = 0;
};

class OneTableContext final : public OperatorContext {
 public:
  explicit OneTableContext(StateTable table) : table_(std::move(table)) {}
  const StateTable& table(std::string_view) const override { return table_; }
  absl::Status CommitState(StateWriteBatch&) override { return absl::OkStatus(); }
  Sink* sink(int) override { return nullptr; }
  TaskMetrics& metrics() override { return metrics_; }
  size_t state_cache_bytes() const override { return 1 << 20; }
  std::string_view input_name(int) const override { return "s"; }
  int node_id() const override { return 0; }

 private:
  StateTable table_;
  TaskMetrics metrics_;
};

Batch KeyRow(int64_t seconds, size_t columns) {
  BatchBuilder builder(columns);
  const uint32_t row = builder.AddRow(seconds * 10'000'000);
  for (size_t c = 0; c < columns; ++c) builder.Set(c, row, Value::String("d1"));
  return builder.Finish();
}

TEST(JoinOperatorTest, ANegativeUpperBoundHoldsTheWatermarkBackSoUnmatchedRowsAreNotLate) {
  sql::CompileResult r = sql::CompileQuery(R"(
SELECT a.k AS k, b.k AS bk
FROM s1 a TIMESTAMP BY t
LEFT JOIN s2 b TIMESTAMP BY t
ON a.k = b.k AND DATEDIFF(second, a, b) BETWEEN -10 AND -5)");
  ASSERT_TRUE(r.ok) << r.error.message;
  const v1::Node* join = nullptr;
  for (const v1::Node& n : r.plan.nodes()) {
    if (n.has_join()) join = &n;
  }
  ASSERT_NE(join, nullptr);
  const size_t left = r.plan.nodes(join->inputs(0)).schema().columns_size();
  const size_t right = r.plan.nodes(join->inputs(1)).schema().columns_size();
  auto op = MakeJoinOperator(*join, r.plan);
  ASSERT_TRUE(op.ok()) << op.status();
  ScratchDir dir;
  auto store = StateStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  auto table = (*store)->OpenTable("rows", "p");
  ASSERT_TRUE(table.ok()) << table.status();
  OneTableContext ctx(*table);
  ASSERT_TRUE((*op)->Open(ctx).ok());
  RecordingEmitter out;
  // Both inputs pass 20 s; then a left row at 22 s comes. It can only
  // match right rows from 12 to 17 s, so once the watermark passes 17 it
  // leaves unmatched, stamped 17: after a watermark of 20 that row would
  // be late.
  ASSERT_TRUE((*op)->ProcessBatch(0, KeyRow(20, left), out).ok());
  ASSERT_TRUE((*op)->ProcessBatch(1, KeyRow(21, right), out).ok());
  ASSERT_TRUE((*op)->ProcessWatermark(20 * 10'000'000LL, out).ok());
  ASSERT_TRUE((*op)->ProcessBatch(0, KeyRow(22, left), out).ok());
  ASSERT_TRUE((*op)->ProcessWatermark(30 * 10'000'000LL, out).ok());
  ASSERT_TRUE((*op)->ProcessWatermark(kEndOfTime, out).ok());
  EXPECT_EQ(out.rows, 2);  // both left rows, unmatched
  EXPECT_EQ(out.watermark, kEndOfTime);
}

TEST(JoinOperatorTest, AMalformedStateEntryRefusesTheTaskInsteadOfCrashing) {
  JoinHarness h;
  ASSERT_TRUE(h.Start().ok());
  h.Push({Event{0, 1, 1, 1000}});
  StateWriteBatch batch;
  ASSERT_TRUE(h.task().Checkpoint(batch).ok());
  // Overwrite every join entry with bytes that do not decode, as a
  // damaged changelog record would.
  std::vector<std::pair<uint32_t, std::string>> entries;
  ASSERT_TRUE(batch
                  .ForEach([&](uint32_t family, char kind, std::string_view key, std::string_view) {
                    if (kind == 'P') entries.emplace_back(family, std::string(key));
                  })
                  .ok());
  ASSERT_TRUE(h.store().Commit(batch).ok());
  StateWriteBatch corrupt;
  int join_entries = 0;
  for (const auto& [family, key] : entries) {
    const std::string name = h.store().FamilyName(family);
    if (name.find("rows") == std::string::npos) continue;
    auto table = h.store().OpenTable(name, "");
    ASSERT_TRUE(table.ok()) << table.status();
    corrupt.Put(*table, key, "\xff\xff not a row");
    ++join_entries;
  }
  ASSERT_EQ(join_entries, 1);
  ASSERT_TRUE(h.store().Commit(corrupt).ok());
  const absl::Status restarted = h.Start();
  EXPECT_EQ(restarted.code(), absl::StatusCode::kDataLoss) << restarted;
}

}  // namespace
}  // namespace sluice
