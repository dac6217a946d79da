#include "engine/core/conversion.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"

namespace sluice {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view TrimAsciiSpace(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool Unsupported(const Value& v, ValueType target, std::string* error) {
  const std::string_view from = TypeName(v.type());
  const std::string_view to = TypeName(target);
  *error = absl::StrCat("cannot convert ", absl::string_view(from.data(), from.size()), " to ",
                        absl::string_view(to.data(), to.size()), ": ", ShortDebugString(v));
  return false;
}

// bigint from float: truncation toward zero, as SQL Server and .NET's
// (long) cast do; values outside the bigint range (and NaN or infinity) are
// errors rather than wrapping or saturating.
bool FloatToBigint(double d, int64_t* out) {
  const double t = std::trunc(d);
  // -2^63 is exactly representable; 2^63 is the first value out of range.
  if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) {
    return false;
  }
  *out = static_cast<int64_t>(t);
  return true;
}

// bit from text: 'true'/'false'/'1'/'0', case-insensitive, surrounding white
// space ignored.
bool TextToBit(std::string_view text, bool* out) {
  text = TrimAsciiSpace(text);
  if (EqualsIgnoreCase(text, "true") || text == "1") {
    *out = true;
    return true;
  }
  if (EqualsIgnoreCase(text, "false") || text == "0") {
    *out = false;
    return true;
  }
  return false;
}

bool ToBigint(const Value& v, Value* out, std::string* error) {
  switch (v.type()) {
    case ValueType::kFloat: {
      int64_t i = 0;
      if (!FloatToBigint(v.float_value(), &i)) {
        *error =
            absl::StrCat("cannot convert float to bigint, out of range: ", ShortDebugString(v));
        return false;
      }
      *out = Value::Bigint(i);
      return true;
    }
    case ValueType::kString: {
      // Integer text only: CAST('1.5' AS bigint) fails, as in SQL Server.
      std::optional<int64_t> i = ParseBigint(v.string());
      if (!i) return Unsupported(v, ValueType::kBigint, error);
      *out = Value::Bigint(*i);
      return true;
    }
    case ValueType::kBit:
      *out = Value::Bigint(v.bit() ? 1 : 0);
      return true;
    default:
      return Unsupported(v, ValueType::kBigint, error);
  }
}

bool ToFloat(const Value& v, Value* out, std::string* error) {
  switch (v.type()) {
    case ValueType::kBigint:
      *out = Value::Float(static_cast<double>(v.bigint()));
      return true;
    case ValueType::kString: {
      std::optional<double> d = ParseFloat(v.string());
      if (!d) return Unsupported(v, ValueType::kFloat, error);
      *out = Value::Float(*d);
      return true;
    }
    case ValueType::kBit:
      *out = Value::Float(v.bit() ? 1.0 : 0.0);
      return true;
    default:
      return Unsupported(v, ValueType::kFloat, error);
  }
}

bool ToString(const Value& v, Arena* arena, Value* out, std::string* error) {
  std::string text;
  switch (v.type()) {
    case ValueType::kBigint: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.bigint());
      (void)ec;  // 24 bytes always suffice for an int64
      text.assign(buf, end - buf);
      break;
    }
    case ValueType::kFloat:
      AppendFloatText(v.float_value(), &text);
      break;
    case ValueType::kDatetime:
      AppendDatetime(v.ticks(), &text);
      break;
    case ValueType::kBit:
      // ASA writes bits as true/false (CSV and JSON outputs); SQL Server
      // would give '1'/'0'. The literals are static: no copy needed.
      *out = Value::String(v.bit() ? "true" : "false");
      return true;
    case ValueType::kRecord:
    case ValueType::kArray:
      // Not documented; the JSON text loses nothing and is what a JSON
      // output would write for the value.
      AppendJson(v, &text);
      break;
    default:
      return Unsupported(v, ValueType::kString, error);
  }
  *out = Value::String(arena->CopyString(text));
  return true;
}

bool ToDatetime(const Value& v, Value* out, std::string* error) {
  if (v.type() != ValueType::kString) {
    // SQL Server reads numbers as days since 1900; ASA documents no numeric
    // datetime form, so numbers are an error here.
    return Unsupported(v, ValueType::kDatetime, error);
  }
  std::optional<int64_t> ticks = ParseDatetime(v.string());
  if (!ticks) return Unsupported(v, ValueType::kDatetime, error);
  *out = Value::Datetime(*ticks);
  return true;
}

