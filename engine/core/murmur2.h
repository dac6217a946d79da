// Kafka's default partitioner hash: murmur2 as the Java client computes it
// (librdkafka's `murmur2_random` for keyed messages). Sluice uses it to put
// rows with equal keys in the same partition in every place rows are
// partitioned: repartition topics, in-process exchanges, and `sluice run
// --partitions`, which must split a file exactly as a producer keyed by
// device splits a topic.
#ifndef SLUICE_ENGINE_CORE_MURMUR2_H_
#define SLUICE_ENGINE_CORE_MURMUR2_H_

#include <cstdint>
#include <string_view>

namespace sluice {

uint32_t Murmur2(std::string_view data);

// The partition Kafka's default partitioner picks for a message key.
inline int KafkaPartitionForKey(std::string_view key, int partitions) {
  return static_cast<int>((Murmur2(key) & 0x7fffffffu) % static_cast<uint32_t>(partitions));
}

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_MURMUR2_H_
