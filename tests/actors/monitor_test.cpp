// Probes and the coordinator's basic path, with real processes: a probe
// that fails raises once, the coordinator restarts the component through its
// supervisor and verifies it (ready, every probe passing freshly) before the
// incident is resolved. Healthy components raise nothing.
#include <csignal>
#include <fstream>

#include "tests/actors/supervision_fixture.hpp"
#include "tests/actors/test_scheduler.hpp"
#include "tests/support/ports.hpp"

using namespace grace;
using namespace std::chrono_literals;
using runtime::incident;
using runtime::incident_status;
using test::never_within;
using test::Supervision;
using test::wait_until;

namespace {

std::size_t line_count(const std::string& path) {
  return test::lines_of(path).size();
}

bool has_step(const incident& x, const std::string& step) {
  for (auto& a : x.actions)
    if (a.step == step)
      return true;
  return false;
}

std::string reason(const incident& x) {
  for (auto& [k, v] : x.detail)
    if (k == "reason" || k == "outcome")
      if (auto* s = std::get_if<std::string>(&v); s && k == "outcome")
        return *s;
  for (auto& [k, v] : x.detail)
    if (k == "reason")
      return std::get<std::string>(v);
  return {};
}

// A tree of one child `a` (stamps, pid file) with the probes given.
std::string probed(const std::string& probes, const std::string& extra = "",
                   const std::string& keys = "") {
  return "grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
         "  intensity: 10\n  children:\n"
         "    - name: a\n"
         "      command: [CRASHY, --stamp, DIR/a.stamp, --pid-file, DIR/a.pid"
         + (extra.empty() ? "" : ", " + extra) + "]\n"
         + (keys.empty() ? "" : "      " + keys + "\n") + "      probes:\n"
         + probes;
}

} // namespace

TEST_F(Supervision, AFailingExecProbeIsHealedThroughTheSupervisorAndVerified) {
  start(probed("        - {kind: exec, command: [test, -s, DIR/a.pid], "
               "every: 20ms, timeout: 1s, failures: 2}\n",
               "", "ready: {exec: [test, -s, DIR/a.pid], within: 60s}"));
  // Ready (its pid file written) and so watched; then it "loses its
  // health".
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  std::filesystem::remove(dir_ + "/a.pid");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
  EXPECT_EQ(x.component, "root/a");
  EXPECT_EQ(x.failure_mode, "check_failed");
  EXPECT_EQ(x.severity, "medium");
  EXPECT_EQ(x.attempts, 1);
  EXPECT_TRUE(has_step(x, "snapshot"));
  EXPECT_TRUE(has_step(x, "restart"));
  EXPECT_TRUE(has_step(x, "verify"));
  ASSERT_TRUE(x.ttd_seconds);
  EXPECT_GT(*x.ttd_seconds, 0.0) << "two failures in a row before raising";
  ASSERT_TRUE(x.snapshot);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/logs/" + *x.snapshot));
  EXPECT_TRUE(wait_starts("a", 2)); // a start is stamped from its main()
  EXPECT_EQ(starts("a").size(), 2u) << "restarted once, by its supervisor";
  // The end-of-run table counts it, from the same incident.
  auto table = report_->entries();
  ASSERT_TRUE(table.count("root/a"));
  auto& row = table["root/a"];
  EXPECT_EQ(row.failures, (std::map<std::string, int>{{"check_failed", 1}}));
  EXPECT_EQ(row.restarts, 1);
  EXPECT_EQ(row.mttr.count(), 1u);
  EXPECT_EQ(row.closed[incident_status::resolved], 1);
}

TEST_F(Supervision, AHealthyComponentRaisesNothing) {
  // Ready once it listens (probes watch a ready component only).
  auto port = test::free_port_text();
  start(probed("        - {kind: exec, command: [sh, -c, 'echo x >> "
               "DIR/checks'], every: 20ms, timeout: 30s}\n"
               "        - {kind: tcp, port: "
                 + port + ", every: 20ms, timeout: 30s}\n",
               "--listen, \"" + port + "\"",
               "ready: {tcp: " + port + ", within: 60s}"));
  ASSERT_TRUE(wait_up({"a"}));
  // Ten checks and more, each passing.
  ASSERT_TRUE(wait_until([&] { return line_count(dir_ + "/checks") >= 10; }));
  EXPECT_TRUE(incident_lines().empty());
  EXPECT_EQ(starts("a").size(), 1u);
  EXPECT_EQ(logs_->count("failed ("), 0u) << "not even one failed check";
}

