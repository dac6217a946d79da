#include "engine/app/control/tail_hub.h"

#include <chrono>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "connectors/kafka_reader.h"

namespace sluice {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A stream refused before it started: finishes at once, deletes itself
// when gRPC is done with it.
class FinishedStream final : public grpc::ServerWriteReactor<v1::TailOutputResponse> {
 public:
  explicit FinishedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::TailOutputResponse>* TailStream::Finished(grpc::Status status) {
  return new FinishedStream(status);
}

std::shared_ptr<TailStream> TailStream::Create() {
  std::shared_ptr<TailStream> stream(new TailStream());
  stream->self_ = stream;
  return stream;
}

void TailStream::AdvanceAndUnlock(std::unique_lock<std::mutex>& lock) {
  // gRPC may react on the calling thread, so the write or the finish
  // starts with mu_ released; writing_ and finished_ keep them one at a time.
  bool write = false;
  bool finish = false;
  grpc::Status status;
  if (!finished_ && !writing_) {
    if (!queue_.empty()) {
      writing_row_ = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= std::min(queued_bytes_, writing_row_.ByteSizeLong());
      writing_ = true;
      write = true;
    } else if (ending_) {
      finished_ = true;
      finish = true;
      status = status_;
    }
  }
  lock.unlock();
  if (write) StartWrite(&writing_row_);
  if (finish) Finish(status);
}

bool TailStream::Offer(v1::TailOutputResponse row) {
  std::unique_lock lock(mu_);
  if (ending_ || finished_) return false;
  const size_t bytes = row.ByteSizeLong();
  bool accepted = true;
  if (queue_.size() >= kMaxQueuedRows || queued_bytes_ + bytes > kMaxQueuedBytes) {
    // The client reads more slowly than the job writes: rather than hold
    // its rows without bound (or hold back the other streams), end it.
    queue_.clear();
    queued_bytes_ = 0;
    ending_ = true;
    status_ = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the client read too slowly: ", kMaxQueuedRows, " rows or ",
                     kMaxQueuedBytes >> 20, " MiB waited for it; tail again to go on"));
    accepted = false;
  } else {
    queued_bytes_ += bytes;
    queue_.push_back(std::move(row));
  }
  AdvanceAndUnlock(lock);
  return accepted;
}

void TailStream::End(grpc::Status status, bool drop_queued) {
  std::unique_lock lock(mu_);
  if (ending_) return;
  if (drop_queued) {
    queue_.clear();
    queued_bytes_ = 0;
  }
  ending_ = true;
  status_ = std::move(status);
  AdvanceAndUnlock(lock);
}

bool TailStream::Ended() {
  std::lock_guard lock(mu_);
  return ending_ || finished_;
}

bool TailStream::Congested() {
  std::lock_guard lock(mu_);
  return queue_.size() >= kMaxQueuedRows / 2 || queued_bytes_ >= kMaxQueuedBytes / 2;
}

void TailStream::OnWriteDone(bool ok) {
  std::unique_lock lock(mu_);
  writing_ = false;
  writing_row_.Clear();
  if (!ok && !ending_) {
    // The call is broken (the client left): nothing more can be written.
    queue_.clear();
    queued_bytes_ = 0;
    ending_ = true;
    status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  AdvanceAndUnlock(lock);
}

void TailStream::OnCancel() {
  std::unique_lock lock(mu_);
  queue_.clear();
  queued_bytes_ = 0;
  if (!ending_) {
    ending_ = true;
    status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  AdvanceAndUnlock(lock);
}

void TailStream::OnDone() {
  std::shared_ptr<TailStream> last;  // may be the last reference: let go unlocked
  std::lock_guard lock(mu_);
  ending_ = true;
  finished_ = true;
  last = std::move(self_);
}

// One stream as the hub sees it.
struct TailHub::Tail {
  // kResume: was reading, and goes on where it was once the topic is read
  // again (after the reader failed to go back to a topic's beginning).
  enum class Pending { kFromNow, kFromBeginning, kResume, kStarted };
  TailSubscription sub;
  std::shared_ptr<TailStream> stream;
  struct Topic {
    std::string output;  // the job's name for it
    Pending pending;
    // By partition, the first offset this stream wants: below it are rows
    // it has had, or rows from before it started.
    std::vector<int64_t> next;
  };
  std::map<std::string, Topic> topics;
  int64_t next_attempt_ms = 0;  // when to try to start pending topics
  // Identities already sent, oldest first; a replay's copies come soon
  // after their originals, so a bounded memory of them is enough.
  absl::flat_hash_set<std::string> seen;
  std::deque<std::string> seen_order;
  int64_t sent = 0;
  int64_t congested_since_ms = 0;  // 0: not congested
  bool done = false;
};

namespace {
constexpr size_t kRememberedIds = 100'000;
// At most what a poll hands each stream: well within the half of a queue
// that is left when the hub holds back.
constexpr size_t kRowsPerPoll = 500;
constexpr int kKafkaTimeoutMs = 5000;
}  // namespace

TailHub::TailHub(std::string bootstrap, KafkaProperties kafka, int max_tails, int slow_client_ms)
    : bootstrap_(std::move(bootstrap)),
      kafka_(std::move(kafka)),
      max_tails_(max_tails),
      slow_client_ms_(slow_client_ms) {
  thread_ = std::thread([this] { Run(); });
}

TailHub::~TailHub() {
  EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down"));
}

grpc::ServerWriteReactor<v1::TailOutputResponse>* TailHub::Subscribe(
    TailSubscription subscription) {
  auto tail = std::make_unique<Tail>();
  for (const auto& [topic, output] : subscription.topics) {
    tail->topics[topic] = Tail::Topic{
        output,
        subscription.from_beginning ? Tail::Pending::kFromBeginning : Tail::Pending::kFromNow,
        {}};
  }
  tail->sub = std::move(subscription);
  tail->stream = TailStream::Create();
  TailStream* reactor = tail->stream.get();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return TailStream::Finished(stop_status_);
    if (open_ >= max_tails_) {
      return TailStream::Finished(
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       absl::StrCat("this worker serves ", max_tails_,
                                    " output tails at most; close one or ask another worker")));
    }
    ++open_;
    incoming_.push_back(std::move(tail));
  }
  wake_.notify_one();
  return reactor;
}

