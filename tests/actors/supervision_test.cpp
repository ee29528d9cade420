// The supervisor and process actors with real processes: OTP's strategies,
// restart types, intensity, escalation, hold, pools, start order and
// readiness gating, reverse stop order, shutdown escalation, orphans, spawn
// failures and backoff.
#include <csignal>

#include "tests/actors/supervision_fixture.hpp"
#include "tests/support/ports.hpp"

using namespace grace;
using namespace std::chrono_literals;
using actors::report_kind;
using test::alive;
using test::Supervision;
using test::wait_until;

using test::child;
using test::tree;

TEST_F(Supervision, StartsChildrenInOrderEachReadyBeforeTheNext) {
  start(tree("one_for_one", child("a", "", "ready: {delay: 150ms}")
                              + child("b", "", "ready: {delay: 150ms}")
                              + child("c")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b", "c"}));
  auto a = start_times("a");
  auto b = start_times("b");
  auto c = start_times("c");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  // Each starts only once the one before is ready: its own first
  // instruction comes after grace logged its predecessor ready (a's and b's
  // 150 ms run from their spawns, which the stamps of their main()s, taken
  // later, cannot bound).
  for (auto [before, after] :
       {std::pair{"root/a: ready", "b"}, std::pair{"root/b: ready", "c"}}) {
    auto ready = logs_->time_of(before);
    ASSERT_GT(ready, 0) << before;
    EXPECT_GT(start_times(after)[0], ready) << before << " then " << after;
  }
  EXPECT_LT(logs_->index_of("root/a: ready"),
            logs_->index_of("root/b: started"));
  EXPECT_LT(logs_->index_of("root/b: ready"),
            logs_->index_of("root/c: started"));
}

TEST_F(Supervision, OneForOneRestartsOnlyTheFailedChild) {
  start(tree("one_for_one", child("a") + child("b") + child("c")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b", "c"}));
  auto a = pid_of("a");
  auto c = pid_of("c");
  kill_child("b");
  ASSERT_TRUE(wait_starts("b", 2));
  EXPECT_EQ(starts("a"), std::vector<int>{a});
  EXPECT_EQ(starts("c"), std::vector<int>{c});
  EXPECT_TRUE(alive(pid_of("b")));
}

TEST_F(Supervision, OneForAllRestartsEveryChild) {
  start(tree("one_for_all", child("a") + child("b") + child("c")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b", "c"}));
  auto old_a = pid_of("a");
  kill_child("b");
  for (auto n : {"a", "b", "c"})
    ASSERT_TRUE(wait_starts(n, 2)) << n;
  EXPECT_FALSE(alive(old_a));
  // A child may run before grace's (asynchronous) log says it started.
  for (auto n : {"root/a: started", "root/b: started", "root/c: started"})
    ASSERT_TRUE(wait_log(n, 2)) << n;
  // Siblings stop in reverse order, then all start in order.
  EXPECT_LT(logs_->index_of("root/c: stopped"),
            logs_->index_of("root/a: stopped"));
  // (Spawn order, from the log: with the default readiness a child counts
  // as ready once spawned, so its own first instruction may come later.)
  EXPECT_LT(logs_->last_index_of("root/a: started"),
            logs_->last_index_of("root/b: started"));
  EXPECT_LT(logs_->last_index_of("root/b: started"),
            logs_->last_index_of("root/c: started"));
}

TEST_F(Supervision, RestForOneRestartsTheFailedAndLaterChildren) {
  start(tree("rest_for_one", child("a") + child("b") + child("c")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b", "c"}));
  auto a = pid_of("a");
  kill_child("b");
  ASSERT_TRUE(wait_starts("b", 2));
  ASSERT_TRUE(wait_starts("c", 2));
  EXPECT_EQ(starts("a"), std::vector<int>{a});
}

// -- strategy x restart type x exit kind, as OTP's supervisor_SUITE ----------

struct matrix_cell {
  std::string strategy;
  std::string restart;
  std::string exit; // code0, code3, signal

  // How ctest and gtest show the cell (not as a dump of its bytes).
  friend void PrintTo(const matrix_cell& c, std::ostream* os) {
    *os << c.strategy << ' ' << c.restart << ' ' << c.exit;
  }
};

class SupervisionMatrix : public Supervision,
                          public ::testing::WithParamInterface<matrix_cell> {};

TEST_P(SupervisionMatrix, RestartsExactlyWhatOtpWould) {
  auto [strategy, restart, exit] = GetParam();
  std::string action = exit == "code0"   ? "--exit, \"0\""
                       : exit == "code3" ? "--exit, \"3\""
                                         : "--signal, \"9\"";
  // b fails once, 200 ms after its start: after the whole tree is up
  // (under ASan a start can take tens of milliseconds).
  auto subject
    = child("b", "--sleep, \"200\", --first-run, DIR/b.once, " + action,
            "restart: " + restart);
  start(tree(strategy, child("a") + subject + child("c")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b", "c"}));
  bool restarts
    = restart == "permanent" || (restart == "transient" && exit != "code0");
  if (!restarts) {
    ASSERT_TRUE(wait_log("not restarted"));
    EXPECT_EQ(starts("a").size(), 1u);
    EXPECT_EQ(starts("b").size(), 1u);
    EXPECT_EQ(starts("c").size(), 1u);
    return;
  }
  std::size_t a = strategy == "one_for_all" ? 2 : 1;
  std::size_t c = strategy == "one_for_one" ? 1 : 2;
  ASSERT_TRUE(wait_starts("b", 2));
  ASSERT_TRUE(wait_starts("a", a));
  ASSERT_TRUE(wait_starts("c", c));
  // The restart plan is complete once b's replacement and the siblings the
  // strategy covers are up; nothing else may have been restarted.
  ASSERT_TRUE(wait_log("root: restarting root/b"));
  ASSERT_TRUE(wait_until([&] { return alive(pid_of("c")); }));
  EXPECT_EQ(starts("a").size(), a);
  EXPECT_EQ(starts("b").size(), 2u);
  EXPECT_EQ(starts("c").size(), c);
}

namespace {

// The whole matrix runs against supervisor_core (supervisor_core_test.cpp);
// these cells show the actors carry its decisions out with real processes.
std::vector<matrix_cell> matrix() {
  return {{"one_for_one", "permanent", "signal"},
          {"one_for_all", "transient", "code3"},
          {"rest_for_one", "permanent", "code0"},
          {"one_for_one", "transient", "code0"},
          {"one_for_all", "temporary", "signal"}};
}

std::string cell_name(const ::testing::TestParamInfo<matrix_cell>& cell) {
  return cell.param.strategy + "_" + cell.param.restart + "_" + cell.param.exit;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(AllCells, SupervisionMatrix,
                         ::testing::ValuesIn(matrix()), cell_name);

// -- intensity ---------------------------------------------------------------

TEST_F(Supervision, IntensityExactlyAtTheLimitIsTolerated) {
  // Fails three times, then stays up: three restarts with intensity 3.
  start(tree("one_for_one", child("a", "--fail-times, DIR/a.count, \"3\""),
             "intensity: 3, period: 10s"));
  ASSERT_TRUE(wait_starts("a", 4));
  ASSERT_TRUE(wait_report(report_kind::ready));
  EXPECT_EQ(reports_.count(report_kind::exited), 0u);
  EXPECT_TRUE(alive(pid_of("a")));
}

TEST_F(Supervision, IntensityOneAboveTheLimitGivesUp) {
  start(tree("one_for_one", child("a", "--fail-times, DIR/a.count, \"4\""),
             "intensity: 3, period: 10s"));
  ASSERT_TRUE(wait_report(report_kind::exited));
  EXPECT_EQ(starts("a").size(), 4u);
  auto r = reports_.all().back();
  EXPECT_EQ(r.what.mode,
            grace::config::failure_mode::restart_intensity_exceeded);
  EXPECT_EQ(r.path, "root");
}

TEST_F(Supervision, EscalatesThroughTwoLevels) {
  start(R"(grace: 1
defaults: {backoff: {min: 0s}}
supervisor:
  intensity: 1
  period: 10s
  children:
    - supervisor:
        name: mid
        intensity: 1
        period: 10s
        children:
)" + std::string{"          "}
        + child("leaf", "--exit, \"1\"").substr(4));
  ASSERT_TRUE(wait_report(report_kind::exited));
  // mid gives up after 2 starts of leaf; root restarts mid once (2 more);
  // mid gives up again and root exceeds its intensity.
  EXPECT_EQ(starts("leaf").size(), 4u);
  EXPECT_EQ(logs_->count("root/mid: restart intensity exceeded"), 2u);
  EXPECT_EQ(logs_->count("root: restart intensity exceeded"), 1u);
  EXPECT_EQ(reports_.all().back().what.mode,
            grace::config::failure_mode::restart_intensity_exceeded);
}

TEST_F(Supervision, ACrashLoopingGroupHoldsBackNeitherItsChildrenNorTheTree) {
  // Five one_for_one children, each ready 200 ms into its life and dead 60
  // ms later, restarted without backoff; a supervisor listed after them.
  std::string group;
  for (auto n : {"g1", "g2", "g3", "g4", "g5"})
    group
      += "          "
         + child(n, "--sleep, \"260\", --exit, \"1\"", "ready: {delay: 200ms}")
             .substr(4);
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
        "  intensity: 1000\n  period: 10s\n  children:\n"
        "    - supervisor:\n        name: loop\n        intensity: 1000\n"
        "        period: 10s\n        children:\n"
        + group
        + "    - supervisor:\n        name: after\n        children:\n"
          "          "
        + child("z").substr(4));
  // The group counts as started once each child was ready once (as OTP's
  // init returns), not when all happen to be ready together: z starts.
  ASSERT_TRUE(wait_starts("z", 1));
  // No child's readiness holds back a sibling's restart: each loops at its
  // own pace (g1 is ahead by the four readiness delays before g5 began).
  ASSERT_TRUE(wait_starts("g5", 4));
  EXPECT_LE(starts("g1").size(), 3 * starts("g5").size());
  // The others loop too (a start is stamped from the child's main(), which
  // a loaded machine may run a little after g5's).
  for (auto n : {"g1", "g2", "g3", "g4"})
    EXPECT_TRUE(wait_starts(n, 4)) << n;
}

TEST_F(Supervision, HoldKeepsTheSubtreeStoppedWithoutEscalating) {
  start(R"(grace: 1
defaults: {backoff: {min: 0s}}
supervisor:
  intensity: 5
  children:
    - supervisor:
        name: held
        intensity: 1
        on_exhausted: hold
        children:
)" + std::string{"          "}
        + child("x", "--exit, \"1\"").substr(4) + std::string{"          "}
        + child("y").substr(4));
  ASSERT_TRUE(wait_log("holding the subtree stopped"));
  ASSERT_TRUE(wait_log("root/held/y: stopped"));
  EXPECT_EQ(starts("x").size(), 2u);
  EXPECT_FALSE(alive(pid_of("y")));
  EXPECT_EQ(reports_.count(report_kind::exited), 0u);
  EXPECT_EQ(logs_->count("root: restarting"), 0u);
}

// -- pools, readiness, stopping ----------------------------------------------

TEST_F(Supervision, ReplicasFormAPool) {
  start(R"(grace: 1
supervisor:
  children:
    - {name: w, command: [CRASHY, --stamp, DIR/w.stamp], replicas: 3}
)");
  ASSERT_TRUE(wait_report(report_kind::ready));
  // "ready" (the default rule: running) can come before a child has run a
  // line of its own code; the stamps follow.
  ASSERT_TRUE(wait_starts("w", 3));
  EXPECT_EQ(starts("w").size(), 3u);
  for (auto n : {"root/w-0: ready", "root/w-1: ready", "root/w-2: ready"})
    EXPECT_EQ(logs_->count(n), 1u) << n;
}

TEST_F(Supervision, StopsInReverseStartOrder) {
  start(tree("one_for_one", child("a") + child("b") + child("c")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b", "c"}));
  ASSERT_TRUE(stop_tree());
  auto c = logs_->index_of("root/c: stopped");
  auto b = logs_->index_of("root/b: stopped");
  auto a = logs_->index_of("root/a: stopped");
  ASSERT_GE(c, 0);
  EXPECT_LT(c, b);
  EXPECT_LT(b, a);
  for (auto n : {"a", "b", "c"})
    EXPECT_FALSE(alive(pid_of(n))) << n;
}

TEST_F(Supervision, ReadyGatesTheNextChildAndTimesOut) {
  // a never listens on its port: not ready within 200ms, killed, restarted;
  // b waits for a.
  start(tree("one_for_one",
             child("a", "", "ready: {tcp: 1, within: 200ms}") + child("b"),
             "intensity: 1, period: 10s"));
  ASSERT_TRUE(wait_log("root/a: not ready within 200ms"));
  ASSERT_TRUE(wait_report(report_kind::exited));
  // Spawns, by grace's log (a child killed at its deadline may not have run
  // a line of its own).
  EXPECT_EQ(logs_->count("root/a: started (pid"), 2u);
  EXPECT_EQ(logs_->count("root/b: started"), 0u);
  EXPECT_TRUE(starts("b").empty());
  EXPECT_EQ(reports_.all().back().what.mode,
            grace::config::failure_mode::restart_intensity_exceeded);
}

TEST_F(Supervision, TcpReadinessPassesWhenThePortListens) {
  auto port = test::free_port_text();
  start(tree("one_for_one",
             child("a", "--sleep, \"100\", --listen, \"" + port + "\"",
                   "ready: {tcp: " + port + ", within: 60s}")
               + child("b")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_starts("b", 1));
  auto a = start_times("a");
  auto b = start_times("b");
  EXPECT_GE(b[0] - a[0], 100'000'000LL);
}

TEST_F(Supervision, ShutdownEscalatesToSigkill) {
  start(tree("one_for_one", child("a", "--ignore-term, --pid-file, DIR/a.pid",
                                  "shutdown: 200ms")));
  // The pid file says the child ignores SIGTERM by now.
  ASSERT_TRUE(wait_pid_file("a"));
  auto pid = pid_of("a");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(stop_tree());
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_EQ(logs_->count("root/a: did not stop within 200ms, sending SIGKILL"),
            1u);
  EXPECT_EQ(logs_->count("root/a: stopped (killed by SIGKILL)"), 1u);
  EXPECT_FALSE(alive(pid));
}

TEST_F(Supervision, TheStopSignalIsSentFirst) {
  // It ignores SIGTERM; an hour of `shutdown`: only its stop_signal can end
  // it before the test gives up.
  start(tree("one_for_one", child("a", "--ignore-term, --pid-file, DIR/a.pid",
                                  "shutdown: 1h, stop_signal: SIGINT")));
  ASSERT_TRUE(wait_pid_file("a"));
  ASSERT_TRUE(stop_tree());
  EXPECT_EQ(logs_->count("root/a: stopped (killed by SIGINT)"), 1u);
}

TEST_F(Supervision, AStoppedChildIsContinuedToSeeItsStopSignal) {
  // SIGSTOPped (as by a debugger): SIGTERM stays pending until SIGCONT, and
  // an hour of `shutdown` would pass before the SIGKILL.
  start(
    tree("one_for_one", child("a", "--pid-file, DIR/a.pid", "shutdown: 1h")));
  ASSERT_TRUE(wait_pid_file("a"));
  auto pid = pid_of("a");
  ASSERT_GT(pid, 1);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(wait_until([&] {
    auto stat = test::slurp("/proc/" + std::to_string(pid) + "/stat");
    return stat.find(") T ") != std::string::npos;
  }));
  ASSERT_TRUE(stop_tree());
  EXPECT_EQ(logs_->count("root/a: stopped (killed by SIGTERM)"), 1u);
}

TEST_F(Supervision, BrutalKillDoesNotWait) {
  start(tree("one_for_one", child("a", "--ignore-term, --pid-file, DIR/a.pid",
                                  "shutdown: brutal_kill")));
  ASSERT_TRUE(wait_pid_file("a"));
  ASSERT_TRUE(stop_tree());
  EXPECT_EQ(logs_->count("root/a: stopped (killed by SIGKILL)"), 1u);
  EXPECT_EQ(logs_->count("did not stop within"), 0u);
}

TEST_F(Supervision, GrandchildrenDoNotOutliveARestartOrAStop) {
  start(tree("one_for_one", child("a", "--grandchild, DIR/grandchild")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a"}));
  auto read_pid = [&] {
    std::ifstream in{dir_ + "/grandchild"};
    int pid = 0;
    in >> pid;
    return pid;
  };
  ASSERT_TRUE(wait_until([&] { return read_pid() > 0; }));
  auto first = read_pid();
  kill_child("a");
  ASSERT_TRUE(wait_starts("a", 2));
  EXPECT_TRUE(wait_until([&] { return !alive(first); }));
  ASSERT_TRUE(
    wait_until([&] { return read_pid() != first && read_pid() > 0; }));
  auto second = read_pid();
  ASSERT_TRUE(stop_tree());
  EXPECT_TRUE(wait_until([&] { return !alive(second); }));
}

TEST_F(Supervision, SpawnFailuresCountTowardIntensity) {
  start(tree("one_for_one",
             "    - {name: ghost, command: [/nonexistent/ghost]}\n",
             "intensity: 2, period: 10s"));
  ASSERT_TRUE(wait_report(report_kind::exited));
  EXPECT_EQ(logs_->count("root/ghost: cannot execute '/nonexistent/ghost': "
                         "No such file or directory"),
            3u);
  EXPECT_EQ(reports_.all().back().what.mode,
            grace::config::failure_mode::restart_intensity_exceeded);
}

TEST_F(Supervision, CrashLoopIsBackedOff) {
  start(R"(grace: 1
defaults: {backoff: {min: 50ms, max: 10s, factor: 2, jitter: 0}}
supervisor:
  intensity: 100
  children:
    - {name: a, command: [CRASHY, --stamp, DIR/a.stamp, --exit, "1"]}
)");
  ASSERT_TRUE(wait_starts("a", 5));
  ASSERT_TRUE(wait_log("root: restarting root/a", 4));
  // The decisions: the first restart of the streak at once, then 50, 100,
  // 200 ms (factor 2, no jitter).
  std::vector<std::string> decided;
  for (auto& line : logs_->lines())
    if (line.starts_with("root: restarting root/a")) {
      auto in = line.rfind(") in ");
      decided.push_back(in == std::string::npos ? "at once"
                                                : line.substr(in + 5));
    }
  ASSERT_GE(decided.size(), 4u);
  EXPECT_EQ(decided[0], "at once");
  EXPECT_EQ(decided[1], "50ms");
  EXPECT_EQ(decided[2], "100ms");
  EXPECT_EQ(decided[3], "200ms");
  // And each delay was kept: a start's main() comes before its exit, the
  // exit before the delay begins, the delay before the next main().
  auto t = start_times("a");
  EXPECT_GE(t[2] - t[1], 50'000'000LL);
  EXPECT_GE(t[3] - t[2], 100'000'000LL);
  EXPECT_GE(t[4] - t[3], 200'000'000LL);
}

TEST_F(Supervision, ChildGetsItsIdentityInTheEnvironment) {
  start(tree("one_for_one",
             child("a",
                   "--env, GRACE_COMPONENT, --env, GRACE_ATTEMPT, --env, "
                   "MODE",
                   "env: {MODE: fast}")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  auto out = dir_ + "/logs/root.a.out";
  ASSERT_TRUE(wait_until(
    [&] { return test::slurp(out).find("MODE=") != std::string::npos; }));
  EXPECT_EQ(test::slurp(out),
            "GRACE_COMPONENT=root/a\nGRACE_ATTEMPT=1\nMODE=fast\n");
}

TEST_F(Supervision, TheConfigsEnvironmentOverridesWhatGraceInherited) {
  // As if grace ran with these set (under another grace, say).
  ::setenv("MODE", "inherited", 1);
  ::setenv("GRACE_COMPONENT", "outer/grace", 1);
  ::setenv("KEPT", "yes", 1);
  start(tree("one_for_one",
             child("a", "--env, MODE, --env, GRACE_COMPONENT, --env, KEPT",
                   "env: {MODE: configured}")));
  auto out = dir_ + "/logs/root.a.out";
  ASSERT_TRUE(wait_until(
    [&] { return test::slurp(out).find("KEPT=") != std::string::npos; }));
  EXPECT_EQ(test::slurp(out),
            "MODE=configured\nGRACE_COMPONENT=root/a\nKEPT=yes\n");
  // (Only once the child has started: grace reads its environment then.)
  ::unsetenv("MODE");
  ::unsetenv("GRACE_COMPONENT");
  ::unsetenv("KEPT");
}

TEST_F(Supervision, AFloodingChildIsRotatedAndStallsNobody) {
  output_max_bytes_ = 1024 * 1024;
  start(R"(grace: 1
defaults: {backoff: {min: 0s}}
supervisor:
  intensity: 100000
  children:
    - {name: flood, command: [CRASHY, --stamp, DIR/flood.stamp, --flood]}
    - {name: loop, command: [CRASHY, --stamp, DIR/loop.stamp, --exit, "1"]}
)");
  auto out = dir_ + "/logs/root.flood.out";
  // The crash loop keeps being healed while the other child writes as fast
  // as it can, and the flood is rotated while it runs.
  ASSERT_TRUE(wait_starts("loop", 20));
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(out + ".2"); }));
  EXPECT_EQ(starts("flood").size(), 1u);
  // (Rotation goes on while we look: a file may be between two names.)
  for (auto f : {out, out + ".1", out + ".2"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(f, ec);
    if (!ec) {
      EXPECT_LE(size, 1024u * 1024u) << f;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(out + ".3"));
}

TEST_F(Supervision, NotifyReadinessWaitsForReadyOnNotifySocket) {
  start(tree("one_for_one",
             child("a",
                   "--sleep, \"150\", --notify, \"STATUS=warming up\", "
                   "--notify, READY=1",
                   "ready: {notify: true, within: 60s}")
               + child("b")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b"}));
  EXPECT_GE(start_times("b")[0] - start_times("a")[0], 150'000'000LL);
}

TEST_F(Supervision, NotifyReadinessTimesOutWithoutReady) {
  start(tree("one_for_one",
             child("a", "", "ready: {notify: true, within: 150ms}"),
             "intensity: 0, period: 10s"));
  ASSERT_TRUE(wait_log("root/a: not ready within 150ms"));
  ASSERT_TRUE(wait_report(report_kind::exited));
}

TEST_F(Supervision, ExecReadinessRunsTheCheckUntilItPasses) {
  start(tree("one_for_one",
             child("a", "--sleep, \"150\", --pid-file, DIR/a.ready",
                   "ready: {exec: [/bin/sh, -c, \"test -s DIR/a.ready\"], "
                   "within: 60s}")
               + child("b")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b"}));
  EXPECT_GE(start_times("b")[0] - start_times("a")[0], 150'000'000LL);
}

TEST_F(Supervision, AHeldSubtreeDoesNotBlockItsSiblings) {
  // `stalls` gives up during its own start and holds; the root goes on with
  // the next child instead of waiting forever for stalls to be ready.
  start(R"(grace: 1
defaults: {backoff: {min: 0s}}
supervisor:
  children:
    - supervisor:
        name: stalls
        intensity: 1
        on_exhausted: hold
        children:
          - {name: s, command: [CRASHY, --stamp, DIR/s.stamp],
             ready: {tcp: 1, within: 100ms}}
    - {name: after, command: [CRASHY, --stamp, DIR/after.stamp]}
)");
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_starts("after", 1));
  EXPECT_EQ(logs_->count("root/stalls/s: started (pid"), 2u);
  EXPECT_EQ(logs_->count("root/stalls: restart intensity exceeded"), 1u);
  EXPECT_EQ(logs_->count("root: restarting"), 0u);
}

TEST_F(Supervision, WhatTheOperatorAsksInVainIsRefusedWithACode) {
  start(tree("one_for_one", child("a")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  auto nope = operate("stop", "root/nope");
  EXPECT_EQ(actors::grace_code(nope), grace::grace_errc::no_such_component);
  EXPECT_EQ(actors::error_text(nope), "no component root/nope");
  auto fly = operate("fly", "root/a");
  EXPECT_EQ(actors::grace_code(fly), grace::grace_errc::unknown_operation);
  EXPECT_FALSE(operate("stop", "root/a")); // done: no error
  EXPECT_FALSE(operate("start", "root/a"));
}

// -- the fast path: restarts authorised in advance ---------------------------

TEST_F(Supervision, FastPathRestartsALoneChildAtOnce) {
  start(tree("one_for_one", child("a") + child("b")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b"}));
  // The permit follows "ready"; wait until it has been handed out.
  ASSERT_TRUE(wait_log("root/a: holds a restart permit"));
  kill_child("a");
  ASSERT_TRUE(wait_starts("a", 2));
  ASSERT_TRUE(wait_log("root/a: killed by SIGKILL; restarted at once"));
  ASSERT_TRUE(wait_log("root: restarting root/a (killed by SIGKILL)"));
  EXPECT_EQ(starts("b").size(), 1u);
  // And again, with the next permit.
  ASSERT_TRUE(wait_log("root/a: holds a restart permit", 2));
  kill_child("a");
  ASSERT_TRUE(wait_starts("a", 3));
}

TEST_F(Supervision, FastPathRestartsANotifyChildWhichIsReadyByItsNewSocket) {
  // Ready by sd_notify, with a heartbeat: restarted at once too, and its
  // replacement's READY=1 and heartbeats reach grace.
  start(tree("one_for_one",
             child("a",
                   "--notify, READY=1, --beat, \"20\", DIR/a.once, "
                   "\"600000\"",
                   "ready: {notify: true, within: 30s}, probes: [{kind: "
                   "heartbeat, within: 30s}]")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_log("root/a: holds a restart permit"));
  kill_child("a");
  ASSERT_TRUE(wait_starts("a", 2));
  ASSERT_TRUE(wait_log("root/a: killed by SIGKILL; restarted at once"));
  ASSERT_TRUE(wait_log("root/a: ready", 2));
  // Ready again, so permitted again: the next kill takes the fast path too.
  ASSERT_TRUE(wait_log("root/a: holds a restart permit", 2));
  kill_child("a");
  ASSERT_TRUE(wait_log("root/a: killed by SIGKILL; restarted at once", 2));
  ASSERT_TRUE(wait_log("root/a: ready", 3));
}

TEST_F(Supervision, FastPathNeverExceedsTheIntensity) {
  start(tree("one_for_one", child("a"), "intensity: 2, period: 10s"));
  ASSERT_TRUE(wait_report(report_kind::ready));
  for (std::size_t n = 1; n <= 2; ++n) {
    ASSERT_TRUE(wait_starts("a", n));
    kill_child("a");
  }
  ASSERT_TRUE(wait_starts("a", 3));
  kill_child("a");
  ASSERT_TRUE(wait_report(report_kind::exited));
  EXPECT_EQ(reports_.all().back().what.mode,
            grace::config::failure_mode::restart_intensity_exceeded);
  EXPECT_EQ(starts("a").size(), 3u);
  EXPECT_FALSE(alive(pid_of("a")));
}

TEST_F(Supervision, FastPathLeavesACleanTransientExitAlone) {
  start(tree("one_for_one", child("a", "--sleep, \"100\", --exit, \"0\"",
                                  "restart: transient")));
  ASSERT_TRUE(wait_log("not restarted"));
  EXPECT_EQ(starts("a").size(), 1u);
  EXPECT_EQ(logs_->count("restarted at once"), 0u);
}

TEST_F(Supervision, FastPathIsNotUsedWhereSiblingsWouldRestartToo) {
  start(tree("rest_for_one", child("a") + child("b")));
  ASSERT_TRUE(wait_report(report_kind::ready));
  ASSERT_TRUE(wait_up({"a", "b"}));
  kill_child("a");
  ASSERT_TRUE(wait_starts("a", 2));
  ASSERT_TRUE(wait_starts("b", 2));
  EXPECT_EQ(logs_->count("root/a: killed by SIGKILL; restarted at once"), 0u);
}

TEST_F(Supervision, FastPathKeepsUpWithAChildKilledAsSoonAsItStarts) {
  // Each replacement is killed the moment it runs, often before the actors
  // have heard of it: no exit may be lost, or the child would stay down.
  start(tree("one_for_one", child("a"), "intensity: 1000, period: 10s"));
  ASSERT_TRUE(wait_report(report_kind::ready));
  for (std::size_t n = 1; n <= 30; ++n) {
    ASSERT_TRUE(wait_starts("a", n)) << n;
    kill_child("a");
  }
  ASSERT_TRUE(wait_starts("a", 31));
  EXPECT_TRUE(wait_until([&] { return alive(pid_of("a")); }));
}
