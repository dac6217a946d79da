#include "engine/control/catalog.h"

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

v1::CatalogCommand Command(v1::CatalogCommand::Kind kind, const std::string& name,
                           const std::string& query, const std::string& request_id = "") {
  v1::CatalogCommand command;
  command.set_kind(kind);
  command.set_name(name);
  command.mutable_spec()->set_name(name);
  command.mutable_spec()->set_query(query);
  command.set_request_id(request_id);
  command.set_issued_at_ms(1000);
  return command;
}

constexpr auto kSubmit = v1::CatalogCommand::SUBMIT;
constexpr auto kUpdate = v1::CatalogCommand::UPDATE;
constexpr auto kStop = v1::CatalogCommand::STOP;

TEST(CatalogTest, SubmitStopAndResubmitCountVersions) {
  Catalog catalog;
  CommandOutcome first = catalog.Apply(Command(kSubmit, "a", "q1"));
  ASSERT_TRUE(first.status.ok());
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(catalog.Find("a")->state, v1::JOB_STATE_RUNNING);
  EXPECT_EQ(catalog.running(), 1);

  CommandOutcome stop = catalog.Apply(Command(kStop, "a", ""));
  ASSERT_TRUE(stop.status.ok());
  EXPECT_TRUE(stop.changed);
  EXPECT_EQ(catalog.Find("a")->state, v1::JOB_STATE_STOPPED);
  EXPECT_EQ(catalog.Find("a")->spec.query(), "q1");  // a stopped job keeps its spec
  EXPECT_EQ(catalog.running(), 0);

  CommandOutcome again = catalog.Apply(Command(kStop, "a", ""));
  EXPECT_TRUE(again.status.ok());
  EXPECT_FALSE(again.changed);

  CommandOutcome second = catalog.Apply(Command(kSubmit, "a", "q2"));
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(second.version, 2);
  EXPECT_EQ(catalog.Find("a")->spec.query(), "q2");
  EXPECT_EQ(catalog.applied(), 4);
}

TEST(CatalogTest, TheEarlierOfTwoConflictingSubmissionsWins) {
  Catalog catalog;
  const auto a = catalog.Apply(Command(kSubmit, "job", "from worker 1", "r1"));
  const auto b = catalog.Apply(Command(kSubmit, "job", "from worker 2", "r2"));
  EXPECT_TRUE(a.status.ok());
  EXPECT_EQ(b.status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(catalog.Find("job")->spec.query(), "from worker 1");
  ASSERT_NE(catalog.Outcome("r2"), nullptr);
  EXPECT_EQ(catalog.Outcome("r2")->status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(catalog.Outcome("r1")->status.ok());
  EXPECT_EQ(catalog.Outcome("unknown"), nullptr);
}

TEST(CatalogTest, IdenticalSubmissionIsAcceptedWithoutChange) {
  Catalog catalog;
  catalog.Apply(Command(kSubmit, "job", "q"));
  const auto again = catalog.Apply(Command(kSubmit, "job", "q"));
  EXPECT_TRUE(again.status.ok());
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.version, 1);
}

TEST(CatalogTest, UpdateNeedsARunningJobAndBumpsTheVersion) {
  Catalog catalog;
  EXPECT_EQ(catalog.Apply(Command(kUpdate, "job", "q")).status.code(), absl::StatusCode::kNotFound);
  catalog.Apply(Command(kSubmit, "job", "q1"));
  const auto update = catalog.Apply(Command(kUpdate, "job", "q2"));
  ASSERT_TRUE(update.status.ok());
  EXPECT_EQ(update.version, 2);
  EXPECT_EQ(catalog.Find("job")->spec.query(), "q2");
  catalog.Apply(Command(kStop, "job", ""));
  EXPECT_EQ(catalog.Apply(Command(kUpdate, "job", "q3")).status.code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(catalog.Find("job")->spec.query(), "q2");
  EXPECT_EQ(catalog.Apply(Command(kStop, "other", "")).status.code(), absl::StatusCode::kNotFound);
}

TEST(CatalogTest, CheckPredictsApplyWithoutChangingAnything) {
  Catalog catalog;
  catalog.Apply(Command(kSubmit, "job", "q1"));
  const auto command = Command(kSubmit, "job", "q2");
  const auto checked = catalog.Check(command);
  EXPECT_EQ(catalog.applied(), 1);
  EXPECT_EQ(catalog.Apply(command).status.code(), checked.status.code());
}

// Every worker applies the same log; they must agree whatever the commands.
// Two replicas fed one random log in order end identical, and a replica
// fed the log twice from scratch reproduces it.
TEST(CatalogTest, ReplicasOfOneLogAgree) {
  std::mt19937 random(42);
  std::vector<v1::CatalogCommand> log;
  const v1::CatalogCommand::Kind kinds[] = {kSubmit, kSubmit, kUpdate, kStop};
  for (int i = 0; i < 2000; ++i) {
    log.push_back(Command(kinds[random() % 4], absl::StrCat("job", random() % 7),
                          absl::StrCat("q", random() % 3), absl::StrCat("r", i)));
  }
  Catalog a, b;
  for (const auto& c : log) a.Apply(c);
  for (const auto& c : log) b.Apply(c);
  ASSERT_EQ(a.entries().size(), b.entries().size());
  for (const auto& [name, entry] : a.entries()) {
    const CatalogEntry* other = b.Find(name);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(entry.state, other->state);
    EXPECT_EQ(entry.version, other->version);
    EXPECT_TRUE(Catalog::SameSpec(entry.spec, other->spec));
  }
  // Versions only grow, by one per accepted change.
  Catalog c;
  std::map<std::string, int64_t> versions;
  for (const auto& command : log) {
    const auto outcome = c.Apply(command);
    if (outcome.status.ok() && outcome.changed && command.kind() != kStop) {
      EXPECT_EQ(outcome.version, versions[command.name()] + 1);
      versions[command.name()] = outcome.version;
    }
  }
}

// A plan whose filter holds `depth` nested NOTs.
v1::Plan DeepPlan(int depth) {
  v1::Plan plan;
  v1::Expr* e = plan.add_nodes()->mutable_filter()->mutable_predicate();
  for (int i = 0; i < depth; ++i) {
    v1::Call* call = e->mutable_call();
    call->set_function("not");
    e = call->add_args();
  }
  e->mutable_literal()->set_bit_value(true);
  return plan;
}

TEST(CatalogTest, RecordsCarryPlansOfAnyAcceptedDepth) {
  // Format 1 (the plan as JSON) failed past about 30 levels of expression:
  // protobuf's JSON reader stops at 100 levels of objects and arrays.
  for (int depth : {1, 30, 60, 150}) {
    v1::CatalogCommand command = Command(kSubmit, "deep", "q", "r1");
    *command.mutable_plan() = DeepPlan(depth);
    auto record = EncodeCatalogCommand(command);
    ASSERT_TRUE(record.ok()) << depth << ": " << record.status();
    auto decoded = DecodeCatalogCommand(*record);
    ASSERT_TRUE(decoded.ok()) << depth << ": " << decoded.status();
    EXPECT_EQ(decoded->plan().SerializeAsString(), command.plan().SerializeAsString());
    EXPECT_EQ(decoded->name(), "deep");
    EXPECT_EQ(decoded->format(), 2);
  }
}

TEST(CatalogTest, NothingIsWrittenThatReadersWouldReject) {
  v1::CatalogCommand command = Command(kSubmit, "deeper", "q");
  *command.mutable_plan() = DeepPlan(kPlanRecursionLimit);
  auto record = EncodeCatalogCommand(command);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInternal);
}

TEST(CatalogTest, ReadsFormatOneRecords) {
  const std::string record =
      R"({"kind":"SUBMIT","name":"old","spec":{"name":"old","query":"SELECT 1"},)"
      R"("plan":{"nodes":[{"filter":{"predicate":{"literal":{"bitValue":true}}}}]},"format":1})";
  auto decoded = DecodeCatalogCommand(record);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->plan().nodes_size(), 1);
  EXPECT_TRUE(decoded->plan().nodes(0).filter().predicate().literal().bit_value());
}

