#include <gtest/gtest.h>

#include "runtime/cli.hpp"

using namespace grace::runtime;

TEST(Cli, CheckTakesAConfig) {
  auto out = parse_cli({"grace", "check", "grace.yaml"});
  ASSERT_TRUE(out.options);
  EXPECT_EQ(std::get<check_command>(out.options->command).config, "grace.yaml");
}

TEST(Cli, CheckAndRunTakeTheNodeOfACluster) {
  auto check = parse_cli({"grace", "check", "c.yaml", "--node", "b"});
  ASSERT_TRUE(check.options);
  EXPECT_EQ(std::get<check_command>(check.options->command).node, "b");
  auto run = parse_cli({"grace", "run", "c.yaml", "--node", "c"});
  ASSERT_TRUE(run.options);
  EXPECT_EQ(std::get<run_command>(run.options->command).node, "c");
  auto none = parse_cli({"grace", "run", "c.yaml"});
  EXPECT_EQ(std::get<run_command>(none.options->command).node, "");
}

TEST(Cli, VersionAndHelpExitZero) {
  auto version = parse_cli({"grace", "--version"});
  EXPECT_FALSE(version.options);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.text, version_string() + "\n");
  auto help = parse_cli({"grace", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.text.find("check"), std::string::npos);
  auto sub_help = parse_cli({"grace", "check", "--help"});
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_NE(sub_help.text.find("CONFIG"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwoWithOneLine) {
  for (auto args : std::vector<std::vector<std::string>>{
         {"grace"},
         {"grace", "check"},
         {"grace", "check", "a.yaml", "b.yaml"},
         {"grace", "frobnicate"},
         {"grace", "--bogus"}}) {
    auto out = parse_cli(args);
    EXPECT_FALSE(out.options);
    EXPECT_EQ(out.exit_code, 2);
    EXPECT_TRUE(out.is_error);
    EXPECT_TRUE(out.text.starts_with("grace: ")) << out.text;
    EXPECT_EQ(std::count(out.text.begin(), out.text.end(), '\n'), 1)
      << out.text;
  }
}

TEST(Cli, OnlyWorkingCommandsAreOffered) {
  auto help = parse_cli({"grace", "--help"}).text;
  for (auto missing : {"bench"})
    EXPECT_EQ(help.find(std::string{"  "} + missing + " "), std::string::npos)
      << missing;
  for (auto offered :
       {"status", "start", "stop", "restart", "reload", "events", "shutdown"})
    EXPECT_NE(help.find(std::string{"  "} + offered + " "), std::string::npos)
      << offered;
}

TEST(Cli, ControlCommandsTakeAPathAndASocket) {
  auto stop = parse_cli({"grace", "stop", "root/db", "--control", "/x.sock"});
  ASSERT_TRUE(stop.options);
  auto& cmd = std::get<control_command>(stop.options->command);
  EXPECT_EQ(cmd.verb, "stop");
  EXPECT_EQ(cmd.path, "root/db");
  EXPECT_EQ(cmd.socket, "/x.sock");
  auto status = parse_cli({"grace", "status", "--json"});
  ASSERT_TRUE(status.options);
  auto& st = std::get<control_command>(status.options->command);
  EXPECT_EQ(st.verb, "status");
  EXPECT_TRUE(st.json);
  EXPECT_TRUE(st.socket.empty()) << "resolved later: $GRACE_CONTROL, ...";
  auto missing = parse_cli({"grace", "restart"});
  EXPECT_FALSE(missing.options);
  EXPECT_EQ(missing.exit_code, 2);
}

TEST(Cli, IncidentsTakesALogJsonAndSince) {
  auto plain = parse_cli({"grace", "incidents"});
  ASSERT_TRUE(plain.options);
  auto& def = std::get<incidents_command>(plain.options->command);
  EXPECT_EQ(def.logs, std::vector<std::string>{"logs/incidents.jsonl"});
  EXPECT_FALSE(def.json);
  EXPECT_EQ(def.since.count(), 0);
  auto full = parse_cli(
    {"grace", "incidents", "--log", "x.jsonl", "--json", "--since", "90m"});
  ASSERT_TRUE(full.options);
  auto& cmd = std::get<incidents_command>(full.options->command);
  EXPECT_EQ(cmd.logs, std::vector<std::string>{"x.jsonl"});
  EXPECT_TRUE(cmd.json);
  EXPECT_EQ(cmd.since, std::chrono::minutes{90});
  auto several
    = parse_cli({"grace", "incidents", "--log", "a.jsonl", "--log", "b.jsonl"});
  ASSERT_TRUE(several.options);
  EXPECT_EQ(std::get<incidents_command>(several.options->command).logs,
            (std::vector<std::string>{"a.jsonl", "b.jsonl"}));
  auto twice
    = parse_cli({"grace", "incidents", "--log", "a.jsonl", "--log", "a.jsonl"});
  EXPECT_FALSE(twice.options);
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.text.find("given twice"), std::string::npos) << twice.text;
  auto bad = parse_cli({"grace", "incidents", "--since", "soon"});
  EXPECT_FALSE(bad.options);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.text.find("--since"), std::string::npos) << bad.text;
}
