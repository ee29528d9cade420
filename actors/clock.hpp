// Where the actors read the time: the machine's clocks in a running grace,
// a clock the test sets in tests that run the actors on CAF's deterministic
// scheduler (node_context::time, tracker_options::time,
// coordinator_options::time). CAF-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace grace::actors {

class clock {
public:
  virtual ~clock() = default;

  /// Steady nanoseconds: durations (MTTR, time to detect, backoff).
  virtual std::int64_t steady_ns() const = 0;

  /// Wall-clock microseconds since the epoch: the record's timestamps.
  virtual std::int64_t wall_us() const = 0;

  /// Wall-clock microseconds at steady `at_ns` (in the past, mostly).
  std::int64_t wall_us_at(std::int64_t at_ns) const {
    return wall_us() - (steady_ns() - at_ns) / 1000;
  }
};

/// The machine's clocks (std::chrono::steady_clock, system_clock).
std::shared_ptr<const clock> machine_clock();

/// A clock that moves only when told: for tests.
class manual_clock : public clock {
public:
  manual_clock(std::int64_t steady_ns, std::int64_t wall_us)
      : steady_(steady_ns), wall_(wall_us) {}

  std::int64_t steady_ns() const override { return steady_.load(); }
  std::int64_t wall_us() const override { return wall_.load(); }

  /// Moves both clocks on by `ns`.
  void advance(std::int64_t ns) {
    steady_ += ns;
    wall_ += ns / 1000;
  }

private:
  std::atomic<std::int64_t> steady_;
  std::atomic<std::int64_t> wall_;
};

} // namespace grace::actors
