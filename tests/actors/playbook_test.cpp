// Playbooks with real processes: the port conflict (a stale instance
// stopped, a foreign holder waited for and never killed), user playbooks'
// step sequences, max_attempts and on_failure chains (another playbook,
// safe_hold, escalate), exits handed to a playbook by `on:`, and notify
// steps that never block healing.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/port_holder.hpp"
#include "tests/actors/supervision_fixture.hpp"
#include "tests/support/background.hpp"
#include "tests/support/incident_fields.hpp"
#include "tests/support/ports.hpp"

using namespace grace;
using namespace std::chrono_literals;
using runtime::incident;
using runtime::incident_status;
using test::alive;
using test::background;
using test::field;
using test::never_within;
using test::Supervision;
using test::wait_until;

namespace {

std::vector<std::string> steps_of(const incident& x) {
  std::vector<std::string> out;
  for (auto& a : x.actions)
    out.push_back(a.step + (a.ok ? "" : "!"));
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v)
    out += (out.empty() ? "" : " ") + s;
  return out;
}

std::string text(const incident& x, const std::string& key) {
  auto* s = field<std::string>(x.detail, key);
  return s ? *s : std::string{};
}

// One component `api` listening on `port` (ready when it listens), which
// declares the port. Its argv is exactly the crashy_child's, so a copy
// started outside grace is a stale instance of it.
std::string api_with_port(int port, const std::string& within = "60s",
                          const std::string& extra = "") {
  auto p = std::to_string(port);
  return "grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
         "  intensity: 10\n  children:\n"
         "    - name: api\n"
         "      command: [CRASHY, --listen, \""
         + p + "\"]\n      ports: [" + p + "]\n      ready: {tcp: " + p
         + ", within: " + within + "}\n" + extra;
}

// One component `a` whose exec probe fails once its pid file is gone (see
// make_sick()); `on:` hands that to `playbook`, one of `playbooks` (the
// config's `playbooks:` entries).
std::string sick_a(const std::string& playbook, const std::string& playbooks) {
  return "grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
         "  children:\n"
         "    - name: a\n"
         "      command: [CRASHY, --stamp, DIR/a.stamp, --pid-file, "
         "DIR/a.pid]\n"
         "      ready: {exec: [test, -s, DIR/a.pid], within: 60s}\n"
         "      probes:\n"
         "        - {kind: exec, command: [test, -s, DIR/a.pid], every: 20ms}\n"
         "      on: {check_failed: "
         + playbook + "}\n"
         + (playbooks.empty() ? "" : "playbooks:\n" + playbooks);
}

std::vector<std::string> crashy_listening(int port) {
  return {GRACE_CRASHY_CHILD, "--listen", std::to_string(port)};
}

// A copy of the helper in `dir`: another program file as far as grace can
// tell (another device and inode), whatever it does.
std::string foreign_program(const std::string& dir) {
  namespace fs = std::filesystem;
  auto copy = dir + "/foreign_child";
  fs::copy_file(GRACE_CRASHY_CHILD, copy, fs::copy_options::overwrite_existing);
  fs::permissions(copy, fs::perms::owner_all);
  return copy;
}

// The tree's tests, with a way to make component `a` of sick_a() sick.
class Playbooks : public Supervision {
protected:
  // The snapshot an incident refers to, parsed (null if it has none).
  nlohmann::json snapshot_of(const incident& x);

  // Once the tree is ready, removes a's pid file: its probe fails until a
  // new instance writes it again.
  void make_sick() {
    ASSERT_TRUE(wait_report(actors::report_kind::ready));
    std::filesystem::remove(dir_ + "/a.pid");
  }

  // make_sick(), then returns the first incident once it closed (an empty
  // one, the test failed, if none did in time).
  incident sicken_and_wait() {
    make_sick();
    EXPECT_TRUE(wait_closed(1));
    auto all = closed_incidents();
    return all.empty() ? incident{} : all.front();
  }
};

} // namespace

