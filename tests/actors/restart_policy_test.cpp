#include <gtest/gtest.h>

#include "actors/restart_policy.hpp"

using namespace grace::actors;
using namespace std::chrono_literals;
using grace::config::backoff_spec;
using grace::config::restart_type;
using grace::config::strategy;

namespace {

time_point at(duration d) {
  return time_point{} + d;
}

} // namespace

TEST(ShouldRestart, FollowsTheRestartTypeMatrix) {
  struct row {
    restart_type type;
    exit_kind kind;
    bool restart;
  };
  for (auto [type, kind, restart] : std::vector<row>{
         {restart_type::permanent, exit_kind::normal, true},
         {restart_type::permanent, exit_kind::abnormal, true},
         {restart_type::permanent, exit_kind::shutdown, true},
         {restart_type::transient, exit_kind::normal, false},
         {restart_type::transient, exit_kind::abnormal, true},
         {restart_type::transient, exit_kind::shutdown, false},
         {restart_type::temporary, exit_kind::normal, false},
         {restart_type::temporary, exit_kind::abnormal, false},
         {restart_type::temporary, exit_kind::shutdown, false},
       })
    EXPECT_EQ(should_restart(type, kind), restart)
      << to_string(type) << " " << static_cast<int>(kind);
}

TEST(RestartIntensity, AllowsExactlyIntensityRestartsInsidePeriod) {
  restart_intensity r{5, 10s};
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(r.add_restart(at(i * 1s))) << i;
  EXPECT_FALSE(r.add_restart(at(5s)));
}

TEST(RestartIntensity, TripsOnSecondRestartInsidePeriodWithIntensityOne) {
  restart_intensity r{1, 5s};
  EXPECT_TRUE(r.add_restart(at(0s)));
  EXPECT_FALSE(r.add_restart(at(4s)));
}

TEST(RestartIntensity, ZeroIntensityNeverRestarts) {
  restart_intensity r{0, 5s};
  EXPECT_FALSE(r.add_restart(at(0s)));
}

TEST(RestartIntensity, WindowSlides) {
  restart_intensity r{2, 10s};
  EXPECT_TRUE(r.add_restart(at(0s)));
  EXPECT_TRUE(r.add_restart(at(5s)));
  // Exactly one period after the first: OTP keeps Now - T =< Period.
  EXPECT_FALSE(r.add_restart(at(10s)));
  restart_intensity s{2, 10s};
  EXPECT_TRUE(s.add_restart(at(0s)));
  EXPECT_TRUE(s.add_restart(at(5s)));
  EXPECT_TRUE(s.add_restart(at(10s) + 1ns)); // the first has left the window
  EXPECT_EQ(s.restarts_in_window(at(10s) + 1ns), 2u);
  EXPECT_FALSE(s.add_restart(at(12s)));
}

TEST(RestartSet, OneForOneRestartsOnlyTheFailedChild) {
  EXPECT_EQ(restart_set(strategy::one_for_one, 2, 5),
            (std::vector<std::size_t>{2}));
}

TEST(RestartSet, OneForAllRestartsEveryone) {
  EXPECT_EQ(restart_set(strategy::one_for_all, 2, 4),
            (std::vector<std::size_t>{0, 1, 2, 3}));
}

TEST(RestartSet, RestForOneRestartsTheFailedAndLaterChildren) {
  EXPECT_EQ(restart_set(strategy::rest_for_one, 1, 4),
            (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(restart_set(strategy::rest_for_one, 3, 4),
            (std::vector<std::size_t>{3}));
  EXPECT_TRUE(restart_set(strategy::rest_for_one, 4, 4).empty());
}

TEST(Backoff, FirstRestartIsImmediateThenGrows) {
  backoff_spec spec{100ms, 1s, 2.0, 0.0};
  EXPECT_EQ(backoff_delay(spec, 0, 0), 0ms);
  EXPECT_EQ(backoff_delay(spec, 1, 0), 100ms);
  EXPECT_EQ(backoff_delay(spec, 2, 0), 200ms);
  EXPECT_EQ(backoff_delay(spec, 3, 0), 400ms);
  EXPECT_EQ(backoff_delay(spec, 4, 0), 800ms);
  EXPECT_EQ(backoff_delay(spec, 5, 0), 1s);
  EXPECT_EQ(backoff_delay(spec, 1000, 0), 1s);
}

TEST(Backoff, JitterScalesWithinTheFraction) {
  backoff_spec spec{100ms, 10s, 2.0, 0.1};
  EXPECT_EQ(backoff_delay(spec, 1, -1.0), 90ms);
  EXPECT_EQ(backoff_delay(spec, 1, 1.0), 110ms);
  EXPECT_EQ(backoff_delay(spec, 1, 5.0), 110ms); // r is clamped
}

TEST(Backoff, ZeroMinimumIsTheExplicitOptOut) {
  backoff_spec spec{0ms, 10s, 2.0, 0.1};
  EXPECT_EQ(backoff_delay(spec, 7, 1.0), 0ms);
}

TEST(BackoffStreak, GrowsWhileCrashLoopingAndResetsWhenStable) {
  backoff_streak s;
  EXPECT_EQ(s.failed(at(0s), 10s), 0);
  EXPECT_EQ(s.failed(at(1s), 10s), 1);
  s.ready(at(2s));
  EXPECT_EQ(s.failed(at(3s), 10s), 2); // ready for 1 s only: still a loop
  s.ready(at(4s));
  EXPECT_EQ(s.failed(at(14s), 10s), 0); // ready for 10 s: a new streak
  EXPECT_EQ(s.failed(at(15s), 10s), 1);
}

TEST(RestartsAlone, DependsOnStrategyAndWhoWouldStartAgain) {
  std::vector<bool> all{true, true, true};
  EXPECT_TRUE(restarts_alone(strategy::one_for_one, 1, all));
  EXPECT_FALSE(restarts_alone(strategy::one_for_all, 1, all));
  EXPECT_TRUE(restarts_alone(strategy::one_for_all, 1, {false, true, false}));
  EXPECT_FALSE(restarts_alone(strategy::rest_for_one, 1, all));
  EXPECT_TRUE(restarts_alone(strategy::rest_for_one, 2, all));
  EXPECT_TRUE(restarts_alone(strategy::rest_for_one, 1, {true, true, false}));
  EXPECT_FALSE(restarts_alone(strategy::one_for_one, 3, all));
}

TEST(BackoffStreak, SaysWhenTheNextRestartIsImmediate) {
  backoff_spec spec{100ms, 10s, 2.0, 0.0};
  backoff_streak s;
  EXPECT_EQ(s.immediate_from(spec), time_point::min()); // first of a streak
  s.failed(at(0s), 10s);
  EXPECT_EQ(s.immediate_from(spec), std::nullopt); // delayed, not ready
  s.ready(at(1s));
  EXPECT_EQ(s.immediate_from(spec), at(11s)); // once stable for max
  backoff_spec none{0ms, 10s, 2.0, 0.0};
  EXPECT_EQ(s.immediate_from(none), time_point::min());
}
