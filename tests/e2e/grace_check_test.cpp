// `grace check` end to end: the real executable on real files.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

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
