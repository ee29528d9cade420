// `grace check` end to end: the real executable on real files.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using grace::test::run_process;

namespace {

const std::string grace_bin = GRACE_BINARY;
const fs::path source_dir = GRACE_SOURCE_DIR;

std::vector<fs::path> examples() {
  std::vector<fs::path> result;
  for (auto& e : fs::directory_iterator{source_dir / "config" / "examples"})
    if (e.path().extension() == ".yaml")
      result.push_back(e.path());
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace

TEST(GraceCheck, VersionPrintsAndExitsZero) {
  auto r = run_process({grace_bin, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out.starts_with("grace ")) << r.out;
}

TEST(GraceCheck, EveryShippedExamplePasses) {
  auto xs = examples();
  ASSERT_FALSE(xs.empty());
  EXPECT_TRUE(std::find(xs.begin(), xs.end(),
                        source_dir / "config" / "examples" / "demo.yaml")
              != xs.end());
  for (auto& x : xs) {
    auto r = run_process({grace_bin, "check", x.string()});
    EXPECT_EQ(r.exit_code, 0) << x << "\n" << r.err;
    EXPECT_NE(r.out.find(": ok ("), std::string::npos) << r.out;
  }
}

TEST(GraceCheck, InvalidConfigPrintsEveryErrorAndExitsTwo) {
  grace::test::temp_dir dir{"grace-check"};
  auto file = dir.write("bad.yaml", "grace: 1\nsupervisor:\n  strategy: nope\n"
                                    "  children:\n    - {name: a, comand: "
                                    "[x]}\n");
  auto r = run_process({grace_bin, "check", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            file
              + ":3:13: error: strategy: unknown value 'nope' (expected one "
                "of: one_for_one, one_for_all, rest_for_one)\n"
              + file + ":5:7: error: missing required key 'command'\n" + file
              + ":5:17: error: unknown key 'comand' (did you mean 'command'?)\n"
                "grace: 3 errors in "
              + file + "\n");
}

TEST(GraceCheck, MissingFileExitsTwo) {
  auto r = run_process({grace_bin, "check", "/nonexistent/grace.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/grace.yaml:1:1: error: cannot read "
                       "config: No such file or directory"),
            std::string::npos)
    << r.err;
}

TEST(GraceCheck, UsageErrorExitsTwo) {
  auto r = run_process({grace_bin, "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.err.starts_with("grace: ")) << r.err;
}

TEST(GraceIncidents, ATornLastLineIsSkippedWithAWarning) {
  grace::test::temp_dir dir;
  auto log = dir.write(
    "incidents.jsonl",
    R"({"incident_id":"inc_1","component":"root/api","failure_mode":"crashed",)"
    R"("severity":"high","status":"resolved",)"
    R"("detected_at":"2026-11-27T16:43:28.024197Z",)"
    R"("resolved_at":"2026-11-27T16:43:28.027982Z","mttr_seconds":0.003785})"
    "\n"
    R"({"incident_id":"inc_2","component":"root/api","fail)");
  for (auto json : {false, true}) {
    std::vector<std::string> argv{grace_bin, "incidents", "--log", log};
    if (json)
      argv.push_back("--json");
    auto r = run_process(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("grace: warning: " + log
                         + ": 1 unreadable line(s) skipped, the last one torn"),
              std::string::npos)
      << "json " << json << ": " << r.err;
    EXPECT_NE(r.out.find(json ? "\"closed\": 1" : "1 closed, 0 open"),
              std::string::npos)
      << r.out;
  }
}

TEST(GraceIncidents, SeveralLogsAreMergedEachWarnedOnItsOwn) {
  // One log per node of a cluster; b's ends torn.
  grace::test::temp_dir dir;
  auto line = [](const std::string& id, const std::string& component,
                 const std::string& mttr) {
    return R"({"incident_id":")" + id + R"(","component":")" + component
           + R"(","failure_mode":"crashed","severity":"high",)"
             R"("status":"resolved",)"
             R"("detected_at":"2026-11-27T16:43:28.024197Z",)"
             R"("resolved_at":"2026-11-27T16:43:28.027982Z","mttr_seconds":)"
           + mttr + "}\n";
  };
  auto a = dir.write("a.jsonl", line("inc_1_a", "root/db", "0.004")
                                  + line("inc_2_a", "root/db", "0.006"));
  auto b = dir.write("b.jsonl", line("inc_1_b", "root/api", "0.010")
                                  + R"({"incident_id":"inc_2_b","comp)");
  auto r
    = run_process({grace_bin, "incidents", "--log", a, "--log", b, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(a), std::string::npos) << "a reads whole: " << r.err;
  EXPECT_NE(r.err.find("grace: warning: " + b + ": 1 unreadable line(s)"),
            std::string::npos)
    << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["closed"], 3);
  EXPECT_EQ(j["source"], a + ", " + b);
  EXPECT_TRUE(j["by_component"].contains("root/db"));
  EXPECT_TRUE(j["by_component"].contains("root/api"));
  auto missing = run_process(
    {grace_bin, "incidents", "--log", a, "--log", dir.file("c.jsonl")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(
    missing.err.find("cannot read the audit log " + dir.file("c.jsonl")),
    std::string::npos)
    << missing.err;
}

TEST(GraceControl, NobodyAnsweringNamesWhereTheSocketComesFrom) {
  grace::test::temp_dir dir;
  auto socket = dir.file("grace.sock");
  auto r = run_process({grace_bin, "status", "--control", socket});
  EXPECT_EQ(r.exit_code, 1);
  for (auto want : {"no grace answers at " + socket, std::string{"--control"},
                    std::string{"GRACE_CONTROL"}})
    EXPECT_NE(r.err.find(want), std::string::npos) << want << " in " << r.err;
}
