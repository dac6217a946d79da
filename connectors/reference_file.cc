#include "connectors/reference_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/json_decoder.h"
#include "connectors/json_lines_file.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/exec/operator.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxProblems = 5;

void Problem(ReferenceLoadReport* report, std::string text) {
  ++report->bad_rows;
  if (report->problems.size() < kMaxProblems) report->problems.push_back(std::move(text));
}

// A content id: FNV-1a over the bytes, with the size.
std::string ContentId(std::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return absl::StrFormat("%016x-%d", h, bytes.size());
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read reference file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read reference file ", path));
  return ss.str();
}

// Splits one CSV record starting at `*pos` (RFC 4180: quoted fields may hold
// commas, line breaks and "" for a quote). `quoted` tells which fields were
// quoted. False when a quote is left open.
bool NextCsvRecord(std::string_view text, size_t* pos, std::vector<std::string>* fields,
                   std::vector<bool>* quoted) {
  fields->assign(1, "");
  quoted->assign(1, false);
  size_t i = *pos;
  bool in_quotes = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          fields->back().push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        fields->back().push_back(c);
      }
    } else if (c == '"' && fields->back().empty()) {
      in_quotes = true;
      quoted->back() = true;
    } else if (c == ',') {
      fields->emplace_back();
      quoted->push_back(false);
    } else if (c == '\n') {
      ++i;
      break;
    } else if (c != '\r') {
      fields->back().push_back(c);
    }
  }
  *pos = i;
  return !in_quotes;
}

// CSV with a header row, each record decoded as a JSON object of strings.
absl::Status DecodeCsv(const std::string& path, std::string_view text, JsonDecoder& decoder,
                       BatchBuilder& builder, ReferenceLoadReport* report) {
  size_t pos = 0;
  std::vector<std::string> header;
  std::vector<bool> quoted;
  if (!NextCsvRecord(text, &pos, &header, &quoted) || (header.size() == 1 && header[0].empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("reference file ", path, ": CSV needs a header row naming the fields"));
  }
  for (size_t i = 0; i < header.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (header[i] == header[j]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "reference file ", path, ": the CSV header names field '", header[i], "' twice"));
      }
    }
  }
  std::vector<std::string> values;
  std::string json;
  std::string error;
  // Physical line numbers: a quoted value may hold line breaks.
  int64_t next_line = 2;
  while (pos < text.size()) {
    const int64_t line = next_line;
    const size_t start = pos;
    const bool closed = NextCsvRecord(text, &pos, &values, &quoted);
    for (size_t i = start; i < pos; ++i) next_line += text[i] == '\n' ? 1 : 0;
    if (!closed) {
      Problem(report, absl::StrCat(path, ":", line, ": a quoted value is never closed"));
      break;
    }
    if (values.size() == 1 && values[0].empty() && !quoted[0]) continue;  // blank line
    if (values.size() != header.size()) {
      Problem(report, absl::StrCat(path, ":", line, ": ", values.size(), " values for ",
                                   header.size(), " header fields"));
      continue;
    }
    json.assign("{");
    for (size_t i = 0; i < header.size(); ++i) {
      if (i > 0) json.push_back(',');
      AppendJsonString(header[i], &json);
      json.push_back(':');
      if (values[i].empty() && !quoted[i]) {
        json.append("null");
      } else {
        AppendJsonString(values[i], &json);
      }
    }
    json.push_back('}');
    const size_t size = json.size();
    json.append(JsonDecoder::kPadding, ' ');
    if (!decoder.Decode(std::string_view(json.data(), size), JsonDecoder::kPadding, 0, builder,
                        &error)) {
      Problem(report, absl::StrCat(path, ":", line, ": ", error));
      continue;
    }
    ++report->rows;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ReferenceVersion>> LoadFile(const v1::Input& input,
                                                                 const std::string& path,
                                                                 int64_t valid_from,
                                                                 ReferenceLoadReport* report) {
  auto bytes = ReadAll(path);
  if (!bytes.ok()) return bytes.status();
  ++report->files;
  JsonDecoder decoder(JsonDecoderOptionsFor(input));
  BatchBuilder builder(decoder.num_columns());
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  if (csv) {
    if (absl::Status s = DecodeCsv(path, *bytes, decoder, builder, report); !s.ok()) return s;
  } else {
    auto file = JsonLinesFile::Open(path);
    if (!file.ok()) return file.status();
    std::vector<SourceRecord> records;
    std::string error;
    for (;;) {
      records.clear();
      auto more = (*file)->Read(1024, &records);
      if (!more.ok()) return more.status();
      for (const SourceRecord& r : records) {
        if (!decoder.Decode(r.data, r.readable_after, 0, builder, &error)) {
          Problem(report, absl::StrCat(path, ":", r.position, ": ", error));
          continue;
        }
        ++report->rows;
      }
      if (!*more) break;
    }
  }
  return std::make_shared<const ReferenceVersion>(valid_from, ContentId(*bytes), builder.Finish());
}

// Reads `n` digits at text[*i], advancing; -1 if they are not there.
int Digits(std::string_view text, size_t* i, int n) {
  if (*i + static_cast<size_t>(n) > text.size()) return -1;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = text[*i + static_cast<size_t>(k)];
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    v = v * 10 + (c - '0');
  }
  *i += static_cast<size_t>(n);
  return v;
}

