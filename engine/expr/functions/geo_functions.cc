// Geospatial functions of the ASA dialect.
//
// - CreatePoint(lat, lon): the GeoJSON record {"type":"Point",
//   "coordinates":[lon, lat]} (GeoJSON puts longitude first).
// - CreateLineString(p1, p2, ...): a GeoJSON LineString of at least two
//   points, connected in order.
// - CreatePolygon(p1, ..., pN): a GeoJSON Polygon of one ring; the ring is
//   closed by repeating the first point, so N >= 4 (three distinct points).
// - ST_DISTANCE(a, b): metres. Point to point on the WGS84 ellipsoid
//   (GeographicLib's geodesic, which is what ASA's documented example gives);
//   any other pair: the closest distance on a sphere of the earth's mean
//   radius (S2), 0 when the geometries touch or one contains the other.
// - ST_WITHIN(a, b): 1 when a lies inside b, else 0.
// - ST_INTERSECTS(a, b): 1 when a and b share a point (boundaries included).
// - ST_OVERLAPS(a, b): 1 when two polygons share some area and neither lies
//   within the other, else 0; points, and geometries of different kinds,
//   never overlap; two linestrings fail the row (not supported).
//
// A geometry argument is a GeoJSON record (Point, LineString, Polygon), a
// GeoJSON object in a string, or a WKT string (POINT(lon lat),
// LINESTRING(...), POLYGON((...), ...)). Polygon rings may be given in either
// orientation: a ring bounds the smaller of the two regions it separates
// (ASA would take a clockwise ring as the whole globe minus the ring).
// A NULL argument gives NULL; a value that is no valid geometry (coordinates
// out of range or not numbers, an unclosed or self-crossing ring, more than
// kMaxVertices vertices, bad WKT) fails the row with the reason.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "GeographicLib/Geodesic.hpp"
#include "absl/strings/str_cat.h"
#include "engine/core/arena.h"
#include "engine/core/conversion.h"
#include "engine/core/value.h"
#include "engine/expr/functions/json_value.h"
#include "engine/expr/scalar_function.h"
#include "s2/mutable_s2shape_index.h"
#include "s2/s1chord_angle.h"
#include "s2/s2boolean_operation.h"
#include "s2/s2closest_edge_query.h"
#include "s2/s2earth.h"
#include "s2/s2error.h"
#include "s2/s2latlng.h"
#include "s2/s2loop.h"
#include "s2/s2point_vector_shape.h"
#include "s2/s2polygon.h"
#include "s2/s2polyline.h"

namespace sluice {
namespace {

// Vertices one geometry may have (all rings together); more fails the row.
constexpr size_t kMaxVertices = 10000;
// Longest GeoJSON string parsed.
constexpr size_t kMaxGeoJsonBytes = size_t{1} << 20;
// Nesting a GeoJSON string may have (a Polygon needs 4 levels).
constexpr int kMaxGeoJsonDepth = 8;

enum class GeoKind { kPoint, kLineString, kPolygon };

const char* KindName(GeoKind kind) {
  switch (kind) {
    case GeoKind::kPoint:
      return "Point";
    case GeoKind::kLineString:
      return "LineString";
    case GeoKind::kPolygon:
      return "Polygon";
  }
  return "?";
}

struct LonLat {
  double lon;
  double lat;
  bool operator==(const LonLat&) const = default;
};

// A geometry as read from a value: its coordinates, checked for range.
struct GeoShape {
  GeoKind kind = GeoKind::kPoint;
  // Point: one part of one position. LineString: one part. Polygon: rings,
  // each closed (last position == first).
  std::vector<std::vector<LonLat>> parts;
};

// ---------------------------------------------------------------------------
// Reading coordinates

bool CheckPosition(double lon, double lat, std::string* error) {
  if (!std::isfinite(lon) || !std::isfinite(lat)) {
    *error = "coordinates must be finite numbers";
    return false;
  }
  if (lat < -90 || lat > 90) {
    *error = absl::StrCat("latitude must be between -90 and 90: ", lat);
    return false;
  }
  if (lon < -180 || lon > 180) {
    *error = absl::StrCat("longitude must be between -180 and 180: ", lon);
    return false;
  }
  return true;
}

class VertexBudget {
 public:
  bool Take(std::string* error) {
    if (used_ >= kMaxVertices) {
      *error = absl::StrCat("a geometry may have at most ", kMaxVertices, " vertices");
      return false;
    }
    ++used_;
    return true;
  }

