// Where a query went wrong, for `JOB.sql:LINE:COL: error: <message>`.
#ifndef SLUICE_SQL_QUERY_ERROR_H_
#define SLUICE_SQL_QUERY_ERROR_H_

#include <string>
#include <string_view>

namespace sluice::sql {

struct SourceLocation {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in characters
};

struct QueryError {
  SourceLocation location;
  std::string message;
};

// "file:line:col: error: message" (file may be empty).
std::string FormatQueryError(std::string_view file, const QueryError& error);

}  // namespace sluice::sql

#endif  // SLUICE_SQL_QUERY_ERROR_H_
