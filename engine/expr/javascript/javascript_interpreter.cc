#include "engine/expr/javascript/javascript_interpreter.h"

#include <duktape.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"

namespace sluice::javascript {
namespace {

// Every block carries its size in front so that free and realloc can keep
// the budget exact.
constexpr size_t kHeader = alignof(std::max_align_t);

void* BudgetAlloc(void* udata, duk_size_t size) {
  auto* budget = static_cast<JavaScriptInterpreter::Budget*>(udata);
  if (size == 0) return nullptr;
  if (budget->used + static_cast<int64_t>(size) > budget->limit) {
    budget->exceeded = true;
    return nullptr;
  }
  char* block = static_cast<char*>(std::malloc(size + kHeader));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof(size));
  budget->used += static_cast<int64_t>(size);
  return block + kHeader;
}

void BudgetFree(void* udata, void* ptr) {
  if (ptr == nullptr) return;
  auto* budget = static_cast<JavaScriptInterpreter::Budget*>(udata);
  char* block = static_cast<char*>(ptr) - kHeader;
  duk_size_t size = 0;
  std::memcpy(&size, block, sizeof(size));
  budget->used -= static_cast<int64_t>(size);
  std::free(block);
}

void* BudgetRealloc(void* udata, void* ptr, duk_size_t size) {
  if (ptr == nullptr) return BudgetAlloc(udata, size);
  if (size == 0) {
    BudgetFree(udata, ptr);
    return nullptr;
  }
  auto* budget = static_cast<JavaScriptInterpreter::Budget*>(udata);
  char* block = static_cast<char*>(ptr) - kHeader;
  duk_size_t old_size = 0;
  std::memcpy(&old_size, block, sizeof(old_size));
  const int64_t growth = static_cast<int64_t>(size) - static_cast<int64_t>(old_size);
  if (growth > 0 && budget->used + growth > budget->limit) {
    budget->exceeded = true;
    return nullptr;
  }
  char* grown = static_cast<char*>(std::realloc(block, size + kHeader));
  if (grown == nullptr) return nullptr;
  std::memcpy(grown, &size, sizeof(size));
  budget->used += growth;
  return grown + kHeader;
}

// Duktape calls this on an error outside any protected call, after which
// the heap is unusable; it must not return. Every call we make is
// protected, so this means a Duktape bug: end the (host) process, whose
// parent dead-letters the row that was running and starts a new one.
void Fatal(void* /*udata*/, const char* message) {
  std::fprintf(stderr, "sluice: JavaScript engine failed: %s\n", message);
  std::fflush(stderr);
  std::_Exit(70);
}

// Stash keys: the function, and the original Date constructor and
// Date.prototype.getTime (the function may replace the globals).
constexpr char kFunctionKey[] = "fn";
constexpr char kDateKey[] = "Date";
constexpr char kGetTimeKey[] = "getTime";

// Code between here and the end of the anonymous namespace runs inside
// duk_safe_call: a JavaScript error longjmps out of it, so it keeps no
// object with a destructor on the stack.

void PushStashed(duk_context* ctx, const char* key) {
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, key);
  duk_remove(ctx, -2);
}

void PushValue(duk_context* ctx, const Value& v) {
  switch (v.type()) {
    case ValueType::kNull:
      duk_push_null(ctx);
      return;
    case ValueType::kBigint:
      duk_push_number(ctx, static_cast<double>(v.bigint()));
      return;
    case ValueType::kFloat:
      duk_push_number(ctx, v.float_value());
      return;
    case ValueType::kBit:
      duk_push_boolean(ctx, v.bit());
      return;
    case ValueType::kString:
      duk_push_lstring(ctx, v.string().data(), v.string().size());
      return;
    case ValueType::kDatetime: {
      // Milliseconds, rounded down: Date has no finer resolution.
      int64_t ms = v.ticks() / kTicksPerMillisecond;
      if (v.ticks() % kTicksPerMillisecond < 0) --ms;
      PushStashed(ctx, kDateKey);
      duk_push_number(ctx, static_cast<double>(ms));
      duk_new(ctx, 1);
      return;
    }
    case ValueType::kRecord: {
      duk_push_object(ctx);
      for (uint32_t i = 0; i < v.size(); ++i) {
        PushValue(ctx, v.fields()[i].value);
        const std::string_view name = v.fields()[i].name;
        duk_put_prop_lstring(ctx, -2, name.data(), name.size());
      }
      return;
    }
    case ValueType::kArray: {
      duk_push_array(ctx);
      for (uint32_t i = 0; i < v.size(); ++i) {
        PushValue(ctx, v.items()[i]);
        duk_put_prop_index(ctx, -2, i);
      }
      return;
    }
  }
  duk_push_null(ctx);
}

constexpr int kMaxResultDepth = 64;

struct Conversion {
  Arena* arena;
  size_t bytes = 0;
};

void Charge(duk_context* ctx, Conversion& c, size_t bytes) {
  c.bytes += bytes;
  if (c.bytes > kMaxResultBytes) {
    (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "the result is larger than %d bytes",
                    static_cast<int>(kMaxResultBytes));
  }
}

