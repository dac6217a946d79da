// Geospatial functions (engine/expr/functions/geo_functions.cc), checked
// against oracles computed here: Vincenty's inverse formula on WGS84 and the
// haversine formula for distances, ray casting in the lon/lat plane for point
// in polygon, and the examples of ASA's documentation.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/engine/functions_test_support.h"

namespace sluice {
namespace {

using testing_support::FunctionsTest;

constexpr double kDeg = std::numbers::pi / 180;

// Vincenty's inverse formula on the WGS84 ellipsoid (metres); converges for
// the non-antipodal pairs used here.
double Vincenty(double lat1, double lon1, double lat2, double lon2) {
  const double a = 6378137.0;
  const double f = 1 / 298.257223563;
  const double b = a * (1 - f);
  const double u1 = std::atan((1 - f) * std::tan(lat1 * kDeg));
  const double u2 = std::atan((1 - f) * std::tan(lat2 * kDeg));
  const double l = (lon2 - lon1) * kDeg;
  double lambda = l;
  double sin_sigma = 0, cos_sigma = 0, sigma = 0, cos2_alpha = 0, cos_2sm = 0;
  for (int i = 0; i < 200; ++i) {
    const double sin_l = std::sin(lambda), cos_l = std::cos(lambda);
    sin_sigma = std::hypot(std::cos(u2) * sin_l,
                           std::cos(u1) * std::sin(u2) - std::sin(u1) * std::cos(u2) * cos_l);
    if (sin_sigma == 0) return 0;
    cos_sigma = std::sin(u1) * std::sin(u2) + std::cos(u1) * std::cos(u2) * cos_l;
    sigma = std::atan2(sin_sigma, cos_sigma);
    const double sin_alpha = std::cos(u1) * std::cos(u2) * sin_l / sin_sigma;
    cos2_alpha = 1 - sin_alpha * sin_alpha;
    cos_2sm = cos2_alpha == 0 ? 0 : cos_sigma - 2 * std::sin(u1) * std::sin(u2) / cos2_alpha;
    const double c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha));
    const double next =
        l + (1 - c) * f * sin_alpha *
                (sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm * cos_2sm)));
    const bool done = std::fabs(next - lambda) < 1e-13;
    lambda = next;
    if (done) break;
  }
  const double u_sq = cos2_alpha * (a * a - b * b) / (b * b);
  const double big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)));
  const double big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)));
  const double delta_sigma =
      big_b * sin_sigma *
      (cos_2sm +
       big_b / 4 *
           (cos_sigma * (-1 + 2 * cos_2sm * cos_2sm) -
            big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma * sin_sigma) * (-3 + 4 * cos_2sm * cos_2sm)));
  return b * big_a * (sigma - delta_sigma);
}

// Great-circle distance on a sphere of radius r (metres).
double Haversine(double lat1, double lon1, double lat2, double lon2, double r = 6371010.0) {
  const double dlat = (lat2 - lat1) * kDeg, dlon = (lon2 - lon1) * kDeg;
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(lat1 * kDeg) * std::cos(lat2 * kDeg) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * r * std::asin(std::min(1.0, std::sqrt(h)));
}

struct Pt {
  double lon;
  double lat;
};

// Even-odd ray casting in the lon/lat plane.
bool RayCastInside(const std::vector<Pt>& ring, Pt p) {
  bool inside = false;
  for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const Pt& a = ring[i];
    const Pt& b = ring[j];
    if ((a.lat > p.lat) != (b.lat > p.lat) &&
        p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon) {
      inside = !inside;
    }
  }
  return inside;
}

// Distance in degrees from p to the segment ab in the lon/lat plane.
double PlaneSegmentDistance(Pt p, Pt a, Pt b) {
  const double dx = b.lon - a.lon, dy = b.lat - a.lat;
  double t = ((p.lon - a.lon) * dx + (p.lat - a.lat) * dy) / (dx * dx + dy * dy);
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.lon - (a.lon + t * dx), p.lat - (a.lat + t * dy));
}

