// KafkaPartitionSource (connectors/kafka_partition_source.h): records the
// group's consumer offers, read by the task in order with their offsets;
// idle only when nothing waits and the partition is read to its end.
#include "connectors/kafka_partition_source.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/datetime.h"

namespace sluice {
namespace {

// A batch of `payloads` at offsets from `first`, as the consumer polls it.
RecordBatch Batch(int64_t first, const std::vector<std::string>& payloads) {
  RecordBatch batch;
  batch.partition = {"telemetry", 2};
  for (size_t i = 0; i < payloads.size(); ++i) {
    const auto begin = static_cast<uint32_t>(batch.data.size());
    batch.data += payloads[i];
    batch.records.push_back({first + static_cast<int64_t>(i), 1000 + static_cast<int64_t>(i), begin,
                             static_cast<uint32_t>(payloads[i].size())});
  }
  batch.data.append(RecordBatch::kPadding, ' ');
  return batch;
}

struct FakePartition {
  int64_t end = -1;
  int queries = 0;
  std::vector<int64_t> seeks;
  KafkaPartitionSource::Partition functions() {
    KafkaPartitionSource::Partition p;
    p.cached_end = [this] { return end; };
    p.query_end = [this] {
      ++queries;
      return end;
    };
    p.seek = [this](int64_t offset) {
      seeks.push_back(offset);
      return absl::OkStatus();
    };
    return p;
  }
};

TEST(KafkaPartitionSourceTest, ReadsOfferedRecordsInOrderWithOffsetsAndTimestamps) {
  FakePartition kafka;
  KafkaPartitionSource source({"telemetry", 2}, kafka.functions(), -1);
  std::vector<SourceRecord> records;
  // Nothing offered: not ended (Kafka is unbounded), nothing read.
  EXPECT_FALSE(source.HasRecords());
  EXPECT_TRUE(*source.Read(10, &records));
  EXPECT_TRUE(records.empty());
  EXPECT_EQ(source.position(), -1);
  source.Offer(Batch(40, {"a", "bb", "ccc"}));
  source.Offer(Batch(43, {"d"}));
  EXPECT_TRUE(source.HasRecords());
  ASSERT_TRUE(*source.Read(2, &records));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].data, "a");
  EXPECT_EQ(records[0].position, 40);
  EXPECT_EQ(records[1].data, "bb");
  EXPECT_EQ(records[1].arrival, 1001 * kTicksPerMillisecond);
  EXPECT_GE(records[1].readable_after, RecordBatch::kPadding);
  EXPECT_EQ(source.position(), 41);
  // The record being read can be named in an error report.
  EXPECT_EQ(source.RecordText(42), "ccc");
  records.clear();
  ASSERT_TRUE(*source.Read(10, &records));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].data, "ccc");
  records.clear();
  ASSERT_TRUE(*source.Read(10, &records));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].position, 43);
  EXPECT_EQ(source.position(), 43);
  EXPECT_FALSE(source.HasRecords());
}

TEST(KafkaPartitionSourceTest, IdleOnlyWhenNothingWaitsAndTheEndIsReached) {
  FakePartition kafka;
  KafkaPartitionSource source({"telemetry", 2}, kafka.functions(), /*next=*/10);
  // The end is not known yet: not idle (a backlog may be there).
  EXPECT_FALSE(source.Idle());
  kafka.end = 12;
  EXPECT_FALSE(source.Idle());  // at 10 of 12: behind
  EXPECT_EQ(kafka.queries, 2);  // asked the broker until it knew
  source.Offer(Batch(10, {"x", "y"}));
  kafka.end = 10;  // a stale end does not make waiting records idle
  EXPECT_FALSE(source.Idle());
  std::vector<SourceRecord> records;
  ASSERT_TRUE(*source.Read(10, &records));
  kafka.end = 12;
  EXPECT_TRUE(source.Idle());
  EXPECT_EQ(kafka.queries, 2);  // the cached end afterwards
  kafka.end = 13;               // a new record arrived
  EXPECT_FALSE(source.Idle());
}

TEST(KafkaPartitionSourceTest, SeekingDropsWhatWaitsAndFetchesAfterThePosition) {
  FakePartition kafka;
  KafkaPartitionSource source({"telemetry", 2}, kafka.functions(), -1);
  source.Offer(Batch(0, {"a", "b"}));
  source.Offer(Batch(2, {"c"}));
  std::vector<SourceRecord> records;
  ASSERT_TRUE(*source.Read(1, &records));
  ASSERT_TRUE(source.SeekAfter(0).ok());
  ASSERT_EQ(kafka.seeks, std::vector<int64_t>{1});
  EXPECT_FALSE(source.HasRecords());
  EXPECT_EQ(source.position(), 0);
  source.Offer(Batch(1, {"b"}));
  records.clear();
  ASSERT_TRUE(*source.Read(10, &records));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].position, 1);
}

}  // namespace
}  // namespace sluice
