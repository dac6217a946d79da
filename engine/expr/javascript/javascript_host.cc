#include "engine/expr/javascript/javascript_host.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/core/value_codec.h"
#include "engine/expr/javascript/javascript_interpreter.h"

namespace sluice::javascript {
namespace {

// The descriptors a host process finds its socket and progress page on.
constexpr int kHostSocketFd = 3;
constexpr int kHostProgressFd = 4;

// How long a new host may take to start and compile the function.
constexpr auto kStartTimeout = std::chrono::seconds(10);
// Longest a parent sleeps before it looks at the progress page again.
constexpr int kPollTickMs = 10;
// A frame larger than this is a broken host.
constexpr uint32_t kMaxFrameBytes = 256u << 20;

// The page both processes map: rows of the current batch the host has
// started (row i sets it to i + 1); rows + 1 once it is replying.
struct Progress {
  std::atomic<uint32_t> started;
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

std::string& HostProgram() {
  static auto* program = new std::string("/proc/self/exe");
  return *program;
}

using Clock = std::chrono::steady_clock;

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool SendFrame(int fd, const std::string& payload) {
  std::string frame;
  const uint32_t size = static_cast<uint32_t>(payload.size());
  frame.append(reinterpret_cast<const char*>(&size), sizeof(size));
  frame += payload;
  return SendAll(fd, frame);
}

// Blocking read of one frame (the host side). False at end of input.
bool ReadFrame(int fd, std::string* payload) {
  auto read_exact = [fd](char* out, size_t size) {
    while (size > 0) {
      const ssize_t n = read(fd, out, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      out += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  uint32_t size = 0;
  if (!read_exact(reinterpret_cast<char*>(&size), sizeof(size))) return false;
  if (size > kMaxFrameBytes) return false;
  payload->resize(size);
  return read_exact(payload->data(), size);
}

// Limits the host process before it reads any JavaScript.
void LimitHost(int64_t memory_limit_bytes) {
  // Address space: what the process maps now (the binary and its
  // libraries), the heap budget twice over (malloc's own overhead) and
  // room for the batches.
  int64_t mapped = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> mapped;
  mapped *= sysconf(_SC_PAGESIZE);
  const rlim_t address_space = static_cast<rlim_t>(mapped + 2 * memory_limit_bytes + (256 << 20));
  const struct {
    int resource;
    rlim_t value;
  } limits[] = {{RLIMIT_AS, address_space},
                {RLIMIT_CORE, 0},
                {RLIMIT_NOFILE, 8},
                {RLIMIT_NPROC, 0},
                {RLIMIT_FSIZE, 0}};
  for (const auto& l : limits) {
    struct rlimit r = {l.value, l.value};
    (void)setrlimit(l.resource, &r);  // best effort: a failed limit leaves the default
  }
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("was killed by signal ", WTERMSIG(status),
                        WTERMSIG(status) == SIGKILL ? " (out of memory?)" : "");
  }
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  return "stopped";
}

}  // namespace

void SetJavaScriptHostProgram(std::string path) { HostProgram() = std::move(path); }

int RunJavaScriptHost() {
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;  // the parent is already gone
  void* page =
      mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED, kHostProgressFd, 0);
  if (page == MAP_FAILED) {
    std::fprintf(stderr, "sluice udf-host: no progress page: %s\n", std::strerror(errno));
    return 2;
  }
  auto* progress = static_cast<Progress*>(page);
  std::string request;
  if (!ReadFrame(kHostSocketFd, &request)) return 2;
  std::string_view in = request;
  uint64_t memory_limit = 0;
  std::string_view name;
  std::string_view source;
  if (in.empty() || in[0] != 'I' || (in.remove_prefix(1), !DecodeVarint(&in, &memory_limit)) ||
      !DecodeBytes(&in, &name) || !DecodeBytes(&in, &source)) {
    return 2;
  }
  LimitHost(static_cast<int64_t>(memory_limit));
  auto interpreter = JavaScriptInterpreter::Create(std::string(name), std::string(source),
                                                   static_cast<int64_t>(memory_limit));
  if (!interpreter.ok()) {
    std::string reply = "E";
    EncodeBytes(std::string(interpreter.status().message()), &reply);
    (void)SendFrame(kHostSocketFd, reply);
    return 0;
  }
  if (!SendFrame(kHostSocketFd, "K")) return 0;
  std::vector<Value> args;
  std::string reply;
  while (ReadFrame(kHostSocketFd, &request)) {
    in = request;
    uint64_t rows = 0;
    uint64_t num_args = 0;
    if (in.empty() || in[0] != 'C' || (in.remove_prefix(1), !DecodeVarint(&in, &rows)) ||
        !DecodeVarint(&in, &num_args) || num_args > 1024 || rows > (1u << 24)) {
      return 2;
    }
    Arena arena;
    args.resize(num_args);
    reply = "R";
    std::string error;
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t i = 0; i < num_args; ++i) {
        if (!DecodeValue(&in, &arena, &args[i])) return 2;
      }
      progress->started.store(static_cast<uint32_t>(r + 1), std::memory_order_release);
      Value result;
      if ((*interpreter)->Call(args.data(), static_cast<int>(num_args), &arena, &result, &error)) {
        reply.push_back('\0');
        EncodeValue(result, &reply);
      } else {
        reply.push_back('\1');
        EncodeBytes(error, &reply);
      }
    }
    progress->started.store(static_cast<uint32_t>(rows + 1), std::memory_order_release);
    if (!SendFrame(kHostSocketFd, reply)) return 0;
  }
  return 0;
}

JavaScriptHost::JavaScriptHost(std::string name, std::string source, int64_t time_limit_ms,
                               int64_t memory_limit_bytes)
    : name_(std::move(name)),
      source_(std::move(source)),
      time_limit_ms_(time_limit_ms > 0 ? time_limit_ms : kDefaultTimeLimitMs),
      memory_limit_bytes_(memory_limit_bytes > 0 ? memory_limit_bytes : kDefaultMemoryLimitBytes) {}

JavaScriptHost::~JavaScriptHost() { Kill(); }

void JavaScriptHost::Kill() {
  if (socket_ >= 0) close(socket_);
  socket_ = -1;
  if (pid_ > 0) {
    (void)kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  if (progress_ != nullptr) munmap(progress_, sizeof(Progress));
  progress_ = nullptr;
}

absl::Status JavaScriptHost::Start() {
  ++starts_;
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return absl::UnavailableError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  const int page_fd = memfd_create("sluice-udf-progress", MFD_CLOEXEC);
  if (page_fd < 0 || ftruncate(page_fd, sizeof(Progress)) != 0) {
    if (page_fd >= 0) close(page_fd);
    close(sockets[0]);
    close(sockets[1]);
    return absl::UnavailableError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  }
  progress_ = mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED, page_fd, 0);
  if (progress_ == MAP_FAILED) progress_ = nullptr;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], kHostSocketFd);
  posix_spawn_file_actions_adddup2(&actions, page_fd, kHostProgressFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, kHostProgressFd + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char arg0[] = "sluice";
  char arg1[] = "udf-host";
  char* argv[] = {arg0, arg1, nullptr};
  char* envp[] = {nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, HostProgram().c_str(), &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(sockets[1]);
  close(page_fd);
  socket_ = sockets[0];
  if (rc != 0 || progress_ == nullptr) {
    Kill();
    return absl::UnavailableError(
        absl::StrCat("cannot start the JavaScript host ", HostProgram(), ": ", std::strerror(rc)));
  }
  pid_ = pid;

  std::string init = "I";
  EncodeVarint(static_cast<uint64_t>(memory_limit_bytes_), &init);
  EncodeBytes(name_, &init);
  EncodeBytes(source_, &init);
  if (!SendFrame(socket_, init)) {
    Kill();
    return absl::UnavailableError("the JavaScript host closed its socket at start");
  }
  // The reply: 'K', or 'E' and why the function does not compile.
  std::string reply;
  const auto deadline = Clock::now() + kStartTimeout;
  while (true) {
    pollfd p = {socket_, POLLIN, 0};
    const int ready = poll(&p, 1, kPollTickMs * 10);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      char buffer[4096];
      const ssize_t n = recv(socket_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
      if (n > 0) reply.append(buffer, static_cast<size_t>(n));
      uint32_t size = 0;
      if (reply.size() >= sizeof(size)) {
        std::memcpy(&size, reply.data(), sizeof(size));
        if (size > 64 * 1024) break;
        if (reply.size() >= sizeof(size) + size) {
          std::string_view payload(reply.data() + sizeof(size), size);
          if (payload == "K") return absl::OkStatus();
          std::string_view message;
          payload.remove_prefix(1);
          if (DecodeBytes(&payload, &message)) {
            Kill();
            return absl::InvalidArgumentError(std::string(message));
          }
          break;
        }
      }
    }
    if (Clock::now() > deadline) break;
  }
  Kill();
  return absl::UnavailableError(absl::StrCat("udf.", name_, ": the JavaScript host did not start"));
}

int JavaScriptHost::RunRows(const std::vector<Value>& args, int num_args,
                            const std::vector<int>& todo, Arena* arena,
                            std::vector<JavaScriptResult>* results, std::string* why) {
  auto* progress = static_cast<Progress*>(progress_);
  progress->started.store(0, std::memory_order_release);
  std::string request = "C";
  EncodeVarint(todo.size(), &request);
  EncodeVarint(static_cast<uint64_t>(num_args), &request);
  for (int row : todo) {
    for (int i = 0; i < num_args; ++i) {
      EncodeValue(args[static_cast<size_t>(row) * num_args + i], &request);
    }
  }
  const uint32_t rows = static_cast<uint32_t>(todo.size());
  // The row running when the host failed, or -2 when no row was.
  auto culprit = [&](uint32_t started) {
    return started >= 1 && started <= rows ? todo[started - 1] : -2;
  };
  if (!SendFrame(socket_, request)) {
    *why = absl::StrCat("udf.", name_, ": the JavaScript host closed its socket");
    return culprit(progress->started.load(std::memory_order_acquire));
  }
  std::string reply;
  uint32_t last_seen = 0;
  Clock::time_point seen_at = Clock::now();
  const auto limit = std::chrono::milliseconds(time_limit_ms_);
  const int tick = static_cast<int>(std::clamp<int64_t>(time_limit_ms_ / 4, 1, kPollTickMs));
  while (true) {
    pollfd p = {socket_, POLLIN, 0};
    const int ready = poll(&p, 1, tick);
    if (ready > 0) {
      char buffer[64 * 1024];
      const ssize_t n = recv(socket_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        int status = 0;
        const uint32_t started = progress->started.load(std::memory_order_acquire);
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        *why = absl::StrCat("udf.", name_, ": the JavaScript host ", DescribeExit(status));
        return culprit(started);
      }
      if (n > 0) reply.append(buffer, static_cast<size_t>(n));
      uint32_t size = 0;
      if (reply.size() >= sizeof(size)) {
        std::memcpy(&size, reply.data(), sizeof(size));
        if (size > kMaxFrameBytes) {
          *why = absl::StrCat("udf.", name_, ": the JavaScript host sent a malformed reply");
          return -2;
        }
        if (reply.size() >= sizeof(size) + size) break;
      }
    }
    const uint32_t started = progress->started.load(std::memory_order_acquire);
    const Clock::time_point now = Clock::now();
    if (started != last_seen) {
      last_seen = started;
      seen_at = now;
    } else if (started >= 1 && started <= rows && now - seen_at >= limit) {
      *why =
          absl::StrCat("udf.", name_, " ran longer than its time limit of ", time_limit_ms_, "ms");
      return culprit(started);
    } else if (now - seen_at >= limit + kStartTimeout) {
      *why = absl::StrCat("udf.", name_, ": the JavaScript host stopped answering");
      return -2;
    }
  }
  std::string_view in(reply.data() + sizeof(uint32_t), reply.size() - sizeof(uint32_t));
  if (in.empty() || in[0] != 'R') {
    *why = absl::StrCat("udf.", name_, ": the JavaScript host sent a malformed reply");
    return -2;
  }
  in.remove_prefix(1);
  for (int row : todo) {
    JavaScriptResult& result = (*results)[row];
    std::string_view message;
    bool ok = !in.empty();
    if (ok && in[0] == '\0') {
      in.remove_prefix(1);
      ok = DecodeValue(&in, arena, &result.value);
      result.ok = ok;
    } else if (ok && in[0] == '\1') {
      in.remove_prefix(1);
      ok = DecodeBytes(&in, &message);
      result.ok = false;
      result.error = std::string(message);
    } else {
      ok = false;
    }
    if (!ok) {
      *why = absl::StrCat("udf.", name_, ": the JavaScript host sent a malformed reply");
      return -2;
    }
  }
  return -1;
}

void JavaScriptHost::CallBatch(const std::vector<Value>& args, int num_args, int num_rows,
                               Arena* arena, std::vector<JavaScriptResult>* results) {
  results->assign(static_cast<size_t>(num_rows), JavaScriptResult());
  std::vector<int> todo(static_cast<size_t>(num_rows));
  for (int i = 0; i < num_rows; ++i) todo[static_cast<size_t>(i)] = i;
  auto fail_all = [&](const std::string& why) {
    for (int row : todo) (*results)[row].error = why;
  };
  while (!todo.empty()) {
    if (!start_error_.empty()) return fail_all(start_error_);
    if (pid_ < 0) {
      absl::Status s = Start();
      if (absl::IsInvalidArgument(s)) start_error_ = std::string(s.message());
      if (!s.ok()) return fail_all(std::string(s.message()));
    }
    std::string why;
    const int failed = RunRows(args, num_args, todo, arena, results, &why);
    if (failed == -1) return;
    Kill();
    if (failed < 0) return fail_all(why);
    // The rows before it lost their results with the host: run them again.
    (*results)[failed].error = why;
    todo.erase(std::find(todo.begin(), todo.end(), failed));
  }
}

}  // namespace sluice::javascript