TEST_F(Supervision, AProbeFailureOfAnInstanceThatIsGoneIsDropped) {
  // The failure a monitor raises goes through its process actor, which
  // passes it on for the instance that runs and drops it for one that has
  // ended (its exit is the failure: a probe of a dead process would
  // restart it twice).
  test::failures_seen seen;
  stand_in_coordinator_ = sys_.spawn<test::failure_sink>(&seen);
  start(probed("        - {kind: exec, command: [\"false\"], every: 20ms, "
               "failures: 1}\n"));
  ASSERT_TRUE(wait_until([&] { return seen.all().size() == 1; }));
  auto raised = seen.all().front();
  ASSERT_TRUE(raised.child);
  ASSERT_TRUE(wait_starts("a", 1)); // its stamp may come after the probe
  EXPECT_EQ(raised.what.pid, pid_of("a"));
  auto stale = raised;
  stale.what.pid = raised.what.pid + 1'000'000;
  stale.what.detail = "stale";
  caf::anon_send(raised.child, stale);
  auto fresh = raised;
  fresh.what.detail = "fresh";
  caf::anon_send(raised.child, fresh);
  // Passed on in order: once the fresh one is here, the stale one was not.
  ASSERT_TRUE(wait_until([&] { return seen.all().size() >= 2; }));
  auto all = seen.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].what.detail, "fresh");
}

TEST_F(Supervision, ALostPortIsConnectivityLostAndARestartHealsIt) {
  // The first run stops listening after 300 ms; the next ones keep their
  // port open.
  auto port = test::free_port_text();
  start(probed("        - {kind: tcp, port: " + port
                 + ", every: 20ms, severity: high}\n",
               "--listen, \"" + port
                 + "\", --first-run, DIR/once, --sleep, \"300\", --unlisten",
               "ready: {tcp: " + port + ", within: 60s}"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
  EXPECT_EQ(x.failure_mode, "connectivity_lost");
  EXPECT_EQ(x.severity, "high") << "the probe's own severity";
  EXPECT_NE(reason(x).find(port), std::string::npos) << reason(x);
  EXPECT_TRUE(wait_starts("a", 2)); // a start is stamped from its main()
  EXPECT_EQ(starts("a").size(), 2u);
}

TEST_F(Supervision, ASlowProbeIsCutAtItsTimeoutAndNeverOverlaps) {
  verify_within_ = 300ms;
  start(probed("        - {kind: exec, command: [sh, -c, 'echo $$ >> "
               "DIR/runs; sleep 5'], every: 10ms, timeout: 100ms}\n"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  // The restarted one is just as slow: the verification fails.
  EXPECT_EQ(x.status, incident_status::failed);
  EXPECT_NE(reason(x).find("timed out after 100ms"), std::string::npos)
    << reason(x);
  // Every run was cut at 100 ms (its whole process group killed), one at
  // a time: far fewer runs than 10 ms intervals.
  std::vector<int> runs;
  std::ifstream in{dir_ + "/runs"};
  for (int pid = 0; in >> pid;)
    runs.push_back(pid);
  EXPECT_GE(runs.size(), 2u);
  EXPECT_LE(runs.size(), 30u);
  for (auto pid : runs) {
    ASSERT_GT(pid, 1);
    EXPECT_TRUE(wait_until([&] { return !test::alive(pid); })) << pid;
  }
}

TEST_F(Supervision, AComponentThatStaysSickFailsItsVerification) {
  verify_within_ = 300ms;
  start(probed("        - {kind: exec, command: [test, -e, DIR/never], "
               "every: 20ms}\n"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::failed);
  EXPECT_NE(reason(x).find("verification failed"), std::string::npos)
    << reason(x);
  EXPECT_NE(reason(x).find("exit code 1"), std::string::npos) << reason(x);
}

TEST_F(Supervision, WhatAFailingCheckPrintedIsKeptInTheIncident) {
  verify_within_ = 200ms;
  start(probed("        - {kind: exec, command: [sh, -c, 'echo disk is full; "
               "exit 3'], every: 20ms}\n"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  std::string out;
  for (auto& [k, v] : x.detail)
    if (k == "output")
      out = std::get<std::string>(v);
  EXPECT_EQ(out, "disk is full\n");
  EXPECT_NE(reason(x).find("exit code 3"), std::string::npos) << reason(x);
}

TEST_F(Supervision, ProbesArePausedUntilTheComponentIsReady) {
  // The probe fails until DIR/late appears, 300 ms after the start, and so
  // does the readiness check: had the probe run before readiness, it would
  // have raised.
  start(probed("        - {kind: exec, command: [test, -s, DIR/late], "
               "every: 10ms}\n",
               "--sleep, \"300\", --pid-file, DIR/late",
               "ready: {exec: [test, -s, DIR/late], within: 60s}"));
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  ASSERT_TRUE(wait_log("root/a: probe exec passes"));
  EXPECT_TRUE(incident_lines().empty());
  EXPECT_EQ(starts("a").size(), 1u);
  EXPECT_EQ(logs_->count("root/a: probe exec failed"), 0u);
}

TEST_F(Supervision, TheFirstCheckWaitsForTheInitialDelay) {
  // Each check stamps its start (CLOCK_MONOTONIC, from its main()) in
  // DIR/checks.
  start(probed("        - {kind: exec, command: [CRASHY, --stamp, DIR/checks, "
               "--exit, \"0\"], initial_delay: 300ms, every: 20ms}\n"));
  ASSERT_TRUE(wait_until([&] { return line_count(dir_ + "/checks") >= 3; }));
  // Logged before the component is ready, so before the delay began.
  auto started = logs_->time_of("root/a: started");
  ASSERT_GT(started, 0);
  std::ifstream in{dir_ + "/checks"};
  int pid = 0;
  long long first = 0;
  ASSERT_TRUE(in >> pid >> first);
  EXPECT_GE(first - started, 300'000'000LL);
  EXPECT_TRUE(incident_lines().empty());
}

TEST_F(Supervision, ProbeRestartsCountTowardTheRestartIntensity) {
  verify_within_ = 200ms;
  start(
    "grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
    "  intensity: 1\n  children:\n"
    "    - name: a\n"
    "      command: [CRASHY, --stamp, DIR/a.stamp]\n"
    "      probes:\n"
    "        - {kind: exec, command: [test, -e, DIR/never], every: 20ms}\n");
  // Restarted once (verification fails), raised again, and the second
  // restart exceeds the intensity: the root gives up.
  ASSERT_TRUE(wait_report(actors::report_kind::exited));
  EXPECT_EQ(reports_.all().back().what.mode,
            grace::config::failure_mode::restart_intensity_exceeded);
  // Two spawns, by grace's log: the replacement may be stopped (the root
  // gave up) before it has run a line of its own.
  EXPECT_EQ(logs_->count("root/a: started (pid"), 2u) << logs_->tail();
}

TEST_F(Supervision, AMissedHeartbeatIsHealedAndTheNextBeatVerifiesIt) {
  // sd_notify WATCHDOG=1 every 20 ms; the first instance falls silent
  // after 200 ms. (A second between beats: a busy machine can hold a
  // process back for a good part of one.)
  start(probed("        - {kind: heartbeat, within: 1s}\n",
               "--notify, 'STATUS=serving 42 requests', --notify, READY=1, "
               "--beat, \"20\", DIR/once, \"200\"",
               "ready: {notify: true, within: 60s}"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
  EXPECT_EQ(x.failure_mode, "heartbeat_missed");
  ASSERT_TRUE(x.snapshot);
  auto snap = test::slurp(dir_ + "/logs/" + *x.snapshot);
  EXPECT_NE(snap.find("\"status_text\": \"serving 42 requests\""),
            std::string::npos)
    << snap;
  EXPECT_EQ(x.severity, "high");
  EXPECT_NE(reason(x).find("no WATCHDOG=1 within 1s"), std::string::npos)
    << reason(x);
  EXPECT_TRUE(wait_starts("a", 2)); // a start is stamped from its main()
  EXPECT_EQ(starts("a").size(), 2u);
  // The replacement keeps beating: nothing more is raised.
  auto before = incident_lines().size();
  ASSERT_TRUE(wait_log("root/a: ready", 2));
  EXPECT_EQ(incident_lines().size(), before);
}

TEST_F(Supervision, AHeartbeatChildSeesWatchdogUsec) {
  start(probed("        - {kind: heartbeat, within: 2s}\n",
               "--env, WATCHDOG_USEC, --beat, \"20\", DIR/once, \"100000\""));
  ASSERT_TRUE(wait_until([&] {
    return test::slurp(dir_ + "/logs/root.a.out").find("WATCHDOG_USEC=2000000")
           != std::string::npos;
  }));
  EXPECT_TRUE(incident_lines().empty());
}

namespace {

// `a` serves HTTP on a free port: `first` on its first run, 200 afterwards.
// (A generous timeout: only a service that never answers should time out.)
std::string web(int first, const std::string& probe_keys,
                const std::string& timeout = "30s") {
  auto p = test::free_port_text();
  return probed("        - {kind: http, url: \"http://127.0.0.1:" + p
                  + "/health\", every: 20ms, timeout: " + timeout + probe_keys
                  + "}\n",
                "--http, \"" + p + "\", DIR/once, \"" + std::to_string(first)
                  + "\", DIR/requests",
                "ready: {tcp: " + p + ", within: 60s}");
}

} // namespace

TEST_F(Supervision, AnHttpErrorIsApiErrorAndAHealthyAnswerResolvesIt) {
  start(web(503, ""));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
  EXPECT_EQ(x.failure_mode, "api_error");
  EXPECT_EQ(x.severity, "medium");
  EXPECT_NE(reason(x).find("status 503"), std::string::npos) << reason(x);
  EXPECT_TRUE(wait_starts("a", 2)); // a start is stamped from its main()
  EXPECT_EQ(starts("a").size(), 2u);
  // The healthy replacement is probed on and on, raising nothing.
  auto seen = line_count(dir_ + "/requests");
  ASSERT_TRUE(
    wait_until([&] { return line_count(dir_ + "/requests") >= seen + 10; }));
  EXPECT_EQ(closed_incidents().size(), 1u);
  EXPECT_EQ(incident_lines().size(), 2u);
}

TEST_F(Supervision, A429IsRateLimitedAndLow) {
  start(web(429, ""));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "rate_limited");
  EXPECT_EQ(x.severity, "low");
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
}

TEST_F(Supervision, AnHttpServiceThatNeverAnswersIsApiTimeout) {
  start(web(0, ", expect: 200", "200ms"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "api_timeout");
  EXPECT_NE(reason(x).find("no answer within 200ms"), std::string::npos)
    << reason(x);
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
}

TEST_F(Supervision, AStaleFileIsFileStaleAndTheRestartFreshensIt) {
  // The pid file is written once per start: stale after 300 ms. Ready (and
  // so probed) once it is there; the replacement's verification passes once
  // it has written it afresh.
  start(probed("        - {kind: file, path: DIR/a.pid, max_age: 300ms, "
               "every: 20ms}\n",
               "", "ready: {exec: [test, -s, DIR/a.pid], within: 60s}"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "file_stale");
  EXPECT_EQ(x.severity, "medium");
  EXPECT_NE(reason(x).find("max_age 300ms"), std::string::npos) << reason(x);
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
  EXPECT_TRUE(wait_starts("a", 2));
}

TEST_F(Supervision, AVersionThatGoesDownIsAVersionRollback) {
  std::ofstream{dir_ + "/version"} << "1.10.0\n";
  start(probed("        - {kind: file, path: DIR/version, monotonic: true, "
               "every: 20ms}\n"));
  // The probe has seen 1.10.0; going to 1.9.3 is a rollback (1.9 < 1.10).
  ASSERT_TRUE(wait_log("root/a: probe file passes"));
  std::ofstream{dir_ + "/version.new"} << "1.9.3\n";
  std::filesystem::rename(dir_ + "/version.new", dir_ + "/version");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "version_rollback");
  EXPECT_NE(reason(x).find("went from 1.10.0 to 1.9.3"), std::string::npos)
    << reason(x);
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
}

TEST_F(Supervision, MemoryOverItsLimitForLongEnoughIsAResourceSpike) {
  start(probed("        - {kind: resource, max_rss: 4KiB, for: 200ms, "
               "every: 20ms}\n"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "resource_spike");
  EXPECT_NE(reason(x).find("> 4KiB"), std::string::npos) << reason(x);
  // Sustained: not raised before it was over the limit for 200 ms.
  EXPECT_NE(reason(x).find("for 2"), std::string::npos) << reason(x);
  // A fresh process is over the limit too, but not for long enough yet:
  // that passes the verification, and the next spike is a new incident.
  EXPECT_EQ(x.status, incident_status::resolved);
  ASSERT_TRUE(wait_closed(2));
  EXPECT_EQ(closed_incidents()[1].failure_mode, "resource_spike");
}

TEST_F(Supervision, AKpiPastItsBoundIsKpiThreshold) {
  verify_within_ = 200ms;
  std::ofstream{dir_ + "/queue"} << "queue depth: 5\n";
  start(probed("        - {kind: kpi, exec: [cat, DIR/queue], above: 100, "
               "every: 20ms}\n"));
  ASSERT_TRUE(wait_log("root/a: probe kpi passes"));
  EXPECT_TRUE(incident_lines().empty()) << "5 is within bounds";
  std::ofstream{dir_ + "/queue.new"} << "queue depth: 500\n";
  std::filesystem::rename(dir_ + "/queue.new", dir_ + "/queue");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "kpi_threshold");
  EXPECT_EQ(x.severity, "medium");
  EXPECT_NE(reason(x).find("KPI 500 above 100"), std::string::npos)
    << reason(x);
  // Restarting does not drain the queue: the verification fails.
  EXPECT_EQ(x.status, incident_status::failed);
}

TEST_F(Supervision, AKpiReadsAJsonPointer) {
  verify_within_ = 200ms;
  start(probed("        - {kind: kpi, exec: [echo, '{\"queue\": {\"depth\": "
               "7}}'], json_pointer: /queue/depth, below: 10, every: 20ms}\n"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "kpi_threshold");
  EXPECT_NE(reason(x).find("KPI 7 below 10"), std::string::npos) << reason(x);
}

TEST_F(Supervision, ABurstOfMatchingLogLinesIsOneLogPattern) {
  // Three "ERROR" lines within 10 s make one failure; other lines and the
  // odd single error do not.
  start(probed("        - {kind: log, pattern: 'ERROR [0-9]+', count: 3, "
               "window: 10s}\n",
               "--first-run, DIR/once, --print, ok, --eprint, 'ERROR 1', "
               "--print, fine, --sleep, \"50\", --eprint, 'ERROR 2', "
               "--eprint, 'ERROR 3', --print, 'ERROR 4'"));
  ASSERT_TRUE(wait_closed(1));
  auto lines = incident_lines();
  ASSERT_EQ(lines.size(), 2u) << "one incident for the burst";
  auto& x = lines.back();
  EXPECT_EQ(x.failure_mode, "log_pattern");
  EXPECT_EQ(x.severity, "medium");
  EXPECT_NE(reason(x).find("3 lines matching /ERROR [0-9]+/ within 10s"),
            std::string::npos)
    << reason(x);
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
}

TEST_F(Supervision, AFloodingChildDoesNotStopItsLogProbeOrItsRestarts) {
  // 100 MB/s of 'xxxx' lines: matched up to a budget, the rest skipped;
  // the child is still killed and restarted promptly.
  start(
    probed("        - {kind: log, pattern: 'never(matches)?$'}\n", "--flood"));
  ASSERT_TRUE(wait_up({"a"}));
  kill_child("a");
  ASSERT_TRUE(wait_starts("a", 2));
  ASSERT_TRUE(wait_closed(1));
  EXPECT_EQ(closed_incidents().front().failure_mode, "crashed");
}

TEST_F(Supervision, AValueFarFromItsUsualIsAnEventAnomaly) {
  // A KPI that is usually 10..12 (never out of its bounds) jumps to 1000:
  // the anomaly probe watching it sees many standard deviations. (A value,
  // not a latency: timings on a loaded machine are too noisy to test on.)
  start(probed("        - {name: depth, kind: kpi, exec: [sh, -c, 'if [ -e "
               "DIR/big ]; then echo 1000; else echo $((10 + $$ % 3)); fi'], "
               "above: 1000000, every: 10ms}\n"
               "        - {name: odd, kind: anomaly, of: depth, z: 6, "
               "min_samples: 15}\n"));
  ASSERT_TRUE(wait_log("root/a: probe odd passes", 20));
  EXPECT_TRUE(incident_lines().empty()) << "usual values raise nothing";
  std::ofstream{dir_ + "/big"} << "1\n";
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "event_anomaly");
  EXPECT_EQ(x.severity, "low");
  EXPECT_NE(reason(x).find("probe depth: 1000 is"), std::string::npos)
    << reason(x);
  EXPECT_NE(reason(x).find("standard deviations"), std::string::npos)
    << reason(x);
}

TEST_F(Supervision, ALogFileIsFollowedAcrossItsRotation) {
  // The component writes its own log file; the probe follows it like
  // `tail -F`, through a rotation.
  auto log = dir_ + "/app.log";
  std::ofstream{log} << "old ERROR before the probe started\n";
  start(probed("        - {kind: log, file: DIR/app.log, pattern: ERROR, "
               "count: 2, window: 5s}\n"));
  ASSERT_TRUE(wait_up({"a"}));
  sync_io(); // the follower watches the file from now on
  std::ofstream{log, std::ios::app} << "ERROR one\n" << std::flush;
  // Rotated: renamed away, a new file created; the second match is there.
  std::filesystem::rename(log, log + ".1");
  std::ofstream{log} << "fine\nERROR two\n" << std::flush;
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "log_pattern");
  EXPECT_NE(reason(x).find("the last: ERROR two"), std::string::npos)
    << reason(x);
}

TEST_F(Supervision, AChildThatIgnoresSigtermIsStillRestartedForItsProbe) {
  verify_within_ = 300ms;
  // Ready once it has set SIGTERM aside (it writes DIR/ready after).
  start(probed("        - {kind: exec, command: [test, -e, DIR/never], "
               "every: 20ms}\n",
               "--ignore-term, --pid-file, DIR/ready",
               "shutdown: 200ms\n      ready: {exec: [test, -s, DIR/ready], "
               "within: 60s}"));
  ASSERT_TRUE(wait_closed(1));
  EXPECT_TRUE(wait_log("did not stop within 200ms, sending SIGKILL"));
  EXPECT_TRUE(wait_starts("a", 2));
  auto first = starts("a").front();
  ASSERT_GT(first, 1);
  EXPECT_TRUE(wait_until([&] { return !test::alive(first); }));
}

TEST_F(Supervision, AChildGrowingFastIsCaughtByItsResourceProbe) {
  // 8 MiB every 10 ms, up to 400 MiB; the limit is 64 MiB. The first run
  // grows, the next ones stay small.
  start(probed("        - {kind: resource, max_rss: 64MiB, every: 20ms}\n",
               "--first-run, DIR/once, --grow, \"8\", \"400\""));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "resource_spike");
  EXPECT_NE(reason(x).find("> 64MiB"), std::string::npos) << reason(x);
  EXPECT_EQ(x.status, incident_status::resolved) << reason(x);
  EXPECT_TRUE(wait_starts("a", 2)); // a start is stamped from its main()
  EXPECT_EQ(starts("a").size(), 2u);
}

TEST_F(Supervision, AKpiReadsAJsonPointerOverHttp) {
  verify_within_ = 200ms;
  auto port = test::free_port_text();
  start(probed("        - {kind: kpi, http: \"http://127.0.0.1:" + port
                 + "/stats\", json_pointer: /queue/depth, above: 100, "
                   "every: 20ms}\n",
               "--http-json, \"" + port + "\", '{\"queue\": {\"depth\": 420}}'",
               "ready: {tcp: " + port + ", within: 60s}"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.failure_mode, "kpi_threshold");
  EXPECT_NE(reason(x).find("KPI 420 above 100"), std::string::npos)
    << reason(x);
}
