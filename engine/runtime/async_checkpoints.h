// AsyncCheckpoints: a task's checkpoints taken without waiting for the log.
//
// The CheckpointProtocol (checkpoint_protocol.h) says what a checkpoint
// writes and in which order: its changes, then, once the log has
// acknowledged them, its markers. Waiting for those acknowledgements on the
// task's thread stalls the task (and, in the worker, a pool thread that
// other partitions need). Here the task hands the changes to the log and
// goes on; each time it comes back (after a batch, at a tick) Advance
// looks at what the log acknowledged and takes the next step:
//
//   Start    the changes go to the log, the batch to the local store; the
//            messages handed to the log until then form one epoch.
//   Advance  once that epoch is acknowledged: the markers, in an epoch of
//            their own. Once those are acknowledged: complete.
//
// The local store gets the batch at Start, before the checkpoint is
// complete, because the task goes on reading and writing that store. A
// restore compares the id the store holds with the latest checkpoint
// complete in the log and rebuilds from the log when they differ, so a
// store ahead of the log is never trusted.
//
// One checkpoint is in flight at a time: a sink's Flush at the next one
// must come after the Commit of this one (Sink, engine/exec/operator.h),
// and the next id follows this one's.
#ifndef SLUICE_ENGINE_RUNTIME_ASYNC_CHECKPOINTS_H_
#define SLUICE_ENGINE_RUNTIME_ASYNC_CHECKPOINTS_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "engine/runtime/checkpoint_protocol.h"

namespace sluice {

// What the log acknowledged, by epoch. Every message a task hands to its
// log (outputs, exchange rows, changelog records, dead letters) counts in
// the epoch open at the time; Cut closes it. Kafka's acknowledgements come
// in any order across partitions, so a count of them says nothing about
// which messages they are; epochs do.
class DeliveryEpochs {
 public:
  virtual ~DeliveryEpochs() = default;
  // Closes the open epoch and returns its number; later messages count in
  // the next one. Numbers start at 0 and grow by one.
  virtual int64_t Cut() = 0;
  // True once every message of every epoch up to `epoch` is acknowledged;
  // false while some are unanswered; an error once the log refused one.
  virtual absl::StatusOr<bool> Acknowledged(int64_t epoch) = 0;
};

// A log that has everything as soon as it is handed over (in memory).
class ImmediateEpochs final : public DeliveryEpochs {
 public:
  int64_t Cut() override { return next_++; }
  absl::StatusOr<bool> Acknowledged(int64_t epoch) override { return epoch < next_; }

 private:
  int64_t next_ = 0;
};

class AsyncCheckpoints {
 public:
  // A checkpoint that became complete: its state and markers are in the
  // log, and its input position may be committed.
  struct Completed {
    CheckpointId id;
    int64_t position = -1;
  };

  // `protocol` and `epochs` outlive this. A checkpoint whose messages are
  // not all acknowledged `timeout_ms` after it started fails.
  AsyncCheckpoints(CheckpointProtocol* protocol, DeliveryEpochs* epochs, int64_t timeout_ms)
      : protocol_(protocol), epochs_(epochs), timeout_ms_(timeout_ms) {}

  bool in_flight() const { return flight_.has_value(); }

  // Starts checkpoint `id` (from protocol->Begin on `batch`) at input
  // position `position`: writes its changes to `out`, which must stay
  // valid until it completes, and commits `batch` to the local store.
  // FailedPrecondition while another is in flight.
  absl::Status Start(const CheckpointId& id, StateWriteBatch& batch, int64_t position,
                     ChangelogWriter* out, int64_t now_ms);

  // The next step of the checkpoint in flight, if the log allows it: the
  // checkpoint when it completed with this call, else nothing. An error
  // when the log refused a message or did not answer in time; the task
  // must then fail (its restore finds the previous checkpoint).
  absl::StatusOr<std::optional<Completed>> Advance(int64_t now_ms);

 private:
  struct Flight {
    CheckpointId id;
    int64_t position = -1;
    ChangelogWriter* out = nullptr;
    int64_t started_ms = 0;
    int64_t changes_epoch = -1;
    int64_t markers_epoch = -1;  // -1 until the markers are written
  };

  CheckpointProtocol* protocol_;
  DeliveryEpochs* epochs_;
  int64_t timeout_ms_;
  std::optional<Flight> flight_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_RUNTIME_ASYNC_CHECKPOINTS_H_
