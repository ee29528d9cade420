// `grace run` end to end: the real executable, real children, signals.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/control_server.hpp"
#include "runtime/port_holder.hpp"
#include "tests/e2e/grace_run_fixture.hpp"
#include "tests/support/background.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait_until.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using grace::test::alive;
using grace::test::background;
using grace::test::lines_of;
using grace::test::never_within;
using grace::test::open_fds;
using grace::test::rss_kib;
using grace::test::slurp;
using grace::test::wait_until;

using grace::test::crashy;
using grace::test::ctl;
using grace::test::grace_bin;
using grace::test::GraceRun;

TEST_F(GraceRun, SigtermStopsTheTreeAndExitsZero) {
  auto g = run(write_config(child("a") + child("b")));
  ASSERT_TRUE(wait_until([&] { return first_pid("b.stamp") > 1; }));
  auto a = first_pid("a.stamp");
  auto b = first_pid("b.stamp");
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_FALSE(alive(a));
  EXPECT_FALSE(alive(b));
  auto log = err();
  EXPECT_NE(log.find("received SIGTERM"), std::string::npos) << log;
  EXPECT_LT(log.find("root/b: stopped"), log.find("root/a: stopped")) << log;
  EXPECT_NE(slurp(dir_ + "/logs/grace.log").find("tree stopped"),
            std::string::npos);
}

TEST_F(GraceRun, ForStopsByItself) {
  auto g = run(write_config(child("a")), {"--for", "300ms"});
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_NE(err().find("tree stopped"), std::string::npos);
}

TEST_F(GraceRun, RootGivingUpExitsThree) {
  auto g = run(write_config(child("a", "--exit, \"1\""),
                            "  intensity: 2\n  period: 10s\n"));
  EXPECT_EQ(g->wait(10s), 3) << err();
  EXPECT_NE(err().find("root supervisor gave up"), std::string::npos);
}

TEST_F(GraceRun, RefusesKeysItCannotCarryOutYet) {
  auto file
    = tmp_.write("grace.yaml", "grace: 1\nsupervisor:\n  children:\n"
                               "    - name: api\n      command: [x]\n"
                               "      on: {crashed: restart_dependents}\n");
  auto r = grace::test::run_process({grace_bin, "run", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, file
                     + ":6:21: error: root/api: on.crashed: restart_dependents "
                       "is not supported yet by 'grace run'\ngrace: 1 error in "
                     + file + "\n");
}

TEST_F(GraceRun, InvalidConfigExitsTwo) {
  auto file = tmp_.write("grace.yaml", "grace: 1\n");
  auto r = grace::test::run_process({grace_bin, "run", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing required key 'supervisor'"), std::string::npos);
}

TEST_F(GraceRun, SighupReloadsTheConfig) {
  auto config = write_config(child("a"));
  auto g = run(config);
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  auto a = first_pid("a.stamp");
  write_config(child("a") + child("b")); // the same file, one more child
  g->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return first_pid("b.stamp") > 1; })) << err();
  EXPECT_TRUE(alive(a));
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 1u) << "a kept running";
  EXPECT_FALSE(g->wait(0ms).has_value());
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

namespace {

std::size_t count_of(const std::vector<std::string>& lines,
                     const std::string& text) {
  std::size_t n = 0;
  for (auto& l : lines)
    n += l.find(text) != std::string::npos ? 1u : 0u;
  return n;
}

// SPEC.md section 6: the keys every line has, in this order.
void expect_spec_line(const std::string& line) {
  std::size_t pos = 0;
  for (auto key :
       {"incident_id", "component", "failure_mode", "severity", "status",
        "detected_at", "resolved_at", "mttr_seconds", "ttd_seconds", "success",
        "playbook", "attempts", "actions", "snapshot", "caused_by", "detail"}) {
    auto at = line.find(std::string{"\""} + key + "\":", pos);
    ASSERT_NE(at, std::string::npos) << key << " in " << line;
    pos = at;
  }
}

} // namespace

