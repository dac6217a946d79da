// What both modes of `sluice bench` share: clocks and figures, the
// workloads, the machine description, results files, charts and progress.
#include "bench/harness/bench_common.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sql/compiler.h"

namespace sluice {

namespace fs = std::filesystem;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Human(double events_per_second) {
  if (events_per_second >= 1e6) return absl::StrFormat("%.2fM", events_per_second / 1e6);
  if (events_per_second >= 1e3) return absl::StrFormat("%.1fK", events_per_second / 1e3);
  return absl::StrFormat("%.0f", events_per_second);
}

std::string SelfDir() {
  std::error_code ec;
  auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : path.parent_path().string();
}

// The repository: the parent of the build directory the binary sits in,
// else the current directory.
std::string RepoRoot() {
  const fs::path candidate = fs::path(SelfDir()).parent_path();
  if (fs::exists(candidate / "bench" / "workloads")) return candidate.string();
  return fs::current_path().string();
}

std::string CommandOutput(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// ---------------------------------------------------------------------------
// The workloads, figures and results files.

BenchStats Summarize(std::vector<double> values) {
  BenchStats s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  s.median = values[values.size() / 2];
  if (values.size() % 2 == 0) s.median = (values[values.size() / 2 - 1] + s.median) / 2;
  return s;
}

std::string StatsJson(const BenchStats& s) {
  return absl::StrFormat("{\"min\": %.1f, \"median\": %.1f, \"max\": %.1f}", s.min, s.median,
                         s.max);
}

const std::vector<BenchWorkload>& BenchWorkloads() {
  // Flink 1.13 on NEXMark, events/s per core (nexmark/nexmark results table,
  // summarized in ../shared/reference/peers.md).
  static const std::vector<BenchWorkload> kWorkloads = {
      {"passthrough", "q0", 155020},
      {"threshold", "q2", 175210},
      {"tumbling", "q7", 12330},
      {"hot-devices", "q5", 22140},
      {"sessions", "q11", 39700},
      // Joins (sluice run and bench core only for now): a reference-data
      // enrichment like NEXMark's bounded side-input join, and a
      // time-bounded stream join (NEXMark's window join, q8).
      {"reference-threshold", "q13", 130730, false},
      {"stream-join", "q8", 146140, false},
      // Analytic functions (no NEXMark query of that shape, so no Flink
      // figure): each reading against the device's previous one.
      {"changes", "-", 0},
      // Anomaly detection per device (SpikeAndDip and ChangePoint over 120
      // readings each): no NEXMark counterpart either.
      {"anomalies", "-", 0},
      // A JavaScript UDF on every event (threshold's filter, computed in
      // udf.fahrenheit): beside `threshold`, the cost of one call.
      {"udf-threshold", "-", 0, false},
  };
  return kWorkloads;
}

BenchProgress::BenchProgress(std::string mode) : mode_(std::move(mode)) {
  tty_ = isatty(STDERR_FILENO) != 0;
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      Draw(false);
    }
  });
}

BenchProgress::~BenchProgress() {
  stop_.store(true);
  thread_.join();
  if (tty_) std::fputs("\r\033[K", stderr);
}

void BenchProgress::Phase(const std::string& workload, const std::string& phase) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    workload_ = workload;
    phase_ = phase;
    started_ = Now();
    events.store(0);
  }
  Draw(true);
}

void BenchProgress::Draw(bool new_phase) {
  std::string workload, phase;
  double started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phase_.empty()) return;
    workload = workload_;
    phase = phase_;
    started = started_;
  }
  const double elapsed = Now() - started;
  const int64_t n = events.load();
  const std::string text =
      absl::StrFormat("[%s] %-12s %-28s %5.1f s  %s events  %s/s", mode_, workload, phase, elapsed,
                      Human(static_cast<double>(n)), elapsed > 0 ? Human(n / elapsed) : "0");
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
  } else if (new_phase) {
    std::fprintf(stderr, "[%s] %s %s\n", mode_.c_str(), workload.c_str(), phase.c_str());
  }
  std::fflush(stderr);
}

std::string MachineJson() {
  utsname u{};
  uname(&u);
  std::string cpu;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  long memory_kb = sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024);
  return absl::StrFormat(
      "{\"cpu\": %s, \"cores\": %d, \"memory_mb\": %d, \"kernel\": %s, \"hostname\": %s}",
      JsonString(cpu), static_cast<int>(std::thread::hardware_concurrency()),
      static_cast<int>(memory_kb / 1024), JsonString(absl::StrCat(u.sysname, " ", u.release)),
      JsonString(u.nodename));
}

std::string GitCommit() {
  const std::string commit =
      CommandOutput(absl::StrCat("git -C '", RepoRoot(), "' rev-parse --short HEAD 2>/dev/null"));
  const std::string dirty = CommandOutput(absl::StrCat(
      "git -C '", RepoRoot(), "' status --porcelain --untracked-files=no 2>/dev/null"));
  if (commit.empty()) return "unknown";
  return dirty.empty() ? commit : commit + "+changes";
}

std::string ResultsPath(const std::string& dir, const std::string& mode,
                        const std::string& extension) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H%M%S", &tm);
  return absl::StrCat(dir, "/", stamp, "-", mode, extension);
}

bool RenderChart(const std::string& script, const std::string& png) {
  const std::string path = png + ".gp";
  {
    std::ofstream out(path);
    out << script;
  }
  const int rc = std::system(absl::StrCat("gnuplot '", path, "' 2>/dev/null").c_str());
  std::error_code ec;
  fs::remove(path, ec);
  return rc == 0 && fs::exists(png);
}

int64_t PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

absl::Status WriteBenchThresholds(const std::string& path, int devices) {
  std::ofstream out(path);
  for (int d = 0; d < devices; ++d) {
    // The simulator's device ids; thresholds from 70 to 89.
    out << absl::StrFormat("{\"deviceId\":\"dev-%05d\",\"maxTemp\":%d,\"site\":\"site-%d\"}\n", d,
                           70 + d % 20, d % 50);
  }
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<v1::Plan> CompileWorkload(const std::string& dir, const std::string& name) {
  std::ifstream in(absl::StrCat(dir, "/", name, ".sql"));
  if (!in) return absl::NotFoundError(absl::StrCat("no workload ", dir, "/", name, ".sql"));
  std::stringstream text;
  text << in.rdbuf();
  sql::CompileOptions options;
  options.reference_inputs = {"thresholds"};  // WriteBenchThresholds' table
  // Every <dir>/<fn>.js declares udf.<fn>.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".js") continue;
    std::ifstream js(entry.path());
    std::stringstream source;
    source << js.rdbuf();
    options.user_functions[entry.path().stem().string()].source = source.str();
  }
  sql::CompileResult compiled = sql::CompileQuery(text.str(), options);
  if (!compiled.ok) {
    return absl::InvalidArgumentError(
        sql::FormatQueryError(absl::StrCat(name, ".sql"), compiled.error));
  }
  return std::move(compiled.plan);
}

}  // namespace sluice
