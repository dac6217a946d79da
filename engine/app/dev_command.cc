// `sluice dev`: everything on one machine for a first run. Starts the
// embedded broker, N workers and the device simulator as separate
// processes, runs the sample job on them, and prints what happens (which
// worker owns which partitions, events/s, aggregates and alerts) until
// Ctrl-C, then shuts everything down.
#include "engine/app/dev_command.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_consumer.h"
#include "engine/app/base/command_line.h"
#include "engine/app/base/log_line.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "proto/job_service.grpc.pb.h"
#include "simdjson.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// The sample job: per-device averages every 10 seconds, and an alert for
// devices running hot (the same query as deploy/samples/job.sql).
constexpr char kSampleQuery[] = R"(WITH averages AS (
    SELECT deviceId,
           AVG(temperature) AS avgTemp,
           MAX(temperature) AS maxTemp,
           COUNT(*) AS readings,
           System.Timestamp() AS windowEnd
    FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 10)
)
SELECT * INTO aggregates FROM averages

SELECT deviceId, avgTemp, maxTemp, windowEnd
INTO alerts
FROM averages
WHERE avgTemp > 75
)";

void Print(std::string_view line) { LogLine(line); }

std::string SelfPath() {
  std::error_code ec;
  auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("sluice") : path.string();
}

// A child process whose output is read line by line and printed with a
// prefix. Dies with its parent (PR_SET_PDEATHSIG).
class Child {
 public:
  Child(std::string name, std::vector<std::string> argv) : name_(std::move(name)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      std::vector<char*> c_argv;
      for (std::string& a : argv) c_argv.push_back(a.data());
      c_argv.push_back(nullptr);
      execv(c_argv[0], c_argv.data());
      _exit(127);
    }
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] {
      FILE* in = fdopen(fd, "r");
      char* line = nullptr;
      size_t cap = 0;
      ssize_t n;
      while ((n = getline(&line, &cap, in)) > 0) {
        std::string text(line, n);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        if (filter_ && !filter_(text)) continue;
        Print(absl::StrCat("[", name_, "] ", text));
      }
      free(line);
      fclose(in);
    });
  }
  ~Child() { Stop(); }

  void SetFilter(std::function<bool(const std::string&)> filter) { filter_ = std::move(filter); }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100; ++i) {  // up to 10 s, then kill
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
      }
    }
    if (reader_.joinable()) reader_.join();
  }
  bool started() const { return pid_ > 0; }

 private:
  std::string name_;
  pid_t pid_ = -1;
  std::thread reader_;
  std::function<bool(const std::string&)> filter_;
};

// True when nothing listens on localhost:`port` yet.
bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return true;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return free;
}

