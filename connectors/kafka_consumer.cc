#include "connectors/kafka_consumer.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"
#include "librdkafka/rdkafkacpp.h"

namespace sluice {

void RecordBatch::AppendTo(std::vector<SourceRecord>* out, size_t first, size_t count) const {
  const size_t end = first + std::min(count, records.size() - std::min(first, records.size()));
  out->reserve(out->size() + (end - std::min(first, end)));
  for (size_t i = first; i < end; ++i) {
    const Record& r = records[i];
    SourceRecord& record = out->emplace_back();
    record.data = payload(r);
    record.readable_after = readable_after(r);
    record.position = r.offset;
    record.arrival = r.timestamp_ms * kTicksPerMillisecond;
  }
}
namespace {

std::vector<TopicPartition> Convert(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<TopicPartition> out;
  out.reserve(partitions.size());
  for (const RdKafka::TopicPartition* p : partitions) {
    out.push_back(TopicPartition{p->topic(), p->partition()});
  }
  return out;
}

}  // namespace

class KafkaGroupConsumer::Rebalance final : public RdKafka::RebalanceCb {
 public:
  explicit Rebalance(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      // Start reading where the callback says, else where the group last
      // committed (earliest when it never did).
      if (callbacks_.assigned) {
        const std::vector<int64_t> starts = callbacks_.assigned(Convert(partitions));
        for (size_t i = 0; i < partitions.size() && i < starts.size(); ++i) {
          if (starts[i] >= 0) partitions[i]->set_offset(starts[i]);
        }
      }
      if (cooperative) {
        delete consumer->incremental_assign(partitions);
      } else {
        consumer->assign(partitions);
      }
    } else {
      if (callbacks_.revoked) callbacks_.revoked(Convert(partitions), consumer->assignment_lost());
      if (cooperative) {
        delete consumer->incremental_unassign(partitions);
      } else {
        consumer->unassign();
      }
    }
  }

 private:
  Callbacks callbacks_;
};

absl::StatusOr<std::unique_ptr<KafkaGroupConsumer>> KafkaGroupConsumer::Create(
    const std::string& bootstrap, const std::string& group, const std::vector<std::string>& topics,
    const KafkaProperties& properties, Callbacks callbacks) {
  KafkaProperties all = {
      {"bootstrap.servers", bootstrap},
      {"group.id", group},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "true"},
      // A worker that dies is noticed after 6 s and its partitions move.
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "1000"},
      // The default queue (100000 messages) throttles a fast consumer.
      {"queued.min.messages", "1000000"},
      // How long a fetch waits at the end of the log. Real brokers answer
      // as soon as a byte arrives, but the embedded (mock) broker holds an
      // empty fetch for the whole wait, so this bounds the added latency.
      {"fetch.wait.max.ms", "10"},
      // Only committed messages: the outputs, exchanges and changelogs of
      // exactly_once jobs are transactional (no effect on other topics).
      {"isolation.level", "read_committed"},
      {"log_level", "3"},
  };
  all.insert(all.end(), properties.begin(), properties.end());
  auto conf = MakeKafkaConf(all);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<KafkaGroupConsumer> consumer(new KafkaGroupConsumer());
  consumer->rebalance_ = std::make_unique<Rebalance>(std::move(callbacks));
  std::string error;
  if ((*conf)->set("rebalance_cb", consumer->rebalance_.get(), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("cannot set the rebalance callback: ", error));
  }
  consumer->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
  if (!consumer->consumer_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create a Kafka consumer: ", error));
  }
  if (absl::Status s = FromKafkaError(consumer->consumer_->subscribe(topics),
                                      absl::StrCat("subscribe to ", topics.front()));
      !s.ok()) {
    return s;
  }
  return consumer;
}

KafkaGroupConsumer::~KafkaGroupConsumer() { Close(); }

void KafkaGroupConsumer::Close() {
  if (closed_ || !consumer_) return;
  closed_ = true;
  consumer_->close();
}

