// The one path from a source's records to a task (engine/runtime/input_driver.h),
// and the JSON-lines file as a source.
#include "engine/runtime/input_driver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/json_decoder.h"
#include "connectors/json_lines_file.h"
#include "engine/core/datetime.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"
#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::CollectingSink;
using testing_support::ScratchDir;

struct Rejected {
  int64_t position;
  std::string data;
  std::string reason;
};

// Padded copies of JSON texts, as a source hands them out.
class Records {
 public:
  void Add(std::string text, int64_t position, int64_t arrival) {
    texts_.push_back(std::make_unique<std::string>(text + std::string(JsonDecoder::kPadding, ' ')));
    SourceRecord& r = records_.emplace_back();
    r.data = std::string_view(texts_.back()->data(), text.size());
    r.readable_after = JsonDecoder::kPadding;
    r.position = position;
    r.arrival = arrival;
  }
  const std::vector<SourceRecord>& records() const { return records_; }

 private:
  std::vector<std::unique_ptr<std::string>> texts_;
  std::vector<SourceRecord> records_;
};

class InputDriverTest : public ::testing::Test {
 protected:
  void Start(const std::string& query, std::vector<CollectingSink>* sinks) {
    sql::CompileResult r = sql::CompileQuery(query);
    ASSERT_TRUE(r.ok) << r.error.message;
    plan_ = r.plan;
    RegisterBuiltinOperators(&registry_);
    auto store = StateStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    sinks->resize(static_cast<size_t>(plan_.outputs_size()));
    TaskEnvironment env;
    env.registry = &registry_;
    env.store = store_.get();
    env.job_name = "job";
    for (CollectingSink& sink : *sinks) env.sinks.push_back(&sink);
    auto task = Task::Create(plan_, env);
    ASSERT_TRUE(task.ok()) << task.status();
    task_ = *std::move(task);
  }

  InputDriver::RejectFn Collect() {
    return [this](const SourceRecord& r, std::string_view reason) {
      rejected_.push_back({r.position, std::string(r.data), std::string(reason)});
      return absl::OkStatus();
    };
  }

  ScratchDir dir_;
  v1::Plan plan_;
  OperatorRegistry registry_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Task> task_;
  std::vector<Rejected> rejected_;
};

constexpr int64_t kArrival = 1'700'000'000'000 * kTicksPerMillisecond;

TEST_F(InputDriverTest, RowsCarryTheirPositionAndArrivalAndBadRecordsAreRejectedOnce) {
  std::vector<CollectingSink> sinks;
  Start("SELECT deviceId, System.Timestamp() AS t INTO o FROM telemetry", &sinks);
  JsonDecoder decoder(JsonDecoderOptionsFor(plan_.inputs(0)));
  InputDriver driver({{0, &decoder}}, Collect());
  Records in;
  in.Add(R"({"deviceId":"a"})", 40, kArrival);
  in.Add(R"({"deviceId":)", 41, kArrival + 1);
  in.Add(R"({"deviceId":"b"})", 42, kArrival + kTicksPerMillisecond);
  ASSERT_TRUE(driver.Push(*task_, in.records()).ok());
  ASSERT_TRUE(task_->EndOfInput().ok());
  ASSERT_EQ(sinks[0].rows.size(), 2u);
  EXPECT_EQ(sinks[0].positions, (std::vector<int64_t>{40, 42}));
  EXPECT_TRUE(absl::StrContains(sinks[0].rows[0], R"("deviceId":"a")")) << sinks[0].rows[0];
  // Without TIMESTAMP BY the arrival time is the event's time.
  EXPECT_TRUE(absl::StrContains(sinks[0].rows[0], "2023-11-14T22:13:20.0000000Z"))
      << sinks[0].rows[0];
  EXPECT_TRUE(absl::StrContains(sinks[0].rows[1], "2023-11-14T22:13:20.0010000Z"))
      << sinks[0].rows[1];
  ASSERT_EQ(rejected_.size(), 1u);
  EXPECT_EQ(rejected_[0].position, 41);
  EXPECT_EQ(rejected_[0].data, R"({"deviceId":)");
  EXPECT_FALSE(rejected_[0].reason.empty());
  EXPECT_EQ(driver.decoded(), 2);
  EXPECT_EQ(driver.rejected(), 1);
  EXPECT_EQ(task_->metrics().rejected.load(), 1);
  EXPECT_EQ(task_->metrics().events_in.load(), 2);
}

TEST_F(InputDriverTest, OneSourceFeedsEveryInputItCarries) {
  std::vector<CollectingSink> sinks;
  Start(
      "SELECT deviceId INTO o1 FROM telemetry\n"
      "SELECT temperature INTO o2 FROM telemetry2",
      &sinks);
  ASSERT_EQ(plan_.inputs_size(), 2);
  JsonDecoder first(JsonDecoderOptionsFor(plan_.inputs(0)));
  JsonDecoder second(JsonDecoderOptionsFor(plan_.inputs(1)));
  InputDriver driver({{0, &first}, {1, &second}}, Collect());
  Records in;
  in.Add(R"({"deviceId":"a","temperature":70})", 1, kArrival);
  in.Add("not json", 2, kArrival);
  in.Add(R"({"deviceId":"b","temperature":71})", 3, kArrival);
  ASSERT_TRUE(driver.Push(*task_, in.records()).ok());
  ASSERT_TRUE(task_->EndOfInput().ok());
  EXPECT_EQ(sinks[0].rows.size(), 2u);
  ASSERT_EQ(sinks[1].rows.size(), 2u);
  EXPECT_TRUE(absl::StrContains(sinks[1].rows[1], "71")) << sinks[1].rows[1];
  // Both inputs failed to decode it; it is rejected once.
  ASSERT_EQ(rejected_.size(), 1u);
  EXPECT_EQ(rejected_[0].position, 2);
}

