// JSON text into Values (records, arrays, bigint, float, nvarchar, bit,
// NULL), for functions that read JSON held in a string: JSON_PARSE and the
// geospatial functions' GeoJSON text.
#ifndef SLUICE_ENGINE_EXPR_FUNCTIONS_JSON_VALUE_H_
#define SLUICE_ENGINE_EXPR_FUNCTIONS_JSON_VALUE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/core/arena.h"
#include "engine/core/value.h"

namespace sluice {

struct JsonLimits {
  size_t max_bytes;  // of the text
  int max_depth;     // nested arrays and objects
  size_t max_items;  // elements of one array (or fields of one object)
};

// Parses `text` into `out`, with everything it references in `arena`.
// Returns false with `error` set when the text is not JSON or passes a
// limit. Integers that do not fit a bigint become floats.
bool ParseJsonValue(std::string_view text, const JsonLimits& limits, Arena* arena, Value* out,
                    std::string* error);

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXPR_FUNCTIONS_JSON_VALUE_H_
