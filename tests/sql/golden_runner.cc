// Runs one golden SQL test file against the real `sluice run` binary.
//
// File format (tests/sql/README.md has the full description):
//
//   # name: what the case shows
//   # flags: --out-of-order-tolerance 5s      (extra `sluice run` flags)
//   # one partition: why                      (skip the partitioned run)
//   [query]
//   SELECT ...
//   [input telemetry]
//   {"deviceId": "a", ...}                    (one event per line)
//   [output alerts]                           (expected rows, any order)
//   [output alerts ordered]                   (expected rows, this order)
//   [errors]                                  (expected _errors.jsonl lines)
//   [function NAME]                           (JavaScript for udf.NAME, passed
//   function (a) { return a + 1; }             as --function NAME=FILE.js)
//   [error]                                   (expected compile error)
//   3:14: error: unknown function 'FOO'
//
// Every output the query writes must be listed (an empty section means no
// rows); an absent [errors] section means no event may be rejected.
//
// Each case runs four ways: straight through; one event per batch with a
// checkpoint, a full teardown and a restore from the changelog halfway
// through; with --partitions 3 (inputs split by their partition key as
// Kafka would, a task per partition, exchanges between stages), as a
// cluster runs it; and partitioned again with the task reading at the
// halfway point checkpointed and restored from the changelog. All must
// produce the expected rows. A case whose result depends on every event
// meeting in one partition (time policies: watermarks are per partition)
// says why with `# one partition:` and skips the partitioned runs.
//
// $SLUICE_GOLDEN_WAYS, when set, names the ways to run, comma-separated
// (straight, restart, partitioned, partitioned-restart). The sanitizer
// build runs only the restore and the partitioned run, to keep CI's run
// short (tests/sql/CMakeLists.txt); the release build runs all four.
//
// Usage: golden_runner SLUICE_BINARY FILE.test [WORK_DIR]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Section {
  std::string kind;  // query, input, output, errors, error
  std::string name;
  bool ordered = false;
  std::vector<std::string> lines;
  int line_number = 0;
  // [reference]: CSV rather than JSON lines; a version's folder.
  bool csv = false;
  std::string at_date;
  std::string at_time;
};

struct Case {
  std::string name;
  std::vector<std::string> flags;
  std::string one_partition;  // why the case runs on one partition only
  std::vector<Section> sections;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> words;
  std::istringstream in(s);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

bool ParseCase(const std::string& path, Case* c, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::string line;
  int number = 0;
  Section* current = nullptr;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (current == nullptr || current->kind != "query") {
      // Outside [query], '#' lines are comments.
      if (!line.empty() && line[0] == '#') {
        const std::string body = Trim(line.substr(1));
        if (body.rfind("name:", 0) == 0) c->name = Trim(body.substr(5));
        if (body.rfind("one partition:", 0) == 0) {
          c->one_partition = Trim(body.substr(14));
          if (c->one_partition.empty()) {
            *error = path + ":" + std::to_string(number) + ": '# one partition:' needs a reason";
            return false;
          }
        }
        if (body.rfind("flags:", 0) == 0) {
          for (const std::string& w : SplitWords(body.substr(6))) c->flags.push_back(w);
        }
        continue;
      }
    }
    if (line.size() > 2 && line.front() == '[' && line.back() == ']') {
      const std::vector<std::string> words = SplitWords(line.substr(1, line.size() - 2));
      if (!words.empty() &&
          (words[0] == "query" || words[0] == "input" || words[0] == "output" ||
           words[0] == "errors" || words[0] == "error" || words[0] == "reference" ||
           words[0] == "function")) {
        Section s;
        s.kind = words[0];
        s.line_number = number;
        if (words.size() > 1) s.name = words[1];
        if (words.size() > 2 && words[2] == "ordered") s.ordered = true;
        // [reference NAME [csv] [at YYYY/MM/DD HH-mm]]
        for (size_t w = 2; s.kind == "reference" && w < words.size(); ++w) {
          if (words[w] == "csv") {
            s.csv = true;
          } else if (words[w] == "at" && w + 2 < words.size()) {
            s.at_date = words[w + 1];
            s.at_time = words[w + 2];
            w += 2;
          } else {
            *error = path + ":" + std::to_string(number) +
                     ": [reference NAME [csv] [at YYYY/MM/DD HH-mm]]";
            return false;
          }
        }
        if ((s.kind == "input" || s.kind == "output" || s.kind == "reference" ||
             s.kind == "function") &&
            s.name.empty()) {
          *error = path + ":" + std::to_string(number) + ": [" + s.kind + "] needs a name";
          return false;
        }
        c->sections.push_back(std::move(s));
        current = &c->sections.back();
        continue;
      }
    }
    if (current == nullptr) {
      if (!Trim(line).empty()) {
        *error = path + ":" + std::to_string(number) + ": text outside any section";
        return false;
      }
      continue;
    }
    if (current->kind == "query") {
      current->lines.push_back(line);
    } else if (!Trim(line).empty()) {
      const bool raw = current->kind == "input" || current->kind == "function";
      current->lines.push_back(raw ? line : Trim(line));
    }
  }
  return true;
}

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) {
    if (ch == '\'') {
      q += "'\\''";
    } else {
      q += ch;
    }
  }
  return q + "'";
}