nlohmann::json Playbooks::snapshot_of(const incident& x) {
  if (!x.snapshot)
    return {};
  return nlohmann::json::parse(test::slurp(dir_ + "/logs/" + *x.snapshot),
                               nullptr, false);
}

TEST_F(Playbooks, AStaleInstanceHoldingThePortIsStoppedAndTheStartHealed) {
  // A copy of the component, left over from an earlier run, holds its port.
  auto port_number = test::free_port();
  background stale{crashy_listening(port_number), dir_ + "/stale.out",
                   dir_ + "/stale.err"};
  ASSERT_TRUE(wait_until([&] { return runtime::port_listened(port_number); }));
  start(api_with_port(port_number));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(x.component, "root/api");
  EXPECT_EQ(x.failure_mode, "port_in_use");
  EXPECT_EQ(x.severity, "high");
  EXPECT_EQ(x.playbook, "free_port");
  EXPECT_EQ(x.attempts, 1);
  ASSERT_TRUE(x.mttr_seconds);
  EXPECT_GT(*x.mttr_seconds, 0.0);
  EXPECT_EQ(joined(steps_of(x)), "snapshot free_port start verify");
  // Snapshotted as it was: blocked by the port, never started.
  auto snap = snapshot_of(x);
  EXPECT_EQ(snap["state"], "blocked");
  EXPECT_TRUE(snap["pid"].is_null()) << snap.dump();
  auto* port = field<std::int64_t>(x.detail, "port");
  ASSERT_TRUE(port);
  EXPECT_EQ(*port, port_number);
  auto* holder = field<std::int64_t>(x.detail, "holder_pid");
  ASSERT_TRUE(holder);
  EXPECT_EQ(*holder, stale.pid());
  EXPECT_NE(
    text(x, "holder_cmd").find("--listen " + std::to_string(port_number)),
    std::string::npos);
  auto* freed = field<std::int64_t>(x.actions[1].fields, "holder_pid");
  ASSERT_TRUE(freed);
  EXPECT_EQ(*freed, stale.pid());
  // Stopped with SIGTERM, and the component runs in its place.
  EXPECT_EQ(stale.wait(test::default_patience), 128 + SIGTERM);
  EXPECT_TRUE(wait_report(actors::report_kind::ready));
}

TEST_F(Playbooks, AnOrphanOfThisComponentIsStaleWhateverItsCommand) {
  // Started by grace for root/api once (its environment says so), with
  // other arguments and another program: still this component's, so it is
  // stopped.
  auto port = test::free_port();
  background orphan{{"/usr/bin/env", "GRACE_COMPONENT=root/api",
                     foreign_program(dir_), "--pid-file", dir_ + "/orphan.pid",
                     "--listen", std::to_string(port)},
                    dir_ + "/orphan.out",
                    dir_ + "/orphan.err"};
  ASSERT_TRUE(wait_until([&] { return runtime::port_listened(port); }));
  start(api_with_port(port));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(orphan.wait(test::default_patience), 128 + SIGTERM);
}

TEST_F(
  Playbooks,
  AStaleInstanceThatRetitledItselfIsKnownByItsProgramAndItsMainProcessStops) {
  // The component's program with other arguments (as nginx and redis
  // rewrite theirs), and the socket held by a worker it forked: the worker
  // leads to its main process, which is stopped first.
  auto port_number = test::free_port();
  background stale{{GRACE_CRASHY_CHILD, "--listen", std::to_string(port_number),
                    "--grandchild", dir_ + "/worker.pid"},
                   dir_ + "/stale.out",
                   dir_ + "/stale.err"};
  ASSERT_TRUE(wait_until([&] {
    return runtime::port_listened(port_number)
           && !test::slurp(dir_ + "/worker.pid").empty();
  }));
  auto worker = std::stoi(test::slurp(dir_ + "/worker.pid"));
  start(api_with_port(port_number));
  auto cleanup = [worker] { test::kill_if_alive(worker); };
  std::unique_ptr<void, std::function<void(void*)>> guard{
    &worker, [cleanup](void*) { cleanup(); }};
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(stale.wait(test::default_patience), 128 + SIGTERM)
    << "the main process, not only its worker";
  auto outcome
    = x.actions.size() > 1 ? x.actions[1] : runtime::incident_action{};
  EXPECT_EQ(outcome.step, "free_port");
  std::string what;
  for (auto& [k, v] : outcome.fields)
    if (auto* s = std::get_if<std::string>(&v))
      what += k + "=" + *s + " ";
  EXPECT_NE(what.find("stopped stale pid " + std::to_string(stale.pid())),
            std::string::npos)
    << what;
  EXPECT_TRUE(wait_until([&] { return !alive(worker); })) << "pid " << worker;
}

