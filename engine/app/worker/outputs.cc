#include "engine/app/worker/outputs.h"

namespace sluice {

void RegisterWorkerOutputs(SinkRegistry* registry) {
  registry->Register("kafka", &OpenKafkaOutput);
  registry->Register("file", &OpenFileOutput);
  registry->Register("stdout", &OpenStdoutOutput);
}

SinkTarget SinkTargetFor(const LoadedJob& job, int output) {
  const OutputTarget& target = job.outputs[output];
  SinkTarget sink;
  switch (target.kind) {
    case OutputTarget::Kind::kTopic:
      sink.kind = "kafka";
      break;
    case OutputTarget::Kind::kFile:
      sink.kind = "file";
      break;
    case OutputTarget::Kind::kStdout:
      sink.kind = "stdout";
      break;
  }
  sink.address = target.name;
  sink.job = job.spec.name();
  sink.output = job.plan.outputs(output).name();
  return sink;
}

}  // namespace sluice
