// Mathematical functions of the ASA dialect.
//
// Result types follow the ASA pages: ABS, CEILING, FLOOR, ROUND, SIGN and
// POWER return the type of their (first) argument, so bigint stays bigint;
// EXP, SQRT and SQUARE always return float.
//
// Arguments must be bigint or float: ASA reports a wrong argument type (for
// example ROUND of an nvarchar) as an error, so strings, bits and the other
// types fail rather than being converted. A NULL argument gives NULL.
//
// A float result that is not finite (overflow, SQRT of a negative number,
// POWER(0, -1), ...) and a bigint result outside the bigint range fail the
// row: ASA's float has no NaN or infinity and its bigint does not wrap.
// Negative zero results are returned as 0.0.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/value.h"
#include "engine/expr/scalar_function.h"

namespace sluice {
namespace {

// Turns -0.0 into 0.0 and leaves every other value alone.
double PositiveZero(double d) { return d + 0.0; }

// Checks a numeric argument: NULL or a number. Returns false (after failing
// the row for a non-number) when the function should return NULL.
bool NumberArg(const Value& v, const char* fn, CallContext& ctx) {
  if (v.is_null()) return false;
  if (v.is_numeric()) return true;
  ctx.Fail(absl::StrCat(fn, " expects a number: ", ShortDebugString(v)));
  return false;
}

// ASA reads text holding a number where a math function expects a number
// (its input-validation page: ROUND on an nvarchar field is "implicitly cast
// to float"); such text becomes a float. Other text is left alone, so
// NumberArg still rejects it.
const Value* ReadNumbersFromText(const Value* args, int n, Value* converted) {
  bool any = false;
  for (int i = 0; i < n; ++i) any = any || args[i].type() == ValueType::kString;
  if (!any) return args;
  for (int i = 0; i < n; ++i) {
    converted[i] = args[i];
    if (args[i].type() == ValueType::kString) {
      if (auto d = ParseFloat(args[i].string())) converted[i] = Value::Float(*d);
    }
  }
  return converted;
}

Value FloatResult(double d, const char* fn, const Value* args, int n, CallContext& ctx) {
  if (std::isfinite(d)) return Value::Float(PositiveZero(d));
  std::string call = absl::StrCat(fn, "(");
  for (int i = 0; i < n; ++i) {
    if (i > 0) call.append(", ");
    call.append(ShortDebugString(args[i]));
  }
  call.append(")");
  return ctx.Fail(absl::StrCat(fn, " result is out of the float range or undefined: ", call));
}

Value BigintOverflow(const char* fn, const Value* args, int n, CallContext& ctx) {
  std::string call = absl::StrCat(fn, "(");
  for (int i = 0; i < n; ++i) {
    if (i > 0) call.append(", ");
    call.append(ShortDebugString(args[i]));
  }
  call.append(")");
  return ctx.Fail(absl::StrCat(fn, " result is out of the bigint range: ", call));
}

Value Abs(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (!NumberArg(args[0], "ABS", ctx)) return Value::Null();
  if (args[0].type() == ValueType::kFloat) {
    return Value::Float(std::fabs(args[0].float_value()));
  }
  const int64_t x = args[0].bigint();
  if (x == INT64_MIN) return BigintOverflow("ABS", args, n, ctx);
  return Value::Bigint(x < 0 ? -x : x);
}

Value Ceiling(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (!NumberArg(args[0], "CEILING", ctx)) return Value::Null();
  if (args[0].type() == ValueType::kBigint) return args[0];
  return FloatResult(std::ceil(args[0].float_value()), "CEILING", args, n, ctx);
}

Value Floor(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (!NumberArg(args[0], "FLOOR", ctx)) return Value::Null();
  if (args[0].type() == ValueType::kBigint) return args[0];
  return FloatResult(std::floor(args[0].float_value()), "FLOOR", args, n, ctx);
}

Value Exp(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (!NumberArg(args[0], "EXP", ctx)) return Value::Null();
  return FloatResult(std::exp(args[0].AsDouble()), "EXP", args, n, ctx);
}

Value Sqrt(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (!NumberArg(args[0], "SQRT", ctx)) return Value::Null();
  const double x = args[0].AsDouble();
  if (x < 0) {
    return ctx.Fail(absl::StrCat("SQRT of a negative number: ", ShortDebugString(args[0])));
  }
  return FloatResult(std::sqrt(x), "SQRT", args, n, ctx);
}

// SQUARE returns float for any argument (documented), so a bigint argument is
// squared in floating point.
Value Square(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (!NumberArg(args[0], "SQUARE", ctx)) return Value::Null();
  const double x = args[0].AsDouble();
  return FloatResult(x * x, "SQUARE", args, n, ctx);
}

Value Sign(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  (void)n;
  if (!NumberArg(args[0], "SIGN", ctx)) return Value::Null();
  if (args[0].type() == ValueType::kBigint) {
    const int64_t x = args[0].bigint();
    return Value::Bigint(x > 0 ? 1 : (x < 0 ? -1 : 0));
  }
  const double x = args[0].float_value();
  return Value::Float(x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0));
}

// POWER(x, y) returns the type of x (documented: "if a bigint was submitted
// ..., the result returned is bigint"). For a bigint x and a non-negative
// bigint y the power is computed exactly; otherwise it is computed in
// floating point and, for a bigint x, truncated toward zero as SQL Server's
// conversion to an integer type does (POWER(2, -1) is 0).
Value Power(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  if (args[0].is_null() || args[1].is_null()) {
    // Still report a wrong type in the other argument.
    if (!args[0].is_null()) NumberArg(args[0], "POWER", ctx);
    if (!args[1].is_null()) NumberArg(args[1], "POWER", ctx);
    return Value::Null();
  }
  if (!NumberArg(args[0], "POWER", ctx) || !NumberArg(args[1], "POWER", ctx)) {
    return Value::Null();
  }
  if (args[0].type() == ValueType::kFloat) {
    return FloatResult(std::pow(args[0].float_value(), args[1].AsDouble()), "POWER", args, n, ctx);
  }
  const int64_t base = args[0].bigint();
  if (args[1].type() == ValueType::kBigint && args[1].bigint() >= 0) {
    int64_t exponent = args[1].bigint();
    int64_t result = 1;
    int64_t factor = base;
    // Exponentiation by squaring; `factor` is only squared while bits of the
    // exponent remain, so its overflow is a real overflow of the result
    // unless the remaining exponent bits are zero.
    while (exponent > 0) {
      if (exponent & 1) {
        if (__builtin_mul_overflow(result, factor, &result)) {
          return BigintOverflow("POWER", args, n, ctx);
        }
      }
      exponent >>= 1;
      if (exponent > 0 && __builtin_mul_overflow(factor, factor, &factor)) {
        return BigintOverflow("POWER", args, n, ctx);
      }
    }
    return Value::Bigint(result);
  }
  const double d = std::pow(static_cast<double>(base), args[1].AsDouble());
  if (!std::isfinite(d)) {
    return ctx.Fail(absl::StrCat("POWER result is out of range or undefined: POWER(",
                                 ShortDebugString(args[0]), ", ", ShortDebugString(args[1]), ")"));
  }
  const double t = std::trunc(d);
  if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) {
    return BigintOverflow("POWER", args, n, ctx);
  }
  return Value::Bigint(static_cast<int64_t>(t));
}