TEST_F(Playbooks, AForeignHolderIsNeverKilledAndTheIncidentNamesIt) {
  // Another program (another file, other arguments, no grace environment)
  // holds the port: waited for until ready.within, then the incident fails
  // naming it. (The same `within` bounds the later start's readiness: not
  // too short.)
  auto port = test::free_port();
  background foreign{{foreign_program(dir_), "--pid-file",
                      dir_ + "/foreign.pid", "--listen", std::to_string(port)},
                     dir_ + "/foreign.out",
                     dir_ + "/foreign.err"};
  ASSERT_TRUE(wait_until([&] { return runtime::port_listened(port); }));
  start(api_with_port(port, "2s"));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::failed);
  EXPECT_EQ(x.failure_mode, "port_in_use");
  auto outcome = text(x, "outcome");
  EXPECT_NE(outcome.find("pid " + std::to_string(foreign.pid())),
            std::string::npos)
    << outcome;
  EXPECT_NE(outcome.find("not killed"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("--pid-file"), std::string::npos) << outcome;
  EXPECT_EQ(joined(steps_of(x)), "snapshot free_port!");
  EXPECT_TRUE(alive(foreign.pid())) << "a foreign holder is never killed";
  // Once the holder goes, the next attempt starts the component and its
  // incident is resolved.
  foreign.signal(SIGKILL);
  ASSERT_TRUE(foreign.wait(test::default_patience));
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  ASSERT_TRUE(wait_until([&] {
    auto all = closed_incidents();
    return !all.empty() && all.back().status == incident_status::resolved;
  }));
  for (auto& i : closed_incidents())
    EXPECT_EQ(i.failure_mode, "port_in_use");
}

TEST_F(Playbooks, AddressAlreadyInUseOnStderrIsPortInUse) {
  start(test::tree("one_for_one",
                   test::child("a", "--first-run, DIR/once, --eprint, "
                                    "\"bind: Address already in use\", "
                                    "--sleep, \"50\", --exit, \"1\"")));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved);
  EXPECT_EQ(x.failure_mode, "port_in_use");
  EXPECT_EQ(x.severity, "high");
}

TEST_F(Playbooks, AUserPlaybookRunsItsStepsInOrder) {
  // An exec probe fails once its pid file goes; `on:` sends that to a
  // playbook of every kind of step that does not stop the component.
  start(sick_a(
    "careful",
    "  careful:\n"
    "    steps:\n"
    "      - snapshot\n"
    "      - {signal: SIGCONT}\n"
    "      - {wait: 30ms}\n"
    "      - {exec: [sh, -c, 'echo \"$GRACE_INCIDENT_ID $GRACE_COMPONENT "
    "$GRACE_FAILURE_MODE\" > DIR/exec.out']}\n"
    "      - restart\n"
    "      - {verify: {within: 60s}}\n"));
  auto x = sicken_and_wait();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(x.playbook, "careful");
  EXPECT_EQ(x.attempts, 1);
  EXPECT_EQ(joined(steps_of(x)), "snapshot signal wait exec restart verify");
  EXPECT_EQ(test::slurp(dir_ + "/exec.out"), x.id + " root/a check_failed\n");
  EXPECT_EQ(starts("a").size(), 2u);
  // Its snapshot step saw the instance the probe found failing, running.
  auto snap = snapshot_of(x);
  EXPECT_EQ(snap["state"], "running");
  EXPECT_EQ(snap["pid"], starts("a").front()) << snap.dump();
}

TEST_F(Playbooks, AnExecStepRunsAsItsComponentsUser) {
  // Its readiness check, its probe and the playbook's exec step run as the
  // component does.
  if (::geteuid() != 0)
    GTEST_SKIP() << "switching users needs root";
  namespace fs = std::filesystem;
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec
                          | fs::perms::others_exec);
  fs::create_directories(dir_ + "/open");
  fs::permissions(dir_ + "/open", fs::perms::all);
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
        "  children:\n"
        "    - name: a\n      user: nobody\n      cwd: /\n"
        "      command: [/bin/sleep, \"3600\"]\n"
        "      ready: {exec: [sh, -c, 'id -un > DIR/open/ready'], "
        "within: 60s}\n"
        "      probes:\n"
        "        - {kind: exec, every: 20ms, command: [sh, -c, "
        "'id -un >> DIR/open/probe; test ! -e DIR/open/sick']}\n"
        "      on: {check_failed: cure}\n"
        "playbooks:\n"
        "  cure:\n"
        "    steps:\n"
        "      - {exec: [sh, -c, 'id -un > DIR/open/who; rm DIR/open/sick']}\n"
        "      - {verify: {within: 60s}}\n");
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  std::ofstream{dir_ + "/open/sick"} << "x\n";
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(test::slurp(dir_ + "/open/who"), "nobody\n");
  EXPECT_EQ(test::slurp(dir_ + "/open/ready"), "nobody\n");
  // Appended to at every run (a run may be writing it now).
  auto probes = test::slurp(dir_ + "/open/probe");
  EXPECT_TRUE(probes.starts_with("nobody\n")) << probes;
  EXPECT_EQ(probes.find("root"), std::string::npos) << probes;
}

TEST_F(Playbooks, MaxAttemptsThenOnFailureRunsTheNextPlaybook) {
  start(sick_a("gentle",
               "  gentle:\n"
               "    steps: [{exec: [sh, -c, 'echo x >> DIR/tries; exit 3']}]\n"
               "    max_attempts: 2\n"
               "    on_failure: firm\n"
               "  firm:\n"
               "    steps: [restart]\n"));
  auto x = sicken_and_wait();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(x.playbook, "firm");
  EXPECT_EQ(joined(steps_of(x)),
            "snapshot exec! exec! on_failure restart verify");
  EXPECT_EQ(test::lines_of(dir_ + "/tries").size(), 2u);
}

TEST_F(Playbooks, OnFailureSafeHoldStopsAndHoldsTheComponent) {
  start(sick_a("hopeless", "  hopeless:\n"
                           "    steps: [{exec: ['false']}]\n"
                           "    on_failure: safe_hold\n"));
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  auto pid = pid_of("a");
  std::filesystem::remove(dir_ + "/a.pid");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::held);
  EXPECT_EQ(joined(steps_of(x)), "snapshot exec! on_failure snapshot stop");
  ASSERT_TRUE(x.snapshot);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/logs/" + *x.snapshot));
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }));
  EXPECT_EQ(starts("a").size(), 1u) << "held: not restarted";
}

TEST_F(Playbooks, OnFailureEscalateHandsTheFailureToTheSupervisor) {
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
        "  children:\n"
        "    - supervisor:\n"
        "        name: inner\n"
        "        children:\n"
        "          - name: a\n"
        "            command: [CRASHY, --stamp, DIR/a.stamp, --pid-file, "
        "DIR/a.pid]\n"
        "            ready: {exec: [test, -s, DIR/a.pid], within: 60s}\n"
        "            probes:\n"
        "              - {kind: exec, command: [test, -s, DIR/a.pid], "
        "every: 20ms}\n"
        "            on: {check_failed: hopeless}\n"
        "playbooks:\n"
        "  hopeless:\n"
        "    steps: [{exec: ['false']}]\n"
        "    on_failure: escalate\n");
  make_sick();
  // root/inner gives up: a's incident is escalated, and root restarts
  // inner (a fresh a).
  ASSERT_TRUE(wait_until([&] {
    for (auto& i : closed_incidents())
      if (i.component == "root/inner/a")
        return true;
    return false;
  }));
  for (auto& i : closed_incidents())
    if (i.component == "root/inner/a") {
      EXPECT_EQ(i.status, incident_status::escalated);
      EXPECT_EQ(joined(steps_of(i)), "snapshot exec! escalate");
    }
  EXPECT_TRUE(wait_starts("a", 2));
}

TEST_F(Playbooks, AnExitMappedByOnGoesToItsPlaybook) {
  // Crashes go to `gentle` (not the supervisor's restart): it signals
  // nothing, it starts the component and verifies it.
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
        "  children:\n"
        "    - name: a\n"
        "      command: [CRASHY, --stamp, DIR/a.stamp, --first-run, DIR/once, "
        "--sleep, \"100\", --signal, \"11\"]\n"
        "      on: {crashed: gentle}\n"
        "playbooks:\n"
        "  gentle:\n"
        "    steps: [{exec: [touch, DIR/gentle]}, start, verify]\n");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  EXPECT_EQ(x.failure_mode, "crashed");
  EXPECT_EQ(x.playbook, "gentle");
  EXPECT_EQ(joined(steps_of(x)), "snapshot exec start verify");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/gentle"));
  EXPECT_TRUE(wait_starts("a", 2)); // a start is stamped from its main()
  EXPECT_EQ(starts("a").size(), 2u) << "started by the playbook only";
}

TEST_F(Playbooks, AHangingWebhookNeverBlocksHealing) {
  // The webhook accepts connections and never answers (and the step would
  // wait an hour for it); the hook command gets the incident as JSON.
  auto number = test::free_port();
  auto port = std::to_string(number);
  background hook{{GRACE_CRASHY_CHILD, "--http", port, dir_ + "/hang-once", "0",
                   dir_ + "/hook.log"},
                  dir_ + "/hook.out",
                  dir_ + "/hook.err"};
  ASSERT_TRUE(wait_until([&] { return runtime::port_listened(number); }));
  start(sick_a(
    "tell",
    "  tell:\n"
    "    steps:\n"
    "      - {notify: 'http://127.0.0.1:"
      + port
      + "/hook', timeout: 1h}\n"
        "      - {notify: {command: [sh, -c, 'echo \"$GRACE_INCIDENT\" > "
        "DIR/hook.json']}}\n"
        "      - restart\n"));
  make_sick();
  ASSERT_TRUE(wait_closed(1)) << "healing waited for the webhook";
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::resolved) << text(x, "outcome");
  // The hook saw the open incident.
  ASSERT_TRUE(
    wait_until([&] { return !test::slurp(dir_ + "/hook.json").empty(); }));
  auto json = test::slurp(dir_ + "/hook.json");
  EXPECT_NE(json.find("\"incident_id\":\"" + x.id + "\""), std::string::npos)
    << json;
  EXPECT_NE(json.find("\"status\":\"open\""), std::string::npos) << json;
  // The webhook was called (its request line logged).
  EXPECT_TRUE(
    wait_until([&] { return !test::slurp(dir_ + "/hook.log").empty(); }));
}

