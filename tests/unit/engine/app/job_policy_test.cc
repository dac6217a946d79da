#include "engine/app/base/job_policy.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/app/base/job_loader.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

v1::JobSpec Spec(const std::string& query) {
  v1::JobSpec spec;
  spec.set_name("job-a");
  spec.set_query(query);
  return spec;
}

constexpr char kQuery[] = "SELECT deviceId INTO alerts FROM telemetry";

absl::Status Check(const v1::JobSpec& spec, const JobPolicy& policy = {}) {
  auto job = LoadJob(spec);
  if (!job.ok()) return job.status();
  return CheckJobPolicy(*job, policy);
}

TEST(JobPolicyTest, FileOutputsOnlyBelowTheOutputRoot) {
  v1::JobSpec spec = Spec(kQuery);
  v1::OutputBinding* out = spec.add_outputs();
  out->set_name("alerts");
  out->set_file("alerts.jsonl");
  // No root: no file outputs at all.
  EXPECT_EQ(Check(spec).code(), absl::StatusCode::kPermissionDenied);
  const fs::path root = fs::temp_directory_path() / "sluice-policy-test";
  fs::create_directories(root);
  JobPolicy policy{root.string(), "", ""};
  EXPECT_TRUE(Check(spec, policy).ok());
  for (const char* bad :
       {"/etc/passwd-sluice-test", "../../x", "a/../../x", "./x", "a//b/..", "", "dir/", "a/./b"}) {
    out->set_file(bad);
    EXPECT_EQ(Check(spec, policy).code(), absl::StatusCode::kPermissionDenied) << bad;
  }
  out->set_file("team/alerts.jsonl");
  auto job = LoadJob(spec);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(ApplyJobPolicy(policy, &*job).ok());
  EXPECT_EQ(job->outputs[0].name, (root / "team/alerts.jsonl").string());
}

