// Bounded waiting for a condition, instead of fixed sleeps.
//
// Every deadline a test waits on goes through patience(): a sanitizer build
// gets several times the time of a normal one, and $GRACE_TEST_SLOWDOWN
// stretches both further on a machine that is busy with other work (`make
// test-stress` sets it). A deadline bounds how long a test may hang, never
// how fast grace must be: a wait that holds returns at once, and latency is
// measured in bench/, not here.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace grace::test {

/// How much slower than a normal build on a quiet machine this run may be.
inline double slowdown() {
#if defined(__SANITIZE_ADDRESS__)
  double factor = 4.0; // instrumented, unoptimised, and every child too
#else
  double factor = 1.0;
#endif
  if (const char* env = std::getenv("GRACE_TEST_SLOWDOWN")) {
    char* end = nullptr;
    double extra = std::strtod(env, &end);
    if (end != env && extra >= 1.0)
      factor *= extra;
  }
  return factor;
}

/// `base`, stretched by slowdown().
inline std::chrono::milliseconds patience(std::chrono::milliseconds base) {
  return std::chrono::milliseconds{
    static_cast<long long>(static_cast<double>(base.count()) * slowdown())};
}

/// How long a wait lasts unless told otherwise, before patience().
inline constexpr std::chrono::milliseconds default_patience{10'000};

/// Polls `pred` until it holds or patience(`timeout`) passes. On timeout,
/// the result says how long it waited and what `seen()` (a string) tells of
/// the state it saw last; gtest prints it with the waiting expression.
template <class Pred, class Seen>
::testing::AssertionResult
wait_until(Pred pred, std::chrono::milliseconds timeout, Seen seen) {
  using clock = std::chrono::steady_clock;
  auto limit = patience(timeout);
  auto deadline = clock::now() + limit;
  auto pause = std::chrono::milliseconds{1};
  while (!pred()) {
    if (clock::now() >= deadline) {
      if (pred())
        break;
      auto result = ::testing::AssertionFailure()
                    << "not so after waiting " << limit.count() << " ms";
      if (limit != timeout)
        result << " (" << timeout.count() << " ms x " << slowdown() << ")";
      if (std::string s = seen(); !s.empty())
        result << "; saw: " << s;
      return result;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds{16});
  }
  return ::testing::AssertionSuccess();
}

/// Polls `pred` until it holds or patience(`timeout`) passes.
template <class Pred>
::testing::AssertionResult
wait_until(Pred pred, std::chrono::milliseconds timeout = default_patience) {
  return wait_until(pred, timeout, [] { return std::string{}; });
}

/// Watches `pred` for `window` (not stretched: a slower run only makes this
/// more lenient) and succeeds if it never held.
template <class Pred>
::testing::AssertionResult never_within(Pred pred,
                                        std::chrono::milliseconds window) {
  auto deadline = std::chrono::steady_clock::now() + window;
  do {
    if (pred())
      return ::testing::AssertionFailure()
             << "it did, within " << window.count() << " ms";
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  } while (std::chrono::steady_clock::now() < deadline);
  return pred() ? ::testing::AssertionFailure() << "it did, at the end"
                : ::testing::AssertionSuccess();
}

} // namespace grace::test
