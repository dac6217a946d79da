// A compact binary encoding of Values, for everything that outlives a batch:
// group keys, state entries in RocksDB, buffered rows in checkpoints.
//
// The encoding is exact about types (bigint 1 and float 1.0 differ), so
// equal encodings mean equal group keys. It is stable across versions of
// Sluice that share a plan version.
#ifndef SLUICE_ENGINE_CORE_VALUE_CODEC_H_
#define SLUICE_ENGINE_CORE_VALUE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/arena.h"
#include "engine/core/batch.h"
#include "engine/core/value.h"

namespace sluice {

void EncodeValue(const Value& v, std::string* out);

// Records and arrays nest at most this deep (twice the JSON decoder's limit):
// encoded values come back from Kafka and RocksDB, and a deeper one is
// malformed, not a reason to recurse until the stack ends.
inline constexpr int kMaxValueDepth = 128;

// Decodes one value from the front of `*in`, advancing it. Strings, records
// and arrays are copied into `arena`. Returns false on malformed input.
bool DecodeValue(std::string_view* in, Arena* arena, Value* out);

void EncodeVarint(uint64_t v, std::string* out);
bool DecodeVarint(std::string_view* in, uint64_t* v);

void EncodeFixed64(uint64_t v, std::string* out);
bool DecodeFixed64(std::string_view* in, uint64_t* v);

void EncodeDouble(double d, std::string* out);
bool DecodeDouble(std::string_view* in, double* d);

void EncodeBytes(std::string_view s, std::string* out);
bool DecodeBytes(std::string_view* in, std::string_view* s);

// A row's origin as three varints: input, partition and position, each
// plus one (so -1 is 0).
void EncodeRowOrigin(const RowOrigin& o, std::string* out);
bool DecodeRowOrigin(std::string_view* in, RowOrigin* o);

// A joined row's other events: a varint count (at least one) and that many
// origins. Decoding refuses a count the bytes left cannot hold.
void EncodeJoinedOrigins(const JoinedOrigins& others, std::string* out);
bool DecodeJoinedOrigins(std::string_view* in, JoinedOrigins* others);

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_VALUE_CODEC_H_
