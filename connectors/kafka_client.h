// The one adapter between librdkafka and the rest of Sluice: configuration
// from property lists (so any librdkafka property, SASL/SSL included, passes
// through from a job or `-X key=value`) and librdkafka errors as
// absl::Status (Unavailable for what a retry may cure, InvalidArgument for
// bad settings, Internal otherwise).
#ifndef SLUICE_CONNECTORS_KAFKA_CLIENT_H_
#define SLUICE_CONNECTORS_KAFKA_CLIENT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "librdkafka/rdkafkacpp.h"

namespace sluice {

// Ordered (later entries override earlier ones).
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Whether a property's value is a secret (a password, a private key, a
// token): never shown in messages, logs or job descriptions.
bool IsSecretKafkaProperty(const std::string& key);

// Parses "key=value"; fails with a message naming the flag.
absl::StatusOr<std::pair<std::string, std::string>> ParseKafkaProperty(const std::string& text);

// A global (client) configuration with `properties` applied in order.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaProperties& properties);

absl::Status FromKafkaError(RdKafka::ErrorCode code, const std::string& what);

// The bootstrap servers: `brokers` if given, else the contents of
// `bootstrap_file` (written by `sluice broker --bootstrap-file`), waiting up
// to `wait_seconds` for the file to appear.
absl::StatusOr<std::string> ResolveBootstrap(const std::string& brokers,
                                             const std::string& bootstrap_file,
                                             double wait_seconds);

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_KAFKA_CLIENT_H_