// ROUND of a bigint to 10^-length (length < 0), half away from zero.
bool RoundBigint(int64_t x, int64_t length, int64_t* out) {
  if (length >= 0) {
    *out = x;
    return true;
  }
  // |x| <= 2^63 < 10^19 / 2 * 2, so from 10^20 on everything rounds to 0.
  if (length < -19) {
    *out = 0;
    return true;
  }
  uint64_t p = 1;
  for (int64_t k = 0; k < -length; ++k) p *= 10;
  const bool negative = x < 0;
  const uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  uint64_t q = magnitude / p;
  const uint64_t r = magnitude % p;
  if (r >= p - r) ++q;  // r >= p / 2, without overflow
  uint64_t rounded = 0;
  if (__builtin_mul_overflow(q, p, &rounded)) return false;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (rounded > limit) return false;
  *out = negative ? static_cast<int64_t>(uint64_t{0} - rounded) : static_cast<int64_t>(rounded);
  return true;
}

// ROUND of a float to `length` decimals, half away from zero.
//
// Rounding is decided on the shortest decimal text that reads back as `x`
// (what the user wrote and what Sluice prints), not on the exact binary
// value: 1.005 is stored as 1.00499999999999989..., yet ROUND(1.005, 2) is
// 1.01, as SQL Server gives and as users expect. The rounded decimal is then
// converted back to the nearest double. nullopt on overflow.
std::optional<double> RoundFloat(double x, int64_t length) {
  if (x == 0 || !std::isfinite(x)) return x;
  // Doubles have decimal exponents in [-324, 308] and at most 17 significant
  // digits: beyond +-400 the result no longer changes.
  if (length > 400) length = 400;
  if (length < -400) length = -400;
  char buf[64];
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof(buf), std::fabs(x), std::chars_format::scientific);
  if (ec != std::errc()) return x;  // cannot happen with 64 bytes
  // buf is "d[.ddd]e(+|-)xx".
  std::string digits;
  const char* p = buf;
  while (p < end && *p != 'e') {
    if (*p != '.') digits.push_back(*p);
    ++p;
  }
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), end, exponent);
  // Digit i has place value 10^(exponent - i); keep those >= 10^-length.
  const int64_t keep = exponent + length + 1;
  if (keep >= static_cast<int64_t>(digits.size())) return x;
  if (keep < 0) return 0.0;
  uint64_t mantissa = 0;
  for (int64_t i = 0; i < keep; ++i) mantissa = mantissa * 10 + (digits[i] - '0');
  if (digits[keep] >= '5') ++mantissa;
  if (mantissa == 0) return 0.0;
  const std::string text = absl::StrCat(mantissa, "e", -length);
  double magnitude = 0;
  auto [parse_end, parse_ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude);
  (void)parse_end;
  if (parse_ec != std::errc() || !std::isfinite(magnitude)) {
    return std::nullopt;
  }
  return x < 0 ? -magnitude : magnitude;
}