void TailHub::EndAll(const grpc::Status& status) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_status_ = status;
    }
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void TailHub::Run() {
  int64_t last_check = 0;
  std::vector<KafkaMessage> messages;
  while (true) {
    {
      std::unique_lock lock(mu_);
      // Nothing to read: sleep until a stream comes (or a second passes,
      // to check on the jobs and retry topics that did not exist).
      if (reading_.empty()) {
        wake_.wait_for(lock, std::chrono::seconds(1),
                       [&] { return stopping_ || !incoming_.empty(); });
      }
      if (stopping_) break;
      for (auto& tail : incoming_) tails_.push_back(std::move(tail));
      incoming_.clear();
    }
    const int64_t now = NowMs();
    const bool check_jobs = now - last_check >= 1000;
    if (check_jobs) last_check = now;
    Maintain(check_jobs);
    if (reader_ == nullptr || reading_.empty()) continue;
    if (HoldBack(now)) {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopping_; });
      continue;
    }
    messages.clear();
    // A broken poll (the broker away) is retried; the reader reconnects.
    (void)reader_->Poll(100, kRowsPerPoll, &messages);
    Deliver(messages);
  }
  grpc::Status status;
  {
    std::lock_guard lock(mu_);
    status = stop_status_;
    for (auto& tail : incoming_) tails_.push_back(std::move(tail));
    incoming_.clear();
    open_ = 0;
  }
  for (auto& tail : tails_) tail->stream->End(status);
  tails_.clear();
  reader_.reset();
}

void TailHub::Maintain(bool check_jobs) {
  const int64_t now = NowMs();
  for (auto& tail : tails_) {
    if (tail->done) continue;
    if (tail->stream->Ended()) {
      tail->done = true;
      continue;
    }
    if (check_jobs) {
      grpc::Status current = tail->sub.still_current();
      if (!current.ok()) {
        tail->stream->End(std::move(current));
        tail->done = true;
        continue;
      }
    }
  }
  // Streams waiting to start, by topic: started together, so that a crowd
  // of new streams costs one rewind and one look at the end offsets.
  std::map<std::string, std::vector<Tail*>> waiting;
  for (auto& tail : tails_) {
    if (tail->done || tail->next_attempt_ms > now) continue;
    for (const auto& [topic, state] : tail->topics) {
      if (state.pending != Tail::Pending::kStarted) waiting[topic].push_back(tail.get());
    }
  }
  for (const auto& [topic, tails] : waiting) {
    if (Start(topic, tails)) continue;
    // The reader or the topic is not there yet: tried again in a second.
    for (Tail* tail : tails) tail->next_attempt_ms = now + 1000;
  }
  // Streams that ended leave; so do topics no stream reads any more.
  const size_t before = tails_.size();
  std::erase_if(tails_, [](const std::unique_ptr<Tail>& tail) { return tail->done; });
  if (tails_.size() != before) {
    std::lock_guard lock(mu_);
    open_ -= static_cast<int>(before - tails_.size());
  }
  for (auto it = reading_.begin(); it != reading_.end();) {
    bool used = false;
    for (const auto& tail : tails_) used = used || tail->topics.contains(*it);
    if (!used && reader_ != nullptr && reader_->Remove(*it).ok()) {
      it = reading_.erase(it);
    } else {
      ++it;
    }
  }
}

