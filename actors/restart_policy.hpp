// The restart decisions of a supervisor, as pure functions (no CAF, no clock,
// no processes): OTP's restart intensity window (supervisor.erl add_restart/3),
// which children a strategy restarts, whether an exit calls for a restart at
// all, and the backoff delay of a crash-looping child. The supervisor actor
// only carries these decisions out.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "config/schema.hpp"

namespace grace::actors {

/// Time as the supervisor sees it: steady, in nanoseconds.
using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::nanoseconds;

/// How a child ended, as far as its restart type cares.
enum class exit_kind {
  normal,   // exit code 0
  abnormal, // exit code != 0, or a signal grace did not send
  shutdown, // stopped by grace (its own SIGTERM/SIGKILL)
};

/// Returns whether a child of restart type `type` that ended with `kind` is
/// restarted: permanent always, transient only after an abnormal exit,
/// temporary never.
bool should_restart(config::restart_type type, exit_kind kind);

/// The sliding window of restarts OTP keeps: at most `intensity` restarts in
/// any `period`; the restart that would make it `intensity + 1` gives up.
class restart_intensity {
public:
  restart_intensity(int intensity, duration period);

  /// Records a restart at `now`. Returns false if it exceeds the intensity:
  /// the supervisor must give up instead of restarting.
  bool add_restart(time_point now);

  /// Returns the restarts inside the window ending at `now`.
  std::size_t restarts_in_window(time_point now) const;

  /// The most restarts allowed in any period.
  int limit() const noexcept { return intensity_; }

  /// Forgets all restarts (after the supervisor itself was restarted).
  void clear() { restarts_.clear(); }

private:
  int intensity_;
  duration period_;
  std::deque<time_point> restarts_; // newest first, as OTP's list
};

/// The node's restart budget (`restart_budget`): at most `restarts` restarts
/// across the whole tree within any `period`. Shared by every supervisor
/// and by the I/O thread's immediate restarts, so thread-safe. A restart
/// refused is not counted.
class restart_budget {
public:
  restart_budget(int restarts, duration period);

  /// Takes one restart at `now`; false (nothing taken) if the budget is
  /// spent.
  bool take(time_point now);

  int restarts() const noexcept { return restarts_; }
  duration period() const noexcept { return period_; }

private:
  int restarts_;
  duration period_;
  std::mutex mutex_;
  std::deque<time_point> taken_; // oldest first
};

/// Returns the indices (into the children, in start order) a failure of
/// child `failed` restarts under `strategy`, `failed` included.
std::vector<std::size_t> restart_set(config::strategy strategy,
                                     std::size_t failed, std::size_t count);

/// Returns whether a failure of child `failed` would restart it alone under
/// `strategy`: `startable[j]` says whether child j would be started again
/// (not removed, not held).
bool restarts_alone(config::strategy strategy, std::size_t failed,
                    const std::vector<bool>& startable);

/// Returns the delay before the restart number `streak` (0-based) of a
/// crash-looping child: 0 for the first, then `min`, `min * factor`, ...
/// capped at `max`, scaled by `1 + jitter * r` with `r` in [-1, 1].
duration backoff_delay(const config::backoff_spec& spec, int streak, double r);

/// Tracks a child's crash-loop streak: it grows with every restart and ends
/// once the child has been ready for `backoff.max` without failing.
class backoff_streak {
public:
  /// Notes that the child became ready at `now`.
  void ready(time_point now) {
    ready_since_ = now;
    ready_ = true;
  }

  /// Notes a failure at `now`; returns the streak number of the restart that
  /// follows (0 = first of a new streak: restart at once).
  int failed(time_point now, duration stable_after);

  int streak() const { return streak_; }

  /// Returns from when a failure would be restarted without delay under
  /// `spec`: time_point::min() if at any time, the end of the stable period
  /// if only once the child has been ready that long, nothing if the next
  /// restart is delayed whatever happens.
  std::optional<time_point>
  immediate_from(const config::backoff_spec& spec) const;

private:
  int streak_ = 0;
  bool ready_ = false;
  time_point ready_since_{};
};

} // namespace grace::actors