class GeoFunctionsTest : public FunctionsTest {
 protected:
  Value Pos(double lon, double lat) { return Array({F(lon), F(lat)}); }
  Value Point(double lon, double lat) {
    return Record({{"type", S("Point")}, {"coordinates", Pos(lon, lat)}});
  }
  Value Positions(const std::vector<Pt>& pts) {
    std::vector<Value> items;
    for (const Pt& p : pts) items.push_back(Pos(p.lon, p.lat));
    return Array(items);
  }
  Value Line(const std::vector<Pt>& pts) {
    return Record({{"type", S("LineString")}, {"coordinates", Positions(pts)}});
  }
  // A one-ring polygon; the ring is closed here.
  Value Polygon(std::vector<Pt> ring) {
    ring.push_back(ring.front());
    return Record({{"type", S("Polygon")}, {"coordinates", Array({Positions(ring)})}});
  }
  Value PolygonWithHole(std::vector<Pt> shell, std::vector<Pt> hole) {
    shell.push_back(shell.front());
    hole.push_back(hole.front());
    return Record(
        {{"type", S("Polygon")}, {"coordinates", Array({Positions(shell), Positions(hole)})}});
  }
  Value Square(double lon0, double lat0, double size) {
    return Polygon(
        {{lon0, lat0}, {lon0 + size, lat0}, {lon0 + size, lat0 + size}, {lon0, lat0 + size}});
  }
  // Random points around `ring` are inside exactly when ray casting says so.
  void CheckAgainstRayCasting(const std::vector<Pt>& ring, uint32_t seed) {
    std::vector<Pt> reversed(ring.rbegin(), ring.rend());
    const Value polygon = Polygon(ring);
    const Value clockwise = Polygon(reversed);
    double min_lon = 1e9, max_lon = -1e9, min_lat = 1e9, max_lat = -1e9;
    for (const Pt& p : ring) {
      min_lon = std::min(min_lon, p.lon), max_lon = std::max(max_lon, p.lon);
      min_lat = std::min(min_lat, p.lat), max_lat = std::max(max_lat, p.lat);
    }
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> lon(min_lon - 0.2, max_lon + 0.2),
        lat(min_lat - 0.2, max_lat + 0.2);
    int inside = 0, checked = 0;
    for (int i = 0; i < 400; ++i) {
      const Pt p{lon(rng), lat(rng)};
      // Edges are great-circle arcs, not straight in lon/lat: leave out points
      // so close to an edge that the two could disagree.
      double nearest = 1e9;
      for (size_t k = 0; k < ring.size(); ++k) {
        nearest = std::min(nearest, PlaneSegmentDistance(p, ring[k], ring[(k + 1) % ring.size()]));
      }
      if (nearest < 0.01) continue;
      const bool expected = RayCastInside(ring, p);
      inside += expected;
      ++checked;
      const std::string want = expected ? "1" : "0";
      EXPECT_EQ(Eval("st_within", {Point(p.lon, p.lat), polygon}), want) << p.lon << " " << p.lat;
      // Ring orientation does not matter.
      EXPECT_EQ(Eval("st_within", {Point(p.lon, p.lat), clockwise}), want) << p.lon << " " << p.lat;
      // The same point as WKT.
      EXPECT_EQ(
          Eval("st_within",
               {S("POINT(" + std::to_string(p.lon) + " " + std::to_string(p.lat) + ")"), polygon}),
          want);
    }
    EXPECT_GT(inside, 20);
    EXPECT_GT(checked - inside, 20);
  }
};

// ---------------------------------------------------------------------------
// Constructors

TEST_F(GeoFunctionsTest, CreatePointPutsLongitudeFirst) {
  // ASA's CreatePoint example.
  EXPECT_EQ(Eval("createpoint", {F(3.0), F(-10.2)}),
            R"({"type":"Point","coordinates":[-10.2,3.0]})");
  EXPECT_EQ(Eval("createpoint", {F(-87.33), F(20.2321)}),
            R"({"type":"Point","coordinates":[20.2321,-87.33]})");
  EXPECT_EQ(Eval("createpoint", {I(10), I(-20)}), R"({"type":"Point","coordinates":[-20.0,10.0]})");
}

