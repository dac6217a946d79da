#include "connectors/kafka_reader.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafkacpp.h"

namespace sluice {
namespace {

int64_t Steady() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An (incremental) assignment's outcome as a status; takes the error.
absl::Status AssignmentStatus(RdKafka::Error* error, const char* what, const std::string& topic) {
  if (error == nullptr) return absl::OkStatus();
  absl::Status status = absl::UnavailableError(absl::StrCat(what, topic, ": ", error->str()));
  delete error;
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaTopicReader>> KafkaTopicReader::Create(
    const std::string& bootstrap, const KafkaProperties& properties) {
  KafkaProperties all = {
      {"bootstrap.servers", bootstrap},
      // Required by the consumer API; no group is joined (partitions are
      // assigned directly) and nothing is committed.
      {"group.id", "sluice-reader"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"allow.auto.create.topics", "false"},
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
  std::unique_ptr<KafkaTopicReader> reader(new KafkaTopicReader());
  std::string error;
  reader->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
  if (!reader->consumer_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create a Kafka consumer: ", error));
  }
  return reader;
}

KafkaTopicReader::~KafkaTopicReader() {
  if (consumer_) consumer_->close();
}

absl::StatusOr<int> KafkaTopicReader::Partitions(const std::string& topic, int timeout_ms) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> handle(
      RdKafka::Topic::create(consumer_.get(), topic, nullptr, error));
  if (!handle) return absl::InvalidArgumentError(absl::StrCat("topic ", topic, ": ", error));
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode err = consumer_->metadata(false, handle.get(), &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    return FromKafkaError(err, absl::StrCat("read the metadata of topic ", topic));
  }
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    if (t->topic() != topic) continue;
    if (t->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART || t->partitions()->empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
    }
    if (t->err() != RdKafka::ERR_NO_ERROR) {
      return FromKafkaError(t->err(), absl::StrCat("read the metadata of topic ", topic));
    }
    return static_cast<int>(t->partitions()->size());
  }
  return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
}

absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> KafkaTopicReader::Watermarks(
    const std::string& topic, int timeout_ms) {
  const int64_t deadline = Steady() + timeout_ms;
  auto partitions = Partitions(topic, timeout_ms);
  if (!partitions.ok()) return partitions.status();
  std::vector<std::pair<int64_t, int64_t>> marks;
  for (int32_t p = 0; p < *partitions; ++p) {
    int64_t low = 0, high = 0;
    const int remaining = static_cast<int>(std::max<int64_t>(100, deadline - Steady()));
    const RdKafka::ErrorCode err =
        consumer_->query_watermark_offsets(topic, p, &low, &high, remaining);
    if (err != RdKafka::ERR_NO_ERROR) {
      return FromKafkaError(err, absl::StrCat("read the end offsets of ", topic));
    }
    marks.emplace_back(low, high);
  }
  return marks;
}

absl::StatusOr<std::vector<int64_t>> KafkaTopicReader::Add(const std::string& topic, Start start,
                                                           int timeout_ms) {
  auto marks = Watermarks(topic, timeout_ms);
  if (!marks.ok()) return marks.status();
  std::vector<int64_t> ends;
  std::vector<RdKafka::TopicPartition*> assignment;
  for (size_t p = 0; p < marks->size(); ++p) {
    const auto [low, high] = (*marks)[p];
    ends.push_back(high);
    int64_t from = low;
    if (start.kind == Start::Kind::kEnd) from = high;
    if (start.kind == Start::Kind::kLast) from = std::max(low, high - start.n);
    assignment.push_back(RdKafka::TopicPartition::create(topic, static_cast<int32_t>(p), from));
  }
  const absl::Status status =
      AssignmentStatus(consumer_->incremental_assign(assignment), "cannot read topic ", topic);
  RdKafka::TopicPartition::destroy(assignment);
  if (!status.ok()) return status;
  for (size_t p = 0; p < marks->size(); ++p) {
    assigned_.emplace_back(topic, static_cast<int32_t>(p));
  }
  return ends;
}

absl::Status KafkaTopicReader::Remove(const std::string& topic) {
  std::vector<RdKafka::TopicPartition*> list;
  for (const auto& [t, p] : assigned_) {
    if (t == topic) list.push_back(RdKafka::TopicPartition::create(t, p));
  }
  if (list.empty()) return absl::OkStatus();
  absl::Status status =
      AssignmentStatus(consumer_->incremental_unassign(list), "cannot stop reading ", topic);
  RdKafka::TopicPartition::destroy(list);
  if (!status.ok()) return status;
  std::erase_if(assigned_, [&](const auto& tp) { return tp.first == topic; });
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> KafkaTopicReader::EndOffsets(const std::string& topic,
                                                                  int timeout_ms) {
  auto marks = Watermarks(topic, timeout_ms);
  if (!marks.ok()) return marks.status();
  std::vector<int64_t> ends;
  for (const auto& [low, high] : *marks) ends.push_back(high);
  return ends;
}

absl::StatusOr<int64_t> KafkaTopicReader::AddPartition(const std::string& topic, int32_t partition,
                                                       int timeout_ms) {
  auto partitions = Partitions(topic, timeout_ms);
  if (!partitions.ok()) return partitions.status();
  if (partition >= *partitions) {
    return absl::NotFoundError(absl::StrCat(topic, " has no partition ", partition));
  }
  int64_t low = 0, high = 0;
  const RdKafka::ErrorCode err =
      consumer_->query_watermark_offsets(topic, partition, &low, &high, timeout_ms);
  if (err != RdKafka::ERR_NO_ERROR) {
    return FromKafkaError(err, absl::StrCat("read the end offset of ", topic));
  }
  std::vector<RdKafka::TopicPartition*> assignment = {
      RdKafka::TopicPartition::create(topic, partition, low)};
  absl::Status status =
      AssignmentStatus(consumer_->incremental_assign(assignment), "cannot read topic ", topic);
  RdKafka::TopicPartition::destroy(assignment);
  if (!status.ok()) return status;
  assigned_.emplace_back(topic, partition);
  return high;
}

int64_t KafkaTopicReader::Position(const std::string& topic, int32_t partition) {
  std::vector<RdKafka::TopicPartition*> list = {RdKafka::TopicPartition::create(topic, partition)};
  int64_t offset = -1;
  if (consumer_->position(list) == RdKafka::ERR_NO_ERROR && list[0]->offset() >= 0) {
    offset = list[0]->offset();
  }
  RdKafka::TopicPartition::destroy(list);
  return offset;
}

absl::Status KafkaTopicReader::Poll(int timeout_ms, size_t max_messages,
                                    std::vector<KafkaMessage>* out) {
  absl::Status status;
  int wait = timeout_ms;
  for (size_t n = 0; n < max_messages; ++n) {
    std::unique_ptr<RdKafka::Message> message(consumer_->consume(wait));
    wait = 0;
    if (message->err() == RdKafka::ERR__TIMED_OUT) break;
    if (message->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (message->err() != RdKafka::ERR_NO_ERROR) {
      status = FromKafkaError(message->err(), message->errstr());
      break;
    }
    KafkaMessage m;
    m.topic = message->topic_name();
    m.partition = message->partition();
    m.offset = message->offset();
    m.timestamp_ms = message->timestamp().timestamp;
    if (const std::string* key = message->key()) m.key = *key;
    m.has_value = message->payload() != nullptr;
    if (m.has_value) m.value.assign(static_cast<const char*>(message->payload()), message->len());
    if (RdKafka::Headers* headers = message->headers()) {
      for (const RdKafka::Headers::Header& h : headers->get_all()) {
        m.headers.emplace_back(
            h.key(), h.value() == nullptr
                         ? std::string()
                         : std::string(static_cast<const char*>(h.value()), h.value_size()));
      }
    }
    out->push_back(std::move(m));
  }
  return status;
}

absl::Status KafkaTopicReader::Ping(int timeout_ms) {
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode err = consumer_->metadata(false, nullptr, &raw, timeout_ms);
  delete raw;
  return FromKafkaError(err, "reach Kafka");
}

absl::Status CreateTopicsIfMissing(const std::string& bootstrap, const KafkaProperties& properties,
                                   const std::vector<TopicToCreate>& topics, int timeout_ms) {
  KafkaProperties all = {{"bootstrap.servers", bootstrap}, {"log_level", "3"}};
  all.insert(all.end(), properties.begin(), properties.end());
  auto conf = MakeKafkaConf(all);
  if (!conf.ok()) return conf.status();
  std::string error;
  std::unique_ptr<RdKafka::Producer> client(RdKafka::Producer::create(conf->get(), error));
  if (!client) return absl::InvalidArgumentError(absl::StrCat("cannot create a client: ", error));
  rd_kafka_t* rk = client->c_ptr();
  char errstr[512];
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const TopicToCreate& topic : topics) {
    rd_kafka_NewTopic_t* request =
        rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, -1, errstr, sizeof(errstr));
    if (request == nullptr) {
      for (rd_kafka_NewTopic_t* r : requests) rd_kafka_NewTopic_destroy(r);
      return absl::InvalidArgumentError(absl::StrCat("topic ", topic.name, ": ", errstr));
    }
    for (const auto& [key, value] : topic.configs) {
      rd_kafka_NewTopic_set_config(request, key.c_str(), value.c_str());
    }
    requests.push_back(request);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk, requests.data(), requests.size(), options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 1000);
  absl::Status status;
  if (event == nullptr) {
    status = absl::DeadlineExceededError("creating topics timed out");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const rd_kafka_resp_err_t err = rd_kafka_event_error(event);
    const std::string message = rd_kafka_event_error_string(event);
    status = err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
                     err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION
                 ? absl::UnimplementedError(absl::StrCat("the cluster has no Admin API: ", message))
                 : absl::UnavailableError(absl::StrCat("cannot create topics: ", message));
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    for (size_t i = 0; i < count && status.ok(); ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        continue;
      }
      status = absl::UnavailableError(absl::StrCat("cannot create topic ",
                                                   rd_kafka_topic_result_name(results[i]), ": ",
                                                   rd_kafka_topic_result_error_string(results[i])));
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (rd_kafka_NewTopic_t* r : requests) rd_kafka_NewTopic_destroy(r);
  return status;
}

}  // namespace sluice
