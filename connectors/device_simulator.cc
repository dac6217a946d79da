#include "connectors/device_simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/core/datetime.h"

namespace sluice {
namespace {

constexpr int64_t kSpikePeriodSeconds = 120;
constexpr int64_t kSpikeSeconds = 45;
constexpr int64_t kSpikeWarmupSeconds = 3;

// Uniform in [0, 1) from 53 random bits: the same on every platform.
double Unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Approximately normal (sum of uniforms), platform independent.
double Noise(std::mt19937_64& rng) {
  double sum = 0;
  for (int i = 0; i < 6; ++i) sum += Unit(rng);
  return (sum - 3.0) / std::sqrt(0.5);
}

}  // namespace

DeviceSimulator::DeviceSimulator(SimulatorOptions options) : options_(options), rng_(options.seed) {
  if (options_.devices < 1) options_.devices = 1;
  if (options_.rate <= 0) options_.rate = 1;
  base_temperature_.resize(options_.devices);
  spiking_.assign(options_.devices, -1);
  for (int d = 0; d < options_.devices; ++d) {
    base_temperature_[d] = 55 + (Unit(rng_) - 0.5) * 16;
  }
  // The overheating devices are spread over the device range.
  spiking_count_ = std::max(1, std::min(options_.spiking_devices, options_.devices));
  for (int i = 0; i < std::min(options_.spiking_devices, options_.devices); ++i) {
    int device = (i * 7919 + 7) % options_.devices;
    while (spiking_[device] >= 0) device = (device + 1) % options_.devices;
    spiking_[device] = i;
  }
  clock_lag_.assign(options_.devices, 0);
  if (options_.clock_lag_max_ticks > 0) {
    // Its own generator, so that other options draw the same numbers.
    std::mt19937_64 lag_rng(options_.seed ^ 0x5eedc10cULL);
    for (int64_t& lag : clock_lag_) {
      lag = static_cast<int64_t>(Unit(lag_rng) * static_cast<double>(options_.clock_lag_max_ticks));
    }
  }
  if (options_.skew > 0) {
    skew_cdf_.resize(options_.devices);
    double total = 0;
    for (int d = 0; d < options_.devices; ++d) {
      total += 1.0 / std::pow(static_cast<double>(d + 1), options_.skew);
      skew_cdf_[d] = total;
    }
    for (double& c : skew_cdf_) c /= total;
  }
}

double DeviceSimulator::Temperature(int device, int64_t ticks) {
  double t = base_temperature_[device] + Noise(rng_) * 1.5;
  if (spiking_[device] >= 0) {
    // The k overheating devices take turns: device i starts heating
    // kSpikeWarmup seconds after the start plus i * period / k, and again
    // every period.
    const int64_t elapsed = FloorDiv(ticks - options_.start_ticks, kTicksPerSecond);
    const int64_t stagger = spiking_[device] * kSpikePeriodSeconds / spiking_count_;
    const int64_t phase = FloorMod(elapsed - kSpikeWarmupSeconds - stagger, kSpikePeriodSeconds);
    if (phase < kSpikeSeconds) t += std::min(35.0, static_cast<double>(phase) * 5.0);
  }
  return t;
}

bool DeviceSimulator::Generate(SimulatedEvent* event) {
  const int64_t i = generated_;
  const int64_t offset =
      static_cast<int64_t>(static_cast<double>(i) * kTicksPerSecond / options_.rate);
  if (options_.count >= 0 && i >= options_.count) return false;
  if (options_.duration_ticks >= 0 && offset >= options_.duration_ticks) return false;
  if (options_.count < 0 && options_.duration_ticks < 0) return false;
  ++generated_;
  int device;
  if (skew_cdf_.empty()) {
    device = static_cast<int>(rng_() % static_cast<uint64_t>(options_.devices));
  } else {
    const double u = Unit(rng_);
    device = static_cast<int>(std::lower_bound(skew_cdf_.begin(), skew_cdf_.end(), u) -
                              skew_cdf_.begin());
    device = std::min(device, options_.devices - 1);
  }
  const int64_t ticks = options_.start_ticks + offset;
  char id[32];
  std::snprintf(id, sizeof(id), "dev-%05d", device);
  event->device = id;
  event->event_ticks = ticks;
  const double temperature = Temperature(device, ticks);
  const double humidity = 40 + (Unit(rng_) - 0.5) * 10;

  // Arrival: on time, out of order (delayed within the bound) or late.
  const double kind = Unit(rng_);
  int64_t delay = static_cast<int64_t>(Unit(rng_) * kTicksPerMillisecond * 5);  // network jitter
  if (kind < options_.late_share) {
    delay = options_.late_delay_ticks + static_cast<int64_t>(Unit(rng_) * kTicksPerSecond);
  } else if (kind < options_.late_share + options_.out_of_order_share) {
    delay = 1 + static_cast<int64_t>(Unit(rng_) *
                                     static_cast<double>(options_.out_of_order_max_ticks - 1));
  }
  event->arrival_ticks = ticks + delay;
  // The device stamps the reading with its own (possibly slow) clock.
  event->event_ticks = ticks - clock_lag_[device];
  std::string time = FormatDatetime(event->event_ticks);
  const double bad = Unit(rng_);
  event->bad = bad < options_.bad_share;
  char json[256];
  int n;
  if (event->bad && bad < options_.bad_share / 2) {
    // A record cut short in transit.
    n = std::snprintf(json, sizeof(json), "{\"deviceId\":\"%s\",\"temperature\":%.2f,\"humi", id,
                      temperature);
  } else if (event->bad) {
    // A device with a broken clock.
    n = std::snprintf(json, sizeof(json),
                      "{\"deviceId\":\"%s\",\"temperature\":%.2f,\"humidity\":%.1f,"
                      "\"eventTime\":\"%lld\"}",
                      id, temperature, humidity, static_cast<long long>(ticks / 10'000));
  } else {
    n = std::snprintf(json, sizeof(json),
                      "{\"deviceId\":\"%s\",\"temperature\":%.2f,\"humidity\":%.1f,"
                      "\"eventTime\":\"%s\"}",
                      id, temperature, humidity, time.c_str());
  }
  event->json.assign(json, static_cast<size_t>(n));
  return true;
}

bool DeviceSimulator::Next(SimulatedEvent* event) {
  // Generate until nothing not yet generated can arrive before the earliest
  // pending event: later events have later event times, and arrive no
  // earlier than those.
  while (true) {
    const int64_t next_event_ticks =
        options_.start_ticks +
        static_cast<int64_t>(static_cast<double>(generated_) * kTicksPerSecond / options_.rate);
    if (!pending_.empty() && pending_.top().event.arrival_ticks <= next_event_ticks) break;
    SimulatedEvent fresh;
    if (!Generate(&fresh)) break;
    pending_.push(Pending{std::move(fresh), seq_++});
  }
  if (pending_.empty()) return false;
  *event = pending_.top().event;
  pending_.pop();
  return true;
}

}  // namespace sluice
