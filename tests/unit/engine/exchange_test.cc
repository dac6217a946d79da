// ExchangeReceiver: merging upstream tasks, dropping replays, surviving a
// checkpoint, and not waiting forever for an upstream that never speaks.
#include "engine/exchange.h"

#include <string>
#include <vector>

#include "engine/operator.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

std::string Row(int64_t timestamp, int64_t value) {
  BatchBuilder builder(1, 1);
  const uint32_t r = builder.AddRow(timestamp);
  builder.Set(0, r, Value::Bigint(value));
  Batch batch = builder.Finish();
  std::string out;
  EncodeExchangeRow(batch, 0, &out);
  return out;
}

std::vector<int64_t> Values(const Batch& batch) {
  std::vector<int64_t> out;
  for (uint32_t r = 0; r < batch.num_rows; ++r) out.push_back(batch.value(0, r).bigint());
  return out;
}

TEST(ExchangeReceiverTest, ReleasesInCanonicalOrderBelowTheSlowestUpstream) {
  ExchangeReceiver rx(2, 1);
  ASSERT_TRUE(rx.AddRow(1, 0, -1, Row(20, 3)));
  ASSERT_TRUE(rx.AddRow(0, 0, -1, Row(20, 2)));
  ASSERT_TRUE(rx.AddRow(0, 1, -1, Row(10, 1)));
  rx.SetWatermark(0, 100);
  EXPECT_EQ(rx.watermark(), kBeginningOfTime);  // upstream 1 holds it back
  rx.SetWatermark(1, 30);
  EXPECT_EQ(rx.watermark(), 30);
  EXPECT_EQ(Values(rx.TakeReady()), (std::vector<int64_t>{1, 2, 3}));
}

TEST(ExchangeReceiverTest, DropsRowsAnUpstreamSendsAgain) {
  ExchangeReceiver rx(1, 1);
  ASSERT_TRUE(rx.AddRow(0, 0, -1, Row(10, 1)));
  ASSERT_TRUE(rx.AddRow(0, 1, -1, Row(11, 2)));
  // The upstream restarted from a checkpoint taken after row 0.
  ASSERT_TRUE(rx.AddRow(0, 1, -1, Row(11, 2)));
  ASSERT_TRUE(rx.AddRow(0, 2, -1, Row(12, 3)));
  EXPECT_EQ(rx.duplicates(), 1);
  rx.SetWatermark(0, 100);
  EXPECT_EQ(Values(rx.TakeReady()), (std::vector<int64_t>{1, 2, 3}));
}

TEST(ExchangeReceiverTest, ACheckpointKeepsBufferedRowsWatermarksAndSequences) {
  ExchangeReceiver rx(2, 1);
  ASSERT_TRUE(rx.AddRow(0, 0, 7, Row(10, 1)));
  ASSERT_TRUE(rx.AddRow(1, 5, 8, Row(15, 2)));
  rx.SetWatermark(0, 12);
  std::string state;
  rx.Serialize(&state);

  ExchangeReceiver restored(2, 1);
  ASSERT_TRUE(restored.Restore(state));
  EXPECT_EQ(restored.OldestBufferedPosition(), 7);
  ASSERT_TRUE(restored.AddRow(1, 5, 9, Row(15, 2)));  // seen before the checkpoint
  EXPECT_EQ(restored.duplicates(), 1);
  restored.SetWatermark(1, 20);
  EXPECT_EQ(restored.watermark(), 12);
  EXPECT_EQ(Values(restored.TakeReady()), (std::vector<int64_t>{1}));

  ExchangeReceiver wrong_shape(3, 1);
  EXPECT_FALSE(wrong_shape.Restore(state));
}

TEST(ExchangeReceiverTest, AnUpstreamThatNeverSpeaksStopsHoldingTheWatermark) {
  ExchangeReceiver rx(3, 1);
  ASSERT_TRUE(rx.AddRow(0, 0, -1, Row(10, 1)));
  rx.SetWatermark(0, 50);
  rx.SetWatermark(1, 40);
  EXPECT_EQ(rx.silent_upstreams(), 1);
  EXPECT_EQ(rx.watermark(), kBeginningOfTime);
  rx.IgnoreSilentUpstreams();
  EXPECT_EQ(rx.watermark(), 40);
  EXPECT_EQ(Values(rx.TakeReady()), (std::vector<int64_t>{1}));
  // It speaks at last, behind: the watermark does not go back.
  rx.SetWatermark(2, 5);
  EXPECT_EQ(rx.silent_upstreams(), 0);
  EXPECT_EQ(rx.watermark(), 40);
  rx.SetWatermark(2, 45);
  rx.SetWatermark(1, 60);
  EXPECT_EQ(rx.watermark(), 45);
}

}  // namespace
}  // namespace sluice
