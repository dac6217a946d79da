// Job spec JSON -> a bound job or an error: what `sluice worker --job` and
// the API's SubmitJob take, then the worker's policy check.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/app/base/job_loader.h"
#include "engine/app/base/job_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  auto spec = sluice::ParseJobSpec(json, "the job");
  if (!spec.ok()) return 0;
  auto job = sluice::LoadJob(*spec);
  if (!job.ok()) return 0;
  sluice::JobPolicy policy;
  policy.output_root = "/nonexistent/sluice-fuzz-root";
  (void)sluice::CheckJobPolicy(*job, policy);
  (void)sluice::RedactSpec(job->spec);
  return 0;
}