std::string_view CopyString(duk_context* ctx, duk_idx_t idx, Conversion& c) {
  duk_size_t len = 0;
  const char* s = duk_get_lstring(ctx, idx, &len);
  Charge(ctx, c, len);
  if (!IsValidUtf8(std::string_view(s, len))) {
    (void)duk_error(ctx, DUK_ERR_TYPE_ERROR,
                    "the result holds a string that is not valid UTF-8 (a lone surrogate?)");
  }
  char* copy = static_cast<char*>(c.arena->Allocate(len == 0 ? 1 : len, 1));
  std::memcpy(copy, s, len);
  return std::string_view(copy, len);
}

Value NumberValue(double d) {
  // 2^63 as a double: the first value past bigint's range.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::isfinite(d) && std::trunc(d) == d && d >= -kTwo63 && d < kTwo63) {
    return Value::Bigint(static_cast<int64_t>(d));
  }
  return Value::Float(d);
}

// Converts the value at the top of the stack, leaving the stack as it was.
Value ToValue(duk_context* ctx, Conversion& c, int depth) {
  if (depth > kMaxResultDepth) {
    (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "the result nests deeper than %d levels (a cycle?)",
                    kMaxResultDepth);
  }
  Charge(ctx, c, sizeof(Value));
  duk_require_stack(ctx, 8);  // this level's enumerator, key, value and calls
  switch (duk_get_type(ctx, -1)) {
    case DUK_TYPE_UNDEFINED:
    case DUK_TYPE_NULL:
      return Value();
    case DUK_TYPE_BOOLEAN:
      return Value::Bit(duk_get_boolean(ctx, -1) != 0);
    case DUK_TYPE_NUMBER:
      return NumberValue(duk_get_number(ctx, -1));
    case DUK_TYPE_STRING:
      return Value::String(CopyString(ctx, -1, c));
    case DUK_TYPE_OBJECT:
      break;
    default:
      (void)duk_error(ctx, DUK_ERR_TYPE_ERROR, "the result holds a value SQL has no type for");
  }
  if (duk_is_function(ctx, -1)) {
    (void)duk_error(ctx, DUK_ERR_TYPE_ERROR, "the result holds a function");
  }
  if (duk_is_array(ctx, -1)) {
    const duk_size_t n = duk_get_length(ctx, -1);
    Charge(ctx, c, n * sizeof(Value));
    auto* items = static_cast<Value*>(c.arena->Allocate(sizeof(Value) * (n == 0 ? 1 : n)));
    for (duk_size_t i = 0; i < n; ++i) {
      duk_get_prop_index(ctx, -1, static_cast<duk_uarridx_t>(i));
      items[i] = ToValue(ctx, c, depth + 1);
      duk_pop(ctx);
    }
    return Value::Array(items, static_cast<uint32_t>(n));
  }
  PushStashed(ctx, kDateKey);
  const bool is_date = duk_instanceof(ctx, -2, -1) != 0;
  duk_pop(ctx);
  if (is_date) {
    PushStashed(ctx, kGetTimeKey);
    duk_dup(ctx, -2);
    duk_call_method(ctx, 0);
    const double ms = duk_get_number(ctx, -1);
    duk_pop(ctx);
    const double ticks = ms * static_cast<double>(kTicksPerMillisecond);
    if (!std::isfinite(ms) || ticks < static_cast<double>(kMinDatetimeTicks) ||
        ticks > static_cast<double>(kMaxDatetimeTicks)) {
      (void)duk_error(ctx, DUK_ERR_RANGE_ERROR,
                      "the result holds a Date outside datetime's range (or an Invalid Date)");
    }
    return Value::Datetime(static_cast<int64_t>(ms) * kTicksPerMillisecond);
  }
  // A record: the object's own enumerable properties, in order.
  uint32_t count = 0;
  duk_enum(ctx, -1, DUK_ENUM_OWN_PROPERTIES_ONLY);
  while (duk_next(ctx, -1, 0)) {
    duk_pop(ctx);
    ++count;
  }
  duk_pop(ctx);
  Charge(ctx, c, count * sizeof(RecordField));
  auto* fields =
      static_cast<RecordField*>(c.arena->Allocate(sizeof(RecordField) * (count == 0 ? 1 : count)));
  uint32_t filled = 0;
  duk_enum(ctx, -1, DUK_ENUM_OWN_PROPERTIES_ONLY);
  while (filled < count && duk_next(ctx, -1, 1)) {
    // Stack: ... object enum key value
    const std::string_view name = CopyString(ctx, -2, c);
    const Value value = ToValue(ctx, c, depth + 1);
    new (&fields[filled]) RecordField{name, value};
    ++filled;
    duk_pop_2(ctx);
  }
  duk_pop(ctx);
  return Value::Record(fields, filled);
}

struct CallState {
  const Value* args;
  int num_args;
  Conversion conversion;
  Value result;
};

