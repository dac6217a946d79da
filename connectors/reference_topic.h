// Reference data from compacted Kafka topics (engine/exec/reference_data.h),
// for the cluster's workers: one table per reference input, shared by every
// task of a job on the worker.
//
// Each record is one row: its key is the row's key (what the topic is
// compacted by, normally the join key), its value the row as a JSON object,
// decoded into the plan input's fields like a stream's event. A record with
// a key that was seen before replaces that row; a tombstone (null value)
// removes it.
//
// Start reads every topic to its end before returning: that table is the
// first version, valid from the beginning of time. A thread then follows
// the topics; the changes it reads make a new version, valid from the
// newest record timestamp among them (never before the previous version's
// start), so an event joins the rows as they were at its time. Changes that
// come within `publish_interval_ms` of each other make one version. The
// newest kMaxVersions versions are kept; the oldest kept one then counts
// from the beginning of time.
//
// A record that cannot be a row (no key, a value that is not a JSON object
// of the input's fields) is counted and reported through `bad_record` (the
// worker dead-letters it), and the row it would have replaced stays.
#ifndef SLUICE_CONNECTORS_REFERENCE_TOPIC_H_
#define SLUICE_CONNECTORS_REFERENCE_TOPIC_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "connectors/json_decoder.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_reader.h"
#include "engine/exec/reference_data.h"
#include "proto/plan.pb.h"

namespace sluice {

class KafkaReferenceTables final : public ReferenceProvider {
 public:
  struct Binding {
    int input = 0;   // plan input index
    v1::Input spec;  // its fields
    std::string topic;
  };
  using BadRecordFn = std::function<void(std::string_view reason, const KafkaMessage& record)>;
  struct Options {
    int initial_read_timeout_ms = 60'000;
    int publish_interval_ms = 200;
  };
  static constexpr size_t kMaxVersions = 32;

  static absl::StatusOr<std::unique_ptr<KafkaReferenceTables>> Start(
      const std::string& bootstrap, const KafkaProperties& properties,
      std::vector<Binding> bindings, BadRecordFn bad_record, Options options);
  ~KafkaReferenceTables() override;

  std::shared_ptr<const ReferenceVersions> Versions(int input) const override;

  // Rows of the newest version and records refused, over all inputs.
  int64_t rows() const;
  int64_t bad_records() const { return bad_records_.load(); }
  // Bytes the newest versions take (an estimate; ReferenceVersion::MemoryBytes).
  size_t MemoryBytes() const;

 private:
  struct Table {
    Binding binding;
    std::unique_ptr<JsonDecoder> decoder;     // into the input's fields
    std::map<std::string, std::string> rows;  // record key -> JSON value
    bool changed = false;
    int64_t newest_ms = 0;  // newest record timestamp among the unpublished changes
    std::shared_ptr<const ReferenceVersions> versions;  // the newest published
  };

  KafkaReferenceTables(BadRecordFn bad_record, Options options)
      : bad_record_(std::move(bad_record)), options_(options) {}
  void Apply(const KafkaMessage& m);
  // A new version of every changed table (of every table, valid from the
  // beginning of time, when `initial`).
  void Publish(bool initial);
  void Follow();

  BadRecordFn bad_record_;
  const Options options_;
  std::unique_ptr<KafkaTopicReader> reader_;
  std::vector<Table> tables_;  // the follower thread's, after Start
  std::map<std::string, size_t> by_topic_;
  std::atomic<int64_t> bad_records_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::map<int, std::shared_ptr<const ReferenceVersions>> published_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_REFERENCE_TOPIC_H_
