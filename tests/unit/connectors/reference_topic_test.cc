// Reference tables from a compacted topic on the embedded broker (real
// Kafka protocol on loopback): Start reads the topic to its end (updates and
// tombstones applied, bad records reported and skipped); changes read later
// make versions valid from their record time, so an event joins the rows of
// its time; the number of versions kept is bounded and the oldest kept one
// stands for all earlier time.
#include "connectors/reference_topic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/embedded_broker.h"
#include "connectors/kafka_producer.h"
#include "engine/core/datetime.h"
#include "engine/exec/operator.h"

namespace sluice {
namespace {

class ReferenceTopicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start(1);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_TRUE(broker_->CreateTopic("thresholds", 2).ok());
    auto producer = KafkaProducer::Create(broker_->bootstrap(), {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    input_.set_name("thresholds");
    input_.add_fields("deviceId");
    input_.add_fields("maxTemp");
    input_.set_reference(true);
  }

  // A row (or, with value null, a tombstone) at `ms` of record time.
  void Put(const std::string& key, const char* value, int64_t ms) {
    ASSERT_TRUE(producer_
                    ->Produce("thresholds", key,
                              value ? std::string_view(value) : std::string_view(), ms, &tracker_)
                    .ok());
    ASSERT_TRUE(producer_->Flush(10'000).ok());
  }

  std::unique_ptr<KafkaReferenceTables> Start(int publish_interval_ms = 0) {
    KafkaReferenceTables::Options options;
    options.publish_interval_ms = publish_interval_ms;
    auto tables = KafkaReferenceTables::Start(
        broker_->bootstrap(), {}, {{3, input_, "thresholds"}},
        [this](std::string_view reason, const KafkaMessage& m) {
          bad_.push_back(absl::StrCat(m.offset, ": ", std::string(reason)));
        },
        options);
    EXPECT_TRUE(tables.ok()) << tables.status();
    return tables.ok() ? *std::move(tables) : nullptr;
  }

  // maxTemp of `device` in `version`, or -1 when the device has no row.
  static double MaxTemp(const ReferenceVersion* version, const std::string& device) {
    if (version == nullptr) return -2;
    const Batch& rows = version->rows();
    for (uint32_t r = 0; r < rows.num_rows; ++r) {
      if (rows.value(0, r).string() == device) {
        const Value& v = rows.value(1, r);
        return v.AsDouble();
      }
    }
    return -1;
  }

  // Waits until input 3 has `n` versions.
  static std::shared_ptr<const ReferenceVersions> WaitForVersions(KafkaReferenceTables& t,
                                                                  size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto v = t.Versions(3);
      if (v != nullptr && v->size() >= n) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return t.Versions(3);
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<KafkaProducer> producer_;
  DeliveryTracker tracker_;
  v1::Input input_;
  std::vector<std::string> bad_;
};

TEST_F(ReferenceTopicTest, StartReadsTheTopicToItsEnd) {
  Put("d1", R"({"deviceId":"d1","maxTemp":70})", 1000);
  Put("d2", R"({"deviceId":"d2","maxTemp":80})", 1000);
  Put("d1", R"({"deviceId":"d1","maxTemp":71})", 2000);  // replaces
  Put("d3", R"({"deviceId":"d3","maxTemp":90})", 2000);
  Put("d3", nullptr, 3000);                           // removes
  Put("d2", "{not json", 3000);                       // refused: d2 stays
  Put("", R"({"deviceId":"d9","maxTemp":1})", 3000);  // refused: no key
  auto tables = Start();
  ASSERT_NE(tables, nullptr);
  auto versions = tables->Versions(3);
  ASSERT_NE(versions, nullptr);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->front()->valid_from(), kBeginningOfTime);
  const ReferenceVersion* v = versions->front().get();
  EXPECT_EQ(v->rows().num_rows, 2u);
  EXPECT_EQ(MaxTemp(v, "d1"), 71);
  EXPECT_EQ(MaxTemp(v, "d2"), 80);
  EXPECT_EQ(MaxTemp(v, "d3"), -1);
  EXPECT_EQ(MaxTemp(v, "d9"), -1);
  EXPECT_EQ(tables->bad_records(), 2);
  // The two partitions are read in no set order.
  ASSERT_EQ(bad_.size(), 2u);
  std::sort(bad_.begin(), bad_.end(), [](const std::string& a, const std::string& b) {
    return a.find("not a row") != std::string::npos && b.find("not a row") == std::string::npos;
  });
  EXPECT_NE(bad_[0].find("not a row"), std::string::npos) << bad_[0];
  EXPECT_NE(bad_[1].find("without a key"), std::string::npos) << bad_[1];
  EXPECT_EQ(tables->rows(), 2);
  EXPECT_EQ(tables->Versions(4), nullptr);  // not a reference input here
}

TEST_F(ReferenceTopicTest, ChangesReadLaterAreValidFromTheirRecordTime) {
  Put("d1", R"({"deviceId":"d1","maxTemp":70})", 1000);
  auto tables = Start();
  ASSERT_NE(tables, nullptr);
  const int64_t change_ms = 1'700'000'000'000;
  Put("d1", R"({"deviceId":"d1","maxTemp":50})", change_ms);
  auto versions = WaitForVersions(*tables, 2);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1]->valid_from(), change_ms * kTicksPerMillisecond);
  const int64_t before = change_ms * kTicksPerMillisecond - 1;
  EXPECT_EQ(MaxTemp(VersionAt(*versions, before), "d1"), 70);
  EXPECT_EQ(MaxTemp(VersionAt(*versions, before + 1), "d1"), 50);
  EXPECT_NE((*versions)[0]->id(), (*versions)[1]->id());
  // A change stamped before the newest version still comes after it.
  Put("d1", nullptr, 5);
  versions = WaitForVersions(*tables, 3);
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[2]->valid_from(), change_ms * kTicksPerMillisecond + 1);
  EXPECT_EQ(MaxTemp(VersionAt(*versions, INT64_MAX), "d1"), -1);
}

TEST_F(ReferenceTopicTest, KeepsABoundedNumberOfVersions) {
  Put("d1", R"({"deviceId":"d1","maxTemp":0})", 1000);
  auto tables = Start();
  ASSERT_NE(tables, nullptr);
  const size_t changes = KafkaReferenceTables::kMaxVersions + 8;
  for (size_t i = 1; i <= changes; ++i) {
    const std::string row = absl::StrCat(R"({"deviceId":"d1","maxTemp":)", i, "}");
    Put("d1", row.c_str(), 1000 + static_cast<int64_t>(i) * 1000);
    auto versions = WaitForVersions(*tables, std::min(i + 1, KafkaReferenceTables::kMaxVersions));
    // Wait for this change's version (the count stops growing at the bound).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (MaxTemp(versions->back().get(), "d1") != static_cast<double>(i) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      versions = tables->Versions(3);
    }
    ASSERT_EQ(MaxTemp(versions->back().get(), "d1"), static_cast<double>(i));
  }
  auto versions = tables->Versions(3);
  ASSERT_EQ(versions->size(), KafkaReferenceTables::kMaxVersions);
  EXPECT_EQ(versions->front()->valid_from(), kBeginningOfTime);
  // The oldest kept version answers for every time before the next one.
  const double oldest = static_cast<double>(changes - KafkaReferenceTables::kMaxVersions + 1);
  EXPECT_EQ(MaxTemp(VersionAt(*versions, 0), "d1"), oldest);
  EXPECT_EQ(MaxTemp(VersionAt(*versions, INT64_MAX), "d1"), static_cast<double>(changes));
}

}  // namespace
}  // namespace sluice
