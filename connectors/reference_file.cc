#include "connectors/reference_file.h"

#include <algorithm>
#include <cctype>
#include <chrono>
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

// A content id: a hash of the bytes, with the size.
std::string ContentId(std::string_view bytes) {
  return absl::StrFormat("%016x-%d", ContentHash(bytes), bytes.size());
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

absl::StatusOr<std::unique_ptr<RefreshingReferenceFiles>> RefreshingReferenceFiles::Start(
    std::vector<Binding> bindings, LogFn log, bool start_thread) {
  std::unique_ptr<RefreshingReferenceFiles> files(new RefreshingReferenceFiles(std::move(log)));
  bool periodic = false;
  for (Binding& b : bindings) {
    ReferenceLoadReport report;
    auto versions = LoadReference(b.spec, b.path, &report);
    if (!versions.ok()) {
      return absl::Status(
          versions.status().code(),
          absl::StrCat("reference input ", b.spec.name(), ": ", versions.status().message()));
    }
    Table t;
    t.pattern =
        b.path.find("{date}") != std::string::npos || b.path.find("{time}") != std::string::npos;
    t.bad_rows = report.bad_rows;
    for (const std::string& p : report.problems) {
      files->log_(absl::StrCat("reference ", b.spec.name(), ": ", p));
    }
    periodic = periodic || b.refresh_ms > 0;
    files->current_.Set(b.input, *std::move(versions));
    t.binding = std::move(b);
    absl::MutexLock lock(&files->tables_mu_);
    files->tables_.push_back(std::move(t));
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  {
    absl::MutexLock lock(&files->tables_mu_);
    for (Table& t : files->tables_) t.last_read_ms = now_ms;
  }
  if (periodic && start_thread) {
    files->thread_ = std::thread([f = files.get()] {
      while (!f->stop_.load()) {
        {
          absl::MutexLock lock(&f->stop_mu_);
          f->stop_mu_.AwaitWithTimeout(
              absl::Condition(
                  +[](std::atomic<bool>* stop) { return stop->load(); }, &f->stop_),
              absl::Milliseconds(200));
        }
        if (f->stop_.load()) break;
        f->Refresh(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count());
      }
    });
  }
  return files;
}

RefreshingReferenceFiles::~RefreshingReferenceFiles() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_.store(true);
  }
  if (thread_.joinable()) thread_.join();
}

void RefreshingReferenceFiles::Refresh(int64_t now_ms, bool force) {
  absl::MutexLock lock(&tables_mu_);
  for (Table& t : tables_) {
    if (!force && (t.binding.refresh_ms <= 0 || now_ms - t.last_read_ms < t.binding.refresh_ms)) {
      continue;
    }
    t.last_read_ms = now_ms;
    ReferenceLoadReport report;
    auto loaded = LoadReference(t.binding.spec, t.binding.path, &report);
    if (!loaded.ok()) {
      log_(absl::StrCat("reference ", t.binding.spec.name(), ": ", loaded.status().message(),
                        "; keeping the rows read before"));
      continue;
    }
    if (report.bad_rows > 0) {
      // A file caught half-written reads as bad rows: wait for a clean read.
      t.bad_rows += report.bad_rows;
      log_(absl::StrCat("reference ", t.binding.spec.name(), ": ", report.bad_rows,
                        " row(s) could not be read", report.problems.empty() ? "" : " (",
                        report.problems.empty() ? "" : report.problems.front(),
                        report.problems.empty() ? "" : ")", "; keeping the rows read before"));
      continue;
    }
    auto before = current_.Versions(t.binding.input);
    ReferenceVersions next;
    if (t.pattern) {
      // Versions at the times their paths name, all of them, as at the
      // start (the folders on disk bound them); a folder edited in place
      // replaces its version.
      next = *std::move(loaded);
      bool same = before != nullptr && before->size() == next.size();
      for (size_t i = 0; same && i < next.size(); ++i) same = (*before)[i]->id() == next[i]->id();
      if (same) continue;
    } else {
      const std::shared_ptr<const ReferenceVersion>& read = loaded->front();
      if (before != nullptr && !before->empty() && before->back()->id() == read->id()) continue;
      int64_t valid_from = now_ms * kTicksPerMillisecond;
      if (before != nullptr && !before->empty()) {
        valid_from = std::max(valid_from, before->back()->valid_from() + 1);
      }
      next = AppendVersion(
          before ? *before : ReferenceVersions{},
          std::make_shared<const ReferenceVersion>(valid_from, read->id(), read->rows()),
          kMaxVersions);
    }
    log_(absl::StrCat("reference ", t.binding.spec.name(), ": read again, ",
                      next.back()->rows().num_rows, " rows (", next.size(), " version(s))"));
    current_.Set(t.binding.input, std::move(next));
  }
}

std::shared_ptr<const ReferenceVersions> RefreshingReferenceFiles::Versions(int input) const {
  return current_.Versions(input);
}

int64_t RefreshingReferenceFiles::rows() const {
  absl::MutexLock lock(&tables_mu_);
  int64_t n = 0;
  for (const Table& t : tables_) {
    auto v = current_.Versions(t.binding.input);
    if (v != nullptr && !v->empty()) n += v->back()->rows().num_rows;
  }
  return n;
}

int64_t RefreshingReferenceFiles::bad_rows() const {
  absl::MutexLock lock(&tables_mu_);
  int64_t n = 0;
  for (const Table& t : tables_) n += t.bad_rows;
  return n;
}

}  // namespace sluice
