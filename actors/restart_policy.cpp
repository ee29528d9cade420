#include "actors/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace grace::actors {

bool should_restart(config::restart_type type, exit_kind kind) {
  switch (type) {
    case config::restart_type::permanent:
      return true;
    case config::restart_type::transient:
      return kind == exit_kind::abnormal;
    case config::restart_type::temporary:
      return false;
  }
  return false;
}

restart_intensity::restart_intensity(int intensity, duration period)
    : intensity_(intensity), period_(period) {}

bool restart_intensity::add_restart(time_point now) {
  // OTP: [Now | inPeriod(Restarts, Now, Period)], then give up if the list
  // is longer than the intensity. inPeriod keeps Now - T =< Period.
  while (!restarts_.empty() && now - restarts_.back() > period_)
    restarts_.pop_back();
  restarts_.push_front(now);
  return restarts_.size() <= static_cast<std::size_t>(std::max(0, intensity_));
}

restart_budget::restart_budget(int restarts, duration period)
    : restarts_(restarts), period_(period) {}

bool restart_budget::take(time_point now) {
  std::lock_guard<std::mutex> guard{mutex_};
  while (!taken_.empty() && now - taken_.front() > period_)
    taken_.pop_front();
  if (taken_.size() >= static_cast<std::size_t>(std::max(0, restarts_)))
    return false;
  taken_.push_back(now);
  return true;
}

std::size_t restart_intensity::restarts_in_window(time_point now) const {
  return static_cast<std::size_t>(
    std::count_if(restarts_.begin(), restarts_.end(),
                  [&](time_point t) { return now - t <= period_; }));
}

std::vector<std::size_t> restart_set(config::strategy strategy,
                                     std::size_t failed, std::size_t count) {
  std::vector<std::size_t> result;
  if (failed >= count)
    return result;
  std::size_t first = failed;
  std::size_t last = failed + 1;
  switch (strategy) {
    case config::strategy::one_for_one:
      break;
    case config::strategy::one_for_all:
      first = 0;
      last = count;
      break;
    case config::strategy::rest_for_one:
      last = count;
      break;
  }
  for (auto i = first; i < last; ++i)
    result.push_back(i);
  return result;
}

bool restarts_alone(config::strategy strategy, std::size_t failed,
                    const std::vector<bool>& startable) {
  if (failed >= startable.size())
    return false;
  for (auto j : restart_set(strategy, failed, startable.size()))
    if (j != failed && startable[j])
      return false;
  return true;
}

duration backoff_delay(const config::backoff_spec& spec, int streak, double r) {
  if (streak <= 0 || spec.min <= duration::zero())
    return duration::zero();
  auto base = static_cast<double>(spec.min.count());
  auto cap = static_cast<double>(spec.max.count());
  // min * factor^(streak - 1), without overflowing for long streaks.
  auto d = base;
  for (int i = 1; i < streak && d < cap; ++i)
    d *= spec.factor;
  d = std::min(d, cap);
  d *= 1.0 + spec.jitter * std::clamp(r, -1.0, 1.0);
  return duration{static_cast<duration::rep>(std::llround(std::max(0.0, d)))};
}

int backoff_streak::failed(time_point now, duration stable_after) {
  if (ready_ && now - ready_since_ >= stable_after)
    streak_ = 0;
  ready_ = false;
  return streak_++;
}

} // namespace grace::actors

namespace grace::actors {

std::optional<time_point>
backoff_streak::immediate_from(const config::backoff_spec& spec) const {
  if (spec.min <= duration::zero() || streak_ == 0)
    return time_point::min();
  if (ready_)
    return ready_since_ + spec.max;
  return std::nullopt;
}

} // namespace grace::actors
