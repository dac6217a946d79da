// ControlPlane: a worker's part in running the cluster's job catalog.
//
// The catalog is the compacted command topic `_sluice_jobs` (keyed by job
// name). Every worker reads it from the beginning and follows it, applying
// each command to its Catalog (engine/control/catalog.h) in log order, and runs
// exactly the jobs that are RUNNING there, in the catalog's version. A
// request that changes the catalog (submit, update, stop) is appended as a
// command; the worker that took it waits until it has read its own command
// back, then answers with the outcome the log gave it, so two workers that
// receive conflicting requests answer consistently.
//
// Workers also publish their status (jobs, tasks, offsets, health) to
// `_sluice_status` every heartbeat, keyed by worker id, and read everyone
// else's: that is how any worker can describe a job's tasks on all of them
// and list the workers of the cluster.
//
// Threads: a follower (reads both topics, checks that Kafka answers), a
// heartbeat (publishes the status), and a reconciler (starts and stops jobs
// on the Worker as the catalog changes, so slow group exits never hold up
// reading).
#ifndef SLUICE_ENGINE_APP_CONTROL_CONTROL_PLANE_H_
#define SLUICE_ENGINE_APP_CONTROL_CONTROL_PLANE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_producer.h"
#include "engine/app/base/job_policy.h"
#include "engine/app/worker/worker.h"
#include "engine/control/catalog.h"
#include "engine/exec/thread_pool.h"
#include "proto/job_service.pb.h"

namespace sluice {

class KafkaTopicReader;

inline constexpr char kCatalogTopic[] = "_sluice_jobs";
inline constexpr char kStatusTopic[] = "_sluice_status";

struct ControlPlaneOptions {
  std::string worker_name;
  std::string grpc_address;  // advertised to the other workers
  std::string bootstrap;
  KafkaProperties kafka;
  int64_t heartbeat_ms = 1000;
  // Jobs given with `--job FILE`: submitted through the catalog once it is
  // read (updated when the catalog holds another spec under the name).
  std::vector<v1::JobSpec> static_jobs;
  // What jobs may touch on this worker (file outputs, secrets).
  JobPolicy policy;
  // Said in this worker's health text (e.g. an API served with --insecure).
  std::string api_warning;
};

// The result of a command that went through the log.
struct CommandResult {
  CommandOutcome outcome;
  CatalogEntry entry;  // the job after the command (empty name: none)
};

class ControlPlane {
 public:
  static absl::StatusOr<std::unique_ptr<ControlPlane>> Start(ControlPlaneOptions options,
                                                             Worker* worker);
  ~ControlPlane();

  // Publishes a last "leaving" status and stops the threads. The caller
  // stops the Worker afterwards.
  void Stop();

  // Appends `command` to the catalog and waits until this worker has
  // applied it. Unavailable (nothing changed) when Kafka cannot be written
  // or the catalog is not read yet.
  absl::StatusOr<CommandResult> Execute(v1::CatalogCommand command, absl::Duration timeout);

  // What the catalog says now (a copy).
  std::map<std::string, CatalogEntry> Jobs();
  std::optional<CatalogEntry> Job(const std::string& name);
  // A command's outcome if it were appended now (the log still decides).
  CommandOutcome Check(const v1::CatalogCommand& command);

  // The live workers' latest status, this worker's taken now, by name.
  std::vector<v1::WorkerStatus> LiveWorkers();
  v1::WorkerInfo Self();

  // Healthy: the catalog was read and Kafka answers.
  bool healthy();
  // Called (from the follower thread) whenever health changes.
  void OnHealthChange(std::function<void(bool healthy)> callback);

  // Logs an audit record (one JSON line, api_audit.h) and appends it to
  // `_sluice_audit`, keyed by `job`. Best effort: never waits for Kafka; a
  // record Kafka does not take within the producer's timeout is only in
  // the log.
  void Audit(const std::string& job, const std::string& json);

  const ControlPlaneOptions& options() const { return options_; }
  // The API address the other workers see in this worker's status.
  void SetGrpcAddress(std::string address);

 private:
  struct RemoteStatus {
    v1::WorkerStatus status;
    int64_t received_ms = 0;  // steady clock
  };

  ControlPlane(ControlPlaneOptions options, Worker* worker);
  void Follow();
  void Heartbeat();
  void Reconcile();
  // Runs `op` (a start or stop of job `name`) on `pool`, with the name
  // marked as busy until it ends.
  void StartReconcileOp(ThreadPool* pool, const std::string& name, std::function<void()> op);
  void SubmitStaticJobs();
  void EnsureControlTopics(KafkaTopicReader* reader);
  void Apply(const std::string& key, const std::string& value, int32_t partition, int64_t offset);
  void SetHealth(bool kafka_ok, const std::string& problem);
  // Logs a change of health and tells the callback.
  void PublishHealth();
  v1::WorkerStatus OwnStatus(bool leaving);

  ControlPlaneOptions options_;
  Worker* worker_;
  std::string id_;
  int64_t started_at_ms_;
  std::unique_ptr<KafkaProducer> producer_;
  std::atomic<bool> stop_{false};
  std::thread follower_;
  std::thread heartbeat_;
  std::thread reconciler_;
  std::thread static_submitter_;
  // Job starts and stops, a few at a time each (Reconcile).
  static constexpr int kConcurrentStarts = 8;
  static constexpr int kConcurrentStops = 4;
  std::unique_ptr<ThreadPool> starters_;
  std::unique_ptr<ThreadPool> stoppers_;

  absl::Mutex health_mu_;  // taken before mu_
  bool logged_healthy_ ABSL_GUARDED_BY(health_mu_) = false;
  bool logged_once_ ABSL_GUARDED_BY(health_mu_) = false;
  bool callback_told_ ABSL_GUARDED_BY(health_mu_) = false;
  bool told_healthy_ ABSL_GUARDED_BY(health_mu_) = false;

  absl::Mutex mu_;
  Catalog catalog_ ABSL_GUARDED_BY(mu_);
  // Catalog partition -> next offset to read there.
  std::map<int32_t, int64_t> catalog_read_ ABSL_GUARDED_BY(mu_);
  bool caught_up_ ABSL_GUARDED_BY(mu_) = false;
  bool kafka_ok_ ABSL_GUARDED_BY(mu_) = true;
  std::string problem_ ABSL_GUARDED_BY(mu_) = "reading the job catalog";
  int64_t catalog_changes_ ABSL_GUARDED_BY(mu_) = 0;                  // wakes the reconciler
  std::set<std::string> reconciling_ ABSL_GUARDED_BY(mu_);            // names with an op in flight
  int64_t reconcile_ops_done_ ABSL_GUARDED_BY(mu_) = 0;               // wakes the reconciler too
  std::map<std::string, RemoteStatus> workers_ ABSL_GUARDED_BY(mu_);  // by id
  std::function<void(bool)> on_health_ ABSL_GUARDED_BY(mu_);
  std::string grpc_address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_CONTROL_PLANE_H_
