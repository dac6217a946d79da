// EmbeddedBroker: librdkafka's mock Kafka cluster, hosted in this process
// and listening on loopback. It speaks the real Kafka protocol, so other
// processes (workers, the simulator, kcat) use it as any Kafka.
//
// Limits of librdkafka 2.0.2's mock (design.md): each partition keeps only
// its last 5 MiB / 100,000 message sets; no Admin API (topics are created
// here, or auto-created by clients with 4 partitions); no offsets-for-times;
// transactions are accepted but not enforced.
#ifndef SLUICE_CONNECTORS_EMBEDDED_BROKER_H_
#define SLUICE_CONNECTORS_EMBEDDED_BROKER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace sluice {

class EmbeddedBroker {
 public:
  static absl::StatusOr<std::unique_ptr<EmbeddedBroker>> Start(int brokers);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  absl::Status CreateTopic(const std::string& name, int partitions);
  const std::string& bootstrap() const { return bootstrap_; }

  // What auto-created topics get; fixed by librdkafka 2.0.2.
  static constexpr int kAutoCreatedPartitions = 4;
  static constexpr const char* kLimits =
      "limits of the embedded broker (librdkafka mock): each partition keeps only its last "
      "5 MiB / 100000 message sets, auto-created topics get 4 partitions, no Admin API, "
      "transactions are accepted but not enforced";

 private:
  EmbeddedBroker() = default;
  rd_kafka_s* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_EMBEDDED_BROKER_H_
