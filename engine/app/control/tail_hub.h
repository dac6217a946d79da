// TailHub: every TailOutput stream of a worker, served by one thread and
// one Kafka reader.
//
// A stream costs no thread of its own: the gRPC side is a callback reactor
// (TailStream) that writes what the hub hands it, and the hub reads each
// tailed topic once for all of its streams. Each stream keeps its own
// position per partition, so a stream that asks for a topic from its
// beginning makes the hub read that topic again from there while the
// others skip what they have seen. A stream whose client reads too slowly
// to keep up ends with RESOURCE_EXHAUSTED instead of holding rows in
// memory without bound or holding back the other streams for long: while
// a stream's queue is half full the hub stops reading, which lets a fast
// client take a topic from its beginning at its own pace.
//
// Thread safety: Subscribe and EndAll from any thread; the reading
// happens on the hub's thread; a stream's reactions on gRPC's threads.
#ifndef SLUICE_ENGINE_APP_CONTROL_TAIL_HUB_H_
#define SLUICE_ENGINE_APP_CONTROL_TAIL_HUB_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka_client.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "proto/job_service.pb.h"

namespace sluice {

class KafkaTopicReader;
struct KafkaMessage;

// The gRPC end of one TailOutput call. Owned by gRPC until it is done and
// by the hub while it reads for it; deleted when both have let go.
class TailStream final : public grpc::ServerWriteReactor<v1::TailOutputResponse> {
 public:
  // What may wait for a slow client before its stream ends.
  static constexpr size_t kMaxQueuedRows = 10'000;
  static constexpr size_t kMaxQueuedBytes = 4 << 20;

  // A stream that ends at once with `status`.
  static grpc::ServerWriteReactor<v1::TailOutputResponse>* Finished(grpc::Status status);
  static std::shared_ptr<TailStream> Create();

  // Queues a row for the client; false once the stream has ended (the
  // client left, or fell a queue's worth behind, which ends it).
  bool Offer(v1::TailOutputResponse row);
  // Ends the stream with `status` once the queued rows are written (or at
  // once, dropping them, with `drop_queued`).
  void End(grpc::Status status, bool drop_queued = false);
  // True once the stream has ended or is ending.
  bool Ended();
  // True while half the queue's rows or bytes wait for the client: the
  // hub reads no more until it drains (or gives up on the client).
  bool Congested();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  TailStream() = default;
  // Starts what comes next (a write, or the finish once the queue is
  // empty and the stream is ending), if nothing is in flight; unlocks.
  void AdvanceAndUnlock(std::unique_lock<std::mutex>& lock);

  std::mutex mu_;
  std::deque<v1::TailOutputResponse> queue_;
  size_t queued_bytes_ = 0;
  v1::TailOutputResponse writing_row_;  // owned by the write in flight
  bool writing_ = false;
  bool ending_ = false;  // End was called, or the client left
  bool finished_ = false;
  grpc::Status status_;
  std::shared_ptr<TailStream> self_;  // gRPC's reference, dropped in OnDone
};

struct TailSubscription {
  std::map<std::string, std::string> topics;  // topic -> output name
  bool from_beginning = false;
  bool keep_duplicates = false;
  int64_t limit = 0;  // rows, 0 = no limit
  // Asked about once a second: a status that is not OK ends the stream
  // with it (its job was stopped or updated).
  std::function<grpc::Status()> still_current;
};

class TailHub {
 public:
  // A stream whose client keeps it congested for `slow_client_ms` holds
  // the others back no longer: it ends with RESOURCE_EXHAUSTED.
  TailHub(std::string bootstrap, KafkaProperties kafka, int max_tails, int slow_client_ms = 10'000);
  ~TailHub();  // ends every stream (UNAVAILABLE)
  TailHub(const TailHub&) = delete;
  TailHub& operator=(const TailHub&) = delete;

  // Starts following: the stream to hand gRPC. When max_tails streams are
  // open already it ends at once with RESOURCE_EXHAUSTED (and after EndAll
  // with EndAll's status).
  grpc::ServerWriteReactor<v1::TailOutputResponse>* Subscribe(TailSubscription subscription);
  // Ends every stream with `status` and takes no more.
  void EndAll(const grpc::Status& status);

 private:
  struct Tail;
  void Run();
  // Ends streams whose job moved on; starts reading what new ones need.
  void Maintain(bool check_jobs);
  // Starts `topic` for the streams waiting for it; false to try again later.
  bool Start(const std::string& topic, const std::vector<Tail*>& waiting);
  void Deliver(const std::vector<KafkaMessage>& messages);
  // True while a stream waits for its client (reading on would overfill
  // it); ends the streams that waited too long.
  bool HoldBack(int64_t now);

  const std::string bootstrap_;
  const KafkaProperties kafka_;
  const int max_tails_;
  const int slow_client_ms_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Tail>> incoming_;  // under mu_
  int open_ = 0;                                 // under mu_
  bool stopping_ = false;                        // under mu_
  grpc::Status stop_status_;                     // under mu_

  // The hub thread's own.
  std::unique_ptr<KafkaTopicReader> reader_;
  std::vector<std::unique_ptr<Tail>> tails_;
  std::set<std::string> reading_;  // topics the reader reads
  std::thread thread_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_TAIL_HUB_H_
