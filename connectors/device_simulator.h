// DeviceSimulator: deterministic, realistic IoT telemetry.
//
// Devices report temperature and humidity readings; a few devices overheat
// now and then (temperature spikes, so threshold alerts fire). A share of
// readings arrives out of order (delayed by up to a bound), a share arrives
// late (delayed beyond the late-arrival tolerance), and a share is bad
// (malformed JSON or an unreadable timestamp). Events come out in arrival
// order, each with its event time and its arrival time (the Kafka record
// timestamp when produced to a topic). The same options and seed always give
// the same events, byte for byte.
#ifndef SLUICE_CONNECTORS_DEVICE_SIMULATOR_H_
#define SLUICE_CONNECTORS_DEVICE_SIMULATOR_H_

#include <cstdint>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace sluice {

struct SimulatorOptions {
  uint64_t seed = 1;
  int devices = 100;
  double rate = 1000;           // events per second of event time
  int64_t count = -1;           // events to produce; -1: until `duration_ticks`
  int64_t duration_ticks = -1;  // event time covered; -1: until `count`
  int64_t start_ticks = 0;      // event time of the first reading
  double out_of_order_share = 0.0;
  int64_t out_of_order_max_ticks = 2 * 10'000'000LL;  // delay of an out-of-order event
  double late_share = 0.0;
  int64_t late_delay_ticks = 10 * 10'000'000LL;  // delay of a late event
  double bad_share = 0.0;
  int spiking_devices = 1;  // devices that overheat from time to time
  // 0: every device reports equally often. s > 0: device k (by rank) reports
  // in proportion to 1 / (k + 1)^s (Zipf), so a few devices are busy.
  double skew = 0.0;
  // Slow device clocks: device k's clock is behind by a fixed amount from 0
  // to this (drawn from the seed and k), so its eventTime lags its arrival
  // (what TIMESTAMP BY ... OVER deviceId is for).
  int64_t clock_lag_max_ticks = 0;
};

struct SimulatedEvent {
  std::string device;
  std::string json;
  int64_t event_ticks = 0;
  int64_t arrival_ticks = 0;
  bool bad = false;
};

class DeviceSimulator {
 public:
  explicit DeviceSimulator(SimulatorOptions options);

  // The next event in arrival order; false when the run is over.
  bool Next(SimulatedEvent* event);

  int64_t generated() const { return generated_; }

 private:
  struct Pending {
    SimulatedEvent event;
    uint64_t seq;
    bool operator<(const Pending& other) const {  // min-heap on (arrival, seq)
      return event.arrival_ticks != other.event.arrival_ticks
                 ? event.arrival_ticks > other.event.arrival_ticks
                 : seq > other.seq;
    }
  };

  bool Generate(SimulatedEvent* event);
  double Temperature(int device, int64_t ticks);

  SimulatorOptions options_;
  std::mt19937_64 rng_;
  std::vector<double> base_temperature_;
  std::vector<int> spiking_;        // per device: its turn among the spiking devices, or -1
  std::vector<double> skew_cdf_;    // with skew: cumulative share of devices 0..k
  std::vector<int64_t> clock_lag_;  // per device: how far its clock is behind
  int spiking_count_ = 1;
  int64_t generated_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Pending> pending_;
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_DEVICE_SIMULATOR_H_