TEST_F(InputDriverTest, AnArrivalFieldWinsOverTheSourcesArrival) {
  std::vector<CollectingSink> sinks;
  Start("SELECT deviceId, System.Timestamp() AS t INTO o FROM telemetry", &sinks);
  JsonDecoder decoder(JsonDecoderOptionsFor(plan_.inputs(0), "arrivedAt"));
  EXPECT_TRUE(decoder.sets_arrival());
  InputDriver driver({{0, &decoder}}, Collect());
  Records in;
  in.Add(R"({"deviceId":"a","arrivedAt":"2024-05-01T10:00:00Z"})", 1, kArrival);
  ASSERT_TRUE(driver.Push(*task_, in.records()).ok());
  ASSERT_TRUE(task_->EndOfInput().ok());
  ASSERT_EQ(sinks[0].rows.size(), 1u);
  EXPECT_TRUE(absl::StrContains(sinks[0].rows[0], "2024-05-01T10:00:00")) << sinks[0].rows[0];
}

TEST_F(InputDriverTest, ARejectThatCannotBeWrittenStopsTheInput) {
  std::vector<CollectingSink> sinks;
  Start("SELECT deviceId INTO o FROM telemetry", &sinks);
  JsonDecoder decoder(JsonDecoderOptionsFor(plan_.inputs(0)));
  InputDriver driver({{0, &decoder}}, [](const SourceRecord&, std::string_view) {
    return absl::UnavailableError("dead-letter topic unreachable");
  });
  Records in;
  in.Add("{", 1, kArrival);
  absl::Status s = driver.Push(*task_, in.records());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST(JsonLinesFileSourceTest, YieldsLinesWithTheirNumbersAndSeeks) {
  ScratchDir dir;
  const std::string path = dir.path() + "/events.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"n\":1}\n\n{\"n\":2}\r\n   \n{\"n\":3}\n{\"n\":4}";
  }
  auto file = JsonLinesFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  Source& source = **file;
  std::vector<SourceRecord> records;
  auto more = source.Read(2, &records);
  ASSERT_TRUE(more.ok() && *more);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(source.Idle());
  EXPECT_EQ(records[0].data, "{\"n\":1}");
  EXPECT_EQ(records[0].position, 1);
  EXPECT_EQ(records[1].data, "{\"n\":2}");
  EXPECT_EQ(records[1].position, 3);
  EXPECT_EQ(records[1].arrival, SourceRecord::kUnknownArrival);
  // Padding follows every record for the decoder.
  EXPECT_GE(records[1].readable_after, JsonDecoder::kPadding);
  EXPECT_EQ(source.position(), 3);
  records.clear();
  ASSERT_TRUE(*source.Read(10, &records));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].position, 5);
  EXPECT_EQ(records[1].data, "{\"n\":4}");
  EXPECT_EQ(records[1].position, 6);
  // Idle once a read found the end, not before.
  EXPECT_TRUE(source.Idle());
  records.clear();
  EXPECT_FALSE(*source.Read(10, &records));
  EXPECT_TRUE(records.empty());
  EXPECT_TRUE(source.Idle());
  // Back to after line 3 (a checkpoint's position), then on.
  ASSERT_TRUE(source.SeekAfter(3).ok());
  EXPECT_FALSE(source.Idle());
  ASSERT_TRUE(*source.Read(1, &records));
  EXPECT_EQ(records[0].position, 5);
  EXPECT_EQ(source.RecordText(3), "{\"n\":2}");
  // A file read without TIMESTAMP BY: every event arrived when it was
  // written, an estimate.
  (*file)->SetEstimatedArrival(kArrival);
  EXPECT_TRUE(source.estimated_arrival());
  ASSERT_TRUE(source.SeekAfter(0).ok());
  records.clear();
  ASSERT_TRUE(*source.Read(1, &records));
  EXPECT_EQ(records[0].position, 1);
  EXPECT_EQ(records[0].arrival, kArrival);
}

TEST(JsonLinesFileSourceTest, AnArrayYieldsElementNumbers) {
  ScratchDir dir;
  const std::string path = dir.path() + "/events.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << "[{\"n\":1}, {\"n\":2},\n{\"n\":3}]";
  }
  auto file = JsonLinesFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  std::vector<SourceRecord> records;
  ASSERT_TRUE(*(*file)->Read(10, &records));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].position, 3);
  EXPECT_EQ(records[2].data, "{\"n\":3}");
  ASSERT_TRUE((*file)->SeekAfter(1).ok());
  records.clear();
  ASSERT_TRUE(*(*file)->Read(10, &records));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].position, 2);
}

}  // namespace
}  // namespace sluice