std::vector<std::string> ReadLines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!Trim(line).empty()) lines.push_back(line);
  }
  return lines;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Run(const std::string& command) {
  int status = std::system(command.c_str());
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool SameRows(std::vector<std::string> expected, std::vector<std::string> actual, bool ordered,
              std::string* diff) {
  if (!ordered) {
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
  }
  if (expected == actual) return true;
  std::ostringstream out;
  out << "  expected (" << expected.size() << " rows):\n";
  for (const auto& l : expected) out << "    " << l << "\n";
  out << "  actual (" << actual.size() << " rows):\n";
  for (const auto& l : actual) out << "    " << l << "\n";
  *diff = out.str();
  return false;
}

// Runs the case once with `extra` flags; returns false and prints why on a
// mismatch.
bool RunOnce(const std::string& sluice, const std::string& test_path, const Case& c,
             const fs::path& work, const std::vector<std::string>& extra, const std::string& mode) {
  fs::remove_all(work);
  fs::create_directories(work / "out");
  const fs::path job = work / "job.sql";
  std::vector<std::string> command = {sluice,       "run",          "--query",
                                      job.string(), "--output-dir", (work / "out").string()};
  const Section* error_section = nullptr;
  const Section* errors_section = nullptr;
  std::map<std::string, const Section*> outputs;
  for (const Section& s : c.sections) {
    if (s.kind == "query") {
      std::ofstream out(job);
      for (const std::string& l : s.lines) out << l << "\n";
    } else if (s.kind == "input") {
      const fs::path file = work / (s.name + ".jsonl");
      std::ofstream out(file);
      for (const std::string& l : s.lines) out << l << "\n";
      command.push_back("--input");
      command.push_back(s.name + "=" + file.string());
    } else if (s.kind == "reference") {
      const std::string ext = s.csv ? ".csv" : ".jsonl";
      fs::path file = work / ("ref-" + s.name + ext);
      std::string binding = file.string();
      if (!s.at_date.empty()) {
        const fs::path root = work / ("ref-" + s.name);
        fs::create_directories(root / s.at_date / s.at_time);
        file = root / s.at_date / s.at_time / ("data" + ext);
        binding = (root / "{date}" / "{time}" / ("data" + ext)).string();
      }
      std::ofstream out(file);
      for (const std::string& l : s.lines) out << l << "\n";
      const std::string flag = s.name + "=" + binding;
      if (std::find(command.begin(), command.end(), flag) == command.end()) {
        command.push_back("--reference");
        command.push_back(flag);
      }
    } else if (s.kind == "function") {
      const fs::path file = work / ("udf-" + s.name + ".js");
      std::ofstream out(file);
      for (const std::string& l : s.lines) out << l << "\n";
      command.push_back("--function");
      command.push_back(s.name + "=" + file.string());
    } else if (s.kind == "output") {
      outputs[s.name] = &s;
    } else if (s.kind == "errors") {
      errors_section = &s;
    } else if (s.kind == "error") {
      error_section = &s;
    }
  }
  for (const std::string& f : c.flags) command.push_back(f);
  for (const std::string& f : extra) command.push_back(f);
  std::string shell;
  for (const std::string& part : command) shell += ShellQuote(part) + " ";
  shell += "> " + ShellQuote((work / "stdout").string()) + " 2> " +
           ShellQuote((work / "stderr").string());
  const int code = Run(shell);
  const std::string stderr_text = ReadAll(work / "stderr");
  auto fail = [&](const std::string& why) {
    std::cerr << test_path << ": FAILED (" << mode << "): " << why << "\n"
              << "  command: " << shell << "\n";
    if (!stderr_text.empty()) std::cerr << "  stderr:\n" << stderr_text;
    return false;
  };

  if (error_section != nullptr) {
    if (code != 2)
      return fail("expected exit code 2 for a query error, got " + std::to_string(code));
    std::string first = stderr_text.substr(0, stderr_text.find('\n'));
    const std::string prefix = job.string() + ":";
    if (first.rfind(prefix, 0) != 0) return fail("error does not start with the job file name");
    first = first.substr(prefix.size());
    const std::string expected = error_section->lines.empty() ? "" : error_section->lines[0];
    if (first != expected) {
      return fail("wrong error\n  expected: " + expected + "\n  actual:   " + first);
    }
    return true;
  }
  if (code != 0) return fail("sluice run exited with " + std::to_string(code));
  // Every file in the output directory must be expected.
  for (const auto& entry : fs::directory_iterator(work / "out")) {
    const std::string file = entry.path().filename().string();
    if (file == "_errors.jsonl") continue;
    const std::string name = file.substr(0, file.size() - 6);
    if (!outputs.count(name) && !ReadLines(entry.path()).empty()) {
      return fail("output '" + name + "' has rows but the test lists no [output " + name + "]");
    }
  }
  for (const auto& [name, section] : outputs) {
    const fs::path file = work / "out" / (name + ".jsonl");
    if (!fs::exists(file)) return fail("the query wrote no output named '" + name + "'");
    std::string diff;
    if (!SameRows(section->lines, ReadLines(file), section->ordered, &diff)) {
      return fail("output '" + name + "' differs\n" + diff);
    }
  }
  std::vector<std::string> expected_errors;
  if (errors_section != nullptr) expected_errors = errors_section->lines;
  std::string diff;
  if (!SameRows(expected_errors, ReadLines(work / "out" / "_errors.jsonl"), false, &diff)) {
    return fail("rejected events (_errors.jsonl) differ\n" + diff);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: golden_runner SLUICE_BINARY FILE.test [WORK_DIR]\n";
    return 2;
  }
  const std::string sluice = argv[1];
  const std::string test_path = argv[2];
  Case c;
  std::string error;
  if (!ParseCase(test_path, &c, &error)) {
    std::cerr << error << "\n";
    return 1;
  }
  int inputs = 0;
  size_t events = 0;
  bool has_query = false;
  bool expects_error = false;
  for (const Section& s : c.sections) {
    if (s.kind == "query") has_query = true;
    if (s.kind == "input") {
      ++inputs;
      events += s.lines.size();
    }
    if (s.kind == "error") expects_error = true;
  }
  if (!has_query) {
    std::cerr << test_path << ": no [query] section\n";
    return 1;
  }
  fs::path work = argc > 3
                      ? fs::path(argv[3])
                      : fs::temp_directory_path() / ("sluice-golden-" + std::to_string(::getpid()));
  const char* ways_env = std::getenv("SLUICE_GOLDEN_WAYS");
  const std::string ways = ways_env == nullptr ? "" : "," + std::string(ways_env) + ",";
  auto way = [&](const std::string& name) {
    return ways.empty() || ways.find("," + name + ",") != std::string::npos;
  };
  bool ok =
      !way("straight") || RunOnce(sluice, test_path, c, work / "straight", {}, "straight run");
  if (ok && way("restart") && !expects_error && events >= 2) {
    // Restart halfway: one event per batch so the checkpoint falls between
    // two events, then everything in memory is dropped and rebuilt.
    const std::string half = std::to_string(std::max<size_t>(1, events / 2));
    ok = RunOnce(sluice, test_path, c, work / "restart",
                 {"--batch-size", "1", "--restart-after", half},
                 "checkpoint and restore after " + half + " events");
  }
  if (ok && way("partitioned") && !expects_error && c.one_partition.empty()) {
    ok = RunOnce(sluice, test_path, c, work / "partitioned", {"--partitions", "3"},
                 "three partitions");
  }
  if (ok && way("partitioned-restart") && !expects_error && c.one_partition.empty() &&
      events >= 2) {
    // The task reading when half the events are in restarts from the
    // changelog, as a worker taking over its partition does.
    const std::string half = std::to_string(std::max<size_t>(1, events / 2));
    ok = RunOnce(sluice, test_path, c, work / "partitioned-restart",
                 {"--partitions", "3", "--batch-size", "1", "--restart-after", half},
                 "three partitions, restore after " + half + " events");
  }
  if (ok) fs::remove_all(work);
  return ok ? 0 : 1;
}
