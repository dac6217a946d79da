#include "connectors/file_sink.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sluice {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

}  // namespace

JsonLinesSink::JsonLinesSink(std::FILE* file, bool owned, std::string name, std::string prefix)
    : file_(file), owned_(owned), name_(std::move(name)), prefix_(std::move(prefix)) {
  buffer_.reserve(kBufferBytes);
}

absl::StatusOr<std::unique_ptr<JsonLinesSink>> JsonLinesSink::Create(const std::string& path,
                                                                     bool append) {
  std::FILE* f = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (f == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot open output file ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(f, true, path, ""));
}

std::unique_ptr<JsonLinesSink> JsonLinesSink::Stdout(std::string prefix) {
  return std::unique_ptr<JsonLinesSink>(
      new JsonLinesSink(stdout, false, "standard output", std::move(prefix)));
}

JsonLinesSink::~JsonLinesSink() {
  Flush().IgnoreError();
  if (owned_) std::fclose(file_);
}

absl::Status JsonLinesSink::Write(const std::vector<OutputRow>& rows) {
  for (const OutputRow& row : rows) {
    buffer_.append(prefix_);
    buffer_.append(row.json);
    buffer_.push_back('\n');
  }
  rows_written_ += static_cast<int64_t>(rows.size());
  if (buffer_.size() >= kBufferBytes) return Flush();
  return absl::OkStatus();
}

absl::Status JsonLinesSink::WriteLine(std::string_view json) {
  buffer_.append(prefix_);
  buffer_.append(json);
  buffer_.push_back('\n');
  ++rows_written_;
  if (buffer_.size() >= kBufferBytes) return Flush();
  return absl::OkStatus();
}

absl::Status JsonLinesSink::Flush() {
  if (!buffer_.empty()) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", name_, ": ", std::strerror(errno)));
    }
    buffer_.clear();
  }
  if (std::fflush(file_) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot write ", name_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace sluice