 private:
  size_t used_ = 0;
};

// [lon, lat] or [lon, lat, altitude] (the altitude is ignored).
bool ReadPosition(const Value& v, LonLat* out, std::string* error) {
  if (v.type() != ValueType::kArray || v.size() < 2 || v.size() > 3) {
    *error = "a position must be an array [longitude, latitude]";
    return false;
  }
  for (uint32_t i = 0; i < v.size(); ++i) {
    if (!v.items()[i].is_numeric()) {
      *error = "a position must hold numbers";
      return false;
    }
  }
  out->lon = v.items()[0].AsDouble();
  out->lat = v.items()[1].AsDouble();
  return CheckPosition(out->lon, out->lat, error);
}

bool ReadPositions(const Value& v, VertexBudget* budget, std::vector<LonLat>* out,
                   std::string* error) {
  if (v.type() != ValueType::kArray) {
    *error = "coordinates must be an array of positions";
    return false;
  }
  out->reserve(std::min<size_t>(v.size(), kMaxVertices));
  for (uint32_t i = 0; i < v.size(); ++i) {
    if (!budget->Take(error)) return false;
    LonLat p;
    if (!ReadPosition(v.items()[i], &p, error)) return false;
    out->push_back(p);
  }
  return true;
}

bool CheckLineString(const std::vector<LonLat>& line, std::string* error) {
  if (line.size() < 2) {
    *error = "a LineString needs at least 2 points";
    return false;
  }
  return true;
}

bool CheckRing(const std::vector<LonLat>& ring, std::string* error) {
  if (ring.size() < 4) {
    *error = "a polygon ring needs at least 4 points (3 distinct, then the first again)";
    return false;
  }
  if (!(ring.front() == ring.back())) {
    *error = "a polygon ring must end with its first point";
    return false;
  }
  return true;
}

bool ReadGeoRecord(const Value& record, GeoShape* out, std::string* error) {
  const Value type = record.Field("type");
  const Value coordinates = record.Field("coordinates");
  if (type.type() != ValueType::kString) {
    *error = "a GeoJSON geometry needs a \"type\" string";
    return false;
  }
  if (coordinates.type() != ValueType::kArray) {
    *error = "a GeoJSON geometry needs a \"coordinates\" array";
    return false;
  }
  VertexBudget budget;
  const std::string_view t = type.string();
  if (EqualsIgnoreCase(t, "Point")) {
    out->kind = GeoKind::kPoint;
    LonLat p;
    if (!ReadPosition(coordinates, &p, error)) return false;
    out->parts = {{p}};
    return true;
  }
  if (EqualsIgnoreCase(t, "LineString")) {
    out->kind = GeoKind::kLineString;
    out->parts.resize(1);
    return ReadPositions(coordinates, &budget, &out->parts[0], error) &&
           CheckLineString(out->parts[0], error);
  }
  if (EqualsIgnoreCase(t, "Polygon")) {
    out->kind = GeoKind::kPolygon;
    if (coordinates.size() == 0) {
      *error = "a Polygon needs at least one ring";
      return false;
    }
    // ASA's own examples sometimes write a polygon's single ring without the
    // array of rings around it ([[lon, lat], ...]); accept both.
    const Value& first = coordinates.items()[0];
    const bool single_ring =
        first.type() == ValueType::kArray && first.size() > 0 && first.items()[0].is_numeric();
    if (single_ring) {
      out->parts.resize(1);
      return ReadPositions(coordinates, &budget, &out->parts[0], error) &&
             CheckRing(out->parts[0], error);
    }
    for (uint32_t i = 0; i < coordinates.size(); ++i) {
      out->parts.emplace_back();
      if (!ReadPositions(coordinates.items()[i], &budget, &out->parts.back(), error) ||
          !CheckRing(out->parts.back(), error)) {
        return false;
      }
    }
    return true;
  }
  *error = absl::StrCat("unsupported GeoJSON type (Point, LineString or Polygon expected): ",
                        std::string(t.substr(0, 40)));
  return false;
}

// ---------------------------------------------------------------------------
// WKT: POINT(lon lat), LINESTRING(lon lat, ...), POLYGON((lon lat, ...), ...)

class WktReader {
 public:
  explicit WktReader(std::string_view text) : text_(text) {}