bool Separator(std::string_view text, size_t* i) {
  if (*i < text.size() && (text[*i] == '/' || text[*i] == '-')) {
    ++*i;
    return true;
  }
  return false;
}

// Matches `path` against `pattern` from (p, i), filling the date and time
// the placeholders read. {time}'s minutes are optional (tried first).
bool Match(std::string_view pattern, size_t p, std::string_view path, size_t i, CivilTime* t) {
  while (p < pattern.size()) {
    if (pattern.substr(p, 6) == "{date}") {
      t->date.year = Digits(path, &i, 4);
      if (t->date.year < 0 || !Separator(path, &i)) return false;
      t->date.month = Digits(path, &i, 2);
      if (t->date.month < 0 || !Separator(path, &i)) return false;
      t->date.day = Digits(path, &i, 2);
      if (t->date.day < 0) return false;
      p += 6;
    } else if (pattern.substr(p, 6) == "{time}") {
      t->hour = Digits(path, &i, 2);
      if (t->hour < 0) return false;
      size_t j = i;
      CivilTime with_minutes = *t;
      if (Separator(path, &j)) {
        with_minutes.minute = Digits(path, &j, 2);
        if (with_minutes.minute >= 0 && Match(pattern, p + 6, path, j, &with_minutes)) {
          *t = with_minutes;
          return true;
        }
      }
      t->minute = 0;
      p += 6;
    } else {
      if (i >= path.size() || path[i] != pattern[p]) return false;
      ++i;
      ++p;
    }
  }
  return i == path.size();
}

}  // namespace

absl::StatusOr<ReferenceVersions> LoadReference(const v1::Input& input, const std::string& path,
                                                ReferenceLoadReport* report) {
  const size_t brace = std::min(path.find("{date}"), path.find("{time}"));
  ReferenceVersions versions;
  if (brace == std::string::npos) {
    auto version = LoadFile(input, path, kBeginningOfTime, report);
    if (!version.ok()) return version.status();
    versions.push_back(*std::move(version));
    return versions;
  }
  const size_t slash = path.rfind('/', brace);
  const std::string root = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string pattern = slash == std::string::npos ? path : path.substr(slash + 1);
  std::error_code ec;
  std::vector<std::pair<int64_t, std::string>> found;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string relative = fs::relative(it->path(), root, ec).generic_string();
    CivilTime t{{1970, 1, 1}, 0, 0, 0, 0};
    if (!Match(pattern, 0, relative, 0, &t)) continue;
    const std::optional<int64_t> ticks = FromCivil(t);
    if (!ticks) continue;
    found.emplace_back(*ticks, it->path().string());
  }
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot list reference folder ", root, ": ", ec.message()));
  }
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no reference file matches ", path));
  }
  std::sort(found.begin(), found.end());
  for (size_t k = 0; k < found.size(); ++k) {
    if (k > 0 && found[k].first == found[k - 1].first) {
      return absl::InvalidArgumentError(absl::StrCat("reference files ", found[k - 1].second,
                                                     " and ", found[k].second,
                                                     " are for the same time"));
    }
    auto version = LoadFile(input, found[k].second, found[k].first, report);
    if (!version.ok()) return version.status();
    versions.push_back(*std::move(version));
  }
  return versions;
}

void StaticReferenceProvider::Set(int input, ReferenceVersions versions) {
  auto shared = std::make_shared<const ReferenceVersions>(std::move(versions));
  absl::MutexLock lock(&mu_);
  by_input_[input] = std::move(shared);
}

std::shared_ptr<const ReferenceVersions> StaticReferenceProvider::Versions(int input) const {
  absl::MutexLock lock(&mu_);
  auto it = by_input_.find(input);
  return it == by_input_.end() ? nullptr : it->second;
}

}  // namespace sluice
