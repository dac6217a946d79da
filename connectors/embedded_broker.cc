#include "connectors/embedded_broker.h"

#include "absl/strings/str_cat.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"

namespace sluice {

absl::StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(int brokers) {
  if (brokers < 1 || brokers > 16) {
    return absl::InvalidArgumentError(absl::StrCat("--brokers takes 1 to 16, not ", brokers));
  }
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  // Quiet: the mock logs every connection at info level.
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  broker->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (broker->handle_ == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create the broker's Kafka handle: ", error));
  }
  broker->cluster_ = rd_kafka_mock_cluster_new(broker->handle_, brokers);
  if (broker->cluster_ == nullptr) {
    return absl::UnavailableError("cannot start the mock Kafka cluster on loopback");
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->cluster_);
  return broker;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status EmbeddedBroker::CreateTopic(const std::string& name, int partitions) {
  if (partitions < 1 || partitions > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic ", name, ": partitions must be 1 to 10000, not ", partitions));
  }
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create topic ", name, ": ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

}  // namespace sluice
