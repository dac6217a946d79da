#include "engine/runtime/async_checkpoints.h"

#include "absl/strings/str_cat.h"

namespace sluice {

absl::Status AsyncCheckpoints::Start(const CheckpointId& id, StateWriteBatch& batch,
                                     int64_t position, ChangelogWriter* out, int64_t now_ms) {
  if (flight_) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", id.number,
                                                      " cannot start while checkpoint ",
                                                      flight_->id.number, " waits for the log"));
  }
  if (absl::Status s = protocol_->WriteChanges(id, batch, *out); !s.ok()) return s;
  const int64_t changes_epoch = epochs_->Cut();
  if (absl::Status s = protocol_->options().store->Commit(batch); !s.ok()) return s;
  flight_ = Flight{id, position, out, now_ms, changes_epoch, -1};
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AsyncCheckpoints::Completed>> AsyncCheckpoints::Advance(
    int64_t now_ms) {
  if (!flight_) return std::nullopt;
  Flight& f = *flight_;
  auto waited = [&](int64_t epoch) -> absl::StatusOr<bool> {
    absl::StatusOr<bool> acknowledged = epochs_->Acknowledged(epoch);
    if (!acknowledged.ok()) {
      return absl::UnavailableError(
          absl::StrCat("checkpoint ", f.id.number,
                       ": the log refused a message: ", acknowledged.status().message()));
    }
    if (!*acknowledged && now_ms - f.started_ms > timeout_ms_) {
      return absl::UnavailableError(absl::StrCat("checkpoint ", f.id.number,
                                                 ": the log did not acknowledge its messages in ",
                                                 timeout_ms_ / 1000, " s"));
    }
    return *acknowledged;
  };
  if (f.markers_epoch < 0) {
    absl::StatusOr<bool> changes = waited(f.changes_epoch);
    if (!changes.ok()) {
      flight_.reset();
      return changes.status();
    }
    if (!*changes) return std::nullopt;
    if (absl::Status s = protocol_->WriteMarkers(f.id, *f.out); !s.ok()) {
      flight_.reset();
      return s;
    }
    f.markers_epoch = epochs_->Cut();
  }
  absl::StatusOr<bool> markers = waited(f.markers_epoch);
  if (!markers.ok()) {
    flight_.reset();
    return markers.status();
  }
  if (!*markers) return std::nullopt;
  const Completed done{f.id, f.position};
  protocol_->Completed(f.id);
  flight_.reset();
  return done;
}

}  // namespace sluice
