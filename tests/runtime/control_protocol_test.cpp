// The control protocol without a socket or actors: what each request line
// becomes, and the lines grace answers with.
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "runtime/control_protocol.hpp"
#include "runtime/status_view.hpp"

using namespace grace::runtime;

namespace {

// The failure line a request gets, or "" if it is understood.
std::string refusal(const std::string& line) {
  auto r = parse_control_request(line, "root");
  auto* why = std::get_if<std::string>(&r);
  return why ? *why : std::string{};
}

control_request_line understood(const std::string& line) {
  auto r = parse_control_request(line, "root");
  EXPECT_TRUE(std::holds_alternative<control_request_line>(r))
    << std::get<std::string>(r);
  return std::holds_alternative<control_request_line>(r)
           ? std::get<control_request_line>(r)
           : control_request_line{};
}

} // namespace

TEST(ControlProtocol, EachCommandIsUnderstood) {
  EXPECT_EQ(understood(R"({"cmd":"status"})").cmd, control_command::status);
  EXPECT_EQ(understood(R"({"cmd":"reload"})").cmd, control_command::reload);
  EXPECT_EQ(understood(R"({"cmd":"events"})").cmd, control_command::events);
  EXPECT_EQ(understood(R"({"cmd":"shutdown"})").cmd, control_command::shutdown);
  auto r = understood(R"({"cmd":"restart","path":"root/api","extra":1})");
  EXPECT_EQ(r.cmd, control_command::restart);
  EXPECT_EQ(r.path, "root/api");
  EXPECT_EQ(understood(R"({"cmd":"stop","path":"root/a"})").cmd,
            control_command::stop);
  EXPECT_EQ(understood(R"({"cmd":"start","path":"root/a"})").cmd,
            control_command::start);
}

TEST(ControlProtocol, BadRequestsGetAClearFailureLine) {
  EXPECT_EQ(refusal("{nope").rfind(R"({"error":"malformed request: )", 0), 0u)
    << refusal("{nope");
  auto no_cmd
    = R"({"error":"a request is an object with a \"cmd\" string","ok":false})";
  EXPECT_EQ(refusal("[1,2]"), no_cmd);
  EXPECT_EQ(refusal(R"({"cmd":7})"), no_cmd);
  EXPECT_EQ(refusal(R"("status")"), no_cmd);
  EXPECT_EQ(
    refusal(R"({"cmd":"dance"})"),
    R"j({"error":"unknown command 'dance' (status, start, stop, restart, reload, events, shutdown)","ok":false})j");
  EXPECT_EQ(refusal(R"({"cmd":"stop"})"),
            R"({"error":"stop needs a \"path\"","ok":false})");
  EXPECT_EQ(refusal(R"({"cmd":"restart","path":3})"),
            R"({"error":"restart needs a \"path\"","ok":false})");
  EXPECT_EQ(
    refusal(R"({"cmd":"stop","path":"root"})"),
    R"({"error":"root is the root supervisor: use 'grace shutdown' to stop everything","ok":false})");
}

