// TailStream, the gRPC end of a TailOutput call, served by a real gRPC
// server on loopback TCP (HTTP/2 flow control included) with a plain
// client: the rows offered arrive in order and the stream ends with the
// status it was ended with; a client that does not read is ended with
// RESOURCE_EXHAUSTED instead of being buffered without bound; a client
// that leaves ends the stream for the hub. Then TailHub over the embedded
// broker: a client takes a topic far larger than a stream's queue from its
// beginning, whole, at its own pace, and one that stops reading is ended
// without holding the others back.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/embedded_broker.h"
#include "connectors/kafka_producer.h"
#include "engine/app/control/tail_hub.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "proto/job_service.grpc.pb.h"

namespace sluice {
namespace {

// Hands each TailOutput call's stream to the test.
class StreamService final
    : public v1::JobService::WithCallbackMethod_TailOutput<v1::JobService::Service> {
 public:
  grpc::ServerWriteReactor<v1::TailOutputResponse>* TailOutput(
      grpc::CallbackServerContext*, const v1::TailOutputRequest*) override {
    std::shared_ptr<TailStream> stream = TailStream::Create();
    streams_.set_value(stream);
    return stream.get();
  }
  std::shared_ptr<TailStream> Next() {
    auto future = streams_.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    std::shared_ptr<TailStream> stream = future.get();
    streams_ = {};
    return stream;
  }

 private:
  std::promise<std::shared_ptr<TailStream>> streams_;
};

class TailStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::JobService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  static v1::TailOutputResponse Row(int i, size_t bytes = 10) {
    v1::TailOutputResponse row;
    row.set_offset(i);
    row.set_row(std::string(bytes, 'x'));
    return row;
  }

  StreamService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

TEST_F(TailStreamTest, RowsArriveInOrderThenTheStatus) {
  grpc::ClientContext context;
  auto reader = stub_->TailOutput(&context, v1::TailOutputRequest());
  std::shared_ptr<TailStream> stream = service_.Next();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(stream->Offer(Row(i)));
  stream->End(grpc::Status(grpc::StatusCode::ABORTED, "job x was stopped"));
  EXPECT_TRUE(stream->Ended());
  EXPECT_FALSE(stream->Offer(Row(1000))) << "a row offered after the end";
  v1::TailOutputResponse row;
  int n = 0;
  while (reader->Read(&row)) EXPECT_EQ(row.offset(), n++);
  EXPECT_EQ(n, 1000);
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(status.error_message(), "job x was stopped");
}

TEST_F(TailStreamTest, AClientThatDoesNotReadIsEndedNotBuffered) {
  grpc::ClientContext context;
  auto reader = stub_->TailOutput(&context, v1::TailOutputRequest());
  std::shared_ptr<TailStream> stream = service_.Next();
  // 1 KB rows: the queue's 4 MiB fill once HTTP/2's windows are full.
  int offered = 0;
  while (offered < 1'000'000 && stream->Offer(Row(offered, 1024))) ++offered;
  ASSERT_LT(offered, 1'000'000) << "the stream took a million rows nobody read";
  EXPECT_GE(offered, static_cast<int>(TailStream::kMaxQueuedBytes / 1100));
  EXPECT_TRUE(stream->Ended());
  v1::TailOutputResponse row;
  int n = 0;
  while (reader->Read(&row)) EXPECT_EQ(row.offset(), n++);
  EXPECT_LT(n, offered) << "the rows that did not fit were dropped, not sent";
  printf("offered %d rows, the client read %d\n", offered, n);
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("read too slowly"), std::string::npos)
      << status.error_message();
}

TEST_F(TailStreamTest, AClientThatLeavesEndsTheStream) {
  auto context = std::make_unique<grpc::ClientContext>();
  auto reader = stub_->TailOutput(context.get(), v1::TailOutputRequest());
  std::shared_ptr<TailStream> stream = service_.Next();
  ASSERT_TRUE(stream->Offer(Row(0)));
  v1::TailOutputResponse row;
  ASSERT_TRUE(reader->Read(&row));
  context->TryCancel();
  EXPECT_FALSE(reader->Read(&row));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server learns of it: the hub sees the stream ended and lets it go.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!stream->Ended() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(stream->Ended());
  EXPECT_FALSE(stream->Offer(Row(1)));
}

TEST_F(TailStreamTest, ARefusedStreamEndsAtOnce) {
  // Not through StreamService: a stream refused before it started.
  class Refusing final
      : public v1::JobService::WithCallbackMethod_TailOutput<v1::JobService::Service> {
   public:
    grpc::ServerWriteReactor<v1::TailOutputResponse>* TailOutput(
        grpc::CallbackServerContext*, const v1::TailOutputRequest*) override {
      return TailStream::Finished(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full"));
    }
  } refusing;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&refusing);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::JobService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto reader = stub->TailOutput(&context, v1::TailOutputRequest());
  v1::TailOutputResponse row;
  EXPECT_FALSE(reader->Read(&row));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "full");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

// Serves TailOutput from a hub reading the embedded broker's `rows`.
class HubService final
    : public v1::JobService::WithCallbackMethod_TailOutput<v1::JobService::Service> {
 public:
  explicit HubService(TailHub* hub) : hub_(hub) {}
  grpc::ServerWriteReactor<v1::TailOutputResponse>* TailOutput(
      grpc::CallbackServerContext*, const v1::TailOutputRequest* request) override {
    TailSubscription sub;
    sub.topics["rows"] = "out";
    sub.from_beginning = request->from_beginning();
    sub.limit = request->limit();
    sub.still_current = [] { return grpc::Status::OK; };
    return hub_->Subscribe(std::move(sub));
  }

 private:
  TailHub* hub_;
};

class TailHubTest : public ::testing::Test {
 protected:
  // 4 partitions of 6,000 rows of about 200 bytes: 24,000 rows, 5 MB, more
  // than a stream's queue holds (10,000 rows, 4 MiB).
  static constexpr int kRows = 24'000;

