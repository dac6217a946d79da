#include "connectors/kafka_partition_source.h"

#include <algorithm>

namespace sluice {

KafkaPartitionSource::KafkaPartitionSource(TopicPartition tp, Partition partition, int64_t next)
    : tp_(std::move(tp)), partition_(std::move(partition)), next_(next) {}

KafkaPartitionSource::Partition KafkaPartitionSource::Of(KafkaGroupConsumer* consumer,
                                                         const TopicPartition& tp) {
  Partition p;
  p.cached_end = [consumer, tp] { return consumer->CachedEndOffset(tp); };
  p.query_end = [consumer, tp] { return consumer->QueryEndOffset(tp, 2000); };
  p.seek = [consumer, tp](int64_t offset) { return consumer->Seek(tp, offset, 10'000); };
  return p;
}

void KafkaPartitionSource::Offer(RecordBatch batch) {
  if (batch.records.empty()) return;
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(batch));
}

bool KafkaPartitionSource::HasRecords() const {
  if (cursor_ < current_.records.size()) return true;
  absl::MutexLock lock(&mu_);
  return !queue_.empty();
}

absl::StatusOr<bool> KafkaPartitionSource::Read(size_t max, std::vector<SourceRecord>* out) {
  if (cursor_ >= current_.records.size()) {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) return true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    cursor_ = 0;
  }
  const size_t n = std::min(max, current_.records.size() - cursor_);
  current_.AppendTo(out, cursor_, n);
  cursor_ += n;
  if (n > 0) next_ = current_.records[cursor_ - 1].offset + 1;
  return true;
}

absl::Status KafkaPartitionSource::SeekAfter(int64_t position) {
  {
    absl::MutexLock lock(&mu_);
    queue_.clear();
  }
  current_ = RecordBatch();
  cursor_ = 0;
  next_ = position + 1;
  return partition_.seek(next_);
}

bool KafkaPartitionSource::Idle() {
  if (HasRecords()) return false;
  // The cached end can be stale right after an assignment (librdkafka
  // keeps it from when this consumer last had the partition): ask the
  // broker the first time.
  const int64_t end = end_checked_ ? partition_.cached_end() : partition_.query_end();
  if (end >= 0) end_checked_ = true;
  return end >= 0 && next_ >= end;
}

std::string_view KafkaPartitionSource::RecordText(int64_t position) const {
  const auto& records = current_.records;
  auto it = std::lower_bound(
      records.begin(), records.end(), position,
      [](const RecordBatch::Record& r, int64_t offset) { return r.offset < offset; });
  if (it == records.end() || it->offset != position) return {};
  return current_.payload(*it);
}

}  // namespace sluice