TEST_F(GeoFunctionsTest, CreateLineStringAndPolygonFollowTheDocumentedShape) {
  const Value p = Call("createpoint", {F(3.0), F(-10.2)});
  const Value q = Call("createpoint", {F(10.0), F(10.0)});
  const Value r = Call("createpoint", {F(10.5), F(10.5)});
  EXPECT_EQ(Eval("createlinestring", {p, q, r}),
            R"({"type":"LineString","coordinates":[[-10.2,3.0],[10.0,10.0],[10.5,10.5]]})");
  EXPECT_EQ(
      Eval("createpolygon", {p, q, r, p}),
      R"({"type":"Polygon","coordinates":[[[-10.2,3.0],[10.0,10.0],[10.5,10.5],[-10.2,3.0]]]})");
  // Points may also be WKT or GeoJSON text.
  EXPECT_EQ(
      Eval("createlinestring", {S("POINT(1 2)"), S(R"({"type":"Point","coordinates":[3,4]})")}),
      R"({"type":"LineString","coordinates":[[1.0,2.0],[3.0,4.0]]})");
}

TEST_F(GeoFunctionsTest, ConstructorsRejectBadPoints) {
  EXPECT_EQ(Eval("createpoint", {F(91), F(0)}),
            "error: CreatePoint: latitude must be between -90 and 90: 91");
  EXPECT_EQ(Eval("createpoint", {F(0), F(-180.5)}),
            "error: CreatePoint: longitude must be between -180 and 180: -180.5");
  EXPECT_TRUE(Fails("createpoint", {F(std::nan("")), F(0)}));
  EXPECT_TRUE(Fails("createpoint", {F(0), F(INFINITY)}));
  EXPECT_EQ(Eval("createpoint", {S("north"), F(0)}),
            "error: CreatePoint expects a numeric latitude: 'north'");
  const Value p = Call("createpoint", {F(0), F(0)});
  const Value q = Call("createpoint", {F(0), F(1)});
  const Value r = Call("createpoint", {F(1), F(1)});
  EXPECT_EQ(Eval("createpolygon", {p, q, r, q}),
            "error: CreatePolygon: a polygon ring must end with its first point");
  EXPECT_EQ(Eval("createpolygon", {p, q, q, p}),
            "error: CreatePolygon: a polygon ring needs at least 3 distinct points");
  EXPECT_EQ(Eval("createlinestring", {p, Square(0, 0, 1)}),
            "error: CreateLineString expects points; argument 2 is a Polygon");
  // Nearly antipodal consecutive points (0, 0) and (0, 180) are accepted:
  // as unit vectors they are not exactly opposite.
  EXPECT_FALSE(Fails("createlinestring", {p, Call("createpoint", {F(0), F(180)})}));
}

TEST_F(GeoFunctionsTest, NullArgumentsGiveNull) {
  const Value p = Call("createpoint", {F(0), F(0)});
  EXPECT_EQ(Eval("createpoint", {N(), F(0)}), "null");
  EXPECT_EQ(Eval("createlinestring", {p, N()}), "null");
  EXPECT_EQ(Eval("createpolygon", {p, p, N(), p}), "null");
  for (const char* fn : {"st_distance", "st_within", "st_intersects", "st_overlaps"}) {
    EXPECT_EQ(Eval(fn, {N(), p}), "null") << fn;
    EXPECT_EQ(Eval(fn, {p, N()}), "null") << fn;
  }
}

// ---------------------------------------------------------------------------
// ST_DISTANCE

TEST_F(GeoFunctionsTest, DistanceOfTheDocumentedExample) {
  // ASA's ST_DISTANCE example: [-5, -5] to [0, 0] is 784028.74077501823 m,
  // the WGS84 geodesic.
  const double d = EvalFloat("st_distance", {Point(-5, -5), Point(0, 0)});
  EXPECT_NEAR(d, 784028.74077501823, 1e-3);
  EXPECT_NEAR(d, Vincenty(-5, -5, 0, 0), 1e-2);  // Vincenty is good to a millimetre or so
}

