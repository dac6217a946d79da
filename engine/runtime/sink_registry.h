// Sinks by output kind.
//
// A job binds each of its outputs to a kind ("kafka", "file", "stdout")
// and an address (a topic, a path). The registry turns a binding into a
// JobOutput, opened once per job and shared by the job's tasks (one file
// that several tasks append to, say), which opens a Sink for each task.
// Adding a kind is one file that implements JobOutput and one line that
// registers its factory; the worker's kinds are registered by
// RegisterWorkerOutputs (engine/app/worker/outputs.h). The commit phase a
// sink may implement is described with Sink (engine/exec/operator.h).
#ifndef SLUICE_ENGINE_RUNTIME_SINK_REGISTRY_H_
#define SLUICE_ENGINE_RUNTIME_SINK_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/operator.h"

namespace sluice {

// One output of a job, as its spec binds it.
struct SinkTarget {
  std::string kind;     // a registered kind
  std::string address;  // what the kind reads it as: a topic, a path
  std::string job;      // the job's name
  std::string output;   // the plan output's name
};

// What a runner offers the sinks of its tasks (the worker: the task's
// Kafka producer and delivery tracker). A kind that needs them knows the
// runner's type and casts; one opened by another runner refuses.
class SinkServices {
 public:
  virtual ~SinkServices() = default;
};

// The task a sink is opened for.
struct SinkTask {
  // Name the task's rows so that a replay's copies can be dropped
  // (RowIdentifier): "<job>/<output>", and the task's input partition,
  // e.g. "telemetry:3" or "stage1:0".
  std::string identity;
  std::string source;
  SinkServices* services = nullptr;
};

// One job output of some kind, shared by the job's tasks.
class JobOutput {
 public:
  virtual ~JobOutput() = default;
  // A sink for one task; it may be called from that task's thread only,
  // but sinks of several tasks may be used at once.
  virtual absl::StatusOr<std::unique_ptr<Sink>> OpenForTask(const SinkTask& task) = 0;
};

class SinkRegistry {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<JobOutput>>(const SinkTarget&)>;

  // Registers `kind`; registering a kind twice replaces the factory.
  void Register(std::string kind, Factory factory);
  // The output `target` names; InvalidArgument for a kind nobody registered
  // (the message lists the known ones).
  absl::StatusOr<std::unique_ptr<JobOutput>> Open(const SinkTarget& target) const;
  std::vector<std::string> kinds() const;

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_RUNTIME_SINK_REGISTRY_H_
