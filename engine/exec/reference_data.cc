#include "engine/exec/reference_data.h"

#include <algorithm>
#include <limits>

#include "engine/core/value_codec.h"

namespace sluice {

const ReferenceVersion::Index& ReferenceVersion::IndexBy(
    const std::vector<int32_t>& key_columns) const {
  std::string name;
  for (int32_t c : key_columns) EncodeVarint(static_cast<uint64_t>(c), &name);
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = indexes_.try_emplace(name);
  if (!inserted) return *it->second;
  auto index = std::make_unique<Index>();
  std::string key;
  for (uint32_t r = 0; r < rows_.num_rows; ++r) {
    key.clear();
    bool null = false;
    for (int32_t c : key_columns) {
      const Value& v = rows_.value(static_cast<size_t>(c), r);
      null = null || v.is_null();
      EncodeValue(v, &key);
    }
    if (!null) (*index)[key].push_back(r);
  }
  it->second = std::move(index);
  return *it->second;
}

size_t ReferenceVersion::MemoryBytes() const {
  size_t bytes = static_cast<size_t>(rows_.num_rows) * rows_.columns.size() * sizeof(Value);
  for (const auto& arena : rows_.arenas) bytes += arena ? arena->bytes_reserved() : 0;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, index] : indexes_) {
    for (const auto& [key, rows] : *index) bytes += key.size() + rows.size() * 4 + 48;
  }
  return bytes;
}

const ReferenceVersion* VersionAt(const ReferenceVersions& versions, int64_t timestamp) {
  auto after = std::upper_bound(versions.begin(), versions.end(), timestamp,
                                [](int64_t t, const std::shared_ptr<const ReferenceVersion>& v) {
                                  return t < v->valid_from();
                                });
  if (after == versions.begin()) return nullptr;
  return std::prev(after)->get();
}

ReferenceVersions AppendVersion(const ReferenceVersions& versions,
                                std::shared_ptr<const ReferenceVersion> next, size_t max_versions) {
  const size_t keep = std::min(versions.size(), max_versions > 0 ? max_versions - 1 : 0);
  ReferenceVersions out(versions.end() - static_cast<std::ptrdiff_t>(keep), versions.end());
  if (keep < versions.size()) {
    // Older versions are dropped: the oldest kept one answers for them.
    std::shared_ptr<const ReferenceVersion>& oldest = out.empty() ? next : out.front();
    oldest = std::make_shared<const ReferenceVersion>(std::numeric_limits<int64_t>::min(),
                                                      oldest->id(), oldest->rows());
  }
  out.push_back(std::move(next));
  return out;
}

uint64_t ContentHash(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace sluice
