// The supervisor's decisions without actors or processes: OTP's matrix
// (strategies x restart types x exits), the count (budget, intensity), the
// backoff, plan folding, and the fast-path permit checked against decide().
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/supervisor_core.hpp"
#include "config/loader.hpp"

using namespace grace::actors;
using namespace std::chrono_literals;
using grace::config::failure_mode;
using grace::config::restart_type;
using grace::config::strategy;

namespace {

time_point at(duration d) {
  return time_point{} + d;
}

using indices = std::vector<std::size_t>;

// A running supervisor of `n` running children (no backoff).
supervisor_core running(strategy how, std::size_t n, int intensity = 10,
                        duration period = 10s) {
  supervisor_core core{how, intensity, period};
  core.now = supervisor_mode::running;
  for (std::size_t i = 0; i < n; ++i) {
    core_child c;
    c.phase = slot_phase::running;
    c.fast_path_able = true;
    core.children.push_back(c);
  }
  return core;
}

child_failure crash(std::size_t i, exit_kind kind = exit_kind::abnormal,
                    failure_mode mode = failure_mode::crashed) {
  child_failure e;
  e.child = i;
  e.mode = mode;
  e.kind = kind;
  e.playbooks = true;
  return e;
}

// Whether `d` restarts: by a plan, or the child alone (one_for_one).
bool restarts(const failure_decision& d) {
  return std::holds_alternative<decision::restart>(d)
         || std::holds_alternative<decision::restart_alone>(d);
}

} // namespace

// -- OTP's matrix ----------------------------------------------------------

struct cell {
  strategy how;
  restart_type type;
  exit_kind kind;

  // How ctest and gtest show the cell (not as a dump of its bytes).
  friend void PrintTo(const cell& c, std::ostream* os) {
    *os << to_string(c.how) << ' ' << to_string(c.type) << ' '
        << (c.kind == exit_kind::normal ? "normal" : "abnormal");
  }
};

class CoreMatrix : public ::testing::TestWithParam<cell> {};

TEST_P(CoreMatrix, RestartsExactlyWhatOtpWould) {
  auto [how, type, kind] = GetParam();
  auto core = running(how, 3);
  core.children[1].restart = type; // b fails; a and c are permanent
  auto d = decide(core, crash(1, kind), at(1s), 0, nullptr);
  auto restarts
    = type == restart_type::permanent
      || (type == restart_type::transient && kind == exit_kind::abnormal);
  if (!restarts) {
    auto* no = std::get_if<decision::not_restarted>(&d);
    ASSERT_TRUE(no);
    EXPECT_EQ(no->abnormal, kind == exit_kind::abnormal);
    EXPECT_EQ(core.children[1].removed, type == restart_type::temporary);
    EXPECT_EQ(core.intensity.restarts_in_window(at(1s)), 0u);
    return;
  }
  EXPECT_EQ(core.intensity.restarts_in_window(at(1s)), 1u);
  if (how == strategy::one_for_one) {
    // b alone, beside any plan: no plan of its own.
    auto* alone = std::get_if<decision::restart_alone>(&d);
    ASSERT_TRUE(alone);
    EXPECT_EQ(alone->child, 1u);
    EXPECT_EQ(alone->delay, duration::zero());
    EXPECT_TRUE(core.children[1].due);
    return;
  }
  auto* r = std::get_if<decision::restart>(&d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->delay, duration::zero());
  // The failed child is down already: only its siblings are stopped, in
  // reverse start order; all of the set start in order.
  switch (how) {
    case strategy::one_for_one:
      break;
    case strategy::one_for_all:
      EXPECT_EQ(r->next.stops, (indices{2, 0}));
      EXPECT_EQ(r->next.starts, (indices{0, 1, 2}));
      break;
    case strategy::rest_for_one:
      EXPECT_EQ(r->next.stops, (indices{2}));
      EXPECT_EQ(r->next.starts, (indices{1, 2}));
      break;
  }
}

