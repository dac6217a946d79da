#include "connectors/kafka_producer.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"

namespace sluice {

class KafkaProducer::Reports final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    auto* tracker = static_cast<DeliveryTracker*>(message.msg_opaque());
    if (tracker == nullptr) return;
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      tracker->OnReport(nullptr, message.partition(), message.offset());
    } else {
      const std::string error =
          absl::StrCat("delivery to ", message.topic_name(), " failed: ", message.errstr());
      tracker->OnReport(&error, message.partition(), message.offset());
    }
  }
};

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const std::string& bootstrap, const KafkaProperties& properties) {
  KafkaProperties all = {
      {"bootstrap.servers", bootstrap},
      {"partitioner", "murmur2_random"},
      {"enable.idempotence", "true"},
      {"compression.type", "lz4"},
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "500000"},
      {"log_level", "3"},
  };
  all.insert(all.end(), properties.begin(), properties.end());
  auto conf = MakeKafkaConf(all);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer());
  producer->reports_ = std::make_unique<Reports>();
  std::string error;
  if ((*conf)->set("dr_cb", producer->reports_.get(), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("cannot set the delivery callback: ", error));
  }
  producer->producer_.reset(RdKafka::Producer::create(conf->get(), error));
  if (!producer->producer_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create a Kafka producer: ", error));
  }
  KafkaProducer* raw = producer.get();
  producer->poller_ = std::thread([raw] {
    while (!raw->stop_.load(std::memory_order_relaxed)) raw->producer_->poll(100);
  });
  return producer;
}

KafkaProducer::~KafkaProducer() {
  if (producer_) producer_->flush(10'000);
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
}

absl::Status KafkaProducer::Produce(const std::string& topic, std::string_view key,
                                    std::string_view value, int64_t timestamp_ms,
                                    DeliveryTracker* tracker,
                                    const std::vector<KafkaHeader>& headers, int32_t partition) {
  DeliveryTracker* report_to = tracker != nullptr ? tracker->ForMessage() : nullptr;
  while (true) {
    RdKafka::Headers* h = nullptr;
    if (!headers.empty()) {
      h = RdKafka::Headers::create();
      for (const KafkaHeader& header : headers) h->add(header.name, header.value);
    }
    const RdKafka::ErrorCode err = producer_->produce(
        topic, partition < 0 ? RdKafka::Topic::PARTITION_UA : partition,
        RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()), value.size(),
        key.empty() ? nullptr : key.data(), key.size(), timestamp_ms, h, report_to);
    if (err == RdKafka::ERR_NO_ERROR) {
      if (report_to != nullptr) report_to->Produced();
      if (tracker != nullptr && tracker != report_to) tracker->Produced();
      return absl::OkStatus();
    }
    delete h;  // not taken over on failure
    if (err != RdKafka::ERR__QUEUE_FULL) {
      return FromKafkaError(err, absl::StrCat("produce to ", topic));
    }
    // The local queue is full: let deliveries drain, then retry.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int64_t EpochDeliveryTracker::Cut() {
  absl::MutexLock lock(&epochs_mu_);
  const int64_t closed = epochs_.back()->number();
  epochs_.push_back(std::make_unique<Epoch>(this, closed + 1));
  // Closed epochs with every report in: nothing refers to them any more.
  while (epochs_.size() > 1 && epochs_.front()->answered() && epochs_.front()->failed() == 0) {
    epochs_.pop_front();
  }
  return closed;
}

absl::StatusOr<bool> EpochDeliveryTracker::Acknowledged(int64_t epoch) {
  if (failed() > 0) return absl::UnavailableError(last_error());
  absl::MutexLock lock(&epochs_mu_);
  for (const auto& e : epochs_) {
    if (e->number() > epoch) break;
    // The open epoch is never complete: more may still come.
    if (e.get() == epochs_.back().get() || !e->answered()) return false;
  }
  return true;
}

namespace {

class WaitingTracker final : public DeliveryTracker {
 public:
  void OnReport(const std::string* error, int32_t partition, int64_t offset) override {
    absl::MutexLock lock(&mu_);
    if (error != nullptr) error_ = *error;
    written_ = {partition, offset};
    done_ = true;
  }
  absl::StatusOr<KafkaProducer::Written> Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    if (!error_.empty()) return absl::UnavailableError(error_);
    return written_;
  }

 private:
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::string error_ ABSL_GUARDED_BY(mu_);
  KafkaProducer::Written written_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<KafkaProducer::Written> KafkaProducer::ProduceAndWait(const std::string& topic,
                                                                     std::string_view key,
                                                                     std::string_view value) {
  WaitingTracker tracker;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (absl::Status s = Produce(topic, key, value, now_ms, &tracker); !s.ok()) return s;
  // Every message is reported, at the latest when message.timeout.ms ends.
  return tracker.Wait();
}

namespace {

absl::Status FromTxnError(RdKafka::Error* error, const std::string& what) {
  if (error == nullptr) return absl::OkStatus();
  std::string message = absl::StrCat("Kafka transaction: ", what, ": ", error->str());
  absl::Status status;
  if (error->txn_requires_abort()) {
    status = absl::AbortedError(message);
  } else if (error->is_fatal() || error->code() == RdKafka::ERR__FENCED ||
             error->code() == RdKafka::ERR_PRODUCER_FENCED) {
    status = absl::FailedPreconditionError(message);
  } else {
    status = absl::UnavailableError(message);
  }
  delete error;
  return status;
}

}  // namespace

absl::Status KafkaProducer::InitTransactions(int timeout_ms) {
  return FromTxnError(producer_->init_transactions(timeout_ms), "init");
}

absl::Status KafkaProducer::BeginTransaction() {
  return FromTxnError(producer_->begin_transaction(), "begin");
}

absl::Status KafkaProducer::CommitTransaction(
    const std::vector<std::pair<TopicPartition, int64_t>>& offsets,
    RdKafka::ConsumerGroupMetadata* group, int timeout_ms) {
  if (!offsets.empty() && group != nullptr) {
    std::vector<RdKafka::TopicPartition*> list;
    for (const auto& [tp, offset] : offsets) {
      list.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, offset));
    }
    RdKafka::Error* error = producer_->send_offsets_to_transaction(list, group, timeout_ms);
    RdKafka::TopicPartition::destroy(list);
    if (absl::Status s = FromTxnError(error, "send offsets"); !s.ok()) return s;
  }
  return FromTxnError(producer_->commit_transaction(timeout_ms), "commit");
}

