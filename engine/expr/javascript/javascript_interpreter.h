// JavaScriptInterpreter: one Duktape heap holding one user-defined function,
// and ASA's mapping between Values and JavaScript values.
//
// The source comes from a remote client and is treated as hostile. Duktape
// as Debian builds it has no file, network or module APIs, and we add none.
// Every byte the heap allocates counts against a budget; past it an
// allocation fails, Duktape throws, the call fails with a message and the
// heap is torn down and built again before the next call. Duktape cannot
// interrupt a running function (Debian's build lacks
// DUK_USE_EXEC_TIMEOUT_CHECK), so the time limit is enforced from outside:
// the interpreter runs in a host process (javascript_host.h) that is killed
// when a call runs too long.
//
// Type mapping (ASA's): bigint and float <-> Number (a Number comes back as
// bigint when integral and within bigint's range, else float; bigint is
// exact to 2^53), nvarchar <-> String, datetime <-> Date (milliseconds),
// bit <-> Boolean, record <-> Object, array <-> Array, NULL <-> null
// (undefined comes back as NULL too).
//
// Not thread-safe: one thread owns an interpreter.
#ifndef SLUICE_ENGINE_EXPR_JAVASCRIPT_JAVASCRIPT_INTERPRETER_H_
#define SLUICE_ENGINE_EXPR_JAVASCRIPT_JAVASCRIPT_INTERPRETER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/core/arena.h"
#include "engine/core/value.h"

struct duk_hthread;

namespace sluice::javascript {

// A heap smaller than this cannot hold Duktape's built-ins.
inline constexpr int64_t kMinMemoryLimitBytes = 1 << 20;
// A result is refused when its encoding would pass this many bytes.
inline constexpr size_t kMaxResultBytes = 256 * 1024;

class JavaScriptInterpreter {
 public:
  // Compiles `source`, which must hold one function expression
  // (`function main(a, b) { ... }`, whatever its name). `name` is the alias
  // the query calls it by, for messages. InvalidArgument when it does not
  // compile or is not a function.
  static absl::StatusOr<std::unique_ptr<JavaScriptInterpreter>> Create(std::string name,
                                                                       std::string source,
                                                                       int64_t memory_limit_bytes);
  ~JavaScriptInterpreter();
  JavaScriptInterpreter(const JavaScriptInterpreter&) = delete;
  JavaScriptInterpreter& operator=(const JavaScriptInterpreter&) = delete;

  // Calls the function with `args`. On success sets `*result` (strings,
  // records and arrays in `arena`) and returns true; otherwise sets `*error`
  // (what the function threw, or the limit it passed) and returns false.
  bool Call(const Value* args, int num_args, Arena* arena, Value* result, std::string* error);

  // Bytes the heap holds now.
  int64_t bytes_in_use() const;

  // Allocation accounting, shared with the allocator callbacks.
  struct Budget {
    int64_t limit = 0;
    int64_t used = 0;
    bool exceeded = false;
  };

 private:
  JavaScriptInterpreter(std::string name, std::string source, int64_t memory_limit_bytes);
  // Creates the heap and compiles the function into its stash.
  absl::Status Start();
  void Stop();

  std::string name_;
  std::string source_;
  Budget budget_;
  duk_hthread* heap_ = nullptr;
};

}  // namespace sluice::javascript

#endif  // SLUICE_ENGINE_EXPR_JAVASCRIPT_JAVASCRIPT_INTERPRETER_H_
