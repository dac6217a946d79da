// Producing to Kafka: one shared producer per worker process, and the Sink
// that writes a task's output rows through it.
//
// Delivery is tracked per task: every message carries its task's
// DeliveryTracker, whose counters the producer's delivery reports advance.
// The worker commits a task's input offsets only once every message produced
// before them is acknowledged (at-least-once).
#ifndef SLUICE_CONNECTORS_KAFKA_PRODUCER_H_
#define SLUICE_CONNECTORS_KAFKA_PRODUCER_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_consumer.h"
#include "engine/exec/operator.h"
#include "engine/runtime/async_checkpoints.h"
#include "librdkafka/rdkafkacpp.h"

namespace sluice {

// Thread-safe counters of one task's produced and acknowledged messages.
class DeliveryTracker {
 public:
  virtual ~DeliveryTracker() = default;
  // A delivery report (on the producer's polling thread): `error` is null
  // when the message was written at `partition`/`offset`.
  virtual void OnReport(const std::string* error, int32_t partition, int64_t offset) {
    (void)partition;
    (void)offset;
    if (error == nullptr) {
      Acknowledged();
    } else {
      Failed(*error);
    }
  }
  // The tracker the report of the next message goes to (KafkaProducer::
  // Produce counts the message in it and, if it is another, here too).
  virtual DeliveryTracker* ForMessage() { return this; }
  void Produced() { produced_.fetch_add(1, std::memory_order_relaxed); }
  void Acknowledged() { acked_.fetch_add(1, std::memory_order_release); }
  void Failed(const std::string& error) {
    failed_.fetch_add(1, std::memory_order_release);
    absl::MutexLock lock(&mu_);
    last_error_ = error;
  }
  int64_t produced() const { return produced_.load(std::memory_order_relaxed); }
  int64_t acked() const { return acked_.load(std::memory_order_acquire); }
  int64_t failed() const { return failed_.load(std::memory_order_acquire); }
  std::string last_error() const {
    absl::MutexLock lock(&mu_);
    return last_error_;
  }

 private:
  std::atomic<int64_t> produced_{0};
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> failed_{0};
  mutable absl::Mutex mu_;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

// A task's tracker, in epochs (DeliveryEpochs, engine/runtime/
// async_checkpoints.h): each message counts here and in the epoch open when
// it was produced, whose own tracker its report goes to. Produce and Cut
// come from the task's thread; reports from the producer's; Acknowledged
// from any.
class EpochDeliveryTracker final : public DeliveryTracker, public DeliveryEpochs {
 public:
  EpochDeliveryTracker() { epochs_.push_back(std::make_unique<Epoch>(this, 0)); }
  DeliveryTracker* ForMessage() override {
    absl::MutexLock lock(&epochs_mu_);
    return epochs_.back().get();
  }
  int64_t Cut() override;
  absl::StatusOr<bool> Acknowledged(int64_t epoch) override;
  // True once Kafka reported on every message produced.
  bool Settled() const { return acked() + failed() >= produced(); }
  // How many epochs are kept (the open one, and closed ones not yet all
  // acknowledged).
  size_t kept_epochs() const {
    absl::MutexLock lock(&epochs_mu_);
    return epochs_.size();
  }

 private:
  class Epoch final : public DeliveryTracker {
   public:
    Epoch(EpochDeliveryTracker* all, int64_t number) : all_(all), number_(number) {}
    void OnReport(const std::string* error, int32_t partition, int64_t offset) override {
      DeliveryTracker::OnReport(error, partition, offset);
      all_->OnReport(error, partition, offset);
    }
    int64_t number() const { return number_; }
    bool answered() const { return acked() + failed() >= produced(); }

   private:
    EpochDeliveryTracker* all_;
    int64_t number_;
  };

  mutable absl::Mutex epochs_mu_;
  // Oldest first; the last is open. A closed epoch whose messages are all
  // acknowledged leaves the front: no report can come for it any more.
  std::deque<std::unique_ptr<Epoch>> epochs_ ABSL_GUARDED_BY(epochs_mu_);
};

struct KafkaHeader {
  std::string name;
  std::string value;
};

class KafkaProducer {
 public:
  // Defaults: Java-compatible murmur2_random partitioning, idempotence,
  // lz4, 5 ms linger; `properties` may override any of them.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(const std::string& bootstrap,
                                                               const KafkaProperties& properties);
  ~KafkaProducer();

