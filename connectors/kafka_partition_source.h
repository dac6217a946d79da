// KafkaPartitionSource: one partition a consumer group assigned, as a
// Source (engine/runtime/source.h).
//
// The group's consumer polls every assigned partition on one thread and
// hands each partition's records to its source (Offer); the task reads them
// on its own thread. Positions are Kafka offsets; each record's arrival
// time is its Kafka timestamp. The source is idle once nothing is queued
// and it has read up to the partition's high watermark.
#ifndef SLUICE_CONNECTORS_KAFKA_PARTITION_SOURCE_H_
#define SLUICE_CONNECTORS_KAFKA_PARTITION_SOURCE_H_

#include <deque>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "connectors/kafka_consumer.h"
#include "engine/runtime/source.h"

namespace sluice {

class KafkaPartitionSource final : public Source {
 public:
  // What the source needs of the group's consumer.
  struct Partition {
    // The high watermark as of the latest fetch (-1: unknown); any thread.
    std::function<int64_t()> cached_end;
    // The high watermark asked of the broker now (-1 on failure).
    std::function<int64_t()> query_end;
    // Reads the partition again from `offset`; on the consumer's thread.
    std::function<absl::Status(int64_t offset)> seek;
  };

  // `next` is the offset the task reads from (-1: where the group
  // committed, not known yet).
  KafkaPartitionSource(TopicPartition tp, Partition partition, int64_t next);
  // A source over `consumer`'s partition `tp`.
  static Partition Of(KafkaGroupConsumer* consumer, const TopicPartition& tp);

  // The consumer's thread: records polled for this partition.
  void Offer(RecordBatch batch);
  // The task's thread: records wait to be read.
  bool HasRecords() const;

  // Source, on the task's thread. Read never ends (a Kafka partition is
  // unbounded): with nothing queued it returns true and appends nothing.
  absl::StatusOr<bool> Read(size_t max, std::vector<SourceRecord>* out) override;
  // Drops what is queued and asks the consumer to fetch from the offset
  // after `position`. On the consumer's thread, while the task is not
  // reading (the worker seeks a new task before it takes work).
  absl::Status SeekAfter(int64_t position) override;
  // The offset of the last record read (-1 before any).
  int64_t position() const override { return next_ < 0 ? -1 : next_ - 1; }
  bool Idle() override;
  // The payload of the record at `position` while its batch is the one
  // being read.
  std::string_view RecordText(int64_t position) const override;

  const TopicPartition& partition() const { return tp_; }

 private:
  TopicPartition tp_;
  Partition partition_;
  int64_t next_;              // the offset after the last record read
  bool end_checked_ = false;  // Idle asked the broker once
  // The batch being read, and how far.
  RecordBatch current_;
  size_t cursor_ = 0;

  mutable absl::Mutex mu_;
  std::deque<RecordBatch> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_KAFKA_PARTITION_SOURCE_H_