// A client's job spec may name a reference file only below the worker's
// reference root, never a path of its choosing.
TEST(JobPolicyTest, ReferenceFilesOnlyBelowTheReferenceRoot) {
  v1::JobSpec spec = Spec(R"(SELECT t.deviceId, r.maxTemp INTO alerts
      FROM telemetry t JOIN thresholds r ON t.deviceId = r.deviceId)");
  spec.add_inputs()->set_alias("telemetry");
  v1::InputBinding* ref = spec.add_inputs();
  ref->set_alias("thresholds");
  ref->set_reference(true);
  ref->set_file("thresholds.csv");
  ref->set_refresh_interval("5m");
  // No root: no reference files at all.
  EXPECT_EQ(Check(spec).code(), absl::StatusCode::kPermissionDenied);
  const fs::path root = fs::temp_directory_path() / "sluice-policy-ref-test";
  fs::create_directories(root);
  JobPolicy policy{"", "", root.string()};
  EXPECT_TRUE(Check(spec, policy).ok());
  for (const char* bad : {"/etc/passwd", "../../x", "a/../../x", "./x", "a//b/..", "dir/"}) {
    ref->set_file(bad);
    EXPECT_EQ(Check(spec, policy).code(), absl::StatusCode::kPermissionDenied) << bad;
  }
  ref->set_file("team/{date}/thresholds.json");
  auto job = LoadJob(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(ApplyJobPolicy(policy, &*job).ok());
  ASSERT_EQ(job->reference_files.size(), 1u);
  EXPECT_EQ(job->reference_files.begin()->second.path,
            (root / "team/{date}/thresholds.json").string());
  EXPECT_EQ(job->reference_files.begin()->second.refresh_ms, 5 * 60 * 1000);
  // A refresh period is for files; a file for reference inputs.
  ref->set_refresh_interval("1ms");
  EXPECT_EQ(LoadJob(spec).status().code(), absl::StatusCode::kInvalidArgument);
  ref->clear_file();
  ref->set_refresh_interval("1m");
  EXPECT_EQ(LoadJob(spec).status().code(), absl::StatusCode::kInvalidArgument);
  ref->set_refresh_interval("");
  EXPECT_TRUE(LoadJob(spec).ok());
  spec.mutable_inputs(0)->set_file("x.json");
  EXPECT_NE(LoadJob(spec).status().message().find("only reference inputs read a file"),
            std::string::npos)
      << LoadJob(spec).status();
}

TEST(JobPolicyTest, InternalTopicsAreOffLimits) {
  for (const char* topic : {"_sluice_jobs", "_sluice_status", "_sluice_audit",
                            "sluice.x.1.changelog", "__consumer_offsets", "_SLUICE_JOBS"}) {
    EXPECT_TRUE(IsInternalTopic(topic)) << topic;
    v1::JobSpec out = Spec(kQuery);
    out.add_outputs()->set_name("alerts");
    out.mutable_outputs(0)->set_topic(topic);
    EXPECT_EQ(Check(out).code(), absl::StatusCode::kPermissionDenied) << topic;
    v1::JobSpec in = Spec(kQuery);
    in.add_inputs()->set_alias("telemetry");
    in.mutable_inputs(0)->set_topic(topic);
    EXPECT_EQ(Check(in).code(), absl::StatusCode::kPermissionDenied) << topic;
    v1::JobSpec dead = Spec(kQuery);
    dead.set_dead_letter_topic(topic);
    EXPECT_EQ(Check(dead).code(), absl::StatusCode::kPermissionDenied) << topic;
  }
  EXPECT_FALSE(IsInternalTopic("telemetry"));
  EXPECT_FALSE(IsInternalTopic("sluice_alerts"));
  // The query's own INTO name is a topic too.
  EXPECT_EQ(Check(Spec("SELECT deviceId INTO [_sluice_jobs] FROM telemetry")).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(JobPolicyTest, KafkaPropertiesFromAnAllowlist) {
  for (const char* key : {"plugin.library.paths", "interceptor.x", "ssl.key.location",
                          "ssl.ca.location", "sasl.kerberos.kinit.cmd", "bootstrap.servers",
                          "group.id", "transactional.id", "debug", "PLUGIN.LIBRARY.PATHS"}) {
    v1::JobSpec spec = Spec(kQuery);
    (*spec.mutable_kafka_properties())[key] = "/tmp/x.so";
    EXPECT_EQ(Check(spec).code(), absl::StatusCode::kPermissionDenied) << key;
  }
  v1::JobSpec spec = Spec(kQuery);
  (*spec.mutable_kafka_properties())["security.protocol"] = "SASL_SSL";
  (*spec.mutable_kafka_properties())["sasl.password"] = "hunter2";
  (*spec.mutable_kafka_properties())["linger.ms"] = "5";
  EXPECT_TRUE(Check(spec).ok());
}

TEST(JobPolicyTest, JobAndTopicNamesAreValidated) {
  for (const char* name : {".", "..", "a..b", "-a", "a b", "a/b", "", "ä"}) {
    v1::JobSpec spec = Spec(kQuery);
    spec.set_name(name);
    EXPECT_EQ(LoadJob(spec).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  v1::JobSpec spec = Spec(kQuery);
  spec.set_dead_letter_topic("bad topic");
  EXPECT_EQ(LoadJob(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = Spec(kQuery);
  spec.add_inputs()->set_alias("telemetry");
  spec.mutable_inputs(0)->set_topic("..");
  EXPECT_EQ(LoadJob(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = Spec(kQuery);
  spec.add_outputs()->set_name("alerts");
  spec.mutable_outputs(0)->set_topic(std::string(250, 'a'));
  EXPECT_EQ(LoadJob(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JobPolicyTest, SecretsComeFromTheWorkerAndAreRedacted) {
  v1::JobSpec spec = Spec(kQuery);
  (*spec.mutable_kafka_properties())["sasl.password"] = "hunter2";
  (*spec.mutable_kafka_properties())["sasl.username"] = "alice";
  (*spec.mutable_kafka_properties())["ssl.key.password"] = "${env:SLUICE_SECRET_KEY_PASSWORD}";
  const v1::JobSpec shown = RedactSpec(spec);
  EXPECT_EQ(shown.kafka_properties().at("sasl.password"), "[redacted]");
  EXPECT_EQ(shown.kafka_properties().at("sasl.username"), "alice");
  EXPECT_EQ(shown.kafka_properties().at("ssl.key.password"), "${env:SLUICE_SECRET_KEY_PASSWORD}");
  EXPECT_EQ(spec.kafka_properties().at("sasl.password"), "hunter2");  // a copy is redacted

  const fs::path secrets = fs::temp_directory_path() / "sluice-policy-secrets";
  fs::create_directories(secrets);
  std::ofstream(secrets / "kafka-password") << "from-a-file\n";
  ::setenv("SLUICE_SECRET_KEY_PASSWORD", "from-the-env", 1);
  ::setenv("HOME_SECRET", "not for jobs", 1);
  JobPolicy policy{"", secrets.string(), ""};
  (*spec.mutable_kafka_properties())["sasl.password"] = "${file:kafka-password}";
  auto job = LoadJob(spec);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(ApplyJobPolicy(policy, &*job).ok());
  std::map<std::string, std::string> properties(job->kafka.begin(), job->kafka.end());
  EXPECT_EQ(properties["sasl.password"], "from-a-file");
  EXPECT_EQ(properties["ssl.key.password"], "from-the-env");

  for (const char* reference : {"${env:HOME_SECRET}", "${file:../etc/passwd}", "${file:.hidden}",
                                "${file:missing}", "${shell:ls}"}) {
    (*spec.mutable_kafka_properties())["sasl.password"] = reference;
    auto bad = LoadJob(spec);
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(ApplyJobPolicy(policy, &*bad).ok()) << reference;
  }
}

}  // namespace
}  // namespace sluice
