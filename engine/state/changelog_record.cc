#include "engine/state/changelog_record.h"

#include "engine/core/value_codec.h"
#include "engine/state/state_store.h"

namespace sluice {

void EncodeChangelogCheckpoint(int64_t checkpoint, uint64_t incarnation, std::string* out) {
  EncodeFixed64(static_cast<uint64_t>(checkpoint), out);
  EncodeFixed64(incarnation, out);
}

void EncodeChangelogChange(std::string_view family, char kind, std::string_view key,
                           std::string_view payload, std::string_view checkpoint_bytes,
                           std::string* key_out, std::string* value_out) {
  key_out->assign(family);
  key_out->push_back('\0');
  key_out->append(key);
  value_out->assign(1, kind);
  value_out->append(checkpoint_bytes);
  value_out->append(payload);
}

void EncodeChangelogMarker(std::string_view task_prefix, std::string_view checkpoint_bytes,
                           std::string* key_out, std::string* value_out) {
  // The checkpoint in the key too: on a compacted topic every marker is
  // its own key, so compaction never drops the marker of a checkpoint
  // whose changes it keeps.
  key_out->assign(1, '\0');
  key_out->append(task_prefix);
  key_out->append(checkpoint_bytes);
  value_out->assign(1, kChangelogMarker);
  value_out->append(checkpoint_bytes);
}

bool DecodeChangelogRecord(std::string_view key, std::string_view value, ChangelogRecord* out) {
  const size_t zero = key.find('\0');
  if (zero == std::string_view::npos || value.empty()) return false;
  out->kind = value[0];
  value.remove_prefix(1);
  uint64_t checkpoint = 0;
  if (!DecodeFixed64(&value, &checkpoint) || !DecodeFixed64(&value, &out->incarnation)) {
    return false;
  }
  if (checkpoint > static_cast<uint64_t>(INT64_MAX)) return false;
  out->checkpoint = static_cast<int64_t>(checkpoint);
  out->family = key.substr(0, zero);
  out->key = key.substr(zero + 1);
  out->payload = value;
  switch (out->kind) {
    case kChangelogMarker: {
      if (!out->family.empty() || !out->payload.empty()) return false;
      // The key ends with the checkpoint the value names (markers written
      // before that are keyed by the task prefix alone).
      const size_t id_bytes = 16;
      if (out->key.size() >= id_bytes) {
        std::string expected;
        EncodeChangelogCheckpoint(out->checkpoint, out->incarnation, &expected);
        if (out->key.substr(out->key.size() - id_bytes) == expected) {
          out->key.remove_suffix(id_bytes);
        }
      }
      return true;
    }
    case 'P':
    case 'D':
      return !out->family.empty();
    case 'R':
      return !out->family.empty() && out->payload >= out->key;
    default:
      return false;
  }
}

bool ChangelogChangeIsTasks(const ChangelogRecord& record, std::string_view task_prefix) {
  if (record.kind == kChangelogMarker || !record.key.starts_with(task_prefix)) return false;
  if (record.kind != 'R') return true;
  const std::string end = PrefixEnd(std::string(task_prefix));
  return end.empty() || record.payload <= end;
}

}  // namespace sluice