TEST_F(GeoFunctionsTest, PointDistancesMatchVincenty) {
  struct City {
    double lat, lon;
  };
  const City paris{48.8566, 2.3522}, london{51.5074, -0.1278}, new_york{40.7128, -74.0060},
      sydney{-33.8688, 151.2093}, tokyo{35.6762, 139.6503};
  const City cities[] = {paris, london, new_york, sydney, tokyo};
  for (const City& a : cities) {
    for (const City& b : cities) {
      const double d = EvalFloat("st_distance", {Point(a.lon, a.lat), Point(b.lon, b.lat)});
      EXPECT_NEAR(d, Vincenty(a.lat, a.lon, b.lat, b.lon), 1e-2);
      // The ellipsoid and the sphere agree to half a percent.
      EXPECT_NEAR(d, Haversine(a.lat, a.lon, b.lat, b.lon), 0.005 * d + 1e-6);
    }
  }
  // Paris to London is about 343.5 km.
  EXPECT_NEAR(
      EvalFloat("st_distance", {Point(paris.lon, paris.lat), Point(london.lon, london.lat)}),
      343.5e3, 1e3);
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> lat(-80, 80), lon(-180, 180);
  for (int i = 0; i < 200; ++i) {
    const double lat1 = lat(rng), lon1 = lon(rng), lat2 = lat(rng), lon2 = lon(rng);
    if (Haversine(lat1, lon1, lat2, lon2) > 15e6) continue;  // Vincenty is slow near antipodes
    EXPECT_NEAR(EvalFloat("st_distance", {Point(lon1, lat1), Point(lon2, lat2)}),
                Vincenty(lat1, lon1, lat2, lon2), 1e-2);
  }
}

TEST_F(GeoFunctionsTest, DistanceToLinesAndPolygonsIsTheClosestDistanceOnTheSphere) {
  const Value square = Square(0, 0, 1);
  EXPECT_EQ(EvalFloat("st_distance", {Point(0.5, 0.5), square}), 0.0);  // inside
  EXPECT_EQ(EvalFloat("st_distance", {square, Square(0.5, 0.5, 1)}), 0.0);
  // North of the square's top edge, one degree of arc away (the edge is a
  // great-circle arc, a hair north of latitude 1 at its middle).
  const double one_degree = 6371010.0 * kDeg;
  EXPECT_NEAR(EvalFloat("st_distance", {Point(0.5, 2), square}), one_degree, 50);
  EXPECT_NEAR(EvalFloat("st_distance", {square, Point(0.5, 2)}), one_degree, 50);
  // To the nearest vertex of a line.
  EXPECT_NEAR(EvalFloat("st_distance", {Point(3, 0), Line({{0, 0}, {1, 0}})}),
              Haversine(0, 3, 0, 1), 1e-3);
  EXPECT_NEAR(EvalFloat("st_distance", {Line({{0, 2}, {1, 2}}), Line({{0, 0}, {1, 0}})}),
              2 * one_degree, 1e-3);
}

// ---------------------------------------------------------------------------
// ST_WITHIN

TEST_F(GeoFunctionsTest, WithinOfTheDocumentedExamples) {
  EXPECT_EQ(Eval("st_within", {Point(76.6, 10.1), Square(0, 0, 10)}), "0");
  EXPECT_EQ(Eval("st_within", {Point(15, 15), Square(10, 10, 10)}), "1");
}

TEST_F(GeoFunctionsTest, WithinAgreesWithRayCastingForAConvexPolygon) {
  CheckAgainstRayCasting({{2.0, 48.0}, {3.0, 48.2}, {3.4, 49.0}, {2.6, 49.6}, {1.8, 49.0}}, 1);
}

TEST_F(GeoFunctionsTest, WithinAgreesWithRayCastingForAConcavePolygon) {
  // A "C" opening to the east, and a star.
  CheckAgainstRayCasting(
      {{0, 0}, {2, 0}, {2, 0.5}, {0.5, 0.5}, {0.5, 1.5}, {2, 1.5}, {2, 2}, {0, 2}}, 2);
  std::vector<Pt> star;
  for (int k = 0; k < 10; ++k) {
    const double r = k % 2 == 0 ? 1.0 : 0.4;
    star.push_back({-70 + r * std::cos(k * std::numbers::pi / 5),
                    -30 + r * std::sin(k * std::numbers::pi / 5)});
  }
  CheckAgainstRayCasting(star, 3);
}