  // Queues one message to `partition`, or, when it is -1, to the partition
  // the key decides (an empty key spreads messages). Waits while the local
  // queue is full. Thread-safe.
  absl::Status Produce(const std::string& topic, std::string_view key, std::string_view value,
                       int64_t timestamp_ms, DeliveryTracker* tracker,
                       const std::vector<KafkaHeader>& headers = {}, int32_t partition = -1);

  // Produces one message and waits for the broker's answer: where it was
  // written, or why not (after message.timeout.ms at the latest).
  struct Written {
    int32_t partition = 0;
    int64_t offset = 0;
  };
  absl::StatusOr<Written> ProduceAndWait(const std::string& topic, std::string_view key,
                                         std::string_view value);

  // Waits for every queued message to be delivered (or to fail).
  absl::Status Flush(int timeout_ms);

  // Transactions, for a producer created with a "transactional.id"
  // property (librdkafka's transactional API). A failed call's status is
  // Aborted when aborting the transaction and going on is the remedy, and
  // FailedPrecondition when the producer cannot go on (fenced by a newer
  // instance with the same id, or a fatal error).
  absl::Status InitTransactions(int timeout_ms);
  absl::Status BeginTransaction();
  // Adds `offsets` (next offsets to read) of the group described by
  // `group` to the open transaction and commits it.
  absl::Status CommitTransaction(const std::vector<std::pair<TopicPartition, int64_t>>& offsets,
                                 RdKafka::ConsumerGroupMetadata* group, int timeout_ms);
  absl::Status AbortTransaction(int timeout_ms);

  RdKafka::Producer* handle() { return producer_.get(); }

 private:
  class Reports;
  KafkaProducer() = default;

  std::unique_ptr<Reports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;  // serves delivery reports
};

// A job output written to a Kafka topic: rows keyed by their group key,
// stamped with their System.Timestamp().
// Names output rows the same way however often they are produced again (a
// replay after a crash): "<identity>/<group key>/<window end>" for
// aggregates, "<identity>/<source>@<offset>" for rows of one event (`source`
// tells the task's input apart), "<identity>/<input>:<partition>@<offset>+
// <input>:<partition>@<offset>" for a join's row of two events ("+-" for an
// unmatched LEFT row), with "#n" appended to the n-th further row
// that would get the same name in one batch (several rows from one event).
class RowIdentifier {
 public:
  RowIdentifier(std::string identity, std::string source)
      : identity_(std::move(identity)), source_(std::move(source)) {}
  bool enabled() const { return !identity_.empty(); }
  // The identity of the next row of the current batch (valid until the
  // next call; built in place, no allocation once warm).
  const std::string& Next(const OutputRow& row);
  // A new batch starts.
  void Reset() {
    previous_.clear();
    repeat_ = 0;
  }

 private:
  std::string identity_;
  std::string source_;
  std::string id_;
  std::string previous_;
  int repeat_ = 0;
};

// Output rows as Kafka messages: the group key as the message key, the row
// as its JSON value, and, when `identity` is set, its RowIdentifier name in
// a `sluice.id` header.
class KafkaSink final : public Sink {
 public:
  KafkaSink(KafkaProducer* producer, std::string topic, DeliveryTracker* tracker,
            std::string identity = "", std::string source = "")
      : producer_(producer),
        topic_(std::move(topic)),
        tracker_(tracker),
        ids_(std::move(identity), std::move(source)) {}

  absl::Status Write(const std::vector<OutputRow>& rows) override;
  absl::Status Flush() override { return absl::OkStatus(); }  // the worker waits on the tracker

 private:
  KafkaProducer* producer_;
  std::string topic_;
  DeliveryTracker* tracker_;
  RowIdentifier ids_;
  std::vector<KafkaHeader> headers_;  // reused: {sluice.id}
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_KAFKA_PRODUCER_H_
