// Catalog: the cluster's jobs, as applying the command log gives them.
//
// The command topic `_sluice_jobs` (keyed by job name) is the source of
// truth. Every worker reads it in order and applies each command here; the
// rules below depend only on the commands and their order, so every worker
// ends up with the same catalog, and two conflicting submissions resolve the
// same way everywhere: the one earlier in the log wins. There is no other
// coordination.
//
//   SUBMIT  absent or stopped name -> running, version + 1
//           running, identical spec -> no change (idempotent), accepted
//           running, other spec     -> rejected (ALREADY_EXISTS)
//   UPDATE  running                 -> new spec and plan, version + 1
//           stopped or absent       -> rejected
//           new or stopped, the limit of running jobs reached
//                                   -> rejected (RESOURCE_EXHAUSTED)
//   STOP    running                 -> stopped (the version stays)
//           stopped                 -> no change, accepted
//           absent                  -> rejected (NOT_FOUND)
//
// The outcome of each command is remembered by request id (a bounded
// number of them), so the worker that appended a command can tell its
// client whether it won.
#ifndef SLUICE_ENGINE_CONTROL_CATALOG_H_
#define SLUICE_ENGINE_CONTROL_CATALOG_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/job_service.pb.h"

namespace sluice {

struct CatalogEntry {
  std::string name;
  v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
  int64_t version = 0;
  v1::JobSpec spec;
  v1::Plan plan;
  int64_t submitted_at_ms = 0;
  int64_t stopped_at_ms = 0;
  std::string submitted_via;
};

struct CommandOutcome {
  absl::Status status;   // why a command was rejected
  bool changed = false;  // the catalog changed
  int64_t version = 0;   // the job's version after the command
};

// The record format of `_sluice_jobs`: a command as JSON (protobuf's
// mapping), the plan inside it serialized in plan_bytes (format 2).
// Encode checks that Decode gives back exactly what it was given before
// anything is written: the catalog never holds a record its readers reject.
absl::StatusOr<std::string> EncodeCatalogCommand(v1::CatalogCommand command);
// InvalidArgument for a record that is not a command (garbage on the topic,
// a plan nested deeper than any reader takes); never crashes.
absl::StatusOr<v1::CatalogCommand> DecodeCatalogCommand(const std::string& record);

// A record of `_sluice_status`: a worker's status, JSON. InvalidArgument
// for anything else (including a status without a worker id).
absl::StatusOr<v1::WorkerStatus> DecodeWorkerStatus(const std::string& record);

// Protobuf's default nesting limit is 100; a plan is read with this one.
// The compiler's depth limit keeps plans far below it.
inline constexpr int kPlanRecursionLimit = 400;

class Catalog {
 public:
  // Applies the next command of the log.
  CommandOutcome Apply(const v1::CatalogCommand& command);

  // What Apply would answer now, without applying (for checks before a
  // command is appended; the log still decides).
  CommandOutcome Check(const v1::CatalogCommand& command) const;

  const CatalogEntry* Find(const std::string& name) const;
  // Every job, by name.
  const std::map<std::string, CatalogEntry>& entries() const { return entries_; }
  int running() const;
  // Commands applied so far.
  int64_t applied() const { return applied_; }

  // The outcome of an applied command, by its request id; null when unknown
  // (not applied yet, or forgotten).
  const CommandOutcome* Outcome(const std::string& request_id) const;

  // Two specs are the same job when their serialized forms are equal.
  static bool SameSpec(const v1::JobSpec& a, const v1::JobSpec& b);

 private:
  static constexpr size_t kRememberedOutcomes = 4096;

  std::map<std::string, CatalogEntry> entries_;
  int64_t applied_ = 0;
  absl::flat_hash_map<std::string, CommandOutcome> outcomes_;
  std::deque<std::string> outcome_order_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_CONTROL_CATALOG_H_
