// KafkaTopicReader: reads whole topics without joining a consumer group.
//
// Every partition of a topic is assigned directly, from its beginning, its
// end, or a number of records before the end. The control plane uses it to
// follow the job catalog and the workers' status (every worker reads all of
// both), and TailOutput uses it to stream a job's output. Nothing is ever
// committed.
//
// Thread safety: one thread uses a reader at a time.
#ifndef SLUICE_CONNECTORS_KAFKA_READER_H_
#define SLUICE_CONNECTORS_KAFKA_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka_client.h"

namespace RdKafka {
class KafkaConsumer;
}

namespace sluice {

struct KafkaMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
  bool has_value = true;  // false for a tombstone (null value)
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of header `name`, or "" when absent.
  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

class KafkaTopicReader {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaTopicReader>> Create(
      const std::string& bootstrap, const KafkaProperties& properties);
  ~KafkaTopicReader();

  // The number of partitions of `topic`; NotFound when it does not exist,
  // Unavailable when Kafka does not answer within `timeout_ms`.
  absl::StatusOr<int> Partitions(const std::string& topic, int timeout_ms);

  // Where to start reading a topic's partitions: at the first record, after
  // the last one, or `n` records before the end.
  struct Start {
    enum class Kind { kBeginning, kEnd, kLast };
    Kind kind = Kind::kBeginning;
    int64_t n = 0;
  };
  // Starts reading every partition of `topic` (added to what is read
  // already). Returns the end offsets at the time of the call, by
  // partition: reading up to them means having caught up.
  absl::StatusOr<std::vector<int64_t>> Add(const std::string& topic, Start start, int timeout_ms);
  // Stops reading every partition of `topic` (nothing when none is read);
  // Add can then start it again elsewhere.
  absl::Status Remove(const std::string& topic);
  // The end offset of every partition of `topic` now, by partition.
  absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::string& topic, int timeout_ms);
  // Starts reading one partition from its first record; returns its end
  // offset (NotFound when the topic or partition does not exist).
  absl::StatusOr<int64_t> AddPartition(const std::string& topic, int32_t partition, int timeout_ms);
  // The next offset the reader will return for a partition it reads (past
  // transaction markers, which are never returned), or -1 when unknown.
  int64_t Position(const std::string& topic, int32_t partition);

  // Waits up to `timeout_ms` for messages, then takes what is there (at
  // most `max_messages`). Errors of the connection come back as a status
  // after the messages that did arrive.
  absl::Status Poll(int timeout_ms, size_t max_messages, std::vector<KafkaMessage>* out);

  // Asks the cluster for its metadata: OK when it answers in time.
  absl::Status Ping(int timeout_ms);

 private:
  KafkaTopicReader() = default;
  // The (low, high) watermark offsets of every partition of `topic`.
  absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> Watermarks(const std::string& topic,
                                                                      int timeout_ms);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<std::pair<std::string, int32_t>> assigned_;
  std::vector<int64_t> start_offsets_;
};

// Creates topics that do not exist yet through the Admin API, with the
// given partitions and topic configs (e.g. cleanup.policy=compact). Topics
// that exist are left alone. Fails with Unimplemented when the cluster has
// no Admin API (the embedded broker: its topics are created by `sluice
// broker` or on first use).
struct TopicToCreate {
  std::string name;
  int partitions = 1;
  std::vector<std::pair<std::string, std::string>> configs;
};
absl::Status CreateTopicsIfMissing(const std::string& bootstrap, const KafkaProperties& properties,
                                   const std::vector<TopicToCreate>& topics, int timeout_ms);

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_KAFKA_READER_H_
