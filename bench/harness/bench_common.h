// What both modes of `sluice bench` share (bench/README.md): clocks and
// figures, the workloads, the machine description, results files, charts,
// and the progress line.
#ifndef SLUICE_BENCH_HARNESS_BENCH_COMMON_H_
#define SLUICE_BENCH_HARNESS_BENCH_COMMON_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/plan.pb.h"

namespace sluice {

// Seconds on the steady clock.
double Now();
// 1.23M, 45.6K, 789: events per second for people.
std::string Human(double events_per_second);
// The directory the binary is in.
std::string SelfDir();
// The repository: the parent of the build directory the binary sits in,
// else the current directory.
std::string RepoRoot();
// What a shell command prints, trailing blanks dropped.
std::string CommandOutput(const std::string& command);
// `s` as a JSON string literal.
std::string JsonString(std::string_view s);

struct BenchWorkload {
  std::string name;           // bench/workloads/<name>.sql
  std::string nexmark;        // the NEXMark query it stands for
  double flink_per_core = 0;  // Flink 1.13's published events/s per core on it
  // Runs on the cluster's workers (bench kafka); joins do not yet.
  bool on_workers = true;
};

// The table the reference-join workloads join with: a threshold per
// simulated device, written to `path` as JSON lines.
absl::Status WriteBenchThresholds(const std::string& path, int devices);
const std::vector<BenchWorkload>& BenchWorkloads();

struct BenchStats {
  double min = 0;
  double median = 0;
  double max = 0;
};
BenchStats Summarize(std::vector<double> values);
std::string StatsJson(const BenchStats& s);

// A one-line progress bar on standard error (a plain line per phase when
// it is not a terminal): phase, elapsed time, events so far and their rate.
class BenchProgress {
 public:
  explicit BenchProgress(std::string mode);
  ~BenchProgress();
  void Phase(const std::string& workload, const std::string& phase);
  std::atomic<int64_t> events{0};

 private:
  void Draw(bool new_phase);
  std::string mode_;
  bool tty_ = false;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string workload_;
  std::string phase_;
  double started_ = 0;
  std::thread thread_;
};

std::string MachineJson();
std::string GitCommit();
// DIR/<date>-<mode><extension>
std::string ResultsPath(const std::string& dir, const std::string& mode,
                        const std::string& extension);
// Runs a gnuplot script that writes `png`.
bool RenderChart(const std::string& script, const std::string& png);
int64_t PeakRssKb();
absl::StatusOr<v1::Plan> CompileWorkload(const std::string& dir, const std::string& name);

}  // namespace sluice

#endif  // SLUICE_BENCH_HARNESS_BENCH_COMMON_H_
