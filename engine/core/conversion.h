// Type conversions of the ASA dialect: CAST / TRY_CAST and the implicit
// conversions functions apply to their arguments.
//
// The conversion matrix (rows: source, columns: target; "=" is identity,
// "-" is an error; NULL always converts to NULL):
//
//             bigint  float  nvarchar  datetime  bit  record  array
//   bigint      =      yes     yes        -      yes    -       -
//   float      yes*     =      yes        -      yes    -       -
//   nvarchar   yes*    yes*     =        yes*    yes*   -       -
//   datetime    -       -      yes        =       -     -       -
//   bit        yes     yes     yes        -       =     -       -
//   record      -       -      yes**      -       -     =       -
//   array       -       -      yes**      -       -     -       =
//
//   * fails when the value does not convert (text that is not a number, a
//     datetime or a boolean; a float that is not finite or outside the
//     bigint range).
//   ** the JSON text of the value.
//
// The ASA documentation gives no matrix; the entries it does not state follow
// SQL Server (see conversion.cc for each choice).
#ifndef SLUICE_ENGINE_CORE_CONVERSION_H_
#define SLUICE_ENGINE_CORE_CONVERSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/arena.h"
#include "engine/core/value.h"

namespace sluice {

// Converts `v` to `target`, as CAST(v AS target) does. On success stores the
// result in `out` and returns true; text it produces lives in `arena`, while a
// value that needs no conversion is returned as is (still pointing wherever
// `v` points). On failure returns false and sets `error` to a message
// ("cannot convert nvarchar(max) to bigint: 'abc'"); `out` is then undefined.
bool CastValue(const Value& v, ValueType target, Arena* arena, Value* out, std::string* error);

// The numeric value of `v` as a double: bigint and float directly, a string
// when it holds a number (the implicit conversion MIN and MAX apply).
// nullopt for anything else, NULL included.
std::optional<double> NumericValue(const Value& v);

// Text parsing shared with the input decoders. Both accept surrounding ASCII
// white space and an optional sign.
// ParseBigint: decimal digits only; nullopt when out of range.
std::optional<int64_t> ParseBigint(std::string_view text);
// ParseFloat: decimal notation with optional fraction and exponent ("1.5",
// ".5", "1e-3"); no hexadecimal, no NaN or infinity. Values too small to
// represent become zero; values too large are an error (nullopt).
std::optional<double> ParseFloat(std::string_view text);

// The shortest text that reads back as the same double ("0.1", "1e+20",
// "3"). Unlike AppendJsonFloat, integral values get no ".0".
void AppendFloatText(double d, std::string* out);

// DebugString(v) cut to about 64 bytes (on a UTF-8 boundary, with "..."
// appended when cut), for error messages that quote a value.
std::string ShortDebugString(const Value& v);

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_CONVERSION_H_
