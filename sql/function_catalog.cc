#include "sql/function_catalog.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

namespace sluice::sql {
namespace {

constexpr FunctionInfo kFunctions[] = {
    // Math
    {"abs", FunctionKind::kScalar, 1, 1},
    {"ceiling", FunctionKind::kScalar, 1, 1},
    {"exp", FunctionKind::kScalar, 1, 1},
    {"floor", FunctionKind::kScalar, 1, 1},
    {"power", FunctionKind::kScalar, 2, 2},
    {"round", FunctionKind::kScalar, 2, 2},
    {"sign", FunctionKind::kScalar, 1, 1},
    {"sqrt", FunctionKind::kScalar, 1, 1},
    {"square", FunctionKind::kScalar, 1, 1},
    // String
    {"charindex", FunctionKind::kScalar, 2, 3},
    {"concat", FunctionKind::kScalar, 2, -1},
    {"concat_ws", FunctionKind::kScalar, 3, -1},
    {"left", FunctionKind::kScalar, 2, 2},
    {"len", FunctionKind::kScalar, 1, 1},
    {"lower", FunctionKind::kScalar, 1, 1},
    {"ltrim", FunctionKind::kScalar, 1, 1},
    {"nchar", FunctionKind::kScalar, 1, 1},
    {"patindex", FunctionKind::kScalar, 2, 2},
    {"regexmatch", FunctionKind::kScalar, 2, 2},
    {"replace", FunctionKind::kScalar, 3, 3},
    {"replicate", FunctionKind::kScalar, 2, 2},
    {"reverse", FunctionKind::kScalar, 1, 1},
    {"right", FunctionKind::kScalar, 2, 2},
    {"rtrim", FunctionKind::kScalar, 1, 1},
    {"space", FunctionKind::kScalar, 1, 1},
    {"stuff", FunctionKind::kScalar, 4, 4},
    {"substring", FunctionKind::kScalar, 3, 3},
    {"translate", FunctionKind::kScalar, 3, 3},
    {"trim", FunctionKind::kScalar, 1, 1},
    {"unicode", FunctionKind::kScalar, 1, 1},
    {"upper", FunctionKind::kScalar, 1, 1},
    // Date and time
    {"dateadd", FunctionKind::kScalar, 3, 3, true},
    {"datediff", FunctionKind::kScalar, 3, 3, true},
    {"datename", FunctionKind::kScalar, 2, 2, true},
    {"datepart", FunctionKind::kScalar, 2, 2, true},
    {"day", FunctionKind::kScalar, 1, 1},
    {"month", FunctionKind::kScalar, 1, 1},
    {"year", FunctionKind::kScalar, 1, 1},
    {"datetimefromparts", FunctionKind::kScalar, 7, 7},
    // Records, arrays, types
    {"gettype", FunctionKind::kScalar, 1, 1},
    {"getrecordpropertyvalue", FunctionKind::kScalar, 2, 2},
    {"getarrayelement", FunctionKind::kScalar, 2, 2},
    {"getarraylength", FunctionKind::kScalar, 1, 1},
    // Geospatial
    {"createpoint", FunctionKind::kScalar, 2, 2},
    {"createlinestring", FunctionKind::kScalar, 2, -1},
    {"createpolygon", FunctionKind::kScalar, 4, -1},
    {"st_distance", FunctionKind::kScalar, 2, 2},
    {"st_within", FunctionKind::kScalar, 2, 2},
    {"st_intersects", FunctionKind::kScalar, 2, 2},
    {"st_overlaps", FunctionKind::kScalar, 2, 2},
    // Conditionals (evaluated by the expression engine itself)
    {"coalesce", FunctionKind::kScalar, 1, -1},
    {"nullif", FunctionKind::kScalar, 2, 2},
    // Aggregates
    {"count", FunctionKind::kAggregate, 0, 1},
    {"sum", FunctionKind::kAggregate, 1, 1},
    {"avg", FunctionKind::kAggregate, 1, 1},
    {"min", FunctionKind::kAggregate, 1, 1},
    {"max", FunctionKind::kAggregate, 1, 1},
    {"stdev", FunctionKind::kAggregate, 1, 1},
    {"stdevp", FunctionKind::kAggregate, 1, 1},
    {"var", FunctionKind::kAggregate, 1, 1},
    {"varp", FunctionKind::kAggregate, 1, 1},
    // Windows
    {"tumblingwindow", FunctionKind::kWindow, 1, 3},
    {"tumbling", FunctionKind::kWindow, 1, 3},
    {"hoppingwindow", FunctionKind::kWindow, 2, 4},
    {"hopping", FunctionKind::kWindow, 2, 4},
    {"slidingwindow", FunctionKind::kWindow, 1, 2},
    {"sliding", FunctionKind::kWindow, 1, 2},
    {"sessionwindow", FunctionKind::kWindow, 2, 3},
    {"session", FunctionKind::kWindow, 2, 3},
    {"duration", FunctionKind::kWindowPart, 2, 2},
    {"hop", FunctionKind::kWindowPart, 2, 2},
    {"offset", FunctionKind::kWindowPart, 2, 2},
    {"timeout", FunctionKind::kWindowPart, 2, 2},
    {"maxduration", FunctionKind::kWindowPart, 2, 2},
    // ASA functions not implemented yet: a clear error instead of "unknown".
    {"lag", FunctionKind::kAnalytic, 1, 3},
    {"last", FunctionKind::kAnalytic, 1, 2},
    {"isfirst", FunctionKind::kAnalytic, 2, 2},
    {"topone", FunctionKind::kAggregate, 0, 1},
    // Internal: the planner packs values with them (names a query cannot
    // write).
    {"$array", FunctionKind::kScalar, 1, -1},
    {"$record", FunctionKind::kScalar, 2, -1},
    {"collect", FunctionKind::kAggregate, 0, 1},
    {"collecttop", FunctionKind::kAggregate, 1, 2},
    {"percentile_cont", FunctionKind::kAggregate, 1, 1},
    {"percentile_disc", FunctionKind::kAggregate, 1, 1},
    {"windows", FunctionKind::kUnsupported, 0, -1},
    {"getmetadatapropertyvalue", FunctionKind::kUnsupported, 0, -1},
    {"getrecordproperties", FunctionKind::kUnsupported, 0, -1},
    {"getarrayelements", FunctionKind::kUnsupported, 0, -1},
    {"json_parse", FunctionKind::kScalar, 1, 1},
    {"anomalydetection_spikeanddip", FunctionKind::kAnalytic, 4, 4},
    {"anomalydetection_changepoint", FunctionKind::kAnalytic, 3, 3},
};

}  // namespace

const FunctionInfo* FindFunction(std::string_view name) {
  static const auto* map = [] {
    auto* m = new absl::flat_hash_map<std::string, const FunctionInfo*>();
    for (const FunctionInfo& f : kFunctions) (*m)[std::string(f.name)] = &f;
    return m;
  }();
  auto it = map->find(absl::AsciiStrToLower(absl::string_view(name.data(), name.size())));
  return it == map->end() ? nullptr : it->second;
}

std::vector<const FunctionInfo*> ScalarFunctionInfos() {
  std::vector<const FunctionInfo*> out;
  for (const FunctionInfo& f : kFunctions) {
    if (f.kind == FunctionKind::kScalar) out.push_back(&f);
  }
  return out;
}

std::string_view CanonicalDatepart(std::string_view written) {
  static const auto* map = new absl::flat_hash_map<std::string, std::string_view>{
      {"year", "year"},       {"yy", "year"},
      {"yyyy", "year"},       {"quarter", "quarter"},
      {"qq", "quarter"},      {"q", "quarter"},
      {"month", "month"},     {"mm", "month"},
      {"m", "month"},         {"dayofyear", "dayofyear"},
      {"dy", "dayofyear"},    {"y", "dayofyear"},
      {"day", "day"},         {"dd", "day"},
      {"d", "day"},           {"week", "week"},
      {"wk", "week"},         {"ww", "week"},
      {"weekday", "weekday"}, {"dw", "weekday"},
      {"w", "weekday"},       {"hour", "hour"},
      {"hh", "hour"},         {"minute", "minute"},
      {"mi", "minute"},       {"n", "minute"},
      {"second", "second"},   {"ss", "second"},
      {"s", "second"},        {"millisecond", "millisecond"},
      {"ms", "millisecond"},  {"microsecond", "microsecond"},
      {"mcs", "microsecond"}, {"nanosecond", "nanosecond"},
      {"ns", "nanosecond"},
  };
  auto it = map->find(absl::AsciiStrToLower(absl::string_view(written.data(), written.size())));
  return it == map->end() ? std::string_view() : it->second;
}

long long TicksPerTimeUnit(std::string_view unit) {
  // ASA's window units and their abbreviations, plus the plurals its own
  // examples use (PERCENTILE_CONT's docs write `hours`).
  static const auto* map = new absl::flat_hash_map<std::string, long long>{
      {"day", 864'000'000'000LL}, {"days", 864'000'000'000LL}, {"dd", 864'000'000'000LL},
      {"d", 864'000'000'000LL},   {"hour", 36'000'000'000LL},  {"hours", 36'000'000'000LL},
      {"hh", 36'000'000'000LL},   {"minute", 600'000'000LL},   {"minutes", 600'000'000LL},
      {"mi", 600'000'000LL},      {"n", 600'000'000LL},        {"second", 10'000'000LL},
      {"seconds", 10'000'000LL},  {"ss", 10'000'000LL},        {"s", 10'000'000LL},
      {"millisecond", 10'000LL},  {"milliseconds", 10'000LL},  {"ms", 10'000LL},
      {"microsecond", 10LL},      {"microseconds", 10LL},      {"mcs", 10LL},
  };
  auto it = map->find(absl::AsciiStrToLower(absl::string_view(unit.data(), unit.size())));
  return it == map->end() ? 0 : it->second;
}

}  // namespace sluice::sql
