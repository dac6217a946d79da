// Counters a task keeps about its work. Written by the task thread, read by
// others (status reporting), hence relaxed atomics.
#ifndef SLUICE_ENGINE_EXEC_TASK_METRICS_H_
#define SLUICE_ENGINE_EXEC_TASK_METRICS_H_

#include <atomic>
#include <cstdint>

namespace sluice {

struct TaskMetrics {
  std::atomic<int64_t> events_in{0};      // rows handed to the task
  std::atomic<int64_t> rows_out{0};       // rows written to outputs
  std::atomic<int64_t> rejected{0};       // rows sent to the error output
  std::atomic<int64_t> late_adjusted{0};  // late arrivals re-timestamped
  std::atomic<int64_t> late_dropped{0};   // late arrivals dropped
  std::atomic<int64_t> early_dropped{0};  // more than 5 min ahead of arrival
  std::atomic<int64_t> out_of_order_adjusted{0};
  std::atomic<int64_t> out_of_order_dropped{0};
  std::atomic<int64_t> state_written_back{0};  // cache entries evicted to RocksDB
  // Reference joins that met another reference version than their last
  // checkpoint recorded (a refresh, or a replay after one).
  std::atomic<int64_t> reference_versions_changed{0};
  std::atomic<int64_t> watermark{INT64_MIN};
  std::atomic<int64_t> memory_state_bytes{0};  // set by the task's driver

  static void Set(std::atomic<int64_t>& counter, int64_t n) {
    counter.store(n, std::memory_order_relaxed);
  }
  static void Add(std::atomic<int64_t>& counter, int64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_TASK_METRICS_H_