// ROUND(x, length). The length must be a bigint (documented); a float length
// is truncated toward zero, as elsewhere.
Value Round(const Value* args, int n, CallContext& ctx) {
  Value converted[2];
  args = ReadNumbersFromText(args, n, converted);
  const bool x_ok = NumberArg(args[0], "ROUND", ctx);
  if (args[1].is_null()) return Value::Null();
  if (!x_ok) return Value::Null();
  int64_t length = 0;
  if (args[1].type() == ValueType::kBigint) {
    length = args[1].bigint();
  } else if (args[1].type() == ValueType::kFloat && std::fabs(args[1].float_value()) < 1e18) {
    length = static_cast<int64_t>(std::trunc(args[1].float_value()));
  } else {
    return ctx.Fail(absl::StrCat("ROUND expects a bigint length: ", ShortDebugString(args[1])));
  }
  if (args[0].type() == ValueType::kBigint) {
    int64_t result = 0;
    if (!RoundBigint(args[0].bigint(), length, &result)) {
      return BigintOverflow("ROUND", args, n, ctx);
    }
    return Value::Bigint(result);
  }
  std::optional<double> result = RoundFloat(args[0].float_value(), length);
  if (!result) {
    return FloatResult(HUGE_VAL, "ROUND", args, n, ctx);
  }
  return FloatResult(*result, "ROUND", args, n, ctx);
}

constexpr ScalarFunction kMathFunctions[] = {
    {"abs", 1, 1, &Abs},     {"ceiling", 1, 1, &Ceiling}, {"exp", 1, 1, &Exp},
    {"floor", 1, 1, &Floor}, {"power", 2, 2, &Power},     {"round", 2, 2, &Round},
    {"sign", 1, 1, &Sign},   {"sqrt", 1, 1, &Sqrt},       {"square", 1, 1, &Square},
};

}  // namespace

std::span<const ScalarFunction> MathFunctions() { return kMathFunctions; }

}  // namespace sluice
