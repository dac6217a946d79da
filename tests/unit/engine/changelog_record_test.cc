#include "engine/state/changelog_record.h"

#include <random>
#include <string>

#include "engine/state/state_store.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

TEST(ChangelogRecordTest, ChangesAndMarkersRoundTrip) {
  std::string checkpoint, key, value;
  EncodeChangelogCheckpoint(12, 0xabcdef, &checkpoint);
  EncodeChangelogChange("job/3.window", 'P', "prefix-key", "state-bytes", checkpoint, &key, &value);
  ChangelogRecord record;
  ASSERT_TRUE(DecodeChangelogRecord(key, value, &record));
  EXPECT_EQ(record.kind, 'P');
  EXPECT_EQ(record.checkpoint, 12);
  EXPECT_EQ(record.incarnation, 0xabcdefu);
  EXPECT_EQ(record.family, "job/3.window");
  EXPECT_EQ(record.key, "prefix-key");
  EXPECT_EQ(record.payload, "state-bytes");
  EncodeChangelogMarker("prefix", checkpoint, &key, &value);
  // Each checkpoint's marker is its own key, so compaction keeps them all.
  EXPECT_EQ(key, std::string(1, '\0') + "prefix" + checkpoint);
  ASSERT_TRUE(DecodeChangelogRecord(key, value, &record));
  EXPECT_EQ(record.kind, kChangelogMarker);
  EXPECT_EQ(record.key, "prefix");
  EXPECT_EQ(record.checkpoint, 12);
  EXPECT_TRUE(record.family.empty());
  // A marker keyed by the task prefix alone (written before) still reads.
  const std::string old_key = std::string(1, '\0') + "prefix";
  ASSERT_TRUE(DecodeChangelogRecord(old_key, value, &record));
  EXPECT_EQ(record.key, "prefix");
  EXPECT_EQ(record.checkpoint, 12);
}

TEST(ChangelogRecordTest, GarbageIsNotARecord) {
  std::string checkpoint;
  EncodeChangelogCheckpoint(1, 1, &checkpoint);
  ChangelogRecord record;
  EXPECT_FALSE(DecodeChangelogRecord("no separator", "P" + checkpoint, &record));
  EXPECT_FALSE(DecodeChangelogRecord(std::string("f\0k", 3), "", &record));
  EXPECT_FALSE(DecodeChangelogRecord(std::string("f\0k", 3), "P\x01\x02", &record));
  EXPECT_FALSE(DecodeChangelogRecord(std::string("f\0k", 3), "X" + checkpoint, &record));
  EXPECT_FALSE(DecodeChangelogRecord(std::string("\0k", 2), "P" + checkpoint, &record));
  EXPECT_FALSE(DecodeChangelogRecord(std::string("f\0k", 3), "C" + checkpoint, &record));
  std::string negative;
  EncodeChangelogCheckpoint(-5, 1, &negative);
  EXPECT_FALSE(DecodeChangelogRecord(std::string("f\0k", 3), "P" + negative, &record));
  std::mt19937 random(3);
  for (int i = 0; i < 5000; ++i) {
    std::string k(random() % 16, '\0'), v(random() % 40, '\0');
    for (char& c : k) c = static_cast<char>(random() % 4);
    for (char& c : v) c = static_cast<char>(random());
    if (DecodeChangelogRecord(k, v, &record)) {
      EXPECT_LE(record.key.size(), k.size());
      EXPECT_GE(record.checkpoint, 0);
    }
  }
}

// A delete range read back from Kafka is applied to the shared state store
// on restore: one that ends before it begins made the whole restore's
// commit fail (found by fuzz/changelog_record_fuzzer), and one that reaches
// past the task's prefix would delete the state of other tasks.
TEST(ChangelogRecordTest, ADeleteRangeStaysInsideItsTask) {
  std::string checkpoint, key, value;
  EncodeChangelogCheckpoint(1, 1, &checkpoint);
  std::string task, next_task;
  AppendBigEndian32(7, &task);
  AppendBigEndian32(8, &next_task);
  ChangelogRecord record;

  EncodeChangelogChange("j/0.window", 'R', task + "b", task + "a", checkpoint, &key, &value);
  EXPECT_FALSE(DecodeChangelogRecord(key, value, &record)) << "a range that ends before it begins";
  EncodeChangelogChange("j/0.window", 'R', task + "a", "", checkpoint, &key, &value);
  EXPECT_FALSE(DecodeChangelogRecord(key, value, &record)) << "a range with no end";

  EncodeChangelogChange("j/0.window", 'R', task, next_task, checkpoint, &key, &value);
  ASSERT_TRUE(DecodeChangelogRecord(key, value, &record));
  EXPECT_TRUE(ChangelogChangeIsTasks(record, task)) << "all of the task's keys, as DeletePrefix";
  EXPECT_FALSE(ChangelogChangeIsTasks(record, next_task));

  EncodeChangelogChange("j/0.window", 'R', task + "a", next_task + "a", checkpoint, &key, &value);
  ASSERT_TRUE(DecodeChangelogRecord(key, value, &record));
  EXPECT_FALSE(ChangelogChangeIsTasks(record, task)) << "reaches into task 8";

  EncodeChangelogChange("j/0.window", 'P', task + "k", "v", checkpoint, &key, &value);
  ASSERT_TRUE(DecodeChangelogRecord(key, value, &record));
  EXPECT_TRUE(ChangelogChangeIsTasks(record, task));
  EXPECT_FALSE(ChangelogChangeIsTasks(record, next_task));
  EncodeChangelogMarker(task, checkpoint, &key, &value);
  ASSERT_TRUE(DecodeChangelogRecord(key, value, &record));
  EXPECT_FALSE(ChangelogChangeIsTasks(record, task)) << "a marker is not a change";
}

}  // namespace
}  // namespace sluice