// Submits the sample job through the first worker's API, retrying while
// the worker starts and reads the catalog.
absl::Status SubmitSampleJob(const std::string& address) {
  v1::SubmitJobRequest request;
  v1::JobSpec* spec = request.mutable_spec();
  spec->set_name("sample");
  spec->set_query(kSampleQuery);
  v1::InputBinding* input = spec->add_inputs();
  input->set_alias("telemetry");
  input->mutable_policy()->set_out_of_order_tolerance("1s");
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::JobService::NewStub(channel);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  grpc::Status status;
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    context.set_wait_for_ready(true);
    v1::SubmitJobResponse response;
    status = stub->SubmitJob(&context, request, &response);
    if (status.ok()) {
      Print(absl::StrCat("sluice dev: submitted job \"sample\" through the API on ", address,
                         " (version ", response.job().version(), ")"));
      return absl::OkStatus();
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string ShortTime(std::string_view iso) {
  // 2024-01-01T08:02:20.0000000Z -> 08:02:20
  return iso.size() >= 19 ? std::string(iso.substr(11, 8)) : std::string(iso);
}

// Prints the job's outputs until `done`: each alert, and a line per
// aggregate window once it is complete.
void WatchOutputs(const std::string& bootstrap, const std::atomic<bool>& done) {
  KafkaGroupConsumer::Callbacks callbacks;
  auto consumer = KafkaGroupConsumer::Create(
      bootstrap, absl::StrCat("sluice-dev-viewer-", ::getpid()), {"aggregates", "alerts"},
      {{"auto.offset.reset", "earliest"}, {"session.timeout.ms", "6000"}}, callbacks);
  if (!consumer.ok()) {
    Print(absl::StrCat("sluice dev: cannot watch the outputs: ", consumer.status().message()));
    return;
  }
  simdjson::dom::parser parser;
  // Aggregates are summed up per window: one line per window.
  std::map<std::string, std::vector<std::pair<std::string, double>>> windows;
  std::vector<RecordBatch> batches;
  while (!done.load()) {
    batches.clear();
    (*consumer)->Poll(200, 1000, &batches).IgnoreError();
    for (const RecordBatch& batch : batches) {
      for (const RecordBatch::Record& r : batch.records) {
        simdjson::dom::element row;
        if (parser.parse(std::string(batch.payload(r))).get(row) != simdjson::SUCCESS) continue;
        std::string_view device, end;
        double avg = 0, max = 0;
        if (row["deviceId"].get(device) || row["windowEnd"].get(end) || row["avgTemp"].get(avg)) {
          continue;
        }
        if (batch.partition.topic == "alerts") {
          if (row["maxTemp"].get(max) != simdjson::SUCCESS) max = avg;
          char text[256];
          std::snprintf(text, sizeof(text),
                        "[ALERT] %.*s is running hot: average %.1f, peak %.1f in the 10 s "
                        "ending %s",
                        static_cast<int>(device.size()), device.data(), avg, max,
                        ShortTime(end).c_str());
          Print(text);
        } else {
          windows[std::string(end)].emplace_back(std::string(device), avg);
        }
      }
    }
    // Windows older than the newest are complete (every worker emits a
    // window once its watermark passes): summarize them.
    while (windows.size() > 1) {
      auto it = windows.begin();
      const auto& rows = it->second;
      double sum = 0;
      const std::pair<std::string, double>* hottest = &rows.front();
      for (const auto& row : rows) {
        sum += row.second;
        if (row.second > hottest->second) hottest = &row;
      }
      char text[256];
      std::snprintf(text, sizeof(text),
                    "[aggregates] window ending %s: %zu devices, mean %.1f, hottest %s at %.1f",
                    ShortTime(it->first).c_str(), rows.size(), sum / rows.size(),
                    hottest->first.c_str(), hottest->second);
      Print(text);
      windows.erase(it);
    }
  }
  (*consumer)->Close();
}

struct DevSettings {
  int workers = 2;
  int devices = 50;
  int rate = 200;
  int partitions = 4;
  int api_port = 9750;
  int64_t duration_ms = -1;  // -1: until Ctrl-C
};

// The flags, or the exit code for help (0) or a usage error (2).
std::optional<int> ParseDevSettings(const std::vector<std::string>& args, DevSettings* settings) {
  const std::vector<FlagSpec> flags = {
      {"workers", true, false, "worker processes (default 2)", "N"},
      {"devices", true, false, "simulated devices (default 50)", "N"},
      {"rate", true, false, "simulated events per second (default 200)", "N"},
      {"partitions", true, false, "partitions of the telemetry topic (default 4)", "N"},
      {"api-port", true, false,
       "the first worker serves the API on localhost:PORT, the next on PORT+1, ... (default "
       "9750, where the sluice client looks first)",
       "PORT"},
      {"duration", true, false, "stop by itself after this long (default: run until Ctrl-C)",
       "DURATION"},
      {"help", false, false, "show this help"},
  };
  auto parsed = CommandLine::Parse(flags, args);
  if (!parsed.ok() || parsed->Has("help")) {
    std::fprintf(parsed.ok() ? stdout : stderr,
                 "%s%susage: sluice dev [flags]\n\nStarts the embedded broker, workers and the "
                 "device simulator, runs the sample job, and prints aggregates and alerts until "
                 "Ctrl-C.\n\n%s",
                 parsed.ok() ? "" : std::string(parsed.status().message()).c_str(),
                 parsed.ok() ? "" : "\n\n", CommandLine::Help(flags).c_str());
    return parsed.ok() ? 0 : 2;
  }
  DevSettings& s = *settings;
  if (!absl::SimpleAtoi(parsed->GetOr("api-port", "9750"), &s.api_port) || s.api_port < 1 ||
      s.api_port > 65535 - s.workers) {
    std::fprintf(stderr, "sluice dev: --api-port takes a port number\n");
    return 2;
  }
  if (!absl::SimpleAtoi(parsed->GetOr("workers", "2"), &s.workers) || s.workers < 1 ||
      !absl::SimpleAtoi(parsed->GetOr("devices", "50"), &s.devices) || s.devices < 1 ||
      !absl::SimpleAtoi(parsed->GetOr("rate", "200"), &s.rate) || s.rate < 1 ||
      !absl::SimpleAtoi(parsed->GetOr("partitions", "4"), &s.partitions) || s.partitions < 1) {
    std::fprintf(
        stderr,
        "sluice dev: --workers, --devices, --rate and --partitions take positive numbers\n");
    return 2;
  }
  if (auto v = parsed->Get("duration")) {
    auto t = ParseDurationTicks(*v);
    if (!t.ok()) {
      std::fprintf(stderr, "sluice dev: --duration: %s\n",
                   std::string(t.status().message()).c_str());
      return 2;
    }
    s.duration_ms = *t / 10'000;
  }
  return std::nullopt;
}

}  // namespace

int DevCommand(const std::vector<std::string>& args) {
  DevSettings settings;
  if (std::optional<int> exit = ParseDevSettings(args, &settings)) return *exit;
  const int workers = settings.workers;
  const int devices = settings.devices;
  const int rate = settings.rate;
  const int partitions = settings.partitions;
  const int api_port = settings.api_port;
  const int64_t duration_ms = settings.duration_ms;

  for (int port = api_port; port < api_port + workers; ++port) {
    if (!PortFree(port)) {
      std::fprintf(stderr,
                   "sluice dev: port %d is in use (another sluice dev or worker?); stop it or "
                   "choose other ports with --api-port\n",
                   port);
      return 1;
    }
  }

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sluice-dev-", ::getpid());
  fs::create_directories(dir);
  const std::string self = SelfPath();
  const std::string bootstrap_file = (dir / "bootstrap").string();

  Print(absl::StrCat("sluice dev: starting the embedded broker, ", workers, " worker",
                     workers == 1 ? "" : "s", " and the device simulator (Ctrl-C stops them all)"));
  auto broker = std::make_unique<Child>(
      "broker", std::vector<std::string>{
                    self, "broker", "--topic", absl::StrCat("telemetry:", partitions), "--topic",
                    "aggregates:4", "--topic", "alerts:4", "--bootstrap-file", bootstrap_file});
  auto bootstrap = ResolveBootstrap("", bootstrap_file, 15);
  if (!bootstrap.ok()) {
    std::fprintf(stderr, "sluice dev: %s\n", std::string(bootstrap.status().message()).c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Child>> worker_children;
  for (int i = 1; i <= workers; ++i) {
    worker_children.push_back(std::make_unique<Child>(
        absl::StrCat("worker-", i),
        std::vector<std::string>{self, "worker", "--bootstrap-file", bootstrap_file, "--name",
                                 absl::StrCat("worker-", i), "--grpc-listen",
                                 absl::StrCat("localhost:", api_port + i - 1), "--state-dir",
                                 (dir / absl::StrCat("state-", i)).string(), "--status-interval",
                                 "5s"}));
  }
  // The sample job goes in the way any job does: through the API.
  const std::string api = absl::StrCat("localhost:", api_port);
  if (absl::Status s = SubmitSampleJob(api); !s.ok()) {
    Print(absl::StrCat("sluice dev: cannot submit the sample job: ", s.message()));
    for (auto& w : worker_children) w->Stop();
    broker->Stop();
    return 1;
  }
  Print(
      absl::StrCat("sluice dev: job \"sample\": per-device 10-second averages into topic "
                   "'aggregates', and alerts (average above 75) into topic 'alerts':"));
  for (const char* p = kSampleQuery; *p;) {
    const char* nl = std::strchr(p, '\n');
    std::string line(p, nl ? nl - p : std::strlen(p));
    if (!line.empty()) Print(absl::StrCat("    ", line));
    p = nl ? nl + 1 : p + std::strlen(p);
  }
  auto simulator =
      std::make_unique<Child>("simulator", std::vector<std::string>{self,
                                                                    "simulate",
                                                                    "--bootstrap-file",
                                                                    bootstrap_file,
                                                                    "--topic",
                                                                    "telemetry",
                                                                    "--devices",
                                                                    absl::StrCat(devices),
                                                                    "--rate",
                                                                    absl::StrCat(rate),
                                                                    "--duration",
                                                                    "365d",
                                                                    "--spiking-devices",
                                                                    "2",
                                                                    "--out-of-order",
                                                                    "0.02",
                                                                    "--out-of-order-max",
                                                                    "800ms",
                                                                    "--bad",
                                                                    "0.001",
                                                                    "--realtime"});
  Print(absl::StrCat("sluice dev: simulator: ", devices, " devices, ", rate,
                     " events/s into topic 'telemetry' (", partitions,
                     " partitions); two devices overheat in turn"));
  Print(absl::StrCat("sluice dev: the cluster's API is on ", api, "; in another terminal, try:"));
  Print("    sluice list                          # the running jobs");
  Print("    sluice describe sample               # tasks, offsets, lag, watermarks per worker");
  Print("    sluice tail sample alerts            # rows as they are produced");
  Print("    sluice submit my.sql --name my-job   # a query of your own over 'telemetry'");
  Print(absl::StrCat("    kcat -b ", *bootstrap, " -C -t alerts    # any Kafka client works too"));

  // Watch the outputs.
  std::atomic<bool> done{false};
  std::thread viewer([&] { WatchOutputs(*bootstrap, done); });

  const auto started = std::chrono::steady_clock::now();
  while (true) {
    timespec wait{0, 200'000'000};
    siginfo_t info;
    if (sigtimedwait(&stop, &info, &wait) > 0) break;
    if (duration_ms >= 0 &&
        std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(duration_ms)) {
      break;
    }
  }
  Print("sluice dev: stopping the simulator, the workers and the broker");
  simulator->Stop();
  for (auto& w : worker_children) w->Stop();
  done.store(true);
  viewer.join();
  broker->Stop();
  std::error_code ec;
  fs::remove_all(dir, ec);
  Print("sluice dev: stopped");
  return 0;
}

}  // namespace sluice