TEST_F(GeoFunctionsTest, WithinForPolygonsLinesAndHoles) {
  const Value big = Square(0, 0, 10);
  EXPECT_EQ(Eval("st_within", {Square(2, 2, 2), big}), "1");
  EXPECT_EQ(Eval("st_within", {big, Square(2, 2, 2)}), "0");
  EXPECT_EQ(Eval("st_within", {Square(8, 8, 4), big}), "0");
  EXPECT_EQ(Eval("st_within", {big, big}), "1");
  EXPECT_EQ(Eval("st_within", {Line({{1, 1}, {9, 9}}), big}), "1");
  EXPECT_EQ(Eval("st_within", {Line({{1, 1}, {11, 9}}), big}), "0");
  const Value holed =
      PolygonWithHole({{0, 0}, {10, 0}, {10, 10}, {0, 10}}, {{4, 4}, {6, 4}, {6, 6}, {4, 6}});
  EXPECT_EQ(Eval("st_within", {Point(5, 5), holed}), "0");
  EXPECT_EQ(Eval("st_within", {Point(2, 2), holed}), "1");
  // The hole's orientation does not matter either.
  const Value holed2 =
      PolygonWithHole({{0, 0}, {0, 10}, {10, 10}, {10, 0}}, {{4, 4}, {4, 6}, {6, 6}, {6, 4}});
  EXPECT_EQ(Eval("st_within", {Point(5, 5), holed2}), "0");
  EXPECT_EQ(Eval("st_within", {Point(2, 2), holed2}), "1");
  EXPECT_EQ(Eval("st_within", {Point(1, 1), Point(1, 1)}), "1");
  EXPECT_EQ(Eval("st_within", {Point(1, 1), Point(1, 2)}), "0");
}

// ---------------------------------------------------------------------------
// ST_INTERSECTS and ST_OVERLAPS

TEST_F(GeoFunctionsTest, IntersectsOfTheDocumentedExamples) {
  EXPECT_EQ(
      Eval("st_intersects", {Line({{-10, 0}, {0, 0}, {10, 0}}), Line({{0, 10}, {0, 0}, {0, -10}})}),
      "1");
  EXPECT_EQ(Eval("st_intersects",
                 {Line({{-10, 0}, {0, 0}, {10, 0}}), Line({{-10, 10}, {0, 10}, {10, 10}})}),
            "0");
}

TEST_F(GeoFunctionsTest, IntersectsAcrossGeometryKinds) {
  // Crossing away from any vertex.
  EXPECT_EQ(Eval("st_intersects", {Line({{-1, -1}, {1, 1}}), Line({{-1, 1}, {1, -1}})}), "1");
  EXPECT_EQ(Eval("st_intersects", {Point(5, 5), Square(0, 0, 10)}), "1");
  EXPECT_EQ(Eval("st_intersects", {Point(15, 5), Square(0, 0, 10)}), "0");
  EXPECT_EQ(Eval("st_intersects", {Line({{-5, 5}, {5, 5}}), Square(0, 0, 10)}), "1");
  EXPECT_EQ(Eval("st_intersects", {Square(0, 0, 10), Square(10, 0, 10)}), "1");  // shared edge
  EXPECT_EQ(Eval("st_intersects", {Square(0, 0, 10), Square(20, 0, 10)}), "0");
  EXPECT_EQ(Eval("st_intersects", {Square(0, 0, 10), Square(2, 2, 2)}), "1");  // containment
}

