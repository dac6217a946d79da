#include "engine/app/base/job_policy.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/kafka_client.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// Properties a job may set for its own consumers and producers: how to
// authenticate to Kafka (credentials inline as PEM, never as paths) and
// tuning. Everything else (plugin.library.paths, interceptors, *.location,
// sasl.kerberos.kinit.cmd, bootstrap.servers, group.id, transactional.id,
// debug, ...) stays the worker operator's.
constexpr absl::string_view kAllowedProperties[] = {
    "acks",
    "batch.num.messages",
    "batch.size",
    "client.id",
    "compression.codec",
    "compression.level",
    "compression.type",
    "fetch.max.bytes",
    "fetch.min.bytes",
    "fetch.wait.max.ms",
    "heartbeat.interval.ms",
    "isolation.level",
    "linger.ms",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "message.max.bytes",
    "message.send.max.retries",
    "message.timeout.ms",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.messages",
    "queue.buffering.max.ms",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "reconnect.backoff.max.ms",
    "reconnect.backoff.ms",
    "request.required.acks",
    "request.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.password",
    "sasl.username",
    "security.protocol",
    "session.timeout.ms",
    "socket.keepalive.enable",
    "socket.timeout.ms",
    "ssl.ca.pem",
    "ssl.certificate.pem",
    "ssl.cipher.suites",
    "ssl.endpoint.identification.algorithm",
    "ssl.key.password",
    "ssl.key.pem",
};

constexpr absl::string_view kRedacted = "[redacted]";

bool ValidSecretName(absl::string_view name, bool env) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                    (!env && (c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

// A value of the form ${KIND:NAME}; false for any other value.
bool ParseSecretReference(absl::string_view value, absl::string_view* kind,
                          absl::string_view* name) {
  if (!absl::StartsWith(value, "${") || !absl::EndsWith(value, "}")) return false;
  absl::string_view inner = value.substr(2, value.size() - 3);
  const size_t colon = inner.find(':');
  if (colon == absl::string_view::npos) return false;
  *kind = inner.substr(0, colon);
  *name = inner.substr(colon + 1);
  return true;
}

absl::StatusOr<std::string> ResolveSecret(const JobPolicy& policy, absl::string_view key,
                                          absl::string_view value) {
  absl::string_view kind, name;
  if (!ParseSecretReference(value, &kind, &name)) return std::string(value);
  if (kind == "env") {
    if (!absl::StartsWith(name, "SLUICE_SECRET_") || !ValidSecretName(name, true)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "kafkaProperties ", key,
          ": a job may only read environment variables named SLUICE_SECRET_*, not ", name));
    }
    const char* found = std::getenv(std::string(name).c_str());
    if (found == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "kafkaProperties ", key, ": this worker has no environment variable ", name));
    }
    return std::string(found);
  }
  if (kind == "file") {
    if (!ValidSecretName(name, false)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafkaProperties ", key, ": a secret file is named by a plain file name, not ", name));
    }
    if (policy.secrets_dir.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("kafkaProperties ", key,
                       ": this worker has no secrets directory (sluice worker --secrets-dir)"));
    }
    std::ifstream in(fs::path(policy.secrets_dir) / std::string(name), std::ios::binary);
    if (!in) {
      return absl::FailedPreconditionError(absl::StrCat("kafkaProperties ", key,
                                                        ": no secret file ", name,
                                                        " in this worker's secrets directory"));
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "kafkaProperties ", key, ": a secret reference is ${env:NAME} or ${file:NAME}, not ", value));
}

absl::Status CheckTopic(absl::string_view what, absl::string_view topic) {
  if (IsInternalTopic(topic)) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " '", topic,
                     "' is an internal topic (_sluice_*, sluice.*, __*); jobs may not use it"));
  }
  return absl::OkStatus();
}

// `relative` as a path below `root`, or an error: no absolute paths, no
// empty, "." or ".." parts.
absl::StatusOr<std::string> PathUnderRoot(const std::string& root, absl::string_view what,
                                          absl::string_view relative,
                                          absl::string_view root_flag = "output root") {
  const fs::path path{std::string(relative)};
  bool ok = !relative.empty() && relative.size() <= 1024 && path.is_relative() &&
            !path.has_root_name() && relative.find('\0') == absl::string_view::npos &&
            relative.back() != '/';
  for (const fs::path& part : path) {
    const std::string p = part.string();
    ok = ok && !p.empty() && p != "." && p != "..";
  }
  if (!ok) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, ": a file is a relative path inside the worker's ", root_flag,
                     " without '.' or '..' parts, not '", relative, "'"));
  }
  return (fs::path(root) / path).string();
}

}  // namespace

