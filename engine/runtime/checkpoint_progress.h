// CheckpointProgress: which checkpoint is durable.
//
// A task takes a checkpoint at an input position after handing some number
// of messages (outputs, exchange rows, changelog changes) to the log. The
// checkpoint is durable, and its position safe to resume from and to
// commit, once the log has acknowledged every one of those messages. Not
// thread-safe: the caller guards it.
#ifndef SLUICE_ENGINE_RUNTIME_CHECKPOINT_PROGRESS_H_
#define SLUICE_ENGINE_RUNTIME_CHECKPOINT_PROGRESS_H_

#include <cstddef>
#include <cstdint>
#include <deque>

namespace sluice {

class CheckpointProgress {
 public:
  // How many taken checkpoints wait for acknowledgement at most; older ones
  // are forgotten (a later one supersedes them once it is acknowledged).
  static constexpr size_t kMaxPending = 64;

  // A checkpoint at input position `position`, taken after `written`
  // messages were handed to the log.
  void Taken(int64_t position, int64_t written) {
    pending_.push_back(Pending{position, written});
    while (pending_.size() > kMaxPending) pending_.pop_front();
  }

  // The log acknowledged its first `acknowledged` messages: the checkpoints
  // they complete become durable. Returns durable().
  int64_t Acknowledged(int64_t acknowledged) {
    while (!pending_.empty() && pending_.front().written <= acknowledged) {
      durable_ = pending_.front().position;
      pending_.pop_front();
    }
    return durable_;
  }

  // A checkpoint made durable at once (a committed transaction).
  void Durable(int64_t position) {
    pending_.clear();
    durable_ = position;
  }

  // The position of the latest durable checkpoint, or -1.
  int64_t durable() const { return durable_; }
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    int64_t position;
    int64_t written;
  };
  std::deque<Pending> pending_;
  int64_t durable_ = -1;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_RUNTIME_CHECKPOINT_PROGRESS_H_