duk_ret_t CallProtected(duk_context* ctx, void* udata) {
  auto* state = static_cast<CallState*>(udata);
  PushStashed(ctx, kFunctionKey);
  for (int i = 0; i < state->num_args; ++i) PushValue(ctx, state->args[i]);
  duk_call(ctx, state->num_args);
  state->result = ToValue(ctx, state->conversion, 0);
  return 0;
}

// Compiles the source (on the stack, its file name above it) and stashes
// the function with the original Date and getTime.
duk_ret_t StartProtected(duk_context* ctx, void* /*udata*/) {
  duk_compile(ctx, DUK_COMPILE_FUNCTION);
  if (!duk_is_function(ctx, -1)) {
    (void)duk_error(ctx, DUK_ERR_TYPE_ERROR, "the source does not hold a function");
  }
  duk_push_global_stash(ctx);
  duk_dup(ctx, -2);
  duk_put_prop_string(ctx, -2, kFunctionKey);
  duk_get_global_string(ctx, "Date");
  duk_get_prop_string(ctx, -1, "prototype");
  duk_get_prop_string(ctx, -1, "getTime");
  duk_put_prop_string(ctx, -4, kGetTimeKey);
  duk_pop(ctx);
  duk_put_prop_string(ctx, -2, kDateKey);
  duk_pop_2(ctx);
  return 0;
}

// What a failed protected call left on the stack, for a message: the
// error's own text ("TypeError: x is not a function"), cut to a length fit
// for a dead-letter record.
std::string ErrorText(duk_context* ctx) {
  std::string text = duk_safe_to_string(ctx, -1);
  constexpr size_t kMaxErrorText = 1000;
  if (text.size() > kMaxErrorText) {
    text.resize(kMaxErrorText);
    while (!text.empty() && !IsValidUtf8(text)) text.pop_back();
    text += "...";
  }
  return text;
}

}  // namespace

JavaScriptInterpreter::JavaScriptInterpreter(std::string name, std::string source,
                                             int64_t memory_limit_bytes)
    : name_(std::move(name)), source_(std::move(source)) {
  budget_.limit = std::max(memory_limit_bytes, kMinMemoryLimitBytes);
}

JavaScriptInterpreter::~JavaScriptInterpreter() { Stop(); }

absl::StatusOr<std::unique_ptr<JavaScriptInterpreter>> JavaScriptInterpreter::Create(
    std::string name, std::string source, int64_t memory_limit_bytes) {
  std::unique_ptr<JavaScriptInterpreter> interpreter(
      new JavaScriptInterpreter(std::move(name), std::move(source), memory_limit_bytes));
  if (absl::Status s = interpreter->Start(); !s.ok()) return s;
  return interpreter;
}

absl::Status JavaScriptInterpreter::Start() {
  budget_.used = 0;
  budget_.exceeded = false;
  heap_ = duk_create_heap(BudgetAlloc, BudgetRealloc, BudgetFree, &budget_, Fatal);
  if (heap_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "udf.", name_, ": cannot create a JavaScript heap within ", budget_.limit, " bytes"));
  }
  // A source ending in ';' (as a file holding `function f() {...};` may) is
  // still one function expression.
  std::string_view text = source_;
  while (!text.empty() &&
         (text.back() == ';' || std::isspace(static_cast<unsigned char>(text.back())))) {
    text.remove_suffix(1);
  }
  duk_push_lstring(heap_, text.data(), text.size());
  duk_push_string(heap_, absl::StrCat("udf.", name_).c_str());
  if (duk_safe_call(heap_, StartProtected, nullptr, 2, 1) != DUK_EXEC_SUCCESS) {
    std::string message = absl::StrCat("udf.", name_, " does not compile: ", ErrorText(heap_));
    if (budget_.exceeded) {
      message = absl::StrCat("udf.", name_, " does not fit in ", budget_.limit,
                             " bytes of JavaScript heap");
    }
    Stop();
    return absl::InvalidArgumentError(message);
  }
  duk_pop(heap_);
  return absl::OkStatus();
}

void JavaScriptInterpreter::Stop() {
  if (heap_ != nullptr) duk_destroy_heap(heap_);
  heap_ = nullptr;
}

int64_t JavaScriptInterpreter::bytes_in_use() const { return budget_.used; }

bool JavaScriptInterpreter::Call(const Value* args, int num_args, Arena* arena, Value* result,
                                 std::string* error) {
  if (heap_ == nullptr) {
    if (absl::Status s = Start(); !s.ok()) {
      *error = std::string(s.message());
      return false;
    }
  }
  CallState state{args, num_args, Conversion{arena}, Value()};
  const duk_int_t rc = duk_safe_call(heap_, CallProtected, &state, 0, 1);
  bool ok = rc == DUK_EXEC_SUCCESS;
  if (!ok) *error = absl::StrCat("udf.", name_, " failed: ", ErrorText(heap_));
  duk_pop(heap_);
  if (budget_.exceeded) {
    // Whatever the function caught, the heap ran out: start afresh.
    *error = absl::StrCat("udf.", name_, " needs more than ", budget_.limit,
                          " bytes of JavaScript heap");
    ok = false;
    Stop();
    return false;
  }
  if (ok) *result = state.result;
  return ok;
}

}  // namespace sluice::javascript
