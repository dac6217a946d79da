// The records of a task's changelog topics (design.md, "State and
// recovery"): the state changes of each checkpoint, and the marker that
// says a checkpoint is complete.
//
//   key   = family '\0' rocksdb-key
//           (a marker: '\0' task-prefix fixed64(checkpoint) fixed64(incarnation),
//           one key per checkpoint, so that compaction keeps every marker)
//   value = kind fixed64(checkpoint) fixed64(incarnation) payload
//
// kind is a StateWriteBatch op ('P' put: payload is the value; 'D' delete;
// 'R' delete range: payload is the end key) or 'C' for a marker. A
// checkpoint's records count only once its marker, with the task's prefix
// as key, is in every changelog of the task.
//
// The records come back from Kafka, where anyone with write access to the
// topic could have put anything: decoding rejects what is not a record,
// and callers check the family and key against the task before using one.
#ifndef SLUICE_ENGINE_STATE_CHANGELOG_RECORD_H_
#define SLUICE_ENGINE_STATE_CHANGELOG_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

inline constexpr char kChangelogMarker = 'C';

struct ChangelogRecord {
  char kind = 0;  // 'P', 'D', 'R' or kChangelogMarker
  int64_t checkpoint = 0;
  uint64_t incarnation = 0;
  std::string_view family;   // empty for a marker
  std::string_view key;      // the RocksDB key; a marker's: the task prefix
  std::string_view payload;  // 'P': the value; 'R': the end of the range
};

// The checkpoint number and incarnation as the value's fixed part (after
// the kind byte).
void EncodeChangelogCheckpoint(int64_t checkpoint, uint64_t incarnation, std::string* out);

void EncodeChangelogChange(std::string_view family, char kind, std::string_view key,
                           std::string_view payload, std::string_view checkpoint_bytes,
                           std::string* key_out, std::string* value_out);
void EncodeChangelogMarker(std::string_view task_prefix, std::string_view checkpoint_bytes,
                           std::string* key_out, std::string* value_out);

// False when `key`/`value` are not a changelog record (no separator, an
// unknown kind, a short value, a marker with a family, a change without
// one, a negative checkpoint number, a range that ends before it begins).
bool DecodeChangelogRecord(std::string_view key, std::string_view value, ChangelogRecord* out);

// Whether a decoded change touches only the keys of the task with
// `task_prefix`: its key starts with the prefix and, for a delete range, the
// range ends no later than the last of the task's keys. A forged range that
// reaches past the prefix would delete other tasks' state on restore.
bool ChangelogChangeIsTasks(const ChangelogRecord& record, std::string_view task_prefix);

}  // namespace sluice

#endif  // SLUICE_ENGINE_STATE_CHANGELOG_RECORD_H_
