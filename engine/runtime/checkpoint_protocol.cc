#include "engine/runtime/checkpoint_protocol.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "engine/core/value_codec.h"
#include "engine/state/changelog_record.h"

namespace sluice {
namespace {

void EncodeId(const CheckpointId& id, std::string* out) {
  EncodeFixed64(static_cast<uint64_t>(id.number), out);
  EncodeFixed64(id.incarnation, out);
}

bool DecodeId(std::string_view in, CheckpointId* id) {
  uint64_t number = 0, incarnation = 0;
  if (!DecodeFixed64(&in, &number) || !DecodeFixed64(&in, &incarnation)) return false;
  id->number = static_cast<int64_t>(number);
  id->incarnation = incarnation;
  return id->number >= 0;
}

}  // namespace

absl::StatusOr<CheckpointProtocol::Restored> CheckpointProtocol::Restore(
    ChangelogReader& in, const std::function<absl::Status()>& wipe) {
  struct Change {
    CheckpointId id;
    char kind;
    std::string family;
    std::string key;
    std::string value;
  };
  struct Log {
    std::set<std::pair<int64_t, uint64_t>> markers;  // (number, incarnation)
    std::vector<Change> changes;
  };
  std::map<std::string, Log> logs;
  for (const std::string& name : options_.logs) logs[name];
  absl::Status read = in.ReadAll(
      options_.logs, [&](const std::string& name, std::string_view key, std::string_view value) {
        auto log = logs.find(name);
        if (log == logs.end()) return;
        // Records that are not this task's changes of its own state are
        // skipped: another task's, or garbage (engine/state/changelog_record.h).
        ChangelogRecord record;
        if (!DecodeChangelogRecord(key, value, &record)) return;
        if (record.kind == kChangelogMarker) {
          if (record.key == options_.task_prefix) {
            log->second.markers.emplace(record.checkpoint, record.incarnation);
          }
          return;
        }
        if (!ChangelogChangeIsTasks(record, options_.task_prefix)) return;
        const std::string* owner = options_.log_of(record.family);
        if (owner == nullptr || *owner != name) return;
        log->second.changes.push_back(Change{{record.checkpoint, record.incarnation},
                                             record.kind,
                                             std::string(record.family),
                                             std::string(record.key),
                                             std::string(record.payload)});
      });
  if (!read.ok()) return read;

  // The checkpoints complete in every changelog, and the last of them.
  std::set<std::pair<int64_t, uint64_t>> valid;
  bool first = true;
  for (const auto& [name, log] : logs) {
    if (first) {
      valid = log.markers;
      first = false;
      continue;
    }
    std::set<std::pair<int64_t, uint64_t>> both;
    std::set_intersection(valid.begin(), valid.end(), log.markers.begin(), log.markers.end(),
                          std::inserter(both, both.begin()));
    valid = std::move(both);
  }
  Restored result;
  const std::pair<int64_t, uint64_t> none{-1, 0};
  const std::pair<int64_t, uint64_t> last = valid.empty() ? none : *valid.rbegin();
  // Changes the restore does not apply: written again at the next
  // checkpoint (WriteChanges), so that compaction cannot leave one of them
  // as the only record of its key.
  orphans_.clear();
  for (const auto& [name, log] : logs) {
    for (const Change& c : log.changes) {
      if (c.id.number > last.first || !valid.contains({c.id.number, c.id.incarnation})) {
        orphans_.emplace(c.family, c.key);
      }
    }
  }
  if (valid.empty()) return result;  // never checkpointed: start fresh
  const CheckpointId complete{last.first, last.second};
  result.checkpoint = complete;
  last_number_ = complete.number;

  // The local store may hold it already (the task ran here last).
  auto meta = options_.store->OpenTable(options_.meta_family, options_.task_prefix);
  if (!meta.ok()) return meta.status();
  std::string local_bytes;
  auto found = meta->Get(kIdKey, &local_bytes);
  if (!found.ok()) return found.status();
  CheckpointId local;
  if (*found && DecodeId(local_bytes, &local) && local == complete) return result;

  // Rebuild: clear what the store holds for this task, then replay.
  if (absl::Status s = wipe(); !s.ok()) return s;
  StateWriteBatch batch;
  std::map<std::string, StateTable> tables;
  for (const auto& [name, log] : logs) {
    for (const Change& c : log.changes) {
      if (c.id.number > complete.number || !valid.contains({c.id.number, c.id.incarnation})) {
        continue;
      }
      auto it = tables.find(c.family);
      if (it == tables.end()) {
        auto table = options_.store->OpenTable(c.family, "");
        if (!table.ok()) return table.status();
        it = tables.emplace(c.family, *table).first;
      }
      if (c.kind == 'P') {
        batch.Put(it->second, c.key, c.value);
      } else if (c.kind == 'D') {
        batch.Delete(it->second, c.key);
      } else if (c.kind == 'R') {
        batch.DeleteRange(it->second, c.key, c.value);
      }
      ++result.changes;
    }
  }
  if (absl::Status s = options_.store->Commit(batch); !s.ok()) return s;
  result.from_log = true;
  return result;
}

CheckpointId CheckpointProtocol::Begin(StateWriteBatch& batch, const StateTable& meta) {
  const CheckpointId id{last_number_ + 1, options_.incarnation};
  std::string value;
  EncodeId(id, &value);
  batch.Put(meta, kIdKey, value);
  return id;
}

const std::string* CheckpointProtocol::LogOfFamily(uint32_t family) {
  auto it = families_.find(family);
  if (it == families_.end()) {
    std::string name = options_.store->FamilyName(family);
    const std::string* log = options_.log_of(name);
    it = families_.emplace(family, std::make_pair(std::move(name), log)).first;
  }
  return it->second.second;
}

absl::Status CheckpointProtocol::WriteChanges(const CheckpointId& id, const StateWriteBatch& batch,
                                              ChangelogWriter& out) {
  std::string id_bytes;
  EncodeChangelogCheckpoint(id.number, id.incarnation, &id_bytes);
  absl::Status written;
  std::string key, value;
  // First the keys an incomplete checkpoint left changes of, as the store
  // holds them now; the batch's own changes come after and win.
  std::map<std::string, StateTable> tables;
  for (const auto& [family, state_key] : orphans_) {
    const std::string* log = options_.log_of(family);
    if (log == nullptr) continue;
    auto it = tables.find(family);
    if (it == tables.end()) {
      auto table = options_.store->OpenTable(family, "");
      if (!table.ok()) return table.status();
      it = tables.emplace(family, *table).first;
    }
    std::string current;
    auto found = it->second.Get(state_key, &current);
    if (!found.ok()) return found.status();
    EncodeChangelogChange(family, *found ? 'P' : 'D', state_key, *found ? current : "", id_bytes,
                          &key, &value);
    if (absl::Status s = out.Append(*log, key, value); !s.ok()) return s;
  }
  absl::Status each =
      batch.ForEach([&](uint32_t family, char kind, std::string_view k, std::string_view v) {
        if (!written.ok()) return;
        const std::string* log = LogOfFamily(family);
        if (log == nullptr) return;
        EncodeChangelogChange(families_[family].first, kind, k, v, id_bytes, &key, &value);
        written = out.Append(*log, key, value);
      });
  if (!each.ok()) return each;
  return written;
}

absl::Status CheckpointProtocol::WriteMarkers(const CheckpointId& id, ChangelogWriter& out) {
  std::string id_bytes, key, value;
  EncodeChangelogCheckpoint(id.number, id.incarnation, &id_bytes);
  EncodeChangelogMarker(options_.task_prefix, id_bytes, &key, &value);
  for (const std::string& log : options_.logs) {
    if (absl::Status s = out.Append(log, key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace sluice
