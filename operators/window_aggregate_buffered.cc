// The window aggregate's buffered kinds: sliding and session windows hold
// their rows until the watermark passes them (they need their input in
// timestamp order), then fold them into per-key events (sliding) or open
// sessions. Checkpoints write only what changed since the last one:
// new and released rows, touched keys, instants and sessions.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "operators/window_aggregate_internal.h"

namespace sluice::window_aggregate_internal {

void WindowAggregateOperator::Accumulate(GroupMap& groups, const std::string& key,
                                         std::string_view encoded_args) {
  auto [it, inserted] = groups.try_emplace(key);
  if (inserted) it->second.acc = layout_.New();
  Arena arena(256);
  void* acc = it->second.acc;
  for (size_t j = 0; j < layout_.count(); ++j) {
    if (!args_[j]) {
      layout_.fn(j).Update(&acc, layout_.offset(j), nullptr, 1);
      continue;
    }
    Value v;
    DecodeValue(&encoded_args, &arena, &v);
    layout_.fn(j).Update(&acc, layout_.offset(j), &v, 1);
  }
}

absl::Status WindowAggregateOperator::SweepBuffered(int64_t watermark, Emitter& out) {
  // Rows strictly before the watermark are complete: no later row can share
  // their timestamp.
  std::vector<BufferedRow> ready;
  std::vector<BufferedRow> waiting;
  for (BufferedRow& row : buffered_) {
    const bool is_ready = row.timestamp < watermark;
    if (is_ready && row.seq < persisted_seq_ && !rewrite_all_) {
      released_.emplace_back(row.timestamp, row.seq);
    }
    (is_ready ? ready : waiting).push_back(std::move(row));
  }
  buffered_ = std::move(waiting);
  std::sort(ready.begin(), ready.end(), [](const BufferedRow& a, const BufferedRow& b) {
    return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.seq < b.seq;
  });

  std::vector<ClosedGroup> closed;
  std::vector<void*> to_free;

  if (kind_ == v1::WindowSpec::KIND_SLIDING) {
    const int64_t size = spec_.window().size_ticks();
    auto emit_until = [&](int64_t limit) {
      while (!instants_.empty() && instants_.begin()->first < limit) {
        auto [instant, key] = *instants_.begin();
        if (!rewrite_all_) touched_instants_.try_emplace(*instants_.begin(), true);
        instants_.erase(instants_.begin());
        EmitSlidingInstant(instant, key, &closed, &to_free);
      }
    };
    for (const BufferedRow& row : ready) {
      // Instants before this row's time are final before it enters.
      emit_until(row.timestamp);
      auto [events, new_key] = sliding_.try_emplace(row.key);
      if (!rewrite_all_) touched_keys_.try_emplace(row.key, !new_key);
      events->second.push_back(SlidingEvent{row.timestamp, row.args, row.position});
      for (int64_t instant : {row.timestamp, row.timestamp + size}) {
        auto [it, added] = instants_.emplace(instant, row.key);
        if (added && !rewrite_all_) touched_instants_.try_emplace(*it, false);
      }
    }
    emit_until(watermark);
    BoundTracking();
    absl::Status s = EmitClosed(closed, out);
    for (void* acc : to_free) layout_.Free(acc);
    return s;
  }

  // Session windows.
  auto close_until = [&](const std::string& partition, int64_t limit) {
    auto it = sessions_.find(partition);
    if (it != sessions_.end() && !rewrite_all_) touched_sessions_.try_emplace(partition, true);
    while (it != sessions_.end() && session_.CloseTime(it->second.start, it->second.last) < limit) {
      Session& session = it->second;
      if (session.groups.empty()) {
        // Reopened at a check point, no event since: it emits nothing, so
        // skip to where it stands at `limit` in one step.
        if (session.last + session_.timeout < limit) {
          sessions_.erase(it);
          break;
        }
        session.start = session_.StartAfterEmptyCheckPoints(session.start, limit);
        continue;
      }
      bool erased = false;
      CloseSession(partition, it->second, &closed, &to_free, &erased);
      if (erased) {
        sessions_.erase(it);
        it = sessions_.end();
      }
    }
  };
  for (const BufferedRow& row : ready) {
    close_until(row.partition, row.timestamp);
    auto [it, inserted] = sessions_.try_emplace(row.partition);
    if (!rewrite_all_) touched_sessions_.try_emplace(row.partition, !inserted);
    Session& session = it->second;
    if (inserted) {
      session.start = row.timestamp;
      session.last = row.timestamp;
    }
    session.last = std::max(session.last, row.timestamp);
    KeepOldest(&session.low_position, row.position);
    Accumulate(session.groups, row.key, row.args);
  }
  std::vector<std::string> partitions;
  for (const auto& [partition, session] : sessions_) {
    if (session_.CloseTime(session.start, session.last) < watermark) {
      partitions.push_back(partition);
    }
  }
  for (const std::string& p : partitions) close_until(p, watermark);
  BoundTracking();
  absl::Status s = EmitClosed(closed, out);
  for (void* acc : to_free) layout_.Free(acc);
  return s;
}

void WindowAggregateOperator::CloseSession(const std::string& partition, Session& session,
                                           std::vector<ClosedGroup>* closed,
                                           std::vector<void*>* to_free, bool* erased) {
  (void)partition;
  const int64_t close = session_.CloseTime(session.start, session.last);
  for (auto& [key, g] : session.groups) {
    closed->push_back(ClosedGroup{close, 0, key, g.acc, session.low_position});
    to_free->push_back(g.acc);
  }
  session.groups.clear();
  session.low_position = -1;
  if (session_.ClosesAtCheckPoint(session.start, session.last)) {
    // A new session opens at the check point, on the same timeout clock.
    session.start = close;
    *erased = false;
  } else {
    *erased = true;
  }
}

void WindowAggregateOperator::EmitSlidingInstant(int64_t instant, const std::string& key,
                                                 std::vector<ClosedGroup>* closed,
                                                 std::vector<void*>* to_free) {
  auto it = sliding_.find(key);
  if (it == sliding_.end()) return;
  if (!rewrite_all_) touched_keys_.try_emplace(key, true);
  const int64_t size = spec_.window().size_ticks();
  std::deque<SlidingEvent>& events = it->second;
  // Events at or before instant - size have left the window (start-exclusive).
  while (!events.empty() && events.front().timestamp <= instant - size) {
    events.pop_front();
  }
  void* acc = nullptr;
  int64_t low_position = -1;
  for (const SlidingEvent& e : events) {
    if (e.timestamp > instant) break;
    if (acc == nullptr) acc = layout_.New();
    KeepOldest(&low_position, e.position);
    Arena arena(256);
    std::string_view in(e.args);
    for (size_t j = 0; j < layout_.count(); ++j) {
      if (!args_[j]) {
        layout_.fn(j).Update(&acc, layout_.offset(j), nullptr, 1);
        continue;
      }
      Value v;
      DecodeValue(&in, &arena, &v);
      layout_.fn(j).Update(&acc, layout_.offset(j), &v, 1);
    }
  }
  if (acc != nullptr) {
    closed->push_back(ClosedGroup{instant, 0, key, acc, low_position});
    to_free->push_back(acc);
  }
  if (events.empty()) sliding_.erase(it);
}

absl::Status WindowAggregateOperator::CheckpointBuffered(StateWriteBatch& batch) {
  const StateTable& table =
      ctx_->table(kind_ == v1::WindowSpec::KIND_SLIDING ? "sliding" : "sessions");
  std::string key;
  std::string value;
  auto row_key = [&](int64_t timestamp, uint64_t seq) {
    key.assign("p");
    AppendBigEndian64(timestamp, &key);
    AppendBigEndian64(static_cast<int64_t>(seq), &key);
  };
  if (rewrite_all_) {
    // Everything, as it stands: every entry counts as new.
    batch.DeletePrefix(table, "");
    persisted_seq_ = 0;
    for (const auto& [group_key, events] : sliding_) touched_keys_.emplace(group_key, false);
    for (const auto& instant : instants_) touched_instants_.emplace(instant, false);
    for (const auto& [partition, session] : sessions_) touched_sessions_.emplace(partition, false);
    rewrite_all_ = false;
  }
  for (const auto& [timestamp, seq] : released_) {
    row_key(timestamp, seq);
    batch.Delete(table, key);
  }
  released_.clear();
  for (const BufferedRow& row : buffered_) {
    if (row.seq < persisted_seq_) continue;
    row_key(row.timestamp, row.seq);
    value.clear();
    EncodeBytes(row.key, &value);
    EncodeBytes(row.partition, &value);
    EncodeBytes(row.args, &value);
    batch.Put(table, key, value);
  }
  if (next_seq_ != persisted_seq_) {
    key.assign("n");
    value.clear();
    EncodeFixed64(next_seq_, &value);
    batch.Put(table, key, value);
    persisted_seq_ = next_seq_;
  }
  for (const auto& [group_key, stored] : touched_keys_) {
    key.assign("g");
    key.append(group_key);
    auto it = sliding_.find(group_key);
    if (it == sliding_.end()) {
      if (stored) batch.Delete(table, key);
      continue;
    }
    value.clear();
    EncodeVarint(it->second.size(), &value);
    for (const SlidingEvent& e : it->second) {
      EncodeFixed64(static_cast<uint64_t>(e.timestamp), &value);
      EncodeBytes(e.args, &value);
    }
    batch.Put(table, key, value);
  }
  touched_keys_.clear();
  for (const auto& [instant, stored] : touched_instants_) {
    const bool now = instants_.contains(instant);
    if (now == stored) continue;  // an instant never changes, only comes and goes
    key.assign("i");
    AppendBigEndian64(instant.first, &key);
    key.append(instant.second);
    if (now) {
      batch.Put(table, key, "");
    } else {
      batch.Delete(table, key);
    }
  }
  touched_instants_.clear();
  std::string acc;
  for (const auto& [partition, stored] : touched_sessions_) {
    key.assign("s");
    key.append(partition);
    auto it = sessions_.find(partition);
    if (it == sessions_.end()) {
      if (stored) batch.Delete(table, key);
      continue;
    }
    const Session& session = it->second;
    value.clear();
    EncodeFixed64(static_cast<uint64_t>(session.start), &value);
    EncodeFixed64(static_cast<uint64_t>(session.last), &value);
    EncodeVarint(session.groups.size(), &value);
    for (const auto& [group_key, g] : session.groups) {
      EncodeBytes(group_key, &value);
      acc.clear();
      layout_.Encode(g.acc, &acc);
      EncodeBytes(acc, &value);
    }
    batch.Put(table, key, value);
  }
  touched_sessions_.clear();
  return absl::OkStatus();
}

absl::Status WindowAggregateOperator::RestoreBuffered(const StateTable& table) {
  bool ok = true;
  absl::Status s = table.Scan("", [&](std::string_view key, std::string_view value) {
    const char tag = key.empty() ? '\0' : key[0];
    key.remove_prefix(1);
    if (tag == 'p' && key.size() == 16) {
      BufferedRow row;
      row.timestamp = ReadBigEndian64(key.substr(0, 8));
      row.seq = static_cast<uint64_t>(ReadBigEndian64(key.substr(8, 8)));
      std::string_view k, p, a;
      if (!DecodeBytes(&value, &k) || !DecodeBytes(&value, &p) || !DecodeBytes(&value, &a)) {
        ok = false;
        return false;
      }
      row.key.assign(k);
      row.partition.assign(p);
      row.args.assign(a);
      buffered_.push_back(std::move(row));
    } else if (tag == 'n') {
      uint64_t seq;
      if (!DecodeFixed64(&value, &seq)) {
        ok = false;
        return false;
      }
      next_seq_ = seq;
    } else if (tag == 'g') {
      uint64_t n;
      if (!DecodeVarint(&value, &n)) {
        ok = false;
        return false;
      }
      auto& events = sliding_[std::string(key)];
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t ts;
        std::string_view args;
        if (!DecodeFixed64(&value, &ts) || !DecodeBytes(&value, &args)) {
          ok = false;
          return false;
        }
        events.push_back(SlidingEvent{static_cast<int64_t>(ts), std::string(args)});
      }
    } else if (tag == 'i' && key.size() >= 8) {
      instants_.emplace(ReadBigEndian64(key.substr(0, 8)), std::string(key.substr(8)));
    } else if (tag == 's') {
      uint64_t start, last, n;
      if (!DecodeFixed64(&value, &start) || !DecodeFixed64(&value, &last) ||
          !DecodeVarint(&value, &n)) {
        ok = false;
        return false;
      }
      Session& session = sessions_[std::string(key)];
      session.start = static_cast<int64_t>(start);
      session.last = static_cast<int64_t>(last);
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view group_key, acc;
        if (!DecodeBytes(&value, &group_key) || !DecodeBytes(&value, &acc)) {
          ok = false;
          return false;
        }
        Group g;
        g.acc = layout_.New();
        if (!layout_.Decode(acc, g.acc)) {
          layout_.Free(g.acc);
          ok = false;
          return false;
        }
        if (!session.groups.emplace(std::string(group_key), g).second) {
          layout_.Free(g.acc);  // a group twice in one session: not ours
          ok = false;
          return false;
        }
      }
    } else {
      ok = false;
      return false;
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!ok) return absl::DataLossError("window state is malformed");
  // All of it is stored as it stands.
  persisted_seq_ = next_seq_;
  return absl::OkStatus();
}

}  // namespace sluice::window_aggregate_internal
