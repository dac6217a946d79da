// The "kafka" output kind: rows to a topic through the writing task's own
// producer (KafkaSink), so that they count in the task's delivery tracker
// and, under exactly_once, commit with its transaction.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/app/worker/outputs.h"

namespace sluice {
namespace {

class KafkaOutput final : public JobOutput {
 public:
  explicit KafkaOutput(SinkTarget target) : target_(std::move(target)) {}

  absl::StatusOr<std::unique_ptr<Sink>> OpenForTask(const SinkTask& task) override {
    const auto* services = dynamic_cast<const WorkerSinkServices*>(task.services);
    if (services == nullptr || services->producer() == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "output ", target_.output, " goes to Kafka, which only a worker's tasks can write"));
    }
    return std::make_unique<KafkaSink>(services->producer(), target_.address, services->tracker(),
                                       task.identity, task.source);
  }

 private:
  const SinkTarget target_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobOutput>> OpenKafkaOutput(const SinkTarget& target) {
  if (target.address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("output ", target.output, " names no topic"));
  }
  return std::make_unique<KafkaOutput>(target);
}

}  // namespace sluice
