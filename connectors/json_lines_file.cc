#include "connectors/json_lines_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"
#include "simdjson.h"

namespace sluice {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JsonLinesFile>> JsonLinesFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open input file ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot stat input file ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<JsonLinesFile> file(new JsonLinesFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  file->modified_ticks_ =
      static_cast<int64_t>(st.st_mtim.tv_sec) * kTicksPerSecond + st.st_mtim.tv_nsec / 100;
  file->buffer_ = std::make_unique<char[]>(file->size_ + JsonDecoder::kPadding + 1);
  size_t done = 0;
  while (done < file->size_) {
    ssize_t n = ::read(fd, file->buffer_.get() + done, file->size_ - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return absl::UnavailableError(
          absl::StrCat("cannot read input file ", path, ": ",
                       n < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  std::memset(file->buffer_.get() + file->size_, 0, JsonDecoder::kPadding + 1);

  // A file whose first significant character is '[' holds one JSON array of
  // events. Keep each element's text span; parse errors surface per element.
  std::string_view content(file->buffer_.get(), file->size_);
  size_t first = content.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && content[first] == '[') {
    file->array_mode_ = true;
    simdjson::ondemand::parser parser;
    simdjson::padded_string_view view(file->buffer_.get(), file->size_,
                                      file->size_ + JsonDecoder::kPadding);
    simdjson::ondemand::document doc;
    simdjson::ondemand::array array;
    if (parser.iterate(view).get(doc) != simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("input file ", path, " starts with '[' but is not a JSON array"));
    }
    for (auto element : array) {
      simdjson::ondemand::value v;
      std::string_view raw;
      simdjson::ondemand::json_type type;
      if (element.get(v) != simdjson::SUCCESS || v.type().get(type) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("input file ", path, " holds a malformed JSON array after element ",
                         file->array_elements_.size()));
      }
      simdjson::error_code code;
      if (type == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object o;
        code = v.get_object().get(o);
        if (code == simdjson::SUCCESS) code = o.raw_json().get(raw);
      } else if (type == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array a;
        code = v.get_array().get(a);
        if (code == simdjson::SUCCESS) code = a.raw_json().get(raw);
      } else {
        raw = v.raw_json_token();
        code = simdjson::SUCCESS;
      }
      if (code != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("input file ", path, " holds a malformed JSON array after element ",
                         file->array_elements_.size()));
      }
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' ||
                              raw.back() == '\t')) {
        raw.remove_suffix(1);
      }
      file->array_elements_.emplace_back(raw.data() - file->buffer_.get(), raw.size());
    }
  }
  return file;
}

bool JsonLinesFile::NextEvent(std::string_view* text) {
  if (array_mode_) {
    if (position_ >= static_cast<int64_t>(array_elements_.size())) return false;
    const auto& [start, length] = array_elements_[position_];
    ++position_;
    *text = std::string_view(buffer_.get() + start, length);
    return true;
  }
  while (offset_ < size_) {
    const char* start = buffer_.get() + offset_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', size_ - offset_));
    size_t len = nl ? static_cast<size_t>(nl - start) : size_ - offset_;
    offset_ += len + (nl ? 1 : 0);
    ++position_;
    std::string_view line(start, len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (IsBlank(line)) continue;
    *text = line;
    return true;
  }
  return false;
}

void JsonLinesFile::SkipTo(int64_t position) {
  std::string_view ignored;
  while (position_ < position && NextEvent(&ignored)) {
  }
}

std::string_view JsonLinesFile::EventText(int64_t position) const {
  if (array_mode_) {
    if (position < 1 || position > static_cast<int64_t>(array_elements_.size())) {
      return {};
    }
    const auto& [start, length] = array_elements_[position - 1];
    return std::string_view(buffer_.get() + start, length);
  }
  // Lines are found by counting; only used for rejected events.
  size_t offset = 0;
  for (int64_t line = 1; offset <= size_; ++line) {
    const char* start = buffer_.get() + offset;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', size_ - offset));
    size_t len = nl ? static_cast<size_t>(nl - start) : size_ - offset;
    if (line == position) {
      std::string_view text(start, len);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      return text;
    }
    if (!nl) break;
    offset += len + 1;
  }
  return {};
}

absl::StatusOr<bool> JsonLinesFile::Read(size_t max, std::vector<SourceRecord>* out) {
  std::string_view text;
  size_t read = 0;
  while (read < max && NextEvent(&text)) {
    ++read;
    SourceRecord& r = out->emplace_back();
    r.data = text;
    r.readable_after = size_ + JsonDecoder::kPadding -
                       static_cast<size_t>(text.data() + text.size() - buffer_.get());
    r.position = position_;
    r.arrival = estimated_arrival_;
  }
  ended_ = read < max;
  return read > 0;
}

absl::Status JsonLinesFile::SeekAfter(int64_t position) {
  if (position < position_) {
    // Back to the start, then forward.
    offset_ = 0;
    position_ = 0;
  }
  ended_ = false;
  SkipTo(position);
  return absl::OkStatus();
}

}  // namespace sluice
