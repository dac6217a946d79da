// Worker: runs jobs on Kafka partitions (`sluice worker`).
//
// For each job the worker joins the consumer group `sluice.<job>` on the
// job's input topics. Every partition Kafka assigns becomes a task: the
// job's compiled plan running over that partition's records. Tasks run on a
// thread pool sized to the cores, one thread at a time each; a consumer
// thread per job fetches records and hands them to the tasks.
//
// Delivery is at-least-once: a task's input offset is committed only when
// every output message produced from the input before it is acknowledged,
// and never past the oldest event still held in window state (so a task
// that moves to another worker re-reads what its open windows need).
// Revoking a partition drains its task and commits what it finished.
// Records that cannot be decoded or timestamped go to the job's dead-letter
// topic with the reason and where they came from.
#ifndef SLUICE_ENGINE_APP_WORKER_WORKER_H_
#define SLUICE_ENGINE_APP_WORKER_WORKER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_producer.h"
#include "engine/app/base/job_loader.h"
#include "engine/exec/operator_registry.h"
#include "engine/exec/thread_pool.h"
#include "engine/runtime/sink_registry.h"
#include "engine/state/state_store.h"
#include "proto/job_service.pb.h"

namespace sluice {

struct JobTopology;       // worker.cc: how a multi-stage job's stages connect
class ReferenceProvider;  // engine/exec/reference_data.h

struct WorkerOptions {
  std::string name;       // shown in logs
  std::string bootstrap;  // Kafka bootstrap servers
  std::string state_dir;
  KafkaProperties kafka;  // -X properties for every client
  int threads = 0;        // 0: one per core
  int64_t commit_interval_ms = 1000;
  int64_t status_interval_ms = 5000;  // 0: no periodic status lines
};

class Worker {
 public:
  static absl::StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options);
  ~Worker();

  // Starts running `job` (joins its consumer group).
  absl::Status AddJob(LoadedJob job);

  // Stops running the job named `name`: leaves its group, committing the
  // finished work. Returns false when it was not running here.
  bool StopJob(const std::string& name);

  // The jobs running here and their versions.
  std::map<std::string, int64_t> JobVersions();

  // The status of every job and task running here (any thread).
  std::vector<v1::JobOnWorker> CollectStatus();

  const WorkerOptions& options() const { return options_; }

  // Leaves every group, letting revocations commit, then returns.
  void Stop();

 private:
  class JobRunner;
  class PartitionTask;
  absl::StatusOr<std::shared_ptr<const JobTopology>> BuildTopology(const LoadedJob& job);
  absl::StatusOr<std::shared_ptr<const ReferenceProvider>> StartReferences(const LoadedJob& job);

  explicit Worker(WorkerOptions options);

  WorkerOptions options_;
  OperatorRegistry registry_;
  SinkRegistry sinks_;  // the output kinds (outputs.h)
  std::unique_ptr<StateStore> store_;
  // Dead letters of reference records (before producer_: it reports here).
  DeliveryTracker reference_tracker_;
  std::unique_ptr<KafkaProducer> producer_;
  // Set once creating topics got no answer (the embedded broker has no
  // Admin API): later jobs do not wait for it again.
  std::atomic<bool> no_admin_api_{false};
  std::unique_ptr<ThreadPool> pool_;
  absl::Mutex mu_;
  // A runner per stage of each job, the last stage first.
  std::map<std::string, std::vector<std::unique_ptr<JobRunner>>> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_WORKER_WORKER_H_
