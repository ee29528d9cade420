#include "runtime/log_watch.hpp"

#include "config/units.hpp"

namespace grace::runtime {

log_watch::log_watch(const std::string& pattern, int count,
                     std::chrono::nanoseconds window,
                     std::uint64_t budget_bytes_per_second)
    : regex_(pattern, std::regex::ECMAScript | std::regex::optimize),
      pattern_(pattern), count_(std::max(1, count)), window_(window),
      budget_(budget_bytes_per_second) {}

std::optional<std::string> log_watch::feed(std::string_view line,
                                           clock_type::time_point now) {
  if (now - second_ >= std::chrono::seconds{1}) {
    second_ = now;
    spent_ = 0;
  }
  if (spent_ + line.size() > budget_) {
    ++skipped_;
    return std::nullopt;
  }
  spent_ += line.size();
  if (!std::regex_search(line.begin(), line.end(), regex_))
    return std::nullopt;
  hits_.push_back(now);
  while (!hits_.empty() && now - hits_.front() > window_)
    hits_.pop_front();
  if (static_cast<int>(hits_.size()) < count_)
    return std::nullopt;
  hits_.clear();
  std::string what = std::to_string(count_) + " line" + (count_ == 1 ? "" : "s")
                     + " matching /" + pattern_ + "/";
  if (count_ > 1)
    what += " within "
            + config::format_duration(
              std::chrono::duration_cast<std::chrono::milliseconds>(window_));
  return what + ", the last: " + std::string{line.substr(0, 200)};
}

} // namespace grace::runtime