TEST_F(GraceRun, CrashesLeaveIncidentsThatGraceIncidentsSummarises) {
  auto g = run(write_config(child("a")));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  auto audit = dir_ + "/logs/incidents.jsonl";
  for (std::size_t i = 1; i <= 2; ++i) {
    auto stamps = lines_of(dir_ + "/a.stamp");
    auto pid = std::stoi(stamps.back());
    ASSERT_GT(pid, 1);
    ::kill(pid, SIGKILL);
    ASSERT_TRUE(wait_until(
      [&] { return lines_of(dir_ + "/a.stamp").size() > stamps.size(); }));
    ASSERT_TRUE(wait_until(
      [&] { return count_of(lines_of(audit), "\"resolved\"") >= i; }));
  }
  g->signal(SIGTERM);
  ASSERT_EQ(g->wait(10s), 0) << err();
  auto lines = lines_of(audit);
  ASSERT_EQ(lines.size(), 4u);
  for (auto& l : lines)
    expect_spec_line(l);
  auto json = grace::test::run_process(
    {grace_bin, "incidents", "--log", audit, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"closed\": 2"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"success_rate\": 1.0"), std::string::npos);
  EXPECT_NE(json.out.find("\"root/a\""), std::string::npos);
  auto text
    = grace::test::run_process({grace_bin, "incidents", "--log", audit});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("2 closed, 0 open; success rate 100.0%"),
            std::string::npos)
    << text.out;
  auto recent = grace::test::run_process(
    {grace_bin, "incidents", "--log", audit, "--since", "1h", "--json"});
  EXPECT_NE(recent.out.find("\"closed\": 2"), std::string::npos);
}

TEST_F(GraceRun, IncidentsOpenWhenGraceIsKilledAreAbandonedAtTheNextStart) {
  // Exits at once, every time: the first restart is immediate, the second
  // waits out a long backoff with its incident open.
  auto config
    = tmp_.write("grace.yaml", "grace: 1\nlog_dir: logs\n"
                               "defaults: {backoff: {min: 30s, max: 60s}}\n"
                               "supervisor:\n  children:\n"
                                 + child("a", "--exit, \"1\""));
  auto audit = dir_ + "/logs/incidents.jsonl";
  auto g = run(config);
  ASSERT_TRUE(
    wait_until([&] { return count_of(lines_of(audit), "\"open\"") >= 2; }));
  g->signal(SIGKILL);
  EXPECT_EQ(g->wait(5s), 128 + SIGKILL);
  auto before = lines_of(audit);
  auto left_open = before.back();
  auto id = left_open.substr(left_open.find("inc_"), 26);
  auto again = run(write_config(child("b")));
  ASSERT_TRUE(wait_until(
    [&] { return count_of(lines_of(audit), "\"abandoned\"") >= 1; }));
  auto after = lines_of(audit);
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_NE(after.back().find(id), std::string::npos) << after.back();
  EXPECT_NE(after.back().find("\"status\":\"abandoned\""), std::string::npos);
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(10s), 0) << err();
  EXPECT_NE(slurp(dir_ + "/logs/grace.log").find("left open by a previous run"),
            std::string::npos);
}

TEST_F(GraceRun, AnUnwritableAuditLogIsReportedAndSupervisionGoesOn) {
  auto audit = dir_ + "/logs/incidents.jsonl";
  fs::create_directories(audit); // open(2) fails with EISDIR
  auto g = run(write_config(child("a")));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  ::kill(first_pid("a.stamp"), SIGKILL);
  ASSERT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/a.stamp").size() >= 2; }))
    << "restarted all the same";
  ASSERT_TRUE(wait_until(
    [&] { return err().find("Is a directory") != std::string::npos; }));
  fs::remove(audit); // the operator fixes it: nothing was lost
  ASSERT_TRUE(
    wait_until([&] { return count_of(lines_of(audit), "\"resolved\"") == 1; }));
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_EQ(lines_of(audit).size(), 2u);
}

TEST_F(GraceRun, IncidentsWithoutALogSaysSo) {
  auto r = grace::test::run_process(
    {grace_bin, "incidents", "--log", dir_ + "/nowhere.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read the audit log"), std::string::npos)
    << r.err;
}

