// Window functions in GROUP BY: TumblingWindow, HoppingWindow,
// SlidingWindow and SessionWindow, in their short (unit, size, ...) and long
// (Duration(unit, size), ...) forms, read into a v1::WindowSpec in 100 ns
// ticks.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/function_catalog.h"
#include "sql/limits.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {

namespace {

// Long form: Duration(unit, n), Hop(...), Offset(...), Timeout(...),
// MaxDuration(...). Short form: (unit, n, ...).
bool IsLongForm(const Expr& call) {
  return !call.args.empty() && call.args[0]->kind == Expr::Kind::kCall;
}

}  // namespace

bool Planner::ReadWindow(const Expr& call, const Relation& rel, v1::WindowSpec* spec) {
  const std::string name = Lower(call.path[0]);
  spec->set_text(Render(call));
  const std::string upper = absl::AsciiStrToUpper(call.path[0]);
  if (call.analytic_over) {
    return Fail(call.location, absl::StrCat("OVER in ", upper, " takes only PARTITION BY"));
  }
  if (call.has_over && name != "sessionwindow" && name != "session") {
    return Fail(call.location, absl::StrCat(upper, " does not take OVER (PARTITION BY ...)"));
  }
  int64_t size = 0;
  int64_t hop = 0;
  int64_t offset = 0;
  if (name == "tumblingwindow" || name == "tumbling") {
    spec->set_kind(v1::WindowSpec::KIND_TUMBLING);
    if (!ReadTumblingWindow(call, &size, &offset)) return false;
    hop = size;
  } else if (name == "hoppingwindow" || name == "hopping") {
    spec->set_kind(v1::WindowSpec::KIND_HOPPING);
    if (!ReadHoppingWindow(call, &size, &hop, &offset)) return false;
  } else if (name == "slidingwindow" || name == "sliding") {
    spec->set_kind(v1::WindowSpec::KIND_SLIDING);
    if (!ReadSlidingWindow(call, &size)) return false;
  } else {
    spec->set_kind(v1::WindowSpec::KIND_SESSION);
    return ReadSessionWindow(call, rel, spec);
  }
  spec->set_size_ticks(size);
  spec->set_hop_ticks(hop);
  // Window ends fall on k * hop + offset; only the offset modulo the hop
  // matters (Offset(millisecond, -1) == hop - 1 ms).
  if (hop > 0) offset = ((offset % hop) + hop) % hop;
  spec->set_offset_ticks(offset);
  return true;
}

bool Planner::ReadTumblingWindow(const Expr& call, int64_t* size, int64_t* offset) {
  const auto& args = call.args;
  if (IsLongForm(call)) {
    if (args.size() > 2) {
      return FailWindowArgs(call, "Duration(unit, size) [, Offset(unit, offset)]");
    }
    if (!ReadWindowPart(call, 0, "duration", "window size", false, size)) return false;
    if (args.size() == 2 && !ReadWindowPart(call, 1, "offset", "offset", true, offset)) {
      return false;
    }
  } else {
    if (args.size() < 2 || args.size() > 3) {
      return FailWindowArgs(
          call, "(unit, size [, offset]) or (Duration(unit, size) [, Offset(unit, offset)])");
    }
    if (!ReadDuration(*args[0], *args[1], false, "window size", size)) return false;
    if (args.size() == 3 && !ReadDuration(*args[0], *args[2], true, "offset", offset)) {
      return false;
    }
  }
  return true;
}

bool Planner::ReadHoppingWindow(const Expr& call, int64_t* size, int64_t* hop, int64_t* offset) {
  const auto& args = call.args;
  if (IsLongForm(call)) {
    if (args.size() < 2 || args.size() > 3) {
      return FailWindowArgs(call, "Duration(unit, size), Hop(unit, hop) [, Offset(unit, offset)]");
    }
    if (!ReadWindowPart(call, 0, "duration", "window size", false, size) ||
        !ReadWindowPart(call, 1, "hop", "hop size", false, hop)) {
      return false;
    }
    if (args.size() == 3 && !ReadWindowPart(call, 2, "offset", "offset", true, offset)) {
      return false;
    }
  } else {
    if (args.size() < 3 || args.size() > 4) {
      return FailWindowArgs(
          call, "(unit, size, hop [, offset]) or (Duration(...), Hop(...) [, Offset(...)])");
    }
    if (!ReadDuration(*args[0], *args[1], false, "window size", size) ||
        !ReadDuration(*args[0], *args[2], false, "hop size", hop)) {
      return false;
    }
    if (args.size() == 4 && !ReadDuration(*args[0], *args[3], true, "offset", offset)) {
      return false;
    }
  }
  // The operator updates every window an event falls in.
  const int64_t windows_per_event = (*size + *hop - 1) / *hop;
  if (windows_per_event > kMaxWindowsPerEvent) {
    return Fail(call.location, absl::StrCat("too many windows per event (size / hop, limit ",
                                            kMaxWindowsPerEvent, "): ", windows_per_event));
  }
  return true;
}

