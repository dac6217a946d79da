// Sluice's murmur2 must put keys where Kafka's partitioner does: librdkafka's
// Java-compatible murmur2 partitioner is the oracle.
#include "engine/core/murmur2.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "librdkafka/rdkafka.h"

namespace sluice {
namespace {

TEST(Murmur2Test, PartitionsLikeLibrdkafka) {
  std::mt19937 random(7);
  for (int i = 0; i < 5000; ++i) {
    std::string key;
    const int length = static_cast<int>(random() % 40);
    for (int c = 0; c < length; ++c) key.push_back(static_cast<char>(random() % 256));
    if (i % 3 == 0) key = "dev-" + std::to_string(i);
    for (int partitions : {1, 3, 4, 12, 100}) {
      const int32_t expected = rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(),
                                                                partitions, nullptr, nullptr);
      ASSERT_EQ(KafkaPartitionForKey(key, partitions), expected)
          << "key of " << key.size() << " bytes, " << partitions << " partitions";
    }
  }
}

TEST(Murmur2Test, KnownJavaValue) {
  // Kafka's Java client: Utils.murmur2("21".getBytes()) == -973932308.
  EXPECT_EQ(static_cast<int32_t>(Murmur2("21")), -973932308);
}

}  // namespace
}  // namespace sluice
