// JavaScriptHost: runs one user-defined function in a child process, so that
// a call that never ends can be stopped.
//
// Debian's Duktape cannot interrupt running code, so a function stuck in
// `while (true) {}` would hang its task's thread for good. Instead, the
// interpreter (javascript_interpreter.h) lives in a host process: the
// `sluice` binary itself, re-executed as the hidden `sluice udf-host`
// command. A JavaScriptHost belongs to one compiled `udf.name(...)` call of
// one task (so each task owns its interpreters) and is used by that task's
// thread only. It starts the process on the first call.
//
// Rows travel in batches, one round trip per batch: the request holds every
// row's arguments, the reply every row's result or error. While the host
// works, it counts the rows it has started in a page of memory both
// processes map; the parent watches that count, and when one row has run
// past the time limit it kills the host, fails that row with a timeout
// message, starts a new host and sends the rest of the batch again. A host
// that dies (its address-space limit, a Duktape fatal error) fails the row
// it was running the same way.
//
// The host process limits itself before it reads any JavaScript: an
// address-space limit a little above its size at start plus the heap
// budget, no core files, few file descriptors, no new processes; it dies
// with its parent. Duktape offers the function no file, network or module
// APIs.
#ifndef SLUICE_ENGINE_EXPR_JAVASCRIPT_JAVASCRIPT_HOST_H_
#define SLUICE_ENGINE_EXPR_JAVASCRIPT_JAVASCRIPT_HOST_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/core/arena.h"
#include "engine/core/value.h"

namespace sluice::javascript {

inline constexpr int64_t kDefaultTimeLimitMs = 100;
inline constexpr int64_t kDefaultMemoryLimitBytes = 16 << 20;
// What a plan may ask for (the compiler and the job checks allow less).
inline constexpr size_t kMaxSourceBytes = 64 * 1024;
inline constexpr int kMaxArgs = 64;
inline constexpr int64_t kMaxTimeLimitMs = 60'000;
inline constexpr int64_t kMaxMemoryLimitBytes = 1LL << 30;

// The program a host runs: by default this very binary ("/proc/self/exe"),
// which must handle `udf-host` by calling RunJavaScriptHost. Tests that
// are not `sluice` point it at the `sluice` binary. Set before any host
// starts.
void SetJavaScriptHostProgram(std::string path);

// The `sluice udf-host` command: serves requests on file descriptor 3 with
// the progress page on 4 until its parent closes the socket. Returns the
// exit code.
int RunJavaScriptHost();

struct JavaScriptResult {
  bool ok = false;
  Value value;        // when ok; strings, records and arrays in the caller's arena
  std::string error;  // otherwise
};

class JavaScriptHost {
 public:
  // Limits of 0 mean the defaults above.
  JavaScriptHost(std::string name, std::string source, int64_t time_limit_ms,
                 int64_t memory_limit_bytes);
  ~JavaScriptHost();
  JavaScriptHost(const JavaScriptHost&) = delete;
  JavaScriptHost& operator=(const JavaScriptHost&) = delete;

  // Calls the function once per row: `args` holds `num_rows` rows of
  // `num_args` values each. Fills `results` (resized to num_rows). Every
  // row gets a result or an error; nothing here fails the task.
  void CallBatch(const std::vector<Value>& args, int num_args, int num_rows, Arena* arena,
                 std::vector<JavaScriptResult>* results);

  // Host processes started so far (the first, and one per restart).
  int starts() const { return starts_; }

 private:
  absl::Status Start();
  void Kill();
  // Sends rows `todo` (indexes into the batch) and collects their results;
  // returns the index of a row that made the host fail (and why), or -1
  // when every row in `todo` has its result.
  int RunRows(const std::vector<Value>& args, int num_args, const std::vector<int>& todo,
              Arena* arena, std::vector<JavaScriptResult>* results, std::string* why);

  std::string name_;
  std::string source_;
  int64_t time_limit_ms_;
  int64_t memory_limit_bytes_;
  pid_t pid_ = -1;
  int socket_ = -1;
  void* progress_ = nullptr;  // the shared page
  int starts_ = 0;
  std::string start_error_;  // why the function cannot run at all
};

}  // namespace sluice::javascript

#endif  // SLUICE_ENGINE_EXPR_JAVASCRIPT_JAVASCRIPT_HOST_H_