  bool Read(GeoShape* out, std::string* error) {
    error_ = error;
    SkipSpace();
    const std::string_view word = Word();
    if (EqualsIgnoreCase(word, "POINT")) {
      out->kind = GeoKind::kPoint;
      LonLat p;
      if (!Expect('(') || !Position(&p) || !Expect(')')) return false;
      out->parts = {{p}};
    } else if (EqualsIgnoreCase(word, "LINESTRING")) {
      out->kind = GeoKind::kLineString;
      out->parts.resize(1);
      if (!PositionList(&out->parts[0]) || !CheckLineString(out->parts[0], error)) return false;
    } else if (EqualsIgnoreCase(word, "POLYGON")) {
      out->kind = GeoKind::kPolygon;
      if (!Expect('(')) return false;
      do {
        out->parts.emplace_back();
        if (!PositionList(&out->parts.back()) || !CheckRing(out->parts.back(), error)) {
          return false;
        }
      } while (Accept(','));
      if (!Expect(')')) return false;
    } else {
      return Fail("WKT must start with POINT, LINESTRING or POLYGON");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Fail("unexpected text after the WKT geometry");
    return true;
  }

 private:
  bool Fail(std::string message) {
    *error_ = std::move(message);
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string_view Word() {
    const size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') ||
                                   (text_[pos_] >= 'A' && text_[pos_] <= 'Z'))) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  bool Accept(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool Expect(char c) {
    if (Accept(c)) return true;
    return Fail(absl::StrCat("malformed WKT: expected '", std::string(1, c), "' at offset ", pos_));
  }

  bool Number(double* out) {
    SkipSpace();
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    auto [ptr, ec] = std::from_chars(begin, end, *out);
    if (ec != std::errc() || ptr == begin) {
      return Fail(absl::StrCat("malformed WKT: expected a number at offset ", pos_));
    }
    pos_ += static_cast<size_t>(ptr - begin);
    return true;
  }

  bool Position(LonLat* p) {
    if (!Number(&p->lon) || !Number(&p->lat)) return false;
    return CheckPosition(p->lon, p->lat, error_);
  }

  bool PositionList(std::vector<LonLat>* out) {
    if (!Expect('(')) return false;
    do {
      if (!budget_.Take(error_)) return false;
      LonLat p;
      if (!Position(&p)) return false;
      out->push_back(p);
    } while (Accept(','));
    return Expect(')');
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string* error_ = nullptr;
  VertexBudget budget_;
};

// ---------------------------------------------------------------------------
// GeoJSON in a string: parsed into Values, then read as a record.

bool ReadGeoJsonString(std::string_view text, GeoShape* out, std::string* error) {
  Arena arena;
  Value record;
  std::string why;
  if (!ParseJsonValue(text, JsonLimits{kMaxGeoJsonBytes, kMaxGeoJsonDepth, kMaxVertices}, &arena,
                      &record, &why)) {
    *error = absl::StrCat("malformed GeoJSON: ", why);
    return false;
  }
  if (record.type() != ValueType::kRecord) {
    *error = "GeoJSON must be an object";
    return false;
  }
  return ReadGeoRecord(record, out, error);
}

bool ReadGeometry(const Value& v, GeoShape* out, std::string* error) {
  if (v.type() == ValueType::kRecord) return ReadGeoRecord(v, out, error);
  if (v.type() == ValueType::kString) {
    std::string_view s = v.string();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    if (i < s.size() && s[i] == '{') return ReadGeoJsonString(s, out, error);
    return WktReader(s).Read(out, error);
  }
  *error = absl::StrCat("expected a GeoJSON record or a WKT string, got ", ShortDebugString(v));
  return false;
}

// ---------------------------------------------------------------------------
// S2 geometries

S2Point ToS2(const LonLat& p) { return S2LatLng::FromDegrees(p.lat, p.lon).ToPoint(); }

// S2's Vector3 equality, spelled out: clang in C++20 finds its operator==
// ambiguous with the reversed candidate.
bool SamePoint(const S2Point& a, const S2Point& b) {
  return a.x() == b.x() && a.y() == b.y() && a.z() == b.z();
}

// Drops vertices equal to the one before (S2 rejects zero-length edges).
std::vector<S2Point> DistinctRun(std::span<const LonLat> positions) {
  std::vector<S2Point> points;
  points.reserve(positions.size());
  for (const LonLat& p : positions) {
    const S2Point s = ToS2(p);
    if (points.empty() || !SamePoint(points.back(), s)) points.push_back(s);
  }
  return points;
}

struct S2Geo {
  GeoKind kind = GeoKind::kPoint;
  LonLat point{};  // kPoint only
  std::unique_ptr<S2Polyline> line;
  std::unique_ptr<S2Polygon> polygon;
  MutableS2ShapeIndex index;  // holds the geometry above (shapes point into it)
};

bool BuildS2(const GeoShape& shape, S2Geo* out, std::string* error) {
  out->kind = shape.kind;
  S2Error s2error;
  switch (shape.kind) {
    case GeoKind::kPoint:
      out->point = shape.parts[0][0];
      out->index.Add(std::make_unique<S2PointVectorShape>(std::vector<S2Point>{ToS2(out->point)}));
      return true;
    case GeoKind::kLineString: {
      std::vector<S2Point> points = DistinctRun(shape.parts[0]);
      if (points.size() == 1) {  // every point the same: it is that point
        out->kind = GeoKind::kPoint;
        out->point = shape.parts[0][0];
        out->index.Add(std::make_unique<S2PointVectorShape>(std::move(points)));
        return true;
      }
      out->line = std::make_unique<S2Polyline>(points, S2Debug::DISABLE);
      if (out->line->FindValidationError(&s2error)) {
        *error = absl::StrCat("invalid LineString: ", s2error.text());
        return false;
      }
      out->index.Add(std::make_unique<S2Polyline::Shape>(out->line.get()));
      return true;
    }
    case GeoKind::kPolygon: {
      std::vector<std::unique_ptr<S2Loop>> loops;
      for (const std::vector<LonLat>& ring : shape.parts) {
        std::vector<S2Point> points =
            DistinctRun(std::span<const LonLat>(ring.data(), ring.size() - 1));
        while (points.size() > 1 && SamePoint(points.back(), points.front())) points.pop_back();
        if (points.size() < 3) {
          *error = "a polygon ring needs at least 3 distinct points";
          return false;
        }
        auto loop = std::make_unique<S2Loop>(points, S2Debug::DISABLE);
        if (loop->FindValidationError(&s2error)) {
          *error = absl::StrCat("invalid polygon ring: ", s2error.text());
          return false;
        }
        // Either orientation: the ring bounds the smaller region.
        loop->Normalize();
        loops.push_back(std::move(loop));
      }
      out->polygon = std::make_unique<S2Polygon>(std::move(loops), S2Debug::DISABLE);
      if (out->polygon->FindValidationError(&s2error)) {
        *error = absl::StrCat("invalid polygon: ", s2error.text());
        return false;
      }
      out->index.Add(std::make_unique<S2Polygon::Shape>(out->polygon.get()));
      return true;
    }
  }
  return false;
}

// Reads argument `i` of `fn` into `out`; false (the row failed) if it is no
// valid geometry.
bool GeometryArg(const char* fn, const Value* args, int i, S2Geo* out, CallContext& ctx) {
  std::string error;
  GeoShape shape;
  if (!ReadGeometry(args[i], &shape, &error) || !BuildS2(shape, out, &error)) {
    ctx.Fail(absl::StrCat(fn, " argument ", i + 1, " is not a valid geometry: ", error));
    return false;
  }
  return true;
}

bool AnyNull(const Value* args, int num_args) {
  for (int i = 0; i < num_args; ++i) {
    if (args[i].is_null()) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// GeoJSON output

Value PositionValue(const LonLat& p, Arena* arena) {
  Value* items = arena->AllocateArray<Value>(2);
  items[0] = Value::Float(p.lon);
  items[1] = Value::Float(p.lat);
  return Value::Array(items, 2);
}

Value PositionsValue(const std::vector<LonLat>& positions, Arena* arena) {
  Value* items = arena->AllocateArray<Value>(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) items[i] = PositionValue(positions[i], arena);
  return Value::Array(items, static_cast<uint32_t>(positions.size()));
}

Value GeoRecord(GeoKind kind, Value coordinates, Arena* arena) {
  RecordField* fields = arena->AllocateArray<RecordField>(2);
  fields[0] = {"type", Value::String(KindName(kind))};
  fields[1] = {"coordinates", coordinates};
  return Value::Record(fields, 2);
}

// ---------------------------------------------------------------------------
// The functions

Value CreatePoint(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  if (!args[0].is_numeric()) {
    return ctx.Fail(
        absl::StrCat("CreatePoint expects a numeric latitude: ", ShortDebugString(args[0])));
  }
  if (!args[1].is_numeric()) {
    return ctx.Fail(
        absl::StrCat("CreatePoint expects a numeric longitude: ", ShortDebugString(args[1])));
  }
  const LonLat p{args[1].AsDouble(), args[0].AsDouble()};
  std::string error;
  if (!CheckPosition(p.lon, p.lat, &error)) {
    return ctx.Fail(absl::StrCat("CreatePoint: ", error));
  }
  return GeoRecord(GeoKind::kPoint, PositionValue(p, ctx.arena()), ctx.arena());
}

// The points of CreateLineString and CreatePolygon, validated.
bool PointArgs(const char* fn, const Value* args, int num_args, std::vector<LonLat>* out,
               CallContext& ctx) {
  out->reserve(static_cast<size_t>(num_args));
  for (int i = 0; i < num_args; ++i) {
    std::string error;
    GeoShape shape;
    if (!ReadGeometry(args[i], &shape, &error)) {
      ctx.Fail(absl::StrCat(fn, " argument ", i + 1, " is not a valid point: ", error));
      return false;
    }
    if (shape.kind != GeoKind::kPoint) {
      ctx.Fail(
          absl::StrCat(fn, " expects points; argument ", i + 1, " is a ", KindName(shape.kind)));
      return false;
    }
    out->push_back(shape.parts[0][0]);
  }
  return true;
}

Value CreateLineString(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  GeoShape shape;
  shape.kind = GeoKind::kLineString;
  shape.parts.resize(1);
  if (!PointArgs("CreateLineString", args, num_args, &shape.parts[0], ctx)) return Value::Null();
  std::string error;
  S2Geo geo;
  if (!CheckLineString(shape.parts[0], &error) || !BuildS2(shape, &geo, &error)) {
    return ctx.Fail(absl::StrCat("CreateLineString: ", error));
  }
  return GeoRecord(GeoKind::kLineString, PositionsValue(shape.parts[0], ctx.arena()), ctx.arena());
}

Value CreatePolygon(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  GeoShape shape;
  shape.kind = GeoKind::kPolygon;
  shape.parts.resize(1);
  if (!PointArgs("CreatePolygon", args, num_args, &shape.parts[0], ctx)) return Value::Null();
  std::string error;
  S2Geo geo;
  if (!CheckRing(shape.parts[0], &error) || !BuildS2(shape, &geo, &error)) {
    return ctx.Fail(absl::StrCat("CreatePolygon: ", error));
  }
  Value* rings = ctx.arena()->AllocateArray<Value>(1);
  rings[0] = PositionsValue(shape.parts[0], ctx.arena());
  return GeoRecord(GeoKind::kPolygon, Value::Array(rings, 1), ctx.arena());
}

Value StDistance(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  S2Geo a;
  S2Geo b;
  if (!GeometryArg("ST_DISTANCE", args, 0, &a, ctx) ||
      !GeometryArg("ST_DISTANCE", args, 1, &b, ctx)) {
    return Value::Null();
  }
  if (a.kind == GeoKind::kPoint && b.kind == GeoKind::kPoint) {
    double metres = 0;
    GeographicLib::Geodesic::WGS84().Inverse(a.point.lat, a.point.lon, b.point.lat, b.point.lon,
                                             metres);
    return Value::Float(metres);
  }
  S2ClosestEdgeQuery query(&b.index);
  query.mutable_options()->set_include_interiors(true);
  S2ClosestEdgeQuery::ShapeIndexTarget target(&a.index);
  target.set_include_interiors(true);
  const S1ChordAngle distance = query.GetDistance(&target);
  return Value::Float(S2Earth::ToMeters(distance));
}

Value StWithin(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  S2Geo a;
  S2Geo b;
  if (!GeometryArg("ST_WITHIN", args, 0, &a, ctx) || !GeometryArg("ST_WITHIN", args, 1, &b, ctx)) {
    return Value::Null();
  }
  // Semi-open polygons: of two polygons sharing an edge, a point on it lies
  // in exactly one.
  return Value::Bigint(S2BooleanOperation::Contains(b.index, a.index) ? 1 : 0);
}

Value StIntersects(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  S2Geo a;
  S2Geo b;
  if (!GeometryArg("ST_INTERSECTS", args, 0, &a, ctx) ||
      !GeometryArg("ST_INTERSECTS", args, 1, &b, ctx)) {
    return Value::Null();
  }
  S2BooleanOperation::Options options;
  options.set_polygon_model(S2BooleanOperation::PolygonModel::CLOSED);
  options.set_polyline_model(S2BooleanOperation::PolylineModel::CLOSED);
  return Value::Bigint(S2BooleanOperation::Intersects(a.index, b.index, options) ? 1 : 0);
}

Value StOverlaps(const Value* args, int num_args, CallContext& ctx) {
  if (AnyNull(args, num_args)) return Value::Null();
  S2Geo a;
  S2Geo b;
  if (!GeometryArg("ST_OVERLAPS", args, 0, &a, ctx) ||
      !GeometryArg("ST_OVERLAPS", args, 1, &b, ctx)) {
    return Value::Null();
  }
  if (a.kind != b.kind || a.kind == GeoKind::kPoint) return Value::Bigint(0);
  if (a.kind == GeoKind::kLineString) {
    // S2's boolean operations match polyline edges only when they are the
    // same edge, so a shared stretch between different vertices goes unseen.
    return ctx.Fail("ST_OVERLAPS of two linestrings is not supported (polygons only)");
  }
  S2BooleanOperation::Options open;
  open.set_polygon_model(S2BooleanOperation::PolygonModel::OPEN);
  const bool share = S2BooleanOperation::Intersects(a.index, b.index, open);
  const bool overlaps = share && !S2BooleanOperation::Contains(a.index, b.index) &&
                        !S2BooleanOperation::Contains(b.index, a.index);
  return Value::Bigint(overlaps ? 1 : 0);
}

constexpr ScalarFunction kGeoFunctions[] = {
    {"createpoint", 2, 2, &CreatePoint},      {"createlinestring", 2, -1, &CreateLineString},
    {"createpolygon", 4, -1, &CreatePolygon}, {"st_distance", 2, 2, &StDistance},
    {"st_within", 2, 2, &StWithin},           {"st_intersects", 2, 2, &StIntersects},
    {"st_overlaps", 2, 2, &StOverlaps},
};

}  // namespace

std::span<const ScalarFunction> GeoFunctions() { return kGeoFunctions; }

}  // namespace sluice