TEST(CatalogTest, GarbageRecordsAreRejectedNotFatal) {
  const std::string nested(100'000, '[');
  std::string deep_object;
  for (int i = 0; i < 5000; ++i) deep_object += R"({"plan":)";
  for (const std::string& record :
       {std::string(""), std::string("{"), std::string("\xff\xfe garbage"), nested, deep_object,
        std::string(R"({"planBytes":"////"})"), std::string(R"({"kind":"SUBMIT","name":7})"),
        std::string(R"({"planBytes":"CgQKAggB)")}) {
    auto decoded = DecodeCatalogCommand(record);
    EXPECT_FALSE(decoded.ok()) << record.substr(0, 40);
  }
  std::mt19937 random(7);
  for (int i = 0; i < 2000; ++i) {
    std::string record(random() % 64, '\0');
    for (char& c : record) c = static_cast<char>(random());
    (void)DecodeCatalogCommand(record);  // must not crash; most are rejected
  }
}

TEST(CatalogTest, JobLimitHoldsInLogOrder) {
  // 150 submissions racing through several workers reach the log in some
  // order; each carries the limit, and the log's order decides.
  Catalog catalog;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 150; ++i) {
    v1::CatalogCommand command = Command(kSubmit, absl::StrCat("job-", i), "q");
    command.set_max_running_jobs(100);
    CommandOutcome outcome = catalog.Apply(command);
    if (outcome.status.ok()) {
      ++accepted;
    } else {
      EXPECT_EQ(outcome.status.code(), absl::StatusCode::kResourceExhausted);
      ++refused;
    }
  }
  EXPECT_EQ(accepted, 100);
  EXPECT_EQ(refused, 50);
  EXPECT_EQ(catalog.running(), 100);
  // A resubmission of a running job and an update do not count again.
  v1::CatalogCommand same = Command(kSubmit, "job-0", "q");
  same.set_max_running_jobs(100);
  EXPECT_TRUE(catalog.Apply(same).status.ok());
  EXPECT_TRUE(catalog.Apply(Command(kUpdate, "job-1", "q2")).status.ok());
  // A stop makes room for one more.
  ASSERT_TRUE(catalog.Apply(Command(kStop, "job-2", "")).status.ok());
  v1::CatalogCommand next = Command(kSubmit, "job-new", "q");
  next.set_max_running_jobs(100);
  EXPECT_TRUE(catalog.Apply(next).status.ok());
  EXPECT_EQ(catalog.running(), 100);
  next.set_name("job-newer");
  next.mutable_spec()->set_name("job-newer");
  EXPECT_EQ(catalog.Apply(next).status.code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sluice