namespace {

std::vector<cell> cells() {
  std::vector<cell> out;
  for (auto how :
       {strategy::one_for_one, strategy::one_for_all, strategy::rest_for_one})
    for (auto type : {restart_type::permanent, restart_type::transient,
                      restart_type::temporary})
      for (auto kind : {exit_kind::normal, exit_kind::abnormal})
        out.push_back({how, type, kind});
  return out;
}

std::string cell_name(const ::testing::TestParamInfo<cell>& info) {
  auto name = ::testing::PrintToString(info.param);
  std::replace(name.begin(), name.end(), ' ', '_');
  return name;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(AllCells, CoreMatrix, ::testing::ValuesIn(cells()),
                         cell_name);

TEST(CoreMatrixNames, ACellPrintsAsItsThreeWords) {
  EXPECT_EQ(::testing::PrintToString(cell{strategy::rest_for_one,
                                          restart_type::transient,
                                          exit_kind::abnormal}),
            "rest_for_one transient abnormal");
}

TEST(SupervisorCore, ATemporarySiblingTheStrategyStopsIsNotStartedAgain) {
  auto core = running(strategy::one_for_all, 3);
  core.children[2].restart = restart_type::temporary;
  auto d = decide(core, crash(0), at(1s), 0, nullptr);
  auto& r = std::get<decision::restart>(d);
  EXPECT_EQ(r.next.stops, (indices{2, 1}));
  EXPECT_EQ(r.next.starts, (indices{0, 1}));
  EXPECT_TRUE(core.children[2].removed);
}

TEST(SupervisorCore, RemovedAndHeldChildrenAreNotStarted) {
  auto core = running(strategy::one_for_all, 3);
  core.children[0].removed = true;
  core.children[2].held = true;
  auto d = decide(core, crash(1), at(1s), 0, nullptr);
  EXPECT_EQ(std::get<decision::restart>(d).next.starts, (indices{1}));
}

// -- routes ----------------------------------------------------------------

TEST(SupervisorCore, AFailureRoutesToItsDependencyThenItsPlaybook) {
  auto core = running(strategy::one_for_one, 1);
  auto& c = core.children[0];
  c.handed_over = {failure_mode::crashed};
  EXPECT_TRUE(std::holds_alternative<decision::hand_to_playbook>(
    decide(core, crash(0), at(1s), 0, nullptr)));
  // Not handed back once the playbook's own verification failed, nor
  // without a coordinator, nor for another mode.
  auto noted = crash(0);
  noted.noted = true;
  EXPECT_TRUE(restarts(decide(core, noted, at(2s), 0, nullptr)));
  auto alone = crash(0);
  alone.playbooks = false;
  EXPECT_TRUE(restarts(decide(core, alone, at(3s), 0, nullptr)));
  EXPECT_TRUE(
    restarts(decide(core, crash(0, exit_kind::abnormal, failure_mode::exited),
                    at(4s), 0, nullptr)));
  c.waiting = true;
  EXPECT_TRUE(std::holds_alternative<decision::wait_for_dependency>(
    decide(core, crash(0), at(6s), 0, nullptr)));
  EXPECT_EQ(core.intensity.restarts_in_window(at(6s)), 3u);
}

// -- counting ----------------------------------------------------------------

TEST(SupervisorCore, TheRestartAboveTheIntensityGivesUp) {
  auto core = running(strategy::one_for_one, 1, 3, 10s);
  for (int k = 0; k < 3; ++k)
    EXPECT_TRUE(restarts(decide(core, crash(0), at(1s + k * 1s), 0, nullptr)))
      << k;
  EXPECT_TRUE(std::holds_alternative<decision::give_up>(
    decide(core, crash(0), at(4s), 0, nullptr)));
  // The window slides (OTP counts the refused one too): once those four
  // are more than ten seconds old, one more fits.
  EXPECT_TRUE(std::holds_alternative<decision::give_up>(
    decide(core, crash(0), at(11s + 1ms), 0, nullptr)));
  EXPECT_TRUE(restarts(decide(core, crash(0), at(21s + 2ms), 0, nullptr)));
}

TEST(SupervisorCore, ASpentBudgetHoldsTheChildAndCountsNothing) {
  auto core = running(strategy::one_for_one, 2, 10, 10s);
  restart_budget budget{1, 60s};
  EXPECT_TRUE(restarts(decide(core, crash(0), at(1s), 0, &budget)));
  EXPECT_TRUE(std::holds_alternative<decision::hold>(
    decide(core, crash(1), at(2s), 0, &budget)));
  EXPECT_TRUE(core.children[1].held);
  EXPECT_EQ(core.intensity.restarts_in_window(at(2s)), 1u);
  EXPECT_EQ(admit(core, &budget, at(3s)), admission::budget_spent);
  EXPECT_EQ(admit(core, nullptr, at(3s)), admission::admitted);
}

TEST(SupervisorCore, AStartShortOfResourcesIsRetriedAndCountsNothing) {
  auto core = running(strategy::one_for_one, 1, 3, 10s);
  core.children[0].backoff = {100ms, 1s, 2.0, 0.0};
  restart_budget budget{1, 60s};
  auto short_of = crash(0, exit_kind::abnormal, failure_mode::spawn_failed);
  short_of.shortage = true;
  // Far more than the intensity, and the budget, allow: each is retried
  // after the backoff, which grows as for a crash loop.
  duration last{};
  for (int k = 0; k < 10; ++k) {
    auto d = decide(core, short_of, at(1s + k * 100ms), 0, &budget);
    ASSERT_TRUE(std::holds_alternative<decision::restart_alone>(d)) << k;
    last = std::get<decision::restart_alone>(d).delay;
  }
  EXPECT_EQ(last, 1s);
  EXPECT_EQ(core.intensity.restarts_in_window(at(2s)), 0u);
  EXPECT_EQ(admit(core, &budget, at(3s)), admission::admitted);
  // The same failure that is the program's own counts as ever (the admit
  // above is the first of three).
  auto own = short_of;
  own.shortage = false;
  for (int k = 0; k < 2; ++k)
    EXPECT_TRUE(restarts(decide(core, own, at(4s + k * 100ms), 0, nullptr)));
  EXPECT_TRUE(std::holds_alternative<decision::give_up>(
    decide(core, own, at(5s), 0, nullptr)));
}

// -- backoff and plans
// ---------------------------------------------------------

TEST(SupervisorCore, ACrashLoopIsRestartedAfterItsBackoff) {
  auto core = running(strategy::one_for_one, 1);
  core.children[0].backoff = {100ms, 1s, 2.0, 0.5};
  auto first = std::get<decision::restart_alone>(
    decide(core, crash(0), at(1s), 1.0, nullptr));
  EXPECT_EQ(first.delay, duration::zero());
  auto second = std::get<decision::restart_alone>(
    decide(core, crash(0), at(2s), 1.0, nullptr));
  EXPECT_EQ(second.delay, 150ms); // min, jitter +50 %
  // Where the strategy restarts a set, the plan carries the delay.
  auto set = running(strategy::rest_for_one, 1);
  set.children[0].backoff = core.children[0].backoff;
  decide(set, crash(0), at(1s), 1.0, nullptr);
  auto planned
    = std::get<decision::restart>(decide(set, crash(0), at(2s), 1.0, nullptr));
  EXPECT_EQ(planned.delay, 150ms);
  EXPECT_EQ(planned.next.delayed, std::optional<std::size_t>{0});
  EXPECT_EQ(planned.next.delay, 150ms);
}

TEST(SupervisorCore, ARestartFoldsInWhatTheInterruptedPlanHadLeft) {
  auto core = running(strategy::one_for_one, 4);
  plan old;
  old.why = purpose::restart;
  old.stops = {3, 2};
  old.next_stop = 1; // 3 stopped; 2 still to stop
  old.starts = {2, 3};
  core.current = old;
  // (An operator's or a playbook's restart: one_for_one failures restart
  // alone.)
  auto r = restart_plan(core, 0, false, duration::zero());
  EXPECT_EQ(r.stops, (indices{2}));
  EXPECT_EQ(r.starts, (indices{0, 2, 3}));
  // What a shutdown had left is not folded in.
  core.current->why = purpose::shutdown;
  auto s = restart_plan(core, 1, false, duration::zero());
  EXPECT_EQ(s.starts, (indices{1}));
  EXPECT_EQ(shutdown_plan(3, purpose::give_up).stops, (indices{2, 1, 0}));
}

TEST(SupervisorCore, AStartOfAStoppedChildStopsNoSibling) {
  // The cluster places child 1 here, or releases it: under one_for_all a
  // restart would stop its siblings; a start does not.
  auto core = running(strategy::one_for_all, 3);
  core.children[1].phase = slot_phase::stopped;
  auto p = start_plan(core, 1);
  EXPECT_TRUE(p.stops.empty());
  EXPECT_EQ(p.starts, (indices{1}));
  EXPECT_EQ(restart_plan(core, 1, false, duration::zero()).stops,
            (indices{2, 0}))
    << "(what a restart would stop)";
  // What an interrupted plan had left is folded in.
  plan old;
  old.why = purpose::start;
  old.starts = {0, 1, 2};
  old.next_start = 2;
  core.current = old;
  EXPECT_EQ(start_plan(core, 1).starts, (indices{1, 2}));
}

// -- the fast-path permit
// ------------------------------------------------------

TEST(SupervisorCore, APermitOnlyWhereTheRestartIsCertain) {
  auto core = running(strategy::one_for_one, 2, 2, 10s);
  EXPECT_TRUE(permit(core, 0, at(1s)));
  auto transient = core;
  transient.children[0].restart = restart_type::transient;
  ASSERT_TRUE(permit(transient, 0, at(1s)));
  EXPECT_FALSE(permit(transient, 0, at(1s))->any_exit);
  EXPECT_TRUE(permit(core, 0, at(1s))->any_exit);
  auto no = [&](auto change) {
    auto copy = core;
    change(copy);
    return !permit(copy, 0, at(1s));
  };
  EXPECT_TRUE(no([](auto& c) { c.now = supervisor_mode::restarting; }));
  EXPECT_TRUE(no([](auto& c) { c.current = plan{}; }));
  EXPECT_TRUE(no([](auto& c) { c.children[0].permitted = true; }));
  EXPECT_TRUE(no([](auto& c) { c.children[0].phase = slot_phase::starting; }));
  EXPECT_TRUE(no([](auto& c) { c.children[0].waiting = true; }));
  EXPECT_TRUE(no([](auto& c) { c.children[0].fast_path_able = false; }));
  EXPECT_TRUE(
    no([](auto& c) { c.children[0].restart = restart_type::temporary; }));
  EXPECT_TRUE(no(
    [](auto& c) { c.children[0].handed_over = {failure_mode::port_in_use}; }));
  EXPECT_TRUE(no([](auto& c) { c.strategy = strategy::one_for_all; }));
  // Permits out count as restarts to come: intensity 2, one used, one out.
  EXPECT_TRUE(no([](auto& c) {
    c.intensity.add_restart(at(500ms));
    c.granted = 1;
  }));
  // one_for_all with the sibling held: alone after all.
  auto all = core;
  all.strategy = strategy::one_for_all;
  all.children[1].held = true;
  EXPECT_TRUE(permit(all, 0, at(1s)));
}

TEST(SupervisorCore, APermitAfterARestartWaitsForTheStablePeriod) {
  auto core = running(strategy::one_for_one, 1);
  core.children[0].backoff = {100ms, 1s, 2.0, 0};
  core.children[0].phase = slot_phase::stopped;
  decide(core, crash(0), at(1s), 0, nullptr);
  EXPECT_FALSE(permit(core, 0, at(1s))); // not started again yet
  ASSERT_TRUE(start_alone(core, 0));
  EXPECT_FALSE(permit(core, 0, at(1s))); // not ready again yet
  core.children[0].phase = slot_phase::running;
  core.children[0].streak.ready(at(2s));
  auto terms = permit(core, 0, at(2s));
  ASSERT_TRUE(terms);
  EXPECT_EQ(terms->not_before, at(3s));
}

TEST(SupervisorCore, APermitAlwaysAgreesWithDecide) {
  // Random supervisors: wherever a permit is given, decide() on a crash at
  // a time it allows restarts that child alone, at once.
  std::mt19937 rng{42};
  auto pick = [&](int n) {
    return std::uniform_int_distribution<int>{0, n - 1}(rng);
  };
  int permits = 0;
  for (int round = 0; round < 5000; ++round) {
    auto n = static_cast<std::size_t>(1 + pick(4));
    auto how = static_cast<strategy>(pick(3));
    auto core = running(how, n, pick(4), 10s);
    core.now
      = pick(4) == 0 ? supervisor_mode::restarting : supervisor_mode::running;
    for (int k = pick(3); k-- > 0;)
      core.intensity.add_restart(at(1s));
    core.granted = static_cast<std::size_t>(pick(2));
    for (auto& c : core.children) {
      c.restart = static_cast<restart_type>(pick(3));
      c.removed = pick(6) == 0;
      c.held = pick(6) == 0;
      c.waiting = pick(8) == 0;
      c.fast_path_able = pick(5) != 0;
      if (pick(4) == 0)
        c.phase = slot_phase::stopped;
      if (pick(6) == 0)
        c.handed_over = {failure_mode::exited};
      if (pick(2) == 0)
        c.backoff = {100ms, 1s, 2.0, 0};
      if (pick(2) == 0)
        c.streak.failed(at(1s), 1s);
      if (pick(2) == 0)
        c.streak.ready(at(2s));
    }
    auto i = static_cast<std::size_t>(pick(static_cast<int>(n)));
    auto terms = permit(core, i, at(3s));
    if (!terms)
      continue;
    ++permits;
    auto t = std::max(at(3s), terms->not_before);
    auto d = decide(core, crash(i), t, 1.0, nullptr);
    if (auto* alone = std::get_if<decision::restart_alone>(&d)) {
      EXPECT_EQ(alone->child, i) << "round " << round;
      EXPECT_EQ(alone->delay, duration::zero()) << "round " << round;
      continue;
    }
    auto* r = std::get_if<decision::restart>(&d);
    ASSERT_TRUE(r) << "round " << round << ": decided " << d.index();
    EXPECT_EQ(r->delay, duration::zero()) << "round " << round;
    EXPECT_EQ(r->next.starts, indices{i}) << "round " << round;
    for (auto j : r->next.stops)
      EXPECT_TRUE(core.children[j].removed || core.children[j].held)
        << "round " << round << " stops " << j;
  }
  EXPECT_GT(permits, 100);
}

// -- carrying plans out ------------------------------------------------------

TEST(SupervisorCore, APlanStepsOverWhatNeedsNothing) {
  auto core = running(strategy::one_for_all, 4);
  core.children[3].phase = slot_phase::stopped; // down already
  core.children[2].removed = true;
  auto r
    = std::get<decision::restart>(decide(core, crash(0), at(1s), 0, nullptr));
  core.current = r.next;
  core.children[0].phase = slot_phase::stopped; // the one that failed
  std::vector<std::pair<plan_step::kind, std::size_t>> steps;
  for (;;) {
    auto s = next_step(core);
    steps.emplace_back(s.what, s.child);
    if (s.what == plan_step::kind::done)
      break;
    EXPECT_EQ(next_step(core).what, plan_step::kind::await);
    step_done(core);
    if (s.what == plan_step::kind::stop)
      core.children[s.child].phase = slot_phase::stopped;
    else
      core.children[s.child].phase = slot_phase::running;
  }
  using k = plan_step::kind;
  // 3 is stopped already; 2 is removed: stopped but never started again.
  EXPECT_EQ(steps, (std::vector<std::pair<k, std::size_t>>{{k::stop, 2},
                                                           {k::stop, 1},
                                                           {k::start, 0},
                                                           {k::start, 1},
                                                           {k::start, 3},
                                                           {k::done, 0}}));
}

TEST(SupervisorCore, ADelayedStartWaitsForItsBackoff) {
  auto core = running(strategy::rest_for_one, 1);
  core.children[0].backoff = {100ms, 1s, 2.0, 0};
  decide(core, crash(0), at(1s), 0, nullptr);
  core.current
    = std::get<decision::restart>(decide(core, crash(0), at(2s), 0, nullptr))
        .next;
  core.children[0].phase = slot_phase::stopped;
  EXPECT_EQ(next_step(core).what, plan_step::kind::delay);
  EXPECT_EQ(core.children[0].phase, slot_phase::stopped);
  // The delay is over (resume): the start follows.
  core.current->delay_done = true;
  core.current->awaiting.reset();
  EXPECT_EQ(next_step(core).what, plan_step::kind::start);
  EXPECT_EQ(core.children[0].phase, slot_phase::starting);
}

TEST(SupervisorCore, UnderOneForOneNoChildWaitsForASiblingsReadiness) {
  // The initial start of five children, each ready before the next
  // starts; failures meanwhile restart the failed child alone.
  supervisor_core core{strategy::one_for_one, 100, 10s};
  core.children.resize(5);
  core.now = supervisor_mode::starting;
  plan start;
  start.why = purpose::start;
  start.starts = {0, 1, 2, 3, 4};
  core.current = start;
  auto ready = [&](std::size_t i) {
    core.children[i].phase = slot_phase::running;
    if (core.current && core.current->awaiting == i)
      step_done(core);
  };
  auto fails = [&](std::size_t i, duration t) {
    core.children[i].phase = slot_phase::stopped;
    auto d = decide(core, crash(i), at(t), 0, nullptr);
    ASSERT_TRUE(std::holds_alternative<decision::restart_alone>(d));
  };
  using k = plan_step::kind;
  EXPECT_EQ(next_step(core).what, k::start); // 0
  ready(0);
  EXPECT_EQ(next_step(core).child, 1u);
  // 0 fails while the plan awaits 1: 0 restarts at once, the plan goes on
  // awaiting 1 (before, 0 went back into the plan and 1 waited for it).
  fails(0, 1s);
  EXPECT_TRUE(start_alone(core, 0));
  EXPECT_EQ(core.children[0].phase, slot_phase::starting);
  auto s = next_step(core);
  EXPECT_EQ(s.what, k::await);
  EXPECT_EQ(s.child, 1u);
  // 1 fails before it was ready: the plan keeps awaiting its own restart.
  fails(1, 2s);
  s = next_step(core);
  EXPECT_EQ(s.what, k::await);
  EXPECT_EQ(s.child, 1u);
  EXPECT_TRUE(start_alone(core, 1));
  ready(1);
  for (std::size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(next_step(core).child, i);
    fails(0, 3s + i * 1s); // 0 crash-loops all along
    EXPECT_TRUE(start_alone(core, 0));
    ready(i);
  }
  // Each was ready once: the supervisor has started, 0 still on its way.
  EXPECT_EQ(next_step(core).what, k::done);
  EXPECT_EQ(core.children[0].phase, slot_phase::starting);
}

TEST(SupervisorCore, AStopCallsOffARestartThatWaitsForItsBackoff) {
  auto core = running(strategy::one_for_one, 2);
  core.children[0].backoff = {1s, 1s, 2.0, 0};
  core.children[0].streak.failed(at(1s), 1s); // a second failure: backoff
  core.children[0].phase = slot_phase::stopped;
  auto d = decide(core, crash(0), at(2s), 0, nullptr);
  ASSERT_EQ(std::get<decision::restart_alone>(d).delay, 1s);
  EXPECT_FALSE(permit(core, 0, at(2s)));
  core.now = supervisor_mode::stopping;
  core.current = shutdown_plan(2, purpose::shutdown);
  EXPECT_EQ(next_step(core).child, 1u); // 0 is down already
  step_done(core);
  core.children[1].phase = slot_phase::stopped;
  EXPECT_EQ(next_step(core).what, plan_step::kind::done);
  EXPECT_FALSE(core.children[0].due);
  EXPECT_FALSE(start_alone(core, 0)) << "its timer fires after the stop";
}

namespace {

grace::config::supervisor_spec tree(const std::string& children) {
  auto r = grace::config::load_text(
    "grace: 1\nsupervisor:\n  children:\n" + children, "t.yaml", "/");
  EXPECT_TRUE(r.config) << (r.errors.empty() ? "" : to_string(r.errors[0]));
  return r.config ? r.config->root : grace::config::supervisor_spec{};
}

} // namespace

TEST(SupervisorCore, AReloadKeepsWhatDidNotChangeAndReplacesWhatDid) {
  auto before = tree("    - {name: a, command: [a]}\n"
                     "    - {name: b, command: [b]}\n"
                     "    - {name: c, command: [c]}\n"
                     "    - supervisor: {name: d, children: "
                     "[{name: x, command: [x]}]}\n");
  auto after = tree("    - {name: c, command: [c], restart: transient}\n"
                    "    - {name: a, command: [a]}\n"
                    "    - {name: e, command: [e]}\n"
                    "    - {name: d, command: [d]}\n");
  auto m = map_reload(before, after);
  using opt = std::optional<std::size_t>;
  EXPECT_EQ(m.continues, (std::vector<opt>{2, 0, std::nullopt, std::nullopt}));
  EXPECT_EQ(m.replaced, (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(m.removed, (indices{1, 3})); // b; d is a process now
  supervisor_core core{strategy::one_for_one, 3, 10s};
  for (auto& c : before.children)
    core.children.push_back(make_core_child(c, {}));
  for (auto& c : core.children)
    c.phase = slot_phase::running;
  core.children[0].held = true;
  core.intensity.add_restart(at(1s));
  after.strategy = strategy::rest_for_one;
  apply_reload(core, m, before, after, {});
  ASSERT_EQ(core.children.size(), 4u);
  EXPECT_EQ(core.strategy, strategy::rest_for_one);
  EXPECT_EQ(core.intensity.restarts_in_window(at(1s)), 1u); // kept
  EXPECT_EQ(core.children[0].restart, restart_type::transient);
  EXPECT_EQ(core.children[0].phase, slot_phase::stopped); // replaced
  EXPECT_EQ(core.children[1].phase, slot_phase::running); // a, unchanged
  EXPECT_TRUE(core.children[1].held);
  EXPECT_EQ(core.children[2].phase, slot_phase::stopped); // new
}