absl::Status KafkaGroupConsumer::Poll(int timeout_ms, size_t max_records,
                                      std::vector<RecordBatch>* out) {
  std::map<std::pair<std::string, int32_t>, size_t> index;
  size_t taken = 0;
  int wait = timeout_ms;
  absl::Status status;
  while (taken < max_records) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(wait));
    wait = 0;  // after the first record, take only what is already here
    if (!msg) break;
    const RdKafka::ErrorCode err = msg->err();
    if (err == RdKafka::ERR__TIMED_OUT) break;
    if (err == RdKafka::ERR__PARTITION_EOF) continue;
    if (err != RdKafka::ERR_NO_ERROR) {
      // Broker trouble is retried by librdkafka; report it and go on.
      status = FromKafkaError(err, absl::StrCat("consume ", msg->topic_name()));
      break;
    }
    auto key = std::make_pair(msg->topic_name(), msg->partition());
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, out->size()).first;
      RecordBatch batch;
      batch.partition = TopicPartition{key.first, key.second};
      out->push_back(std::move(batch));
    }
    RecordBatch& batch = (*out)[it->second];
    RecordBatch::Record r;
    r.offset = msg->offset();
    const RdKafka::MessageTimestamp ts = msg->timestamp();
    r.timestamp_ms = ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE
                         ? std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count()
                         : ts.timestamp;
    r.begin = static_cast<uint32_t>(batch.data.size());
    r.size = static_cast<uint32_t>(msg->len());
    batch.data.append(static_cast<const char*>(msg->payload()), msg->len());
    batch.records.push_back(r);
    ++taken;
  }
  for (RecordBatch& batch : *out) batch.data.append(RecordBatch::kPadding, ' ');
  return status;
}

absl::Status KafkaGroupConsumer::Commit(
    const std::vector<std::pair<TopicPartition, int64_t>>& offsets, bool sync) {
  if (offsets.empty()) return absl::OkStatus();
  std::vector<RdKafka::TopicPartition*> list;
  for (const auto& [tp, offset] : offsets) {
    list.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, offset));
  }
  const RdKafka::ErrorCode err = sync ? consumer_->commitSync(list) : consumer_->commitAsync(list);
  RdKafka::TopicPartition::destroy(list);
  return FromKafkaError(err, "commit offsets");
}

int64_t KafkaGroupConsumer::QueryEndOffset(const TopicPartition& tp, int timeout_ms) {
  int64_t low = -1, high = -1;
  if (consumer_->query_watermark_offsets(tp.topic, tp.partition, &low, &high, timeout_ms) !=
      RdKafka::ERR_NO_ERROR) {
    return -1;
  }
  return high;
}

int64_t KafkaGroupConsumer::CachedEndOffset(const TopicPartition& tp) {
  int64_t low = -1, high = -1;
  if (consumer_->get_watermark_offsets(tp.topic, tp.partition, &low, &high) !=
      RdKafka::ERR_NO_ERROR) {
    return -1;
  }
  return high;
}

absl::Status KafkaGroupConsumer::Seek(const TopicPartition& tp, int64_t offset, int timeout_ms) {
  if (offset < 0) {
    std::vector<RdKafka::TopicPartition*> list = {
        RdKafka::TopicPartition::create(tp.topic, tp.partition)};
    const RdKafka::ErrorCode err = consumer_->committed(list, timeout_ms);
    offset = err == RdKafka::ERR_NO_ERROR && list[0]->offset() >= 0
                 ? list[0]->offset()
                 : RdKafka::Topic::OFFSET_BEGINNING;
    RdKafka::TopicPartition::destroy(list);
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("cannot read the committed offset of ", tp.topic,
                                                 "[", tp.partition, "]: ", RdKafka::err2str(err)));
    }
  }
  std::unique_ptr<RdKafka::TopicPartition> target(
      RdKafka::TopicPartition::create(tp.topic, tp.partition, offset));
  const RdKafka::ErrorCode err = consumer_->seek(*target, timeout_ms);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot read ", tp.topic, "[", tp.partition,
                                               "] again from offset ", offset, ": ",
                                               RdKafka::err2str(err)));
  }
  return absl::OkStatus();
}

}  // namespace sluice