absl::Status KafkaProducer::AbortTransaction(int timeout_ms) {
  return FromTxnError(producer_->abort_transaction(timeout_ms), "abort");
}

absl::Status KafkaProducer::Flush(int timeout_ms) {
  return FromKafkaError(producer_->flush(timeout_ms), "flush the producer");
}

const std::string& RowIdentifier::Next(const OutputRow& row) {
  id_.assign(identity_);
  id_.push_back('/');
  if (row.origin != nullptr && row.paired != nullptr) {
    // A join's row: its events, wherever they came from.
    auto append = [this](const RowOrigin& o) {
      if (o.position < 0) {
        id_.push_back('-');
      } else {
        absl::StrAppend(&id_, o.input, ":", o.partition, "@", o.position);
      }
    };
    append(*row.origin);
    for (const RowOrigin& other : *row.paired) {
      id_.push_back('+');
      append(other);
    }
  } else if (row.position >= 0) {
    id_.append(source_);
    id_.push_back('@');
    absl::StrAppend(&id_, row.position);
  } else {
    id_.append(row.key);
    id_.push_back('/');
    absl::StrAppend(&id_, row.timestamp);
  }
  if (id_ == previous_) {
    ++repeat_;
  } else {
    previous_.assign(id_);
    repeat_ = 0;
  }
  if (repeat_ > 0) absl::StrAppend(&id_, "#", repeat_);
  return id_;
}

absl::Status KafkaSink::Write(const std::vector<OutputRow>& rows) {
  ids_.Reset();
  if (ids_.enabled() && headers_.empty()) headers_.push_back(KafkaHeader{"sluice.id", ""});
  for (const OutputRow& row : rows) {
    const int64_t ms = FloorDiv(row.timestamp, kTicksPerMillisecond);
    if (ids_.enabled()) headers_[0].value.assign(ids_.Next(row));
    if (absl::Status s = producer_->Produce(topic_, row.key, row.json, ms, tracker_, headers_);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice
