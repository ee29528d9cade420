// Every restart a supervisor performs becomes an incident in the audit log:
// opened at detection, resolved when the replacement is ready, or failed,
// escalated, held. Real processes, the real tracker and audit log.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include <caf/scheduler/test_coordinator.hpp>

#include "actors/run_report.hpp"
#include "actors/system.hpp"
#include "actors/tracker.hpp"
#include "runtime/incident_reader.hpp"
#include "tests/actors/supervision_fixture.hpp"
#include "tests/actors/test_scheduler.hpp"
#include "tests/support/incident_fields.hpp"

using namespace grace;
using namespace std::chrono_literals;
using runtime::incident;
using runtime::incident_status;
using test::child;
using test::find_step;
using test::Supervision;
using test::tree;
using test::wait_until;

namespace {

std::optional<std::string> text_field(const runtime::detail_fields& fields,
                                      const std::string& key) {
  auto* s = test::field<std::string>(fields, key);
  return s ? std::optional{*s} : std::nullopt;
}

std::optional<std::int64_t> int_field(const runtime::detail_fields& fields,
                                      const std::string& key) {
  auto* n = test::field<std::int64_t>(fields, key);
  return n ? std::optional{*n} : std::nullopt;
}

} // namespace

TEST_F(Supervision, ACrashIsOpenedAtOnceAndResolvedWhenTheReplacementRuns) {
  start(tree("one_for_one", child("a")));
  ASSERT_TRUE(wait_up({"a"}));
  auto first = pid_of("a");
  kill_child("a");
  ASSERT_TRUE(wait_closed(1));
  ASSERT_TRUE(wait_starts("a", 2));
  auto lines = incident_lines();
  ASSERT_EQ(lines.size(), 2u);
  auto& opened = lines[0];
  auto& closed = lines[1];
  EXPECT_EQ(opened.status, incident_status::open);
  EXPECT_EQ(opened.id, closed.id);
  EXPECT_EQ(closed.status, incident_status::resolved);
  EXPECT_TRUE(closed.success());
  EXPECT_EQ(closed.component, "root/a");
  EXPECT_EQ(closed.failure_mode, "crashed");
  EXPECT_EQ(closed.severity, "high");
  EXPECT_EQ(closed.playbook, "restart");
  EXPECT_EQ(closed.attempts, 1);
  EXPECT_EQ(closed.failures, 1);
  EXPECT_EQ(int_field(closed.detail, "signal"), SIGKILL);
  EXPECT_EQ(int_field(closed.detail, "pid"), first);
  ASSERT_TRUE(closed.mttr_seconds);
  EXPECT_GT(*closed.mttr_seconds, 0.0);
  ASSERT_TRUE(closed.closed_us);
  // MTTR comes from the steady clock; the wall times agree with it (each
  // is read with the steady clock, a preemption apart at most).
  EXPECT_NEAR(static_cast<double>(*closed.closed_us - closed.detected_us) / 1e6,
              *closed.mttr_seconds, 0.05);
  ASSERT_TRUE(find_step(closed, "restart"));
  auto* verify = find_step(closed, "verify");
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify->ok);
  EXPECT_EQ(text_field(verify->fields, "ready"), "running");
  EXPECT_EQ(int_field(verify->fields, "pid"), pid_of("a"));
  auto table = report_->entries();
  ASSERT_EQ(table.size(), 1u);
  auto& row = table["root/a"];
  EXPECT_EQ(row.failures, (std::map<std::string, int>{{"crashed", 1}}));
  EXPECT_EQ(row.restarts, 1);
  EXPECT_EQ(row.incidents, 1);
  ASSERT_EQ(row.mttr.count(), 1u);
  EXPECT_DOUBLE_EQ(row.mttr.p50(), *closed.mttr_seconds * 1e3);
}

TEST_F(Supervision, AnExitCodeIsAnExitedIncidentWithItsCode) {
  start(tree("one_for_one", child("a", "--first-run, DIR/a.once, --exit, \"3\"",
                                  "restart: transient")));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "exited");
  EXPECT_EQ(x.status, incident_status::resolved);
  EXPECT_EQ(int_field(x.detail, "code"), 3);
}

TEST_F(Supervision, ANormalExitOfATransientChildIsNoIncident) {
  start(tree("one_for_one",
             child("a", "--exit, \"0\"", "restart: transient") + child("b")));
  ASSERT_TRUE(wait_log("not restarted"));
  ASSERT_TRUE(wait_up({"b"}));
  EXPECT_TRUE(incident_lines().empty());
}

TEST_F(Supervision, ACrashOfATemporaryChildIsAFailedIncident) {
  start(
    tree("one_for_one", child("a", "--signal, \"11\"", "restart: temporary")));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::failed);
  EXPECT_FALSE(x.success());
  EXPECT_EQ(x.failure_mode, "crashed");
  EXPECT_EQ(text_field(x.detail, "outcome"), "temporary: not restarted");
  EXPECT_EQ(starts("a").size(), 1u);
}

TEST_F(Supervision, SeverityOverridesFromTheConfigApply) {
  start(tree("one_for_one",
             child("a", "", "severity: {crashed: critical}") + child("b")));
  ASSERT_TRUE(wait_up({"a", "b"}));
  kill_child("a");
  ASSERT_TRUE(wait_closed(1));
  kill_child("b");
  ASSERT_TRUE(wait_closed(2));
  auto closed = closed_incidents();
  EXPECT_EQ(closed[0].severity, "critical");
  EXPECT_EQ(closed[1].severity, "high");
}

TEST_F(Supervision, RepeatedFailuresWhileOpenAreCountedAndAHoldIsSnapshotted) {
  // Never ready (nobody listens on the port): each try times out, all on
  // one incident, until the supervisor gives up and holds it.
  start(R"(grace: 1
defaults: {backoff: {min: 0s}}
supervisor:
  intensity: 5
  children:
    - supervisor:
        name: stalls
        intensity: 2
        period: 30s
        on_exhausted: hold
        children:
)" + std::string{"          "}
        + child("s", "--print, hello-from-s, --eprint, oops-from-s",
                "ready: {tcp: 1, within: 100ms}")
            .substr(4));
  ASSERT_TRUE(wait_log("holding the subtree stopped"));
  ASSERT_TRUE(wait_closed(2));
  std::vector<incident> lines, held_supervisor;
  for (auto& x : incident_lines())
    (x.component == "root/stalls" ? held_supervisor : lines).push_back(x);
  ASSERT_EQ(lines.size(), 2u) << "one incident: opened once, closed once";
  auto& x = lines[1];
  EXPECT_EQ(x.status, incident_status::held);
  EXPECT_EQ(x.component, "root/stalls/s");
  EXPECT_EQ(x.failure_mode, "ready_timeout");
  EXPECT_EQ(x.failures, 3);
  EXPECT_EQ(x.attempts, 2);
  ASSERT_TRUE(x.snapshot);
  EXPECT_EQ(*x.snapshot, "snapshots/" + x.id + ".json");
  auto snap = test::slurp(dir_ + "/logs/" + *x.snapshot);
  EXPECT_NE(snap.find("\"state\": \"held\""), std::string::npos) << snap;
  EXPECT_NE(snap.find("hello-from-s"), std::string::npos) << snap;
  EXPECT_NE(snap.find("oops-from-s"), std::string::npos) << snap;
  EXPECT_NE(snap.find("\"port\": 1"), std::string::npos) << snap;
  auto row = report_->entries()["root/stalls/s"];
  EXPECT_EQ(row.failures, (std::map<std::string, int>{{"ready_timeout", 3}}));
  EXPECT_EQ(row.restarts, 2);
  EXPECT_EQ(row.mttr.count(), 0u);
  EXPECT_EQ(row.closed[incident_status::held], 1);
  // The supervisor that gave up and holds is on record too, as escalation
  // would record it at its parent.
  ASSERT_EQ(held_supervisor.size(), 2u);
  auto& sup = held_supervisor[1];
  EXPECT_EQ(sup.status, incident_status::held);
  EXPECT_EQ(sup.failure_mode, "restart_intensity_exceeded");
  EXPECT_EQ(sup.severity, "critical");
  EXPECT_NE(text_field(sup.detail, "reason")
              .value_or("")
              .find("restart intensity exceeded (more than 2 restarts in 30s)"),
            std::string::npos);
}

TEST_F(Supervision, EscalationClosesTheChildAndHealsTheSupervisor) {
  start(R"(grace: 1
defaults: {backoff: {min: 0s}}
supervisor:
  intensity: 5
  children:
    - supervisor:
        name: mid
        intensity: 0
        children:
)" + std::string{"          "}
        + child("leaf").substr(4));
  ASSERT_TRUE(wait_up({"leaf"}));
  kill_child("leaf");
  ASSERT_TRUE(wait_closed(2));
  ASSERT_TRUE(wait_starts("leaf", 2));
  auto closed = closed_incidents();
  std::map<std::string, incident> by_component;
  for (auto& x : closed)
    by_component[x.component] = x;
  auto& leaf = by_component.at("root/mid/leaf");
  EXPECT_EQ(leaf.status, incident_status::escalated);
  EXPECT_NE(text_field(leaf.detail, "outcome")->find("restart intensity"),
            std::string::npos);
  auto& mid = by_component.at("root/mid");
  EXPECT_EQ(mid.failure_mode, "restart_intensity_exceeded");
  EXPECT_EQ(mid.severity, "critical");
  EXPECT_EQ(mid.status, incident_status::resolved);
  EXPECT_EQ(text_field(mid.actions.back().fields, "ready"),
            "all children ready");
}

TEST_F(Supervision, ACrashStormOfAHundredChildrenIsAHundredIncidents) {
  start(tree("one_for_one",
             "    - {name: w, command: [CRASHY, --stamp, DIR/w.stamp], "
             "replicas: 100}\n",
             "intensity: 1000, period: 10s"));
  ASSERT_TRUE(
    wait_report(actors::report_kind::ready, 1, 2 * test::default_patience));
  ASSERT_TRUE(wait_starts("w", 100, 2 * test::default_patience));
  std::vector<int> pids;
  for (auto pid : starts("w"))
    if (pid > 1)
      pids.push_back(pid);
  ASSERT_EQ(pids.size(), 100u);
  for (auto pid : pids)
    ::kill(pid, SIGKILL);
  ASSERT_TRUE(wait_closed(100, 2 * test::default_patience));
  ASSERT_TRUE(wait_starts("w", 200, 2 * test::default_patience));
  auto lines = incident_lines();
  std::set<std::string> opened, resolved, components;
  for (auto& x : lines) {
    if (x.status == incident_status::open)
      EXPECT_TRUE(opened.insert(x.id).second) << "opened twice: " << x.id;
    else {
      EXPECT_EQ(x.status, incident_status::resolved) << x.id;
      EXPECT_TRUE(resolved.insert(x.id).second) << "closed twice: " << x.id;
      components.insert(x.component);
    }
  }
  EXPECT_EQ(opened.size(), 100u);
  EXPECT_EQ(resolved, opened);
  EXPECT_EQ(components.size(), 100u) << "one incident per child";
  EXPECT_TRUE(runtime::find_open(audit_path()).open.empty());
}

// -- on CAF's deterministic scheduler, with the node's clock set by the test

TEST(RunReport, TheMedianMttrOfMonthsOfIncidentsHoldsAFewHundredNumbers) {
  actors::mttr_summary few;
  for (int i = 255; i >= 1; --i)
    few.add(i * 0.5);
  EXPECT_DOUBLE_EQ(few.p50(), 64.0) << "exact while there are few";
  // 200,000 MTTRs from 0.1 ms to 10 s, spread on a log scale: a bounded
  // number of buckets, and a median within 0.5% of the exact one.
  actors::mttr_summary many;
  std::vector<double> all;
  std::uint64_t x = 88172645463325252ull; // xorshift: the same every run
  for (int i = 0; i < 200'000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    auto ms = 0.1 * std::pow(1e5, static_cast<double>(x % 1'000'000) / 1e6);
    many.add(ms);
    all.push_back(ms);
  }
  std::sort(all.begin(), all.end());
  auto exact = all[(all.size() - 1) / 2];
  EXPECT_EQ(many.count(), 200'000u);
  EXPECT_LE(many.held(), 1200u);
  EXPECT_NEAR(many.p50(), exact, exact * 0.005);
}

TEST(TrackerOnTheTestScheduler, AnIncidentsTimesAreTheNodesClock) {
  auto cfg = actors::make_config({true, 0});
  caf::actor_system sys{*cfg};
  auto& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto time = std::make_shared<actors::manual_clock>(
    5'000'000'000, 1'765'000'000'000'000); // 2025-12-06
  auto report = std::make_shared<actors::run_report>();
  // The lines the tracker writes, as `grace events` hears of them.
  std::vector<std::string> lines;
  auto events = sys.spawn<test::line_sink>(&lines);
  actors::tracker_options opts;
  opts.report = report;
  opts.events = events;
  opts.time = time;
  auto tracker = actors::spawn_tracker(sys, opts);
  sched.run();
  // A crash seen now, ready 2.5 ms later; a second one 1 s after, never
  // recovered before the tracker stops.
  caf::anon_send(tracker,
                 actors::failed_note("root/a", config::failure_mode::crashed,
                                     "killed by SIGKILL", time->steady_ns()));
  time->advance(2'500'000);
  caf::anon_send(tracker, actors::recovered_note("root/a", "running", 42,
                                                 time->steady_ns()));
  sched.run();
  time->advance(1'000'000'000);
  caf::anon_send(tracker,
                 actors::failed_note("root/b", config::failure_mode::exited,
                                     "exited with code 1", time->steady_ns()));
  sched.run();
  auto rows = report->entries();
  ASSERT_EQ(rows["root/a"].mttr.count(), 1u);
  EXPECT_DOUBLE_EQ(rows["root/a"].mttr.p50(), 2.5);
  EXPECT_EQ(rows["root/a"].closed[incident_status::resolved], 1);
  EXPECT_EQ(rows.count("root/b"), 0u) << "still open";
  // Its record's times are the node's clock: detected at the wall time the
  // clock started at, resolved 2.5 ms later, b detected 1 s after that.
  ASSERT_EQ(lines.size(), 3u); // a opened, a resolved, b opened
  auto a = runtime::incident_from_json(lines[1]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->detected_us, 1'765'000'000'000'000);

  auto b = runtime::incident_from_json(lines[2]);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->detected_us, 1'765'000'001'002'500);
  caf::anon_send_exit(events, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(tracker, caf::exit_reason::user_shutdown);
  sched.run();
  sys.await_actors_before_shutdown(false);
}
