// The worker's output kinds, in a SinkRegistry (engine/runtime/sink_registry.h):
//   kafka   a topic, written through each task's producer (in the task's
//           transaction under exactly_once); rows carry their identity in
//           a `sluice.id` header so readers drop a replay's copies
//   file    one file every task of the job appends to; a replay's copies
//           are dropped by identity, and the identities a file holds are
//           kept in <file>.ids so that a restarted worker still knows them
//   stdout  lines prefixed "<job> | <output> | ", a replay's copies dropped
// Adding a kind: a file with its JobOutput and factory, a line in
// RegisterWorkerOutputs, and the job spec's binding for it (job_loader).
#ifndef SLUICE_ENGINE_APP_WORKER_OUTPUTS_H_
#define SLUICE_ENGINE_APP_WORKER_OUTPUTS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "connectors/kafka_producer.h"
#include "engine/app/base/job_loader.h"
#include "engine/runtime/sink_registry.h"

namespace sluice {

// What a worker's task offers its sinks.
class WorkerSinkServices final : public SinkServices {
 public:
  WorkerSinkServices(KafkaProducer* producer, DeliveryTracker* tracker)
      : producer_(producer), tracker_(tracker) {}
  KafkaProducer* producer() const { return producer_; }
  DeliveryTracker* tracker() const { return tracker_; }

 private:
  KafkaProducer* producer_;
  DeliveryTracker* tracker_;
};

void RegisterWorkerOutputs(SinkRegistry* registry);

// The registry kind and address of a job spec's output binding.
SinkTarget SinkTargetFor(const LoadedJob& job, int output);

// The kinds, one per file.
absl::StatusOr<std::unique_ptr<JobOutput>> OpenKafkaOutput(const SinkTarget& target);
absl::StatusOr<std::unique_ptr<JobOutput>> OpenFileOutput(const SinkTarget& target);
absl::StatusOr<std::unique_ptr<JobOutput>> OpenStdoutOutput(const SinkTarget& target);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_WORKER_OUTPUTS_H_