bool IsInternalTopic(absl::string_view topic) {
  const std::string lower = absl::AsciiStrToLower(topic);
  return absl::StartsWith(lower, "_sluice") || absl::StartsWith(lower, "sluice.") ||
         absl::StartsWith(lower, "__");
}

bool IsAllowedJobProperty(absl::string_view key) {
  for (absl::string_view allowed : kAllowedProperties) {
    if (key == allowed) return true;
  }
  return false;
}

bool IsSecretProperty(absl::string_view key) { return IsSecretKafkaProperty(std::string(key)); }

absl::Status CheckJobPolicy(const LoadedJob& job, const JobPolicy& policy) {
  for (const std::string& topic : job.input_topics) {
    if (absl::Status s = CheckTopic("input topic", topic); !s.ok()) return s;
  }
  for (size_t o = 0; o < job.outputs.size(); ++o) {
    const OutputTarget& target = job.outputs[o];
    const std::string& output = job.plan.outputs(static_cast<int>(o)).name();
    if (target.kind == OutputTarget::Kind::kTopic) {
      if (absl::Status s = CheckTopic(absl::StrCat("output ", output, ": topic"), target.name);
          !s.ok()) {
        return s;
      }
    } else if (target.kind == OutputTarget::Kind::kFile) {
      if (policy.output_root.empty()) {
        return absl::PermissionDeniedError(
            absl::StrCat("output ", output,
                         ": this cluster's workers take no file outputs (the operator enables "
                         "them with sluice worker --output-root DIR)"));
      }
      auto path = PathUnderRoot(policy.output_root, absl::StrCat("output ", output), target.name);
      if (!path.ok()) return path.status();
    }
  }
  for (const auto& [input, file] : job.reference_files) {
    const std::string what = absl::StrCat("input ", job.plan.inputs(input).name());
    if (policy.reference_root.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat(what,
                       ": this cluster's workers read no reference files (the operator enables "
                       "them with sluice worker --reference-root DIR); use a reference topic"));
    }
    auto path = PathUnderRoot(policy.reference_root, what, file.path, "reference root");
    if (!path.ok()) return path.status();
  }
  if (absl::Status s = CheckTopic("dead-letter topic", job.dead_letter_topic); !s.ok()) return s;
  for (const auto& [key, value] : job.spec.kafka_properties()) {
    if (!IsAllowedJobProperty(key)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "kafkaProperties: a job may not set ", key,
          " (allowed: security, credentials as inline PEM or secret references, and tuning; "
          "see README.md)"));
    }
    absl::string_view kind, name;
    if (ParseSecretReference(value, &kind, &name) && kind != "env" && kind != "file") {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafkaProperties ", key, ": a secret reference is ${env:NAME} or ${file:NAME}"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyJobPolicy(const JobPolicy& policy, LoadedJob* job) {
  if (absl::Status s = CheckJobPolicy(*job, policy); !s.ok()) return s;
  for (size_t o = 0; o < job->outputs.size(); ++o) {
    OutputTarget& target = job->outputs[o];
    if (target.kind != OutputTarget::Kind::kFile) continue;
    auto path = PathUnderRoot(
        policy.output_root, absl::StrCat("output ", job->plan.outputs(static_cast<int>(o)).name()),
        target.name);
    if (!path.ok()) return path.status();
    target.name = *std::move(path);
  }
  for (auto& [input, file] : job->reference_files) {
    auto path =
        PathUnderRoot(policy.reference_root, absl::StrCat("input ", job->plan.inputs(input).name()),
                      file.path, "reference root");
    if (!path.ok()) return path.status();
    file.path = *std::move(path);
  }
  for (auto& [key, value] : job->kafka) {
    auto resolved = ResolveSecret(policy, key, value);
    if (!resolved.ok()) return resolved.status();
    value = *std::move(resolved);
  }
  return absl::OkStatus();
}

v1::JobSpec RedactSpec(const v1::JobSpec& spec) {
  v1::JobSpec shown = spec;
  for (auto& [key, value] : *shown.mutable_kafka_properties()) {
    absl::string_view kind, name;
    if (IsSecretProperty(key) && !ParseSecretReference(value, &kind, &name)) {
      value = std::string(kRedacted);
    }
  }
  return shown;
}

}  // namespace sluice