bool Planner::ReadSlidingWindow(const Expr& call, int64_t* size) {
  const auto& args = call.args;
  if (IsLongForm(call)) {
    if (args.size() != 1) return FailWindowArgs(call, "(unit, size) or (Duration(unit, size))");
    if (!ReadWindowPart(call, 0, "duration", "window size", false, size)) return false;
  } else {
    if (args.size() != 2) return FailWindowArgs(call, "(unit, size) or (Duration(unit, size))");
    if (!ReadDuration(*args[0], *args[1], false, "window size", size)) return false;
  }
  return true;
}

bool Planner::ReadSessionWindow(const Expr& call, const Relation& rel, v1::WindowSpec* spec) {
  const auto& args = call.args;
  int64_t timeout = 0;
  int64_t max_duration = 0;
  if (IsLongForm(call)) {
    if (args.size() != 2) {
      return FailWindowArgs(
          call, "(unit, timeout, maxDuration) or (Timeout(unit, t), MaxDuration(unit, m))");
    }
    if (!ReadWindowPart(call, 0, "timeout", "timeout", false, &timeout) ||
        !ReadWindowPart(call, 1, "maxduration", "maximum duration", false, &max_duration)) {
      return false;
    }
  } else {
    if (args.size() != 3) {
      return FailWindowArgs(
          call, "(unit, timeout, maxDuration) or (Timeout(unit, t), MaxDuration(unit, m))");
    }
    if (!ReadDuration(*args[0], *args[1], false, "timeout", &timeout) ||
        !ReadDuration(*args[0], *args[2], false, "maximum duration", &max_duration)) {
      return false;
    }
  }
  spec->set_timeout_ticks(timeout);
  spec->set_max_duration_ticks(max_duration);
  for (const ExprPtr& p : call.over_partition) {
    Scope scope;
    scope.rel = &rel;
    scope.clause = "PARTITION BY";
    if (!BindExpr(*p, scope, spec->add_partition_by())) return false;
  }
  return true;
}

bool Planner::ReadWindowPart(const Expr& call, size_t i, std::string_view expected_name,
                             const std::string& what, bool is_offset, int64_t* ticks) {
  const auto& args = call.args;
  if (i >= args.size()) {
    return Fail(call.location,
                absl::StrCat(absl::AsciiStrToUpper(call.path[0]), " is missing its ", what));
  }
  const Expr& p = *args[i];
  if (p.kind != Expr::Kind::kCall || p.path.size() != 1 || Lower(p.path[0]) != expected_name) {
    static const auto* kDisplay =
        new absl::flat_hash_map<std::string, std::string>{{"duration", "Duration"},
                                                          {"hop", "Hop"},
                                                          {"offset", "Offset"},
                                                          {"timeout", "Timeout"},
                                                          {"maxduration", "MaxDuration"}};
    return Fail(p.location, absl::StrCat("expected ", kDisplay->at(std::string(expected_name)),
                                         "(unit, size) for the ", what));
  }
  if (p.args.size() != 2) {
    return Fail(p.location, absl::StrCat(Render(p), " takes a time unit and a size"));
  }
  return ReadDuration(*p.args[0], *p.args[1], is_offset, what, ticks);
}

bool Planner::FailWindowArgs(const Expr& call, const char* forms) {
  return Fail(call.location, absl::StrCat(absl::AsciiStrToUpper(call.path[0]), " takes ", forms));
}

bool Planner::ReadDuration(const Expr& unit, const Expr& size, bool is_offset,
                           const std::string& what, int64_t* ticks) {
  std::string unit_name;
  if (unit.kind == Expr::Kind::kName && unit.path.size() == 1) unit_name = unit.path[0];
  const long long per_unit = TicksPerTimeUnit(unit_name);
  if (per_unit == 0) {
    return Fail(unit.location,
                absl::StrCat("expected a time unit (day, hour, minute, second, millisecond, "
                             "microsecond) but found '",
                             unit_name.empty() ? Render(unit) : unit_name, "'"));
  }
  double value;
  if (size.kind == Expr::Kind::kInteger) {
    value = static_cast<double>(size.int_value);
  } else if (size.kind == Expr::Kind::kFloat) {
    value = size.float_value;
  } else {
    return Fail(size.location,
                absl::StrCat("the ", what, " must be a number, not '", Render(size), "'"));
  }
  const double exact = value * static_cast<double>(per_unit);
  const double t = std::round(exact);
  if (!is_offset && value <= 0) {
    return Fail(size.location, absl::StrCat("the ", what, " must be positive: ", Render(size)));
  }
  if (std::fabs(exact - t) > 1e-6 * std::max(1.0, std::fabs(exact)) || (value != 0 && t == 0)) {
    return Fail(size.location,
                absl::StrCat("the ", what, " must be a whole number of 100 ns ticks: ",
                             Render(size), " ", unit_name));
  }
  if (!is_offset && t < static_cast<double>(kMinWindowTicks)) {
    return Fail(size.location, absl::StrCat("the ", what, " must be at least 1 millisecond: ",
                                            Render(size), " ", unit_name));
  }
  if (std::fabs(t) > static_cast<double>(kMaxWindowTicks)) {
    return Fail(size.location, absl::StrCat("the ", what, " must be at most 7 days: ", Render(size),
                                            " ", unit_name));
  }
  *ticks = static_cast<int64_t>(t);
  return true;
}

}  // namespace sluice::sql::planner_internal
