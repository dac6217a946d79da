// Which checkpoint a task may resume from and commit: the latest one whose
// messages the log has all acknowledged.
#include "engine/runtime/checkpoint_progress.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(CheckpointProgressTest, ACheckpointIsDurableOnceItsMessagesAreAcknowledged) {
  CheckpointProgress progress;
  EXPECT_EQ(progress.durable(), -1);
  progress.Taken(/*position=*/100, /*written=*/10);
  progress.Taken(/*position=*/250, /*written=*/30);
  EXPECT_EQ(progress.Acknowledged(9), -1);
  EXPECT_EQ(progress.Acknowledged(10), 100);
  // Acknowledgements in between leave it where it was.
  EXPECT_EQ(progress.Acknowledged(29), 100);
  EXPECT_EQ(progress.Acknowledged(31), 250);
  EXPECT_EQ(progress.pending(), 0u);
  // Asking again is harmless: the durable position stays.
  EXPECT_EQ(progress.Acknowledged(31), 250);
  EXPECT_EQ(progress.durable(), 250);
}

TEST(CheckpointProgressTest, SeveralCheckpointsCompletedAtOnceYieldTheLatest) {
  CheckpointProgress progress;
  for (int i = 1; i <= 5; ++i) progress.Taken(i * 100, i * 7);
  EXPECT_EQ(progress.Acknowledged(21), 300);
  EXPECT_EQ(progress.Acknowledged(1000), 500);
}

TEST(CheckpointProgressTest, ACommittedTransactionIsDurableAtOnce) {
  CheckpointProgress progress;
  progress.Taken(100, 10);
  progress.Durable(180);
  EXPECT_EQ(progress.durable(), 180);
  EXPECT_EQ(progress.pending(), 0u);
  EXPECT_EQ(progress.Acknowledged(0), 180);
}

TEST(CheckpointProgressTest, PendingCheckpointsAreBounded) {
  CheckpointProgress progress;
  for (int i = 0; i < 1000; ++i) progress.Taken(i, i + 1);
  EXPECT_EQ(progress.pending(), CheckpointProgress::kMaxPending);
  // The newest survive: acknowledging everything lands on the last one.
  EXPECT_EQ(progress.Acknowledged(1000), 999);
}

}  // namespace
}  // namespace sluice