  void SetUp() override {
    auto broker = EmbeddedBroker::Start(1);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_TRUE(broker_->CreateTopic("rows", 4).ok());
    auto producer = KafkaProducer::Create(broker_->bootstrap(), {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (int i = 0; i < kRows; ++i) {
      const std::string row =
          absl::StrCat(R"({"i":)", i, R"(,"pad":")", std::string(180, 'p'), R"("})");
      ASSERT_TRUE(
          (*producer)
              ->Produce("rows", "", row, 0, nullptr, {{"sluice.id", absl::StrCat(i)}}, i % 4)
              .ok());
    }
    ASSERT_TRUE((*producer)->Flush(30'000).ok());
    hub_ = std::make_unique<TailHub>(broker_->bootstrap(), KafkaProperties{}, 8,
                                     /*slow_client_ms=*/2000);
    service_ = std::make_unique<HubService>(hub_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
    stub_ =
        v1::JobService::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (hub_ != nullptr) hub_->EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test over"));
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  // Tails `rows` from its beginning to the last row; marks each row got in
  // `seen` (by its number) and returns how the stream ended.
  grpc::Status ReadAll(std::vector<bool>* seen) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::TailOutputRequest request;
    request.set_from_beginning(true);
    request.set_limit(kRows);
    auto reader = stub_->TailOutput(&context, request);
    seen->assign(kRows, false);
    v1::TailOutputResponse row;
    while (reader->Read(&row)) {
      int i = 0;
      EXPECT_TRUE(absl::SimpleAtoi(row.id(), &i)) << row.id();
      if (i >= 0 && i < kRows) (*seen)[i] = true;
    }
    return reader->Finish();
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<TailHub> hub_;
  std::unique_ptr<HubService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

TEST_F(TailHubTest, AClientTakesATopicLargerThanItsQueueWhole) {
  std::vector<bool> seen;
  const grpc::Status status = ReadAll(&seen);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kRows);
}

TEST_F(TailHubTest, AClientThatStopsReadingIsEndedAndHoldsNoOneBack) {
  // This one reads a row, then nothing. Its own connection has a fixed
  // 64 KiB stream window: with BDP probing the client's transport may
  // take the whole topic into its buffers unread, and the worker would
  // never see a slow client (the stream then waits for rows forever).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stalled_stub = v1::JobService::NewStub(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext stalled_context;
  // Whatever happens, the test ends: a stream the hub failed to end
  // ends here with DEADLINE_EXCEEDED, which the last check reports.
  stalled_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::TailOutputRequest request;
  request.set_from_beginning(true);
  auto stalled = stalled_stub->TailOutput(&stalled_context, request);
  v1::TailOutputResponse row;
  ASSERT_TRUE(stalled->Read(&row));
  // The other reads every row, once the stalled one has been given up on.
  std::vector<bool> seen;
  const grpc::Status status = ReadAll(&seen);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kRows);
  // The stalled one: what it was sent, then RESOURCE_EXHAUSTED.
  int more = 0;
  while (stalled->Read(&row)) ++more;
  // What was in flight when it was ended, not the rest of the topic.
  EXPECT_LT(more, static_cast<int>(TailStream::kMaxQueuedRows));
  const grpc::Status ended = stalled->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << ended.error_message();
  EXPECT_NE(ended.error_message().find("read too slowly"), std::string::npos)
      << ended.error_message();
}

}  // namespace
}  // namespace sluice
