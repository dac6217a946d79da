#include "connectors/reference_topic.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/json_decoder.h"
#include "engine/core/datetime.h"
#include "engine/exec/operator.h"

namespace sluice {
namespace {

// Decodes `json` as one row of `builder`; false (and `error`) when it is
// not a row of the input.
bool DecodeRow(JsonDecoder& decoder, std::string_view json, BatchBuilder& builder,
               std::string* padded, std::string* error) {
  padded->assign(json);
  padded->append(JsonDecoder::kPadding, ' ');
  return decoder.Decode(std::string_view(padded->data(), json.size()), JsonDecoder::kPadding, 0,
                        builder, error);
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaReferenceTables>> KafkaReferenceTables::Start(
    const std::string& bootstrap, const KafkaProperties& properties, std::vector<Binding> bindings,
    BadRecordFn bad_record, Options options) {
  std::unique_ptr<KafkaReferenceTables> tables(
      new KafkaReferenceTables(std::move(bad_record), options));
  auto reader = KafkaTopicReader::Create(bootstrap, properties);
  if (!reader.ok()) return reader.status();
  tables->reader_ = *std::move(reader);
  // The ends at the start: reading up to them is the first version.
  std::map<std::pair<std::string, int32_t>, int64_t> ends;
  for (Binding& b : bindings) {
    if (tables->by_topic_.count(b.topic) > 0) {
      // Two inputs on one topic: each gets its own table of the same rows.
      return absl::InvalidArgumentError(
          absl::StrCat("reference topic ", b.topic, " is bound to two reference inputs"));
    }
    auto end =
        tables->reader_->Add(b.topic, KafkaTopicReader::Start{}, options.initial_read_timeout_ms);
    if (!end.ok()) {
      return absl::Status(end.status().code(),
                          absl::StrCat("cannot read reference topic ", b.topic, " (input ",
                                       b.spec.name(), "): ", end.status().message()));
    }
    for (size_t p = 0; p < end->size(); ++p) {
      ends[{b.topic, static_cast<int32_t>(p)}] = (*end)[p];
    }
    tables->by_topic_[b.topic] = tables->tables_.size();
    Table t;
    t.decoder = std::make_unique<JsonDecoder>(JsonDecoderOptionsFor(b.spec));
    t.binding = std::move(b);
    tables->tables_.push_back(std::move(t));
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.initial_read_timeout_ms);
  std::vector<KafkaMessage> messages;
  absl::Status last_poll;
  // The next offset of each partition: from the records read, or the
  // reader's position (past transaction markers, which are not returned).
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (;;) {
    bool behind = false;
    for (const auto& [tp, end] : ends) {
      int64_t& n = next[tp];
      n = std::max(n, tables->reader_->Position(tp.first, tp.second));
      behind = behind || n < end;
    }
    if (!behind) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("reading the reference topics to their end took over ",
                       options.initial_read_timeout_ms / 1000, " s",
                       last_poll.ok() ? "" : absl::StrCat(": ", last_poll.message())));
    }
    messages.clear();
    if (absl::Status s = tables->reader_->Poll(100, 10'000, &messages); !s.ok()) last_poll = s;
    for (const KafkaMessage& m : messages) {
      int64_t& n = next[{m.topic, m.partition}];
      n = std::max(n, m.offset + 1);
      tables->Apply(m);
    }
  }
  tables->Publish(/*initial=*/true);
  tables->thread_ = std::thread([t = tables.get()] { t->Follow(); });
  return tables;
}

KafkaReferenceTables::~KafkaReferenceTables() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void KafkaReferenceTables::Apply(const KafkaMessage& m) {
  auto it = by_topic_.find(m.topic);
  if (it == by_topic_.end()) return;
  Table& t = tables_[it->second];
  if (m.key.empty()) {
    bad_records_.fetch_add(1);
    bad_record_("a reference record without a key (the topic is compacted by the row's key)", m);
    return;
  }
  if (!m.has_value) {
    t.changed = t.rows.erase(m.key) > 0 || t.changed;
  } else {
    // Checked now, so that a bad record is reported once, not at every
    // version built after it.
    BatchBuilder scratch(t.decoder->num_columns());
    std::string padded, error;
    if (!DecodeRow(*t.decoder, m.value, scratch, &padded, &error)) {
      bad_records_.fetch_add(1);
      bad_record_(absl::StrCat("a reference record that is not a row: ", error), m);
      return;
    }
    t.rows[m.key] = m.value;
    t.changed = true;
  }
  t.newest_ms = std::max(t.newest_ms, m.timestamp_ms);
}

void KafkaReferenceTables::Publish(bool initial) {
  for (Table& t : tables_) {
    if (!t.changed && !initial) continue;
    JsonDecoder& decoder = *t.decoder;
    BatchBuilder builder(decoder.num_columns(), static_cast<uint32_t>(t.rows.size()));
    std::string padded, error;
    // The content's name (a hash of keys and values, each closed by a byte
    // that JSON text never holds): what a checkpoint records, to tell a
    // replay that joined other rows.
    uint64_t h = ContentHash("");
    auto mix = [&h](std::string_view bytes) { h = ContentHash("\xff", ContentHash(bytes, h)); };
    for (const auto& [key, json] : t.rows) {
      if (!DecodeRow(decoder, json, builder, &padded, &error)) continue;  // checked in Apply
      mix(key);
      mix(json);
    }
    const ReferenceVersions* before = t.versions.get();
    int64_t valid_from = kBeginningOfTime;
    if (!initial && before != nullptr && !before->empty()) {
      valid_from = std::max(t.newest_ms * kTicksPerMillisecond, before->back()->valid_from() + 1);
    }
    auto versions = std::make_shared<const ReferenceVersions>(AppendVersion(
        initial || before == nullptr ? ReferenceVersions{} : *before,
        std::make_shared<const ReferenceVersion>(
            valid_from, absl::StrFormat("%016x-%d", h, t.rows.size()), builder.Finish()),
        kMaxVersions));
    t.versions = versions;
    t.changed = false;
    t.newest_ms = 0;
    absl::MutexLock lock(&mu_);
    published_[t.binding.input] = std::move(versions);
  }
}

void KafkaReferenceTables::Follow() {
  std::vector<KafkaMessage> messages;
  auto last_publish = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    messages.clear();
    // A failed poll is retried; the reader reconnects.
    reader_->Poll(100, 10'000, &messages).IgnoreError();
    for (const KafkaMessage& m : messages) Apply(m);
    const auto now = std::chrono::steady_clock::now();
    bool changed = false;
    for (const Table& t : tables_) changed = changed || t.changed;
    if (changed && now - last_publish >= std::chrono::milliseconds(options_.publish_interval_ms)) {
      Publish(/*initial=*/false);
      last_publish = now;
    }
  }
}

std::shared_ptr<const ReferenceVersions> KafkaReferenceTables::Versions(int input) const {
  absl::MutexLock lock(&mu_);
  auto it = published_.find(input);
  return it == published_.end() ? nullptr : it->second;
}

int64_t KafkaReferenceTables::rows() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& [input, versions] : published_) {
    if (!versions->empty()) n += versions->back()->rows().num_rows;
  }
  return n;
}

size_t KafkaReferenceTables::MemoryBytes() const {
  absl::MutexLock lock(&mu_);
  size_t bytes = 0;
  for (const auto& [input, versions] : published_) {
    for (const auto& v : *versions) bytes += v->MemoryBytes();
  }
  return bytes;
}

}  // namespace sluice
