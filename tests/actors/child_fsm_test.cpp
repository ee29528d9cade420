// A supervised process's life table (child_fsm) without an actor: every
// phase by every event, and the lives it allows.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "actors/child_fsm.hpp"

using namespace grace::actors;
using fx = child_effect;
using ev = child_event;
using ph = child_phase;

namespace {

const std::vector<ph> phases{ph::stopped,  ph::blocked, ph::spawning,
                             ph::starting, ph::running, ph::stopping};
const std::vector<ev> events{
  ev::start, ev::port_held,     ev::spawned,     ev::spawn_failed,
  ev::ready, ev::ready_timeout, ev::exited,      ev::respawned,
  ev::stop,  ev::heal_failed,   ev::kill_timeout};

// Runs `events` from `from`; returns the phase reached and the effects.
std::pair<ph, std::vector<fx>> run(ph from, std::vector<ev> es,
                                   child_fsm* out = nullptr) {
  child_fsm f;
  f.now = from;
  std::vector<fx> effects;
  for (auto e : es)
    effects.push_back(step(f, e));
  if (out)
    *out = f;
  return {f.now, effects};
}

} // namespace

TEST(ChildFsm, EveryPhaseByEveryEventIsTheTable) {
  // phase -> event -> (phase after, effect); anything else: ignored, the
  // phase unchanged.
  std::map<std::pair<ph, ev>, std::pair<ph, fx>> table{
    {{ph::stopped, ev::start}, {ph::spawning, fx::spawn}},
    {{ph::stopped, ev::stop}, {ph::stopped, fx::report_stopped}},
    {{ph::blocked, ev::start}, {ph::spawning, fx::spawn}},
    {{ph::blocked, ev::stop}, {ph::stopped, fx::report_stopped}},
    {{ph::blocked, ev::heal_failed}, {ph::stopped, fx::report_no_start}},
    {{ph::spawning, ev::port_held}, {ph::blocked, fx::wait_for_port}},
    {{ph::spawning, ev::spawned}, {ph::starting, fx::announce_started}},
    {{ph::spawning, ev::spawn_failed}, {ph::stopped, fx::report_no_start}},
    {{ph::spawning, ev::stop}, {ph::spawning, fx::stop_after_spawn}},
    {{ph::starting, ev::ready}, {ph::running, fx::announce_ready}},
    {{ph::starting, ev::ready_timeout}, {ph::starting, fx::kill}},
    {{ph::starting, ev::exited}, {ph::stopped, fx::report_failure}},
    {{ph::starting, ev::respawned}, {ph::starting, fx::report_restarted}},
    {{ph::starting, ev::stop}, {ph::stopping, fx::begin_stop}},
    {{ph::running, ev::exited}, {ph::stopped, fx::report_failure}},
    {{ph::running, ev::respawned}, {ph::starting, fx::report_restarted}},
    {{ph::running, ev::stop}, {ph::stopping, fx::begin_stop}},
    {{ph::stopping, ev::exited}, {ph::stopped, fx::report_stopped}},
    {{ph::stopping, ev::respawned}, {ph::stopping, fx::begin_stop}},
    {{ph::stopping, ev::kill_timeout}, {ph::stopping, fx::kill}},
  };
  for (auto p : phases)
    for (auto e : events) {
      auto [after, effects] = run(p, {e});
      auto it = table.find({p, e});
      auto want = it == table.end() ? std::pair{p, fx::ignore} : it->second;
      EXPECT_EQ(after, want.first) << to_string(p) << " + " << to_string(e);
      EXPECT_EQ(effects.front(), want.second)
        << to_string(p) << " + " << to_string(e);
    }
}

TEST(ChildFsm, AStopWhileSpawningFollowsTheSpawn) {
  auto [after, effects] = run(ph::stopped, {ev::start, ev::stop, ev::spawned});
  EXPECT_EQ(after, ph::stopping);
  EXPECT_EQ(effects,
            (std::vector<fx>{fx::spawn, fx::stop_after_spawn, fx::begin_stop}));
  // Or the spawn fails: that is the stop.
  auto failed = run(ph::stopped, {ev::start, ev::stop, ev::spawn_failed});
  EXPECT_EQ(failed.first, ph::stopped);
  EXPECT_EQ(failed.second.back(), fx::report_stopped);
  // And the next start begins afresh.
  child_fsm f;
  run(ph::stopped, {ev::start, ev::stop, ev::spawn_failed, ev::start}, &f);
  EXPECT_FALSE(f.stop_pending);
}

TEST(ChildFsm, AReadinessTimeoutIsKilledThenReportedAsSuch) {
  child_fsm f;
  auto [after, effects] = run(
    ph::stopped, {ev::start, ev::spawned, ev::ready_timeout, ev::exited}, &f);
  EXPECT_EQ(after, ph::stopped);
  EXPECT_EQ(effects[2], fx::kill);
  EXPECT_EQ(effects[3], fx::report_failure);
  EXPECT_TRUE(f.ready_timed_out); // the actor reports ready_timeout
  step(f, ev::start);
  EXPECT_FALSE(f.ready_timed_out);
}

TEST(ChildFsm, AHeldPortWaitsForItsHealing) {
  auto healed = run(
    ph::stopped, {ev::start, ev::port_held, ev::start, ev::spawned, ev::ready});
  EXPECT_EQ(healed.first, ph::running);
  auto given_up = run(ph::stopped, {ev::start, ev::port_held, ev::heal_failed});
  EXPECT_EQ(given_up.first, ph::stopped);
  EXPECT_EQ(given_up.second.back(), fx::report_no_start);
}

TEST(ChildFsm, ARestartWithAPermitStartsOverWithoutStopping) {
  auto [after, effects]
    = run(ph::running, {ev::respawned, ev::ready, ev::respawned});
  EXPECT_EQ(after, ph::starting);
  EXPECT_EQ(effects, (std::vector<fx>{fx::report_restarted, fx::announce_ready,
                                      fx::report_restarted}));
}