TEST(ControlProtocol, InvalidUtf8IsReplacedNotThrownAbout) {
  // Refused as malformed; the answer quotes it, replaced, as valid UTF-8.
  auto line = std::string{R"({"cmd":"x)"} + "\xff\xfe" + R"("})";
  auto why = refusal(line);
  EXPECT_EQ(why.rfind(R"({"error":"malformed request: )", 0), 0u) << why;
  EXPECT_EQ(why.find('\xff'), std::string::npos) << why;
  EXPECT_EQ(failure_line(std::string{"a\xc3"}),
            "{\"error\":\"a\xef\xbf\xbd\",\"ok\":false}");
}

TEST(ControlProtocol, AnswersAndEventsAreOneJsonLineEach) {
  EXPECT_EQ(
    failure_line("no component root/x", "no_such_component"),
    R"({"code":"no_such_component","error":"no component root/x","ok":false})");

  EXPECT_EQ(ok_line(), R"({"ok":true})");
  EXPECT_EQ(events_stream_line(), R"({"ok":true,"stream":"events"})");
  component_status sup;
  sup.path = "root";
  sup.supervisor = true;
  sup.state = "running";
  component_status api;
  api.path = "root/api";
  api.state = "running";
  api.pid = 42;
  api.ready_ns = 1'000'000'000;
  api.restarts = 2;
  api.last_failure = "killed by SIGKILL";
  api.failed_ns = 500'000'000;
  api.probes = "tcp ok";
  EXPECT_EQ(
    status_line({sup, api}, 3'000'000'000),
    R"({"complete":true,"components":[{"kind":"supervisor","last_failure":null,"last_failure_ago_seconds":null,"late":false,"path":"root","pid":null,"probes":null,"restarts":0,"state":"running","uptime_seconds":null},)"
    R"({"kind":"process","last_failure":"killed by SIGKILL","last_failure_ago_seconds":2.5,"late":false,"path":"root/api","pid":42,"probes":"tcp ok","restarts":2,"state":"running","uptime_seconds":2.0}],"ok":true})");
  EXPECT_EQ(
    state_event_line("2026-12-06T00:00:00.000000Z", "root/api", "exited", 0,
                     ""),
    R"({"at":"2026-12-06T00:00:00.000000Z","event":"state","path":"root/api","pid":null,"state":"exited"})");
  EXPECT_EQ(
    state_event_line("T", "root/api", "restarted", 7, "killed by SIGSEGV"),
    R"({"at":"T","detail":"killed by SIGSEGV","event":"state","path":"root/api","pid":7,"state":"restarted"})");
  EXPECT_EQ(incident_event_line("T", R"({"id":"inc_1"})"),
            R"({"event":"incident","at":"T","incident":{"id":"inc_1"}})");
}

TEST(StatusView, ALongLastFailureIsCutToOneLineOfTheTable) {
  component_status api;
  api.path = "root/api";
  api.state = "running";
  api.last_failure = "port_in_use: port 8080 is held by pid 4242 ("
                     + std::string(200, 'x') + ")";
  api.failed_ns = 1'000'000'000;
  auto table = render_status(status_line({api}, 3'000'000'000), false);
  auto row = table.substr(table.find('\n') + 1);
  EXPECT_NE(row.find("port_in_use: port 8080 is held by pid 4242 (xxx"),
            std::string::npos)
    << table;
  EXPECT_NE(row.find("..., 2s ago"), std::string::npos) << table;
  EXPECT_LT(row.size(), 160u) << table;
}

TEST(StatusView, ARowThatCameLateIsMarkedAndTheAnswerIsIncomplete) {
  component_status sup, mid, api;
  sup.path = "root";
  sup.supervisor = true;
  sup.state = "running";
  mid.path = "root/mid";
  mid.supervisor = true;
  mid.state = "running";
  mid.late = true; // its rows did not come in time
  api.path = "root/api";
  api.state = "running";
  api.pid = 42;
  auto line = status_line({sup, mid, api}, 0);
  EXPECT_NE(line.find(R"("complete":false)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("late":true,"path":"root/mid")"), std::string::npos)
    << line;
  auto table = render_status(line, false);
  EXPECT_EQ(table,
            "COMPONENT  STATE      PID      UPTIME   RESTARTS  PROBES  "
            "LAST FAILURE\n"
            "root       running                      0\n"
            "  mid      running                      0         late\n"
            "  api      running    42                0\n"
            "late: its answer did not come in time (grace is busy); the row "
            "is what its supervisor knows, and a supervisor's rows below it "
            "are missing\n");
  api.probes = "tcp ok";
  api.late = false;
  mid.late = false;
  auto whole = render_status(status_line({sup, mid, api}, 0), false);
  EXPECT_EQ(whole.find("late"), std::string::npos) << whole;
}

TEST(StatusView, AClusterShowsEachComponentsNodeAndEveryNode) {
  component_status root, db;
  root.path = "root";
  root.supervisor = true;
  root.state = "running";
  root.node = "c";
  db.path = "root/db";
  db.state = "running";
  db.pid = 42;
  db.node = "a";
  std::vector<node_status> nodes{{"c", true, true, 0},
                                 {"a", true, false, 0},
                                 {"b", false, false, 1'000'000'000}};
  auto line = status_line({root, db}, 6'000'000'000, nodes);
  EXPECT_NE(line.find(R"("node":"a","path":"root/db")"), std::string::npos)
    << line;
  EXPECT_NE(
    line.find(R"({"down_for_seconds":5.0,"name":"b","self":false,"up":false})"),
    std::string::npos)
    << line;
  auto table = render_status(line, false);
  EXPECT_EQ(table,
            "COMPONENT  STATE      NODE  PID      UPTIME   RESTARTS  PROBES  "
            "LAST FAILURE\n"
            "root       running    c                       0\n"
            "  db       running    a     42                0\n"
            "NODES: c (this one) up, a up, b down for 5s\n");
  db.node.clear();
  auto single = render_status(status_line({db}, 0), false);
  EXPECT_EQ(single.find("NODE"), std::string::npos) << "alone: no column";
}