TEST_F(GeoFunctionsTest, OverlapsIsSharedAreaWithoutContainment) {
  // ASA's first ST_OVERLAPS example (the second one's storm area is not a
  // valid ring).
  EXPECT_EQ(Eval("st_overlaps", {Square(0, 0, 10), Square(30, 30, 10)}), "0");
  EXPECT_EQ(Eval("st_overlaps", {Square(0, 0, 20), Square(10, 10, 30)}), "1");
  EXPECT_EQ(Eval("st_overlaps", {Square(0, 0, 20), Square(5, 5, 5)}), "0");    // within
  EXPECT_EQ(Eval("st_overlaps", {Square(5, 5, 5), Square(0, 0, 20)}), "0");    // within
  EXPECT_EQ(Eval("st_overlaps", {Square(0, 0, 10), Square(0, 0, 10)}), "0");   // equal
  EXPECT_EQ(Eval("st_overlaps", {Square(0, 0, 10), Square(10, 0, 10)}), "0");  // touching
  EXPECT_EQ(Eval("st_overlaps", {Point(1, 1), Square(0, 0, 10)}), "0");
  EXPECT_EQ(Eval("st_overlaps", {Line({{1, 1}, {2, 2}}), Square(0, 0, 10)}), "0");
  // Two linestrings: not supported (S2 matches only identical edges).
  EXPECT_EQ(Eval("st_overlaps", {Line({{0, 0}, {2, 0}}), Line({{1, 0}, {3, 0}})}),
            "error: ST_OVERLAPS of two linestrings is not supported (polygons only)");
}

// ---------------------------------------------------------------------------
// Inputs

TEST_F(GeoFunctionsTest, WktAndGeoJsonStringsReadLikeRecords) {
  EXPECT_NEAR(EvalFloat("st_distance", {S("POINT(-5 -5)"), S(" point ( 0  0 ) ")}),
              784028.74077501823, 1e-3);
  EXPECT_NEAR(EvalFloat("st_distance", {S(R"({"type":"Point","coordinates":[-5,-5]})"),
                                        S(R"({"coordinates":[0.0,0.0],"type":"Point"})")}),
              784028.74077501823, 1e-3);
  EXPECT_EQ(Eval("st_within", {S("POINT(5 5)"), S("POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))")}), "1");
  EXPECT_EQ(
      Eval("st_within", {S("POINT(5 5)"),
                         S("POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))")}),
      "0");
  EXPECT_EQ(Eval("st_intersects", {S("LINESTRING(-1 -1, 1 1)"), S("LINESTRING(-1 1, 1 -1)")}), "1");
  EXPECT_EQ(Eval("st_within",
                 {Point(5, 5),
                  S(R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]})")}),
            "1");
  // ASA's examples also write a polygon's ring without the array of rings.
  const Value flat =
      Record({{"type", S("Polygon")},
              {"coordinates", Positions({{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}})}});
  EXPECT_EQ(Eval("st_within", {Point(5, 5), flat}), "1");
  // A 3D position's altitude is ignored; type names match case-insensitively.
  EXPECT_EQ(
      Eval("st_within",
           {Record({{"type", S("point")}, {"coordinates", Array({F(5), F(5), F(100)})}}), flat}),
      "1");
}