TEST_F(GraceRun, AProbeFailureIsHealedAndRecorded) {
  // The exec probe checks the pid file the child writes at start; removing
  // it makes the component sick until a restart writes it again.
  auto config = tmp_.write("grace.yaml",
                           "grace: 1\nlog_dir: logs\nsupervisor:\n  children:\n"
                             + child_probed_by_pid_file());
  auto audit = dir_ + "/logs/incidents.jsonl";
  auto g = run(config);
  // Ready (and so probed) once its pid file is there.
  ASSERT_TRUE(wait_until(
    [&] { return err().find("root/a: ready") != std::string::npos; }))
    << err();
  fs::remove(dir_ + "/a.pid");
  ASSERT_TRUE(
    wait_until([&] { return count_of(lines_of(audit), "\"resolved\"") == 1; }))
    << err();
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  auto lines = lines_of(audit);
  ASSERT_EQ(lines.size(), 2u);
  for (auto& l : lines)
    expect_spec_line(l);
  auto& done = lines.back();
  EXPECT_NE(done.find("\"failure_mode\":\"check_failed\""), std::string::npos)
    << done;
  EXPECT_NE(done.find("\"step\":\"verify\""), std::string::npos) << done;
  EXPECT_NE(done.find("\"snapshot\":\"snapshots/inc_"), std::string::npos)
    << done;
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 2u);
}

TEST_F(GraceRun, ThePortConflictExampleHealsTheStaleInstance) {
  // config/examples/port_conflict.yaml as shipped, its logs redirected.
  auto text = slurp(std::string{GRACE_SOURCE_DIR}
                    + "/config/examples/port_conflict.yaml");
  const std::string from = "log_dir: ../../logs/port_conflict";
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "log_dir: " + dir_ + "/logs");
  // Its port, one nobody else on this machine uses.
  auto port = grace::test::free_port_text();
  for (auto p = text.find("47998"); p != std::string::npos;
       p = text.find("47998", p))
    text.replace(p, 5, port);
  auto audit = dir_ + "/logs/incidents.jsonl";
  auto g = run(tmp_.write("port_conflict.yaml", text));
  ASSERT_TRUE(
    wait_until([&] { return count_of(lines_of(audit), "\"resolved\"") == 1; }))
    << err();
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  auto lines = lines_of(audit);
  ASSERT_EQ(lines.size(), 2u);
  for (auto& l : lines)
    expect_spec_line(l);
  auto& done = lines.back();
  for (const std::string& part :
       {std::string{"\"component\":\"root/api\""},
        std::string{"\"failure_mode\":\"port_in_use\""},
        std::string{"\"playbook\":\"free_port\""},
        std::string{"\"step\":\"free_port\""},
        "\"holder_cmd\":\"/usr/bin/python3 -m http.server " + port,
        std::string{"\"step\":\"verify\""}})
    EXPECT_NE(done.find(part), std::string::npos) << part << " in " << done;
  // Nothing left listening: the stale copy was stopped, api with grace.
  auto number = static_cast<std::uint16_t>(std::stoi(port));
  EXPECT_TRUE(
    wait_until([&] { return !grace::runtime::port_listened(number); }));
  // Had the healing failed, the detached copy would still run: end it.
  if (auto h = grace::runtime::find_port_holder(number); h && h->pid > 1)
    ::kill(h->pid, SIGKILL);
}

TEST_F(GraceRun, ADependencysFailureIsTheCauseOfItsDependentsIncidents) {
  auto g = run(write_config(child("db") + "    - {name: api, command: ["
                            + crashy + ", --stamp, " + dir_
                            + "/api.stamp], depends_on: [root/db]}\n"));
  auto audit = dir_ + "/logs/incidents.jsonl";
  // Ready by the `running` rule means spawned: wait for both to stamp.
  ASSERT_TRUE(wait_until(
    [&] { return first_pid("api.stamp") > 1 && first_pid("db.stamp") > 1; }));
  auto db = first_pid("db.stamp");
  ASSERT_GT(db, 1);
  ::kill(db, SIGKILL);
  ASSERT_TRUE(
    wait_until([&] { return count_of(lines_of(audit), "\"resolved\"") == 2; }))
    << err();
  // Restarted once: its second start stamped.
  EXPECT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/api.stamp").size() == 2; }));
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  std::string db_id, api_line;
  for (auto& l : lines_of(audit)) {
    expect_spec_line(l);
    if (l.find("\"status\":\"resolved\"") == std::string::npos)
      continue;
    if (l.find("\"component\":\"root/db\"") != std::string::npos)
      db_id = l.substr(l.find("inc_"), 26);
    else
      api_line = l;
  }
  ASSERT_FALSE(db_id.empty());
  EXPECT_NE(api_line.find("\"failure_mode\":\"dependency_failed\""),
            std::string::npos)
    << api_line;
  EXPECT_NE(api_line.find("\"caused_by\":\"" + db_id), std::string::npos)
    << api_line;
  EXPECT_EQ(lines_of(dir_ + "/api.stamp").size(), 2u) << "and only once";
}

