// Turns a JobSpec (a job file, or a gRPC request) into a runnable job: the
// compiled plan with the time policies applied, and where each input and
// output goes.
#ifndef SLUICE_ENGINE_APP_BASE_JOB_LOADER_H_
#define SLUICE_ENGINE_APP_BASE_JOB_LOADER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka_client.h"
#include "proto/job.pb.h"
#include "proto/plan.pb.h"
#include "sql/compiler.h"

namespace sluice {

struct OutputTarget {
  enum class Kind { kTopic, kFile, kStdout };
  Kind kind = Kind::kTopic;
  std::string name;  // topic or file path
};

struct LoadedJob {
  v1::JobSpec spec;
  v1::Plan plan;
  std::vector<std::string> input_topics;  // by plan input
  // Reference inputs read from a file (InputBinding.file) instead of their
  // topic, by plan input: the path, relative to the worker's
  // --reference-root (the absolute path once ApplyJobPolicy ran), and how
  // often to read it again (0: once).
  struct ReferenceFile {
    std::string path;
    int64_t refresh_ms = 0;
  };
  std::map<int, ReferenceFile> reference_files;
  std::vector<OutputTarget> outputs;  // by plan output
  std::string dead_letter_topic;
  KafkaProperties kafka;
  bool exactly_once = false;  // spec.guarantee
  int64_t version = 0;        // the catalog's version of the job (0: not from the catalog)
};

// Parses a job spec in protobuf's JSON mapping; `where` names it in errors.
absl::StatusOr<v1::JobSpec> ParseJobSpec(const std::string& json, const std::string& where);

// Reads a job file (JSON in protobuf's mapping of JobSpec). `query_file`
// paths are relative to the job file.
absl::StatusOr<v1::JobSpec> ReadJobFile(const std::string& path);

// Compiles and binds a job. Query errors come back as InvalidArgument with
// "LINE:COL: error: message".
absl::StatusOr<LoadedJob> LoadJob(const v1::JobSpec& spec);

// Binds an already compiled plan (from the job catalog) to the spec's
// inputs and outputs, as LoadJob does after compiling. Applying the time
// policies again is harmless.
absl::StatusOr<LoadedJob> BindJob(const v1::JobSpec& spec, v1::Plan plan);

// Checks the job's JavaScript user-defined functions as hostile input (at
// most sql::kMaxUserFunctions, names that are identifiers, sources of at
// most sql::kMaxUserFunctionSourceBytes that compile to one function, sane
// limits) and declares them to the compiler. InvalidArgument naming the
// function otherwise. Compiling runs no JavaScript.
absl::Status AddUserFunctions(const google::protobuf::RepeatedPtrField<v1::UserFunctionSpec>& specs,
                              sql::CompileOptions* options);

// The `--function NAME=FILE.js` flags of `sluice run` and `sluice submit`
// (with `--function-time-limit` and `--function-memory-limit` for all of
// them): reads each file into a UserFunctionSpec.
absl::Status ReadUserFunctionFlags(const std::vector<std::string>& bindings,
                                   const std::string& time_limit, const std::string& memory_limit,
                                   google::protobuf::RepeatedPtrField<v1::UserFunctionSpec>* out);

// Parses a TimePolicySpec (durations like "5s"); unset fields keep `base`'s.
absl::StatusOr<v1::TimePolicy> ParseTimePolicy(const v1::TimePolicySpec& spec,
                                               const v1::TimePolicy& base);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_BASE_JOB_LOADER_H_