TEST_F(GeoFunctionsTest, HostileGeometriesFailTheRowWithAReason) {
  const Value p = Point(0, 0);
  EXPECT_EQ(Eval("st_distance", {Point(0, 91), p}),
            "error: ST_DISTANCE argument 1 is not a valid geometry: latitude must be between -90 "
            "and 90: 91");
  EXPECT_TRUE(Fails("st_distance", {p, Point(std::nan(""), 0)}));
  EXPECT_TRUE(Fails("st_distance", {p, Point(200, 0)}));
  EXPECT_TRUE(Fails("st_distance", {p, I(5)}));
  EXPECT_TRUE(Fails("st_distance", {p, Record({{"type", S("Point")}})}));
  EXPECT_TRUE(Fails("st_distance", {p, Record({{"type", S("Point")}, {"coordinates", S("1,2")}})}));
  EXPECT_TRUE(Fails("st_distance",
                    {p, Record({{"type", S("Point")}, {"coordinates", Array({S("a"), S("b")})}})}));
  EXPECT_TRUE(
      Fails("st_distance", {p, Record({{"type", S("Circle")}, {"coordinates", Pos(0, 0)}})}));
  EXPECT_TRUE(
      Fails("st_distance", {p, Record({{"type", S("Polygon")}, {"coordinates", Array({})}})}));
  EXPECT_TRUE(Fails("st_distance", {p, Line({{0, 0}})}));
  // Unclosed, degenerate and self-crossing rings.
  const Value unclosed =
      Record({{"type", S("Polygon")},
              {"coordinates", Array({Positions({{0, 0}, {1, 0}, {1, 1}, {0, 1}})})}});
  EXPECT_EQ(Eval("st_within", {p, unclosed}),
            "error: ST_WITHIN argument 2 is not a valid geometry: a polygon ring must end with its "
            "first point");
  EXPECT_TRUE(Fails("st_within", {p, Polygon({{0, 0}, {1, 1}, {0, 0}})}));
  EXPECT_TRUE(Fails("st_within", {p, Polygon({{0, 0}, {0, 0}, {0, 0}, {0, 0}})}));
  EXPECT_TRUE(Fails("st_within", {p, Polygon({{0, 0}, {1, 1}, {1, 0}, {0, 1}})}));  // bowtie
  // Crossing shell and hole.
  EXPECT_TRUE(Fails("st_within", {p, PolygonWithHole({{0, 0}, {2, 0}, {2, 2}, {0, 2}},
                                                     {{1, 1}, {3, 1}, {3, 3}, {1, 3}})}));
}

TEST_F(GeoFunctionsTest, VertexCountIsCapped) {
  auto circle = [&](int n) {
    std::vector<Pt> ring;
    for (int k = 0; k < n; ++k) {
      ring.push_back(
          {std::cos(2 * std::numbers::pi * k / n), std::sin(2 * std::numbers::pi * k / n)});
    }
    return ring;
  };
  // 9,999 distinct vertices and the closing one: 10,000 in all.
  EXPECT_EQ(Eval("st_within", {Point(0, 0), Polygon(circle(9999))}), "1");
  EXPECT_EQ(Eval("st_within", {Point(0, 0), Polygon(circle(10000))}),
            "error: ST_WITHIN argument 2 is not a valid geometry: a geometry may have at most "
            "10000 vertices");
  std::string wkt = "LINESTRING(";
  for (int k = 0; k <= 10000; ++k) wkt += (k ? ", " : "") + std::to_string(k % 90) + " 0";
  wkt += ")";
  EXPECT_TRUE(Fails("st_distance", {Point(0, 0), S(wkt)}));
}

TEST_F(GeoFunctionsTest, MalformedTextNeverCrashes) {
  const std::vector<std::string> valid = {
      "POINT(1 2)",
      "LINESTRING(0 0, 1 1, 2 0)",
      "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))",
      R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]})",
  };
  const Value p = Point(5, 5);
  for (const std::string& text : valid) {
    EXPECT_FALSE(Fails("st_distance", {p, S(text)})) << text;
    // Every prefix, and every single-byte mutation.
    for (size_t n = 0; n < text.size(); ++n) {
      Eval("st_distance", {p, S(text.substr(0, n))});
      for (char c : std::string("(),. -e{}[]:\"x9")) {
        std::string mutated = text;
        mutated[n] = c;
        Eval("st_intersects", {S(mutated), p});
      }
    }
  }
  for (const char* bad : {"", "POINT", "POINT()", "POINT(1)", "POINT(1 2", "POINT(1 2) x",
                          "POINT(nan 1)", "POINT(inf 1)", "POINT(1e999 1)", "POINT EMPTY",
                          "CIRCLE(1 2)", "LINESTRING(1 2)", "POLYGON((0 0, 1 0, 1 1))",
                          "POLYGON(0 0, 1 0, 1 1, 0 0)", "{", "{}", "{\"type\":\"Point\"}", "[1,2]",
                          "{\"type\":\"Point\",\"coordinates\":[[[[[[[[[[1]]]]]]]]]]}"}) {
    EXPECT_TRUE(Fails("st_distance", {p, S(bad)})) << bad;
  }
}

}  // namespace
}  // namespace sluice
