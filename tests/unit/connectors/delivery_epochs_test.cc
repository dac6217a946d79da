// EpochDeliveryTracker (connectors/kafka_producer.h): which of a task's
// messages Kafka acknowledged, by checkpoint epoch, whatever the order of
// the reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connectors/kafka_producer.h"

namespace sluice {
namespace {

// What KafkaProducer::Produce does with a tracker for one message: counts
// it in the tracker its report goes to, and in the task's.
DeliveryTracker* Produce(EpochDeliveryTracker& task) {
  DeliveryTracker* report_to = task.ForMessage();
  report_to->Produced();
  if (report_to != &task) task.Produced();
  return report_to;
}

void Ack(DeliveryTracker* t) { t->OnReport(nullptr, 0, 0); }

TEST(DeliveryEpochsTest, AnEpochIsAcknowledgedOnlyWithEveryEpochBeforeIt) {
  EpochDeliveryTracker task;
  std::vector<DeliveryTracker*> first, second;
  for (int i = 0; i < 3; ++i) first.push_back(Produce(task));
  EXPECT_EQ(task.Cut(), 0);
  for (int i = 0; i < 2; ++i) second.push_back(Produce(task));
  EXPECT_EQ(task.Cut(), 1);
  EXPECT_NE(first[0], second[0]);
  // The later epoch's reports come first (its messages went to another
  // partition): a count of acknowledgements (2 of 5) would say nothing;
  // epoch 1 is not acknowledged while epoch 0 is not.
  for (DeliveryTracker* m : second) Ack(m);
  EXPECT_EQ(*task.Acknowledged(0), false);
  EXPECT_EQ(*task.Acknowledged(1), false);
  Ack(first[0]);
  Ack(first[1]);
  EXPECT_EQ(*task.Acknowledged(0), false);
  Ack(first[2]);
  EXPECT_EQ(*task.Acknowledged(0), true);
  EXPECT_EQ(*task.Acknowledged(1), true);
  // The open epoch is never complete.
  EXPECT_EQ(*task.Acknowledged(2), false);
  EXPECT_TRUE(task.Settled());
  EXPECT_EQ(task.acked(), 5);
}

TEST(DeliveryEpochsTest, AcknowledgedEpochsAreForgottenAndARefusalIsAnError) {
  EpochDeliveryTracker task;
  for (int round = 0; round < 100; ++round) {
    DeliveryTracker* m = Produce(task);
    task.Cut();
    Ack(m);
  }
  task.Cut();
  // Only the open epoch is kept once every closed one is acknowledged.
  EXPECT_EQ(task.kept_epochs(), 1u);
  DeliveryTracker* m = Produce(task);
  DeliveryTracker* n = Produce(task);
  const int64_t epoch = task.Cut();
  EXPECT_FALSE(task.Settled());
  Ack(m);
  const std::string error = "Broker: Message size too large";
  n->OnReport(&error, 0, -1);
  auto acknowledged = task.Acknowledged(epoch);
  ASSERT_FALSE(acknowledged.ok());
  EXPECT_EQ(acknowledged.status().message(), error);
  EXPECT_EQ(task.failed(), 1);
  EXPECT_TRUE(task.Settled());
}

}  // namespace
}  // namespace sluice
