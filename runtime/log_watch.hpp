// The log probe's matcher: an ECMAScript regex over a component's output
// lines, with `count` matches within `window` making one failure (a burst
// of a hundred matching lines is one failure, not a hundred). It runs on
// the I/O thread as the lines arrive; a flood is matched up to a budget of
// bytes per second and the rest is counted as skipped, so a child writing
// 100 MB/s cannot take the I/O thread from the others.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace grace::runtime {

/// Counts matching lines in a sliding window.
class log_watch {
public:
  using clock_type = std::chrono::steady_clock;

  /// Throws std::regex_error if `pattern` is not a valid ECMAScript regex.
  log_watch(const std::string& pattern, int count,
            std::chrono::nanoseconds window,
            std::uint64_t budget_bytes_per_second = 16 << 20);

  /// Feeds one line seen at `now`. Returns what to report when it makes
  /// `count` matches within `window` (the window then starts afresh).
  std::optional<std::string> feed(std::string_view line,
                                  clock_type::time_point now);

  /// Lines not matched because the budget was spent.
  std::uint64_t skipped() const noexcept { return skipped_; }

private:
  std::regex regex_;
  std::string pattern_;
  int count_;
  std::chrono::nanoseconds window_;
  std::uint64_t budget_;
  std::deque<clock_type::time_point> hits_;
  clock_type::time_point second_{};
  std::uint64_t spent_ = 0;
  std::uint64_t skipped_ = 0;
};

} // namespace grace::runtime
