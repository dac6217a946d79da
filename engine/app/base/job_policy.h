// What a job may touch on a worker, whoever submitted it: least privilege by
// construction. A job spec comes from a client of the API or from the
// catalog topic, and everything in it is applied on every worker, so the
// worker's operator decides what a spec may name:
//   - file outputs only under `output_root` (none without one), reference
//     data files only under `reference_root` (none without one);
//   - Kafka properties only from an allowlist (no plugin libraries, no
//     interceptors, no paths on the worker's machine, no commands);
//   - no reading or writing of Sluice's internal topics (`_sluice_*`,
//     `sluice.*`) or Kafka's own (`__*`);
//   - secrets taken from the worker's environment (`${env:SLUICE_SECRET_X}`)
//     or from files in `secrets_dir` (`${file:NAME}`) instead of the spec,
//     and redacted wherever a spec is shown.
// Called by the API before a command enters the catalog, and by every
// worker before it runs a catalog entry (the catalog topic is input too).
#ifndef SLUICE_ENGINE_APP_BASE_JOB_POLICY_H_
#define SLUICE_ENGINE_APP_BASE_JOB_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/app/base/job_loader.h"
#include "proto/job.pb.h"

namespace sluice {

struct JobPolicy {
  // File outputs are written below this directory (relative paths only);
  // empty: jobs may not write files.
  std::string output_root;
  // `${file:NAME}` secrets are read from here; empty: none.
  std::string secrets_dir;
  // Reference data files (InputBinding.file) are read below this directory
  // (relative paths only); empty: jobs may not read files.
  std::string reference_root;
};

// Whether a topic belongs to Sluice or to Kafka itself.
bool IsInternalTopic(absl::string_view topic);

// Whether `key` is a Kafka property a job spec may set.
bool IsAllowedJobProperty(absl::string_view key);

// Whether a property's value is a secret (shown as "[redacted]").
bool IsSecretProperty(absl::string_view key);

// Checks a bound job against the policy: topics, file outputs, properties.
// Does not resolve secrets. InvalidArgument (PermissionDenied for what the
// operator did not allow) with a message that names the offending part.
absl::Status CheckJobPolicy(const LoadedJob& job, const JobPolicy& policy);

// Checks, then makes the job runnable on this worker: file outputs and
// reference files become paths under their roots and secret references are replaced by their
// values. FailedPrecondition when a secret is missing here.
absl::Status ApplyJobPolicy(const JobPolicy& policy, LoadedJob* job);

// A copy of `spec` fit to show: secret property values replaced by
// "[redacted]" (references like `${env:…}` are kept: they are not secret).
v1::JobSpec RedactSpec(const v1::JobSpec& spec);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_BASE_JOB_POLICY_H_
