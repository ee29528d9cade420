// Bounded waiting for a condition, instead of fixed sleeps.
#pragma once

#include <chrono>
#include <thread>

namespace grace::test {

/// Polls `pred` until it holds or `timeout` passes; returns its last value.
template <class Pred>
bool wait_until(Pred pred,
                std::chrono::milliseconds timeout = std::chrono::seconds{2}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

} // namespace grace::test
