#include "actors/clock.hpp"

#include <chrono>

namespace grace::actors {

namespace {

class machine : public clock {
public:
  std::int64_t steady_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  }

  std::int64_t wall_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  }
};

} // namespace

std::shared_ptr<const clock> machine_clock() {
  static const auto instance = std::make_shared<const machine>();
  return instance;
}

} // namespace grace::actors