TEST_F(GraceRun, StatusShowsTheTreeAndStopStartRestartActOnIt) {
  auto nested = "    - supervisor:\n        name: mid\n        children:\n"
                "      "
                + child("m");
  auto g = run(write_config(child("a") + child("b") + nested));
  ASSERT_TRUE(wait_until([&] {
    return first_pid("a.stamp") > 1 && first_pid("b.stamp") > 1
           && first_pid("m.stamp") > 1;
  }));
  auto status = ctl(dir_, {"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("COMPONENT"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("  a "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(std::to_string(first_pid("a.stamp"))),
            std::string::npos)
    << status.out;
  auto json = ctl(dir_, {"status", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"path\":\"root/b\""), std::string::npos);
  EXPECT_NE(json.out.find("\"path\":\"root/mid/m\""), std::string::npos)
    << json.out;
  EXPECT_NE(json.out.find("\"complete\":true"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"pid\":" + std::to_string(first_pid("b.stamp"))),
            std::string::npos)
    << json.out;

  // Stopped by the operator: stays stopped, no incident.
  auto a = first_pid("a.stamp");
  auto stop = ctl(dir_, {"stop", "root/a"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(stop.out, "root/a: stopped\n");
  EXPECT_TRUE(wait_until([&] { return !alive(a); }));
  EXPECT_TRUE(
    never_within([&] { return lines_of(dir_ + "/a.stamp").size() > 1; }, 300ms))
    << "not restarted behind the operator's back";
  EXPECT_NE(ctl(dir_, {"status", "--json"}).out.find("\"state\":\"held\""),
            std::string::npos);
  // Started again.
  auto start = ctl(dir_, {"start", "root/a"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/a.stamp").size() == 2; }));
  // Restarted: a new pid.
  auto b = first_pid("b.stamp");
  auto restart = ctl(dir_, {"restart", "root/b"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/b.stamp").size() == 2; }));
  EXPECT_FALSE(alive(b));
  // Errors: exit 1 and a message.
  auto unknown = ctl(dir_, {"stop", "root/nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "grace: no component root/nope\n");
  EXPECT_EQ(ctl(dir_, {"stop", "root"}).exit_code, 1);
  // None of that was an incident.
  EXPECT_FALSE(fs::exists(dir_ + "/logs/incidents.jsonl")
               && !lines_of(dir_ + "/logs/incidents.jsonl").empty());
  auto down = ctl(dir_, {"shutdown"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_FALSE(fs::exists(dir_ + "/logs/grace.sock")) << "removed at the end";
  auto gone = ctl(dir_, {"status"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("no grace answers"), std::string::npos) << gone.err;
}

TEST_F(GraceRun, GarbageOnTheControlSocketChangesNothing) {
  auto g = run(write_config(child("a")));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  auto sock = dir_ + "/logs/grace.sock";
  for (auto* bad : {"not json", "[1,2,3]", "{\"cmd\":42}", "{\"cmd\":\"fly\"}",
                    "{\"cmd\":\"stop\"}", "{\"cmd\":\"stop\",\"path\":7}"}) {
    std::string e;
    auto answer = grace::runtime::control_request(
      sock, bad, grace::test::patience(5s), &e);
    EXPECT_EQ(answer.find("{\"error\":"), 0u) << bad << " -> " << answer << e;
    EXPECT_NE(answer.find("\"ok\":false"), std::string::npos) << answer;
  }
  // Random bytes, no newline, then gone.
  std::string noise;
  for (int i = 0; i < 5000; ++i)
    noise += static_cast<char>((i * 7919) % 251 + 1);
  std::string e;
  grace::runtime::control_request(sock, noise, 2s, &e);
  // Still supervising, still answering.
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 1u);
  EXPECT_EQ(ctl(dir_, {"status"}).exit_code, 0);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, HostileClientsKeepNobodyOutAndHoldNoMemory) {
  // This process holds a thousand connections; grace inherits the limit.
  ASSERT_GE(grace::test::raise_open_files(4096), 1200u)
    << "this host allows too few descriptors";
  // A child that crashes every 20 ms: events all the time.
  auto g = run(write_config(child("a", "--sleep, \"20\", --exit, \"1\""),
                            "  intensity: 1000000\n  period: 1s\n"));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  auto sock = dir_ + "/logs/grace.sock";
  auto fds_before = open_fds(g->pid());
  auto rss_before = rss_kib(g->pid());
  auto dial = [&] {
    int fd = grace::test::dial(sock);
    EXPECT_GE(fd, 0);
    return fd;
  };
  // A `grace events` client that reads nothing, then a thousand that never
  // write, then one sending its request byte by byte.
  int deaf = dial();
  std::string events = "{\"cmd\":\"events\"}\n";
  ASSERT_EQ(::write(deaf, events.data(), events.size()),
            static_cast<ssize_t>(events.size()));
  std::vector<int> silent;
  for (int i = 0; i < 1000; ++i)
    silent.push_back(dial());
  int slow = dial();
  for (char c : std::string{"{\"cmd\":\"status\"}\n"})
    ASSERT_EQ(::write(slow, &c, 1), 1);
  std::string answer;
  char c;
  while (::read(slow, &c, 1) == 1 && c != '\n')
    answer += c;
  EXPECT_NE(answer.find("\"ok\":true"), std::string::npos)
    << answer.substr(0, 200);
  EXPECT_NE(answer.find("\"path\":\"root/a\""), std::string::npos);
  // And a plain `grace status` is served.
  EXPECT_EQ(ctl(dir_, {"status"}).exit_code, 0) << err();
  // grace kept at most its 128 clients, and its memory.
  auto fds_after = open_fds(g->pid());
  auto rss_after = rss_kib(g->pid());
  std::printf("hostile clients: grace holds %ld descriptors (%ld before), "
              "RSS %ld KiB (%ld before)\n",
              static_cast<long>(fds_after), static_cast<long>(fds_before),
              rss_after, rss_before);
  EXPECT_LE(fds_after, fds_before + 128 + 8);
  EXPECT_LE(rss_after, rss_before + 64 * 1024);
  for (auto fd : silent)
    ::close(fd);
  ::close(slow);
  ::close(deaf);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(grace::test::patience(10s)), 0) << err();
}

TEST_F(GraceRun, ASecondGraceOnTheSameLogDirRefusesToStart) {
  auto config = write_config(child("a"));
  auto first = run(config);
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  auto second = grace::test::run_process({grace_bin, "run", config});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another grace answers there"), std::string::npos)
    << second.err;
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 1u) << "started nothing";
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(10s), 0) << err();
}

TEST_F(GraceRun, EventsFollowStateChangesAndIncidentsLive) {
  auto g = run(write_config(child("a")));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  background json{
    {grace_bin, "events", "--json", "--control", dir_ + "/logs/grace.sock"},
    dir_ + "/events.json",
    dir_ + "/events.err"};
  background text{{grace_bin, "events", "--control", dir_ + "/logs/grace.sock"},
                  dir_ + "/events.txt",
                  dir_ + "/events.txt.err"};
  ASSERT_TRUE(
    wait_until([&] { return err().find("(2 in all)") != std::string::npos; }))
    << err();
  auto a = first_pid("a.stamp");
  ::kill(a, SIGKILL);
  ASSERT_TRUE(wait_until([&] {
    return slurp(dir_ + "/events.json").find("\"status\":\"resolved\"")
           != std::string::npos;
  }))
    << slurp(dir_ + "/events.json");
  auto lines = lines_of(dir_ + "/events.json");
  ASSERT_GE(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"event\":\"state\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"path\":\"root/a\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"state\":\"restarted\""), std::string::npos)
    << lines[0];
  EXPECT_NE(slurp(dir_ + "/events.json").find("\"status\":\"open\""),
            std::string::npos);
  ASSERT_TRUE(wait_until([&] {
    return slurp(dir_ + "/events.txt").find("crashed resolved in")
           != std::string::npos;
  }))
    << slurp(dir_ + "/events.txt");
  EXPECT_NE(slurp(dir_ + "/events.txt").find("root/a restarted (pid"),
            std::string::npos);
  // Grace stops: the followers end too, exit 0.
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_EQ(json.wait(5s), 0) << slurp(dir_ + "/events.err");
  EXPECT_EQ(text.wait(5s), 0);
}

TEST_F(GraceRun, MetricsAreScrapedOverHttp) {
  auto metrics = grace::test::free_port();
  auto port = grace::test::free_port_text();
  auto config = tmp_.write(
    "grace.yaml",
    "grace: 1\nlog_dir: logs\nmetrics: 127.0.0.1:" + std::to_string(metrics)
      + "\nsupervisor:\n  children:\n"
        "    - name: a\n      command: ["
      + crashy + ", --stamp, " + dir_ + "/a.stamp, --listen, \"" + port
      + "\"]\n      ready: {tcp: " + port
      + ", within: 60s}\n      probes:\n"
        "        - {kind: tcp, port: "
      + port + ", every: 20ms, timeout: 30s}\n");
  auto g = run(config);
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  ::kill(first_pid("a.stamp"), SIGKILL);
  std::string text;
  ASSERT_TRUE(wait_until([&] {
    text = grace::test::http_get(metrics, "/metrics");
    return text.find("grace_mttr_seconds_count 1") != std::string::npos
           && text.find("grace_probe_duration_seconds_count") != text.npos;
  }))
    << text;
  for (auto* line :
       {"grace_restarts_total{component=\"root/a\"} 1",
        "grace_incidents_total{failure_mode=\"crashed\",severity=\"high\","
        "status=\"resolved\"} 1",
        "grace_probe_duration_seconds_count{component=\"root/a\",probe="
        "\"tcp\"}"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  EXPECT_TRUE(wait_until([&] {
    return grace::test::http_get(metrics, "/metrics")
             .find("grace_component_up{component=\"root/a\"} 1")
           != std::string::npos;
  }));
  // grace status shows how its probe fares.
  EXPECT_TRUE(wait_until([&] {
    return ctl(dir_, {"status", "--json"}).out.find("\"probes\":\"tcp ok\"")
           != std::string::npos;
  }));
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, AMetricsPortAlreadyTakenIsReportedAndSupervisionGoesOn) {
  auto port = grace::test::free_port();
  auto taken = std::to_string(port);
  background holder{
    {crashy, "--listen", taken}, dir_ + "/h.out", dir_ + "/h.err"};
  ASSERT_TRUE(wait_until([&] { return grace::runtime::port_listened(port); }));
  auto g = run(tmp_.write("grace.yaml",
                          "grace: 1\nlog_dir: logs\nmetrics: 127.0.0.1:" + taken
                            + "\nsupervisor:\n  children:\n" + child("a")));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; })) << err();
  EXPECT_TRUE(wait_until([&] {
    return err().find("cannot serve metrics on 127.0.0.1:" + taken)
           != std::string::npos;
  }))
    << err();
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, ReloadAppliesTheDifferenceAndKeepsTheRestRunning) {
  auto g = run(write_config(child("a") + child("b") + child("c")));
  ASSERT_TRUE(wait_until([&] {
    return first_pid("a.stamp") > 1 && first_pid("b.stamp") > 1
           && first_pid("c.stamp") > 1;
  }));
  auto a = first_pid("a.stamp");
  auto b = first_pid("b.stamp");
  auto c = first_pid("c.stamp");
  // b's command changes, c goes, d comes, the strategy changes.
  write_config(child("a") + child("b", "--print, again") + child("d"),
               "  strategy: rest_for_one\n");
  auto r = ctl(dir_, {"reload"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "reloaded: added root/d; removed root/c; changed root/b; "
                   "retuned root\n");
  EXPECT_TRUE(wait_until([&] { return first_pid("d.stamp") > 1; }));
  EXPECT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/b.stamp").size() == 2; }));
  EXPECT_TRUE(wait_until([&] { return !alive(c) && !alive(b); }));
  EXPECT_TRUE(alive(a));
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 1u) << "unchanged: same pid";
  auto status = ctl(dir_, {"status", "--json"}).out;
  EXPECT_NE(status.find("\"path\":\"root/d\""), std::string::npos);
  EXPECT_EQ(status.find("\"path\":\"root/c\""), std::string::npos);
  // Nothing changed: nothing happens.
  auto again = ctl(dir_, {"reload"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "reloaded: added -; removed -; changed -; retuned -\n");
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, ARestartWaitingOutItsBackoffSurvivesAReloadThatMovesIt) {
  // a exits at once, every time: its second restart waits 2 s. A reload
  // then puts z before it; a's restart still comes.
  auto backoff = std::string{"    - {name: a, command: ["} + crashy
                 + ", --stamp, " + dir_ + "/a.stamp, --exit, \"1\"], "
                 + "backoff: {min: 2s, max: 2s}}\n";
  auto g = run(write_config(backoff));
  ASSERT_TRUE(wait_until([&] {
    return err().find("root/a (exited with code 1) in ") != std::string::npos;
  }))
    << err();
  write_config(child("z") + backoff);
  auto r = ctl(dir_, {"reload"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "reloaded: added root/z; removed -; changed -; retuned -\n");
  auto before = lines_of(dir_ + "/a.stamp").size();
  EXPECT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/a.stamp").size() > before; }))
    << "a's restart was lost in the reload; " << err();
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, AnInvalidConfigIsNotReloadedAndNothingChanges) {
  auto g = run(write_config(child("a")));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  auto a = first_pid("a.stamp");
  tmp_.write("grace.yaml", "grace: 1\nsupervisor:\n  children:\n"
                           "    - {name: a, comand: [x]}\n");
  auto r = ctl(dir_, {"reload"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown key 'comand' (did you mean 'command'?)"),
            std::string::npos)
    << r.err;
  EXPECT_NE(r.err.find("nothing changed"), std::string::npos) << r.err;
  // log_dir cannot change under a running grace.
  write_config(child("a"));
  auto text = slurp(dir_ + "/grace.yaml");
  text.replace(text.find("log_dir: logs"), 13, "log_dir: other");
  tmp_.write("grace.yaml", text);
  auto moved = ctl(dir_, {"reload"});
  EXPECT_EQ(moved.exit_code, 2);
  EXPECT_NE(moved.err.find("log_dir changed: that needs a restart of grace"),
            std::string::npos)
    << moved.err;
  EXPECT_TRUE(alive(a));
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 1u);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, AReloadThatMakesTheRootGiveUpAnswersWhatHappened) {
  auto g = run(write_config(child("a"), "  intensity: 1\n"));
  ASSERT_TRUE(wait_until([&] { return first_pid("a.stamp") > 1; }));
  // b exits at once, every time, before it counts as ready: the root's
  // intensity runs out while the reload is under way.
  write_config(child("a") + "    - {name: b, command: [" + crashy
                 + ", --exit, \"1\"], ready: {delay: 1s}}\n",
               "  intensity: 1\n");
  auto r = ctl(dir_, {"reload"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("restart intensity exceeded"), std::string::npos)
    << r.err;
  EXPECT_NE(r.err.find("root"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("closed without an answer"), std::string::npos) << r.err;
  EXPECT_EQ(g->wait(10s), 3) << err();
}

TEST_F(GraceRun, StatusShowsTheLatestFailureWhateverNoticedIt) {
  // A crash, then a failing probe: LAST FAILURE is the probe's.
  auto pid_file = dir_ + "/a.pid";
  auto g = run(write_config(child_probed_by_pid_file()));
  auto audit = dir_ + "/logs/incidents.jsonl";
  auto resolved = [&](std::size_t n) {
    return wait_until(
      [&] { return count_of(lines_of(audit), "\"resolved\"") >= n; });
  };
  auto pid = pid_in(pid_file);
  ASSERT_GT(pid, 1);
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(resolved(1)) << err();
  auto last_failure = [&] {
    auto j = nlohmann::json::parse(ctl(dir_, {"status", "--json"}).out, nullptr,
                                   false);
    for (auto& c : j["components"])
      if (c["path"] == "root/a")
        return c["last_failure"].is_string()
                 ? c["last_failure"].get<std::string>()
                 : std::string{};
    return std::string{};
  };
  EXPECT_EQ(last_failure(), "crashed: killed by SIGKILL");
  // The new instance has written its pid: now its probe fails.
  ASSERT_TRUE(wait_until([&] {
    auto text = slurp(pid_file);
    return !text.empty() && std::stoi(text) != pid;
  }));
  std::filesystem::remove(pid_file);
  ASSERT_TRUE(resolved(2)) << err();
  EXPECT_TRUE(last_failure().starts_with("check_failed: probe "))
    << last_failure();
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}