bool TailHub::Start(const std::string& topic, const std::vector<Tail*>& waiting) {
  if (reader_ == nullptr) {
    auto reader = KafkaTopicReader::Create(bootstrap_, kafka_);
    if (!reader.ok()) return false;
    reader_ = *std::move(reader);
  }
  bool rewind = false;  // a stream needs rows the reader has passed
  for (Tail* tail : waiting) {
    rewind = rewind || tail->topics[topic].pending != Tail::Pending::kFromNow;
  }
  absl::StatusOr<std::vector<int64_t>> ends;
  if (!reading_.contains(topic)) {
    KafkaTopicReader::Start start;  // the beginning
    if (!rewind) start.kind = KafkaTopicReader::Start::Kind::kEnd;
    ends = reader_->Add(topic, start, kKafkaTimeoutMs);
    if (!ends.ok()) {
      // A topic that does not exist yet: everything in it once it appears
      // is new, so it is read from its beginning then.
      if (ends.status().code() == absl::StatusCode::kNotFound) {
        for (Tail* tail : waiting) {
          Tail::Pending& pending = tail->topics[topic].pending;
          if (pending == Tail::Pending::kFromNow) pending = Tail::Pending::kFromBeginning;
        }
      }
      return false;
    }
    reading_.insert(topic);
  } else if (rewind) {
    // Back to the beginning; the streams reading already skip, by offset,
    // what they have had.
    if (!reader_->Remove(topic).ok()) return false;
    ends = reader_->Add(topic, KafkaTopicReader::Start{}, kKafkaTimeoutMs);
    if (!ends.ok()) {
      reading_.erase(topic);
      for (auto& tail : tails_) {
        auto it = tail->topics.find(topic);
        if (it != tail->topics.end() && it->second.pending == Tail::Pending::kStarted) {
          it->second.pending = Tail::Pending::kResume;
        }
      }
      return false;
    }
  } else {
    ends = reader_->EndOffsets(topic, kKafkaTimeoutMs);
    if (!ends.ok()) return false;
  }
  for (Tail* tail : waiting) {
    Tail::Topic& state = tail->topics[topic];
    // kResume keeps its offsets; a partition it never had starts at 0.
    if (state.pending == Tail::Pending::kFromBeginning) state.next.assign(ends->size(), 0);
    if (state.pending == Tail::Pending::kFromNow) state.next = *ends;
    if (state.next.size() < ends->size()) state.next.resize(ends->size(), 0);
    state.pending = Tail::Pending::kStarted;
  }
  return true;
}

bool TailHub::HoldBack(int64_t now) {
  bool hold = false;
  for (auto& tail : tails_) {
    if (tail->done) continue;
    if (!tail->stream->Congested()) {
      tail->congested_since_ms = 0;
      continue;
    }
    if (tail->congested_since_ms == 0) tail->congested_since_ms = now;
    if (now - tail->congested_since_ms >= slow_client_ms_) {
      tail->stream->End(
          grpc::Status(
              grpc::StatusCode::RESOURCE_EXHAUSTED,
              absl::StrCat("the client read too slowly: its rows waited ", slow_client_ms_ / 1000,
                           " s and held up the other tails; tail again to go on")),
          /*drop_queued=*/true);
      tail->done = true;
      continue;
    }
    hold = true;
  }
  return hold;
}

void TailHub::Deliver(const std::vector<KafkaMessage>& messages) {
  for (const KafkaMessage& m : messages) {
    std::string id;
    bool have_id = false;
    for (auto& tail : tails_) {
      if (tail->done) continue;
      auto topic = tail->topics.find(m.topic);
      if (topic == tail->topics.end() || topic->second.pending != Tail::Pending::kStarted) continue;
      std::vector<int64_t>& offsets = topic->second.next;
      const auto partition = static_cast<size_t>(m.partition);
      if (m.partition < 0) continue;
      if (partition >= offsets.size()) offsets.resize(partition + 1, 0);  // a new partition
      int64_t& next = offsets[partition];
      if (m.offset < next) continue;
      next = m.offset + 1;
      if (!have_id) {
        id = m.Header("sluice.id");
        have_id = true;
      }
      if (!id.empty() && !tail->sub.keep_duplicates) {
        if (!tail->seen.insert(id).second) continue;
        tail->seen_order.push_back(id);
        if (tail->seen_order.size() > kRememberedIds) {
          tail->seen.erase(tail->seen_order.front());
          tail->seen_order.pop_front();
        }
      }
      v1::TailOutputResponse row;
      row.set_id(id);
      row.set_output(topic->second.output);
      row.set_topic(m.topic);
      row.set_partition(m.partition);
      row.set_offset(m.offset);
      row.set_key(m.key);
      row.set_row(m.value);
      row.set_timestamp_ms(m.timestamp_ms);
      if (!tail->stream->Offer(std::move(row))) {
        tail->done = true;
        continue;
      }
      if (tail->sub.limit > 0 && ++tail->sent >= tail->sub.limit) {
        tail->stream->End(grpc::Status::OK);
        tail->done = true;
      }
    }
  }
}

}  // namespace sluice
