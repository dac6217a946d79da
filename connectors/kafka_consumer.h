// KafkaGroupConsumer: one job's consumer-group membership on a worker.
//
// Uses the cooperative-sticky assignor, so a rebalance only moves the
// partitions that change owner and the others never stop. Assignment and
// revocation are reported through callbacks on the polling thread; the
// revocation callback must finish and commit the partitions' work before
// it returns (librdkafka gives the partitions away right after). Records
// are copied out of librdkafka into per-partition batches with the padding
// the JSON decoder needs. Offsets are committed explicitly, never
// automatically.
//
// Thread safety: Poll, Commit and Close are called from one thread (the
// job's consumer thread); the callbacks run on it.
#ifndef SLUICE_CONNECTORS_KAFKA_CONSUMER_H_
#define SLUICE_CONNECTORS_KAFKA_CONSUMER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka_client.h"
#include "engine/runtime/source.h"

namespace RdKafka {
class KafkaConsumer;
}

namespace sluice {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition& o) const {
    return partition == o.partition && topic == o.topic;
  }
};

// Consecutive records of one partition.
struct RecordBatch {
  struct Record {
    int64_t offset;
    int64_t timestamp_ms;  // the record's timestamp (producer create time)
    uint32_t begin;        // payload position in `data`
    uint32_t size;
  };
  TopicPartition partition;
  std::string data;  // payloads back to back, then kPadding bytes
  std::vector<Record> records;

  static constexpr size_t kPadding = 64;
  std::string_view payload(const Record& r) const { return {data.data() + r.begin, r.size}; }
  // Readable bytes after a record's payload (for the JSON decoder).
  size_t readable_after(const Record& r) const { return data.size() - r.begin - r.size; }
  // Records [first, first + count) as a source yields them
  // (engine/runtime/source.h): payload, offset, and the record's timestamp as
  // arrival time. Views into `data`.
  void AppendTo(std::vector<SourceRecord>* out, size_t first = 0, size_t count = SIZE_MAX) const;
};

class KafkaGroupConsumer {
 public:
  struct Callbacks {
    // Returns, by partition, where to start reading: an offset, or -1 for
    // where the group last committed (earliest when it never did).
    std::function<std::vector<int64_t>(const std::vector<TopicPartition>&)> assigned;
    // `lost` is set when the group already gave the partitions to someone
    // else (the session timed out): commits are pointless then.
    std::function<void(const std::vector<TopicPartition>&, bool lost)> revoked;
  };

  static absl::StatusOr<std::unique_ptr<KafkaGroupConsumer>> Create(
      const std::string& bootstrap, const std::string& group,
      const std::vector<std::string>& topics, const KafkaProperties& properties,
      Callbacks callbacks);
  ~KafkaGroupConsumer();

  // Waits up to `timeout_ms` for records, then takes what is there (at most
  // `max_records`), grouped by partition in offset order.
  absl::Status Poll(int timeout_ms, size_t max_records, std::vector<RecordBatch>* out);

  // Commits `next_offset` (the first offset not yet done) per partition.
  absl::Status Commit(const std::vector<std::pair<TopicPartition, int64_t>>& offsets, bool sync);

  // Leaves the group (revoking everything through the callback).
  void Close();

  // The group's current generation and member, for committing offsets in a
  // producer's transaction (KafkaProducer::CommitTransaction).
  std::unique_ptr<RdKafka::ConsumerGroupMetadata> GroupMetadata() {
    return std::unique_ptr<RdKafka::ConsumerGroupMetadata>(consumer_->groupMetadata());
  }

  // The partition's end offset (high watermark) as of the latest fetch, or
  // -1 when not known yet. Any thread.
  int64_t CachedEndOffset(const TopicPartition& tp);
  // The partition's end offset asked of the broker now (-1 on failure).
  int64_t QueryEndOffset(const TopicPartition& tp, int timeout_ms);
  // Reads assigned partition `tp` again from `offset` (-1: where the group
  // last committed, or its beginning when it never did); records fetched
  // before are dropped. Call on the thread that polls.
  absl::Status Seek(const TopicPartition& tp, int64_t offset, int timeout_ms);

 private:
  class Rebalance;
  KafkaGroupConsumer() = default;

  std::unique_ptr<Rebalance> rebalance_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  bool closed_ = false;
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_KAFKA_CONSUMER_H_