TEST_F(Playbooks, PastTheRestartBudgetComponentsAreHeldNotRestarted) {
  // Two children crash over and over; the node may restart 4 times a
  // minute in all, whichever supervisor asks.
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\n"
        "restart_budget: {restarts: 4, period: 1m}\nsupervisor:\n"
        "  intensity: 100\n  children:\n"
        + test::child("a", "--sleep, \"30\", --exit, \"1\"")
        + test::child("b", "--sleep, \"30\", --exit, \"1\""));
  ASSERT_TRUE(wait_until([&] {
    std::size_t held = 0;
    for (auto& x : closed_incidents())
      held += x.status == incident_status::held;
    return held == 2;
  }));
  std::size_t resolved = 0;
  for (auto& x : closed_incidents()) {
    if (x.status == incident_status::resolved) {
      ++resolved;
      continue;
    }
    EXPECT_EQ(x.status, incident_status::held);
    EXPECT_EQ(x.severity, "critical");
    EXPECT_NE(text(x, "outcome")
                .find("restart budget is spent (4 restarts "
                      "within 1m)"),
              std::string::npos)
      << text(x, "outcome");
  }
  EXPECT_EQ(resolved, 4u) << "four restarts, each healed for a moment";
  // Held: nothing starts them again.
  EXPECT_TRUE(never_within(
    [&] { return starts("a").size() + starts("b").size() > 6; }, 300ms));
  EXPECT_EQ(starts("a").size() + starts("b").size(), 6u);
}

TEST_F(Playbooks, SafeHoldAsThePlaybookStopsAndHolds) {
  start(sick_a("safe_hold", ""));
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  auto pid = pid_of("a");
  std::filesystem::remove(dir_ + "/a.pid");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::held);
  EXPECT_EQ(x.playbook, "safe_hold");
  EXPECT_EQ(joined(steps_of(x)), "snapshot stop");
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }));
  EXPECT_TRUE(never_within([&] { return starts("a").size() > 1; }, 200ms))
    << "held: not restarted";
}

TEST_F(Playbooks, EscalateAsThePlaybookGivesUpAtOnce) {
  start(sick_a("escalate", ""));
  make_sick();
  // The root gives up: a's incident escalated, the root's own failed.
  ASSERT_TRUE(wait_report(actors::report_kind::exited));
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.component, "root/a");
  EXPECT_EQ(x.status, incident_status::escalated);
  EXPECT_EQ(x.playbook, "escalate");
  EXPECT_EQ(joined(steps_of(x)), "snapshot escalate");
}

TEST_F(Playbooks, AnExitItsPlaybookCannotHealGoesBackToTheSupervisor) {
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
        "  children:\n"
        "    - name: a\n"
        "      command: [CRASHY, --stamp, DIR/a.stamp, --first-run, DIR/once, "
        "--sleep, \"100\", --signal, \"11\"]\n"
        "      on: {crashed: useless}\n"
        "playbooks:\n"
        "  useless:\n"
        "    steps: [{exec: ['false']}]\n");
  ASSERT_TRUE(wait_closed(1));
  auto x = closed_incidents().front();
  EXPECT_EQ(x.status, incident_status::failed);
  EXPECT_EQ(joined(steps_of(x)), "snapshot exec!");
  // Its supervisor restarts it (counted toward its intensity).
  EXPECT_TRUE(wait_starts("a", 2));
}

TEST_F(Playbooks, AWebhookGetsTheIncidentAsJson) {
  auto number = test::free_port();
  auto port = std::to_string(number);
  background hook{{GRACE_CRASHY_CHILD, "--http", port, dir_ + "/ok-once", "200",
                   dir_ + "/hook.log"},
                  dir_ + "/hook.out",
                  dir_ + "/hook.err"};
  ASSERT_TRUE(wait_until([&] { return runtime::port_listened(number); }));
  start(sick_a("tell", "  tell:\n"
                       "    steps: [{notify: 'http://127.0.0.1:"
                         + port + "/hook', timeout: 1m}, restart]\n"));
  auto x = sicken_and_wait();
  EXPECT_EQ(x.status, incident_status::resolved);
  ASSERT_TRUE(
    wait_until([&] { return test::lines_of(dir_ + "/hook.log").size() >= 2; }));
  auto log = test::lines_of(dir_ + "/hook.log");
  EXPECT_EQ(log[0], "POST /hook HTTP/1.1");
  EXPECT_EQ(log[1].find("{\"incident_id\":\"" + x.id + "\""), 0u) << log[1];
  EXPECT_NE(log[1].find("\"failure_mode\":\"check_failed\""),
            std::string::npos);
}
