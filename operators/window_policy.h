// Window kinds as policies for the one window-aggregate operator.
//
// ASA windows are start-exclusive and end-inclusive, (end - size, end],
// aligned to time zero (1970-01-01T00:00:00Z here; for windows that divide a
// day this is the same as ASA's "zeroth hour"), shifted by an optional
// offset, and stamped with their end.
//
// Tumbling, hopping and snapshot windows are fixed: an event's windows are
// known from its timestamp alone, so the operator accumulates per (window
// end, key) and emits when the watermark passes the end. Sliding and session
// windows depend on the events around them; the operator buffers rows until
// the watermark and then sweeps them in timestamp order (SlidingPolicy,
// SessionPolicy below give the rules).
#ifndef SLUICE_OPERATORS_WINDOW_POLICY_H_
#define SLUICE_OPERATORS_WINDOW_POLICY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/datetime.h"
#include "proto/plan.pb.h"

namespace sluice {

// The most windows a hopping window may put one event in (ceil(size /
// hop)): the operator updates each of them per event. The compiler refuses
// more (sql/limits.h, the same value; a unit test checks that they agree);
// the operator refuses a plan that asks for more.
inline constexpr int64_t kMaxWindowsPerEvent = 1000;

class FixedWindowPolicy {
 public:
  virtual ~FixedWindowPolicy() = default;
  // Appends the ends of the windows containing an event at `timestamp`, in
  // increasing order.
  virtual void AssignWindows(int64_t timestamp, std::vector<int64_t>* ends) const = 0;
};

// Tumbling is hopping with hop == size.
class HoppingPolicy final : public FixedWindowPolicy {
 public:
  HoppingPolicy(int64_t size, int64_t hop, int64_t offset)
      : size_(size), hop_(hop), offset_(offset) {}
  void AssignWindows(int64_t timestamp, std::vector<int64_t>* ends) const override {
    // The first end at or after the timestamp, then every hop while the
    // window (end - size, end] still contains it.
    const int64_t first = -FloorDiv(-(timestamp - offset_), hop_) * hop_ + offset_;
    for (int64_t end = first; end - size_ < timestamp; end += hop_) {
      ends->push_back(end);
    }
  }

 private:
  int64_t size_;
  int64_t hop_;
  int64_t offset_;
};

// Snapshot: events with the same timestamp form one window ending there.
class SnapshotPolicy final : public FixedWindowPolicy {
 public:
  void AssignWindows(int64_t timestamp, std::vector<int64_t>* ends) const override {
    ends->push_back(timestamp);
  }
};

// Returns nullptr for sliding and session windows.
std::unique_ptr<FixedWindowPolicy> MakeFixedWindowPolicy(const v1::WindowSpec& spec);

// Session windows (ASA): a session opens at its first event and extends
// while the next event comes within `timeout` of the last one (an event
// exactly `timeout` later still extends it). It closes at last + timeout, or
// earlier at a max-duration check point: the multiples of `max_duration`
// (from time zero); at the first check point at least `max_duration` after
// the start the session closes, and a new one opens at that point, carrying
// on the same timeout clock. A session is stamped with the time it closed.
struct SessionPolicy {
  int64_t timeout;
  int64_t max_duration;

  // The first check point at or after start + max_duration.
  int64_t CheckPoint(int64_t start) const {
    return -FloorDiv(-(start + max_duration), max_duration) * max_duration;
  }
  int64_t CloseTime(int64_t start, int64_t last) const {
    const int64_t by_timeout = last + timeout;
    const int64_t by_duration = CheckPoint(start);
    return by_timeout < by_duration ? by_timeout : by_duration;
  }
  bool ClosesAtCheckPoint(int64_t start, int64_t last) const {
    return CheckPoint(start) < last + timeout;
  }
  // A session that reopened at a check point and has had no event since
  // closes again at every later check point before `limit` (assumed to be
  // at or before last + timeout) and reopens there, emitting nothing: the
  // start it reaches, computed at once instead of one max duration at a
  // time (a 1 ms max duration and a 7-day gap would be 600 million steps).
  int64_t StartAfterEmptyCheckPoints(int64_t start, int64_t limit) const {
    const int64_t first = CheckPoint(start);
    if (first >= limit) return start;
    return first + FloorDiv(limit - first - 1, max_duration) * max_duration;
  }
};

}  // namespace sluice

#endif  // SLUICE_OPERATORS_WINDOW_POLICY_H_