bool ToBit(const Value& v, Value* out, std::string* error) {
  switch (v.type()) {
    case ValueType::kBigint:
      // SQL Server: any non-zero integer is 1.
      *out = Value::Bit(v.bigint() != 0);
      return true;
    case ValueType::kFloat:
      // Documented: 0.0 is 0, any other value is 1.
      *out = Value::Bit(v.float_value() != 0.0);
      return true;
    case ValueType::kString: {
      bool b = false;
      if (!TextToBit(v.string(), &b)) {
        return Unsupported(v, ValueType::kBit, error);
      }
      *out = Value::Bit(b);
      return true;
    }
    default:
      return Unsupported(v, ValueType::kBit, error);
  }
}

}  // namespace

bool CastValue(const Value& v, ValueType target, Arena* arena, Value* out, std::string* error) {
  if (v.is_null() || target == ValueType::kNull) {
    *out = Value::Null();
    return true;
  }
  if (v.type() == target) {
    *out = v;
    return true;
  }
  switch (target) {
    case ValueType::kBigint:
      return ToBigint(v, out, error);
    case ValueType::kFloat:
      return ToFloat(v, out, error);
    case ValueType::kString:
      return ToString(v, arena, out, error);
    case ValueType::kDatetime:
      return ToDatetime(v, out, error);
    case ValueType::kBit:
      return ToBit(v, out, error);
    case ValueType::kRecord:
    case ValueType::kArray:
    case ValueType::kNull:
      break;
  }
  return Unsupported(v, target, error);
}

std::optional<double> NumericValue(const Value& v) {
  switch (v.type()) {
    case ValueType::kBigint:
    case ValueType::kFloat:
      return v.AsDouble();
    case ValueType::kString:
      return ParseFloat(v.string());
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> ParseBigint(std::string_view text) {
  text = TrimAsciiSpace(text);
  // from_chars takes a '-' but no '+'; drop a '+' before checking the rest.
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  const size_t digits_start = (!text.empty() && text.front() == '-') ? 1 : 0;
  if (digits_start == text.size()) return std::nullopt;
  for (size_t i = digits_start; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return std::nullopt;
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseFloat(std::string_view text) {
  text = TrimAsciiSpace(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  // Validate [digits][.digits][(e|E)[sign]digits] with at least one mantissa
  // digit, and find the decimal exponent of the first significant digit so
  // that an out-of-range result can be told apart as underflow or overflow.
  size_t i = 0;
  int64_t first_digit_exponent = 0;
  bool seen_nonzero = false;
  int64_t int_digits_after_nonzero = 0;
  int64_t mantissa_digits = 0;
  while (i < text.size() && IsDigit(text[i])) {
    if (text[i] != '0') seen_nonzero = true;
    if (seen_nonzero) ++int_digits_after_nonzero;
    ++mantissa_digits;
    ++i;
  }
  if (seen_nonzero) first_digit_exponent = int_digits_after_nonzero - 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int64_t position = 0;
    while (i < text.size() && IsDigit(text[i])) {
      ++position;
      if (!seen_nonzero && text[i] != '0') {
        seen_nonzero = true;
        first_digit_exponent = -position;
      }
      ++mantissa_digits;
      ++i;
    }
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      exponent_negative = text[i] == '-';
      ++i;
    }
    if (i == text.size() || !IsDigit(text[i])) return std::nullopt;
    int64_t exponent = 0;
    while (i < text.size() && IsDigit(text[i])) {
      if (exponent < 1'000'000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    first_digit_exponent += exponent_negative ? -exponent : exponent;
  }
  if (i != text.size()) return std::nullopt;

  double value = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    if (first_digit_exponent >= 0) return std::nullopt;  // overflow
    value = 0.0;                                         // underflow
  } else if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  if (!std::isfinite(value)) return std::nullopt;
  return negative ? -value : value;
}

void AppendFloatText(double d, std::string* out) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  (void)ec;  // 64 bytes always suffice for a double
  out->append(buf, end - buf);
}

std::string ShortDebugString(const Value& v) {
  constexpr size_t kMaxBytes = 64;
  std::string s = DebugString(v);
  if (s.size() <= kMaxBytes) return s;
  size_t cut = kMaxBytes;
  // Back off to the start of a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  s.resize(cut);
  s.append("...");
  return s;
}

}  // namespace sluice
