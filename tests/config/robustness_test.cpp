// Bad input never crashes or hangs the loader: each case gets a clear error
// (or is handled) in time proportional to its size, measured against a
// valid config loaded on the same machine in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/config/config_test_util.hpp"
#include "tests/support/temp_dir.hpp"

using namespace grace::config;
using grace::test::errors_of;
using grace::test::load;
using strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> file_errors(const std::string& path) {
  std::vector<std::string> result;
  for (auto& e : load_file(path).errors)
    result.push_back(to_string(e));
  return result;
}

template <class F>
double seconds(F f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
    .count();
}

// Sanitizer builds (ASan + UBSan, unoptimised) run grace's own code 10-20x
// slower, and not yaml-cpp (a system library, not instrumented).
constexpr double sanitizer_slowdown =
#if defined(__SANITIZE_ADDRESS__)
  20;
#else
  1;
#endif

std::string plain_children(int n) {
  std::string yaml = "grace: 1\nsupervisor:\n  children:\n";
  for (int i = 0; i < n; ++i)
    yaml += "    - {name: c" + std::to_string(i) + ", command: [app, --id, \""
            + std::to_string(i) + "\"], env: {A: b}}\n";
  return yaml;
}

// The yardstick of the cases below, measured on this machine, in this
// build, now: loading a valid config of 10,000 children (the best of three,
// a busy machine's hiccups aside). A bad config must be turned away within
// a few of these; runaway work (an alias expanded 9^9 times) would take
// thousands. Time limits here are multiples of it, never fixed seconds.
double yardstick() {
  static const double s = [] {
    auto yaml = plain_children(10'000);
    double best = 1e9;
    for (int i = 0; i < 3; ++i)
      best = std::min(best, seconds([&] { (void)load(yaml); }));
    return best;
  }();
  return s;
}

// `k` yardsticks (at least 50 ms: too short a yardstick is all noise).
double yardsticks(double k) {
  return std::max(k * yardstick(), 0.05);
}

} // namespace

TEST(ConfigRobustness, MissingFile) {
  grace::test::temp_dir dir{"grace-config"};
  auto p = (std::filesystem::path{dir.path()} / "nope.yaml").string();
  EXPECT_EQ(
    file_errors(p),
    strings{p + ":1:1: error: cannot read config: No such file or directory"});
}

TEST(ConfigRobustness, Directory) {
  grace::test::temp_dir dir{"grace-config"};
  auto p = dir.path();
  EXPECT_EQ(file_errors(p),
            strings{p + ":1:1: error: cannot read config: is a directory"});
}

TEST(ConfigRobustness, NotARegularFile) {
  EXPECT_EQ(file_errors("/dev/null"),
            strings{"/dev/null:1:1: error: cannot read config: not a regular "
                    "file"});
}

TEST(ConfigRobustness, BinaryFile) {
  grace::test::temp_dir dir{"grace-config"};
  auto p = dir.write("bin.yaml", std::string("grace: 1\n\x7f"
                                             "ELF\0\0\x01",
                                             16));
  EXPECT_EQ(file_errors(p), strings{p
                                    + ":2:5: error: not a text file (NUL "
                                      "byte); expected YAML"});
}

TEST(ConfigRobustness, InvalidUtf8) {
  EXPECT_EQ(errors_of("grace: 1\nlog_dir: caf\xc3\x28\n"),
            strings{"t.yaml:2:13: error: invalid UTF-8 (byte 0xc3); expected "
                    "a UTF-8 text file"});
  EXPECT_EQ(errors_of(std::string("\xff\xfeg\0r\0", 6)),
            strings{"t.yaml:1:1: error: UTF-16 text; Grace reads UTF-8 "
                    "(convert with: iconv -f UTF-16 -t UTF-8)"});
  // Overlong encoding of '/'.
  EXPECT_EQ(errors_of("a: \xc0\xaf\n"),
            strings{"t.yaml:1:4: error: invalid UTF-8 (byte 0xc0); expected a "
                    "UTF-8 text file"});
}

TEST(ConfigRobustness, Utf8AndBomAreFine) {
  auto r = load("\xEF\xBB\xBFgrace: 1\nsupervisor:\n  children:\n"
                "    - {name: a, command: [caf\xC3\xA9], env: {GREETING: "
                "\"\xE3\x81\x93\xE3\x82\x93\"}}\n");
  EXPECT_TRUE(r.errors.empty()) << to_string(r.errors.front());
}

TEST(ConfigRobustness, YamlSyntaxError) {
  EXPECT_EQ(errors_of("grace: 1\nsupervisor: {children: [}\n"),
            strings{"t.yaml:2:25: error: YAML syntax error: illegal flow end"});
  EXPECT_EQ(
    errors_of("grace: 1\n  supervisor: x\n"),
    strings{"t.yaml:2:13: error: YAML syntax error: illegal map value"});
}

TEST(ConfigRobustness, TabsInIndentation) {
  EXPECT_EQ(errors_of("grace: 1\nsupervisor:\n\tname: root\n\tchildren: []\n"),
            strings{"t.yaml:3:1: error: tab character in indentation (YAML "
                    "allows only spaces)"});
}

TEST(ConfigRobustness, SeveralDocuments) {
  EXPECT_EQ(errors_of("grace: 1\nsupervisor: {children: []}\n---\ngrace: 1\n"),
            strings{"t.yaml:4:1: error: several YAML documents in one file; "
                    "expected one"});
}

TEST(ConfigRobustness, UnknownAlias) {
  EXPECT_EQ(errors_of("grace: 1\nsupervisor: *nope\n"),
            strings{"t.yaml:2:13: error: YAML syntax error: the referenced "
                    "anchor is not defined"});
}

TEST(ConfigRobustness, AliasBombIsCutOffQuickly) {
  // Each level holds nine references to the one below: 9^9 supervisors once
  // expanded, a few hundred bytes on disk.
  std::string yaml = "grace: 1\nsupervisor:\n  name: root\n  children:\n"
                     "    - supervisor: &a {name: a, children: [{name: c, "
                     "command: [c]}]}\n";
  std::string prev = "a";
  for (auto level : std::string{"bcdefghij"}) {
    std::string name(1, level);
    yaml += "    - supervisor: &" + name + " {name: " + name + ", children: [";
    for (int i = 0; i < 9; ++i)
      yaml += std::string{i ? ", " : ""} + "{supervisor: *" + prev + "}";
    yaml += "]}\n";
    prev = name;
  }
  load_result r;
  auto took = seconds([&] { r = load(yaml); });
  // It stops at 100,000 components (here it takes less than one yardstick).
  EXPECT_LT(took, yardsticks(10)) << "yardstick " << yardstick() << " s";
  ASSERT_FALSE(r.config);
  // The component limit stops it before the alias budget does.
  auto limit = std::find_if(r.errors.begin(), r.errors.end(), [](auto& e) {
    return e.message.starts_with("too many components");
  });
  ASSERT_NE(limit, r.errors.end());
  EXPECT_LT(r.errors.size(), 100u);
}

TEST(ConfigRobustness, MergeKeyBombIsCutOffQuickly) {
  std::string yaml = "grace: 1\nx: &a {k: v}\n";
  std::string prev = "a";
  for (auto level : std::string{"bcdefghij"}) {
    std::string name(1, level);
    yaml += "y" + name + ": &" + name + " {<<: [";
    for (int i = 0; i < 9; ++i)
      yaml += std::string{i ? ", " : ""} + "*" + prev;
    yaml += "]}\n";
    prev = name;
  }
  yaml += "supervisor:\n  children:\n    - {<<: *j, name: a, command: [a]}\n";
  load_result r;
  auto took = seconds([&] { r = load(yaml); });
  EXPECT_LT(took, yardsticks(10)) << "yardstick " << yardstick() << " s";
  ASSERT_FALSE(r.config);
  auto bomb = std::find_if(r.errors.begin(), r.errors.end(), [](auto& e) {
    return e.message
           == "aliases expand the config far beyond its size (an alias bomb?)";
  });
  EXPECT_NE(bomb, r.errors.end());
}

TEST(ConfigRobustness, RecursiveAliasIsNotAnInfiniteLoop) {
  EXPECT_EQ(errors_of("grace: 1\nsupervisor: &s {name: s, children: "
                      "[{supervisor: *s}]}\n"),
            strings{"t.yaml:2:13: error: supervisors nested more than 1000 "
                    "deep (a recursive alias?)"});
}

TEST(ConfigRobustness, TenThousandChildrenAreFast) {
  auto yaml = plain_children(10'000);
  load_result r;
  (void)seconds([&] { r = load(yaml); });
  ASSERT_TRUE(r.config);
  EXPECT_EQ(count_children(r.config->root), 10'000u);
  // Against yaml-cpp reading the same text (the best of three each):
  // validation adds a fraction; anything worse than linear would show as a
  // multiple.
  double parse_only = 1e9;
  for (int i = 0; i < 3; ++i)
    parse_only = std::min(parse_only, seconds([&] { (void)YAML::Load(yaml); }));
  EXPECT_LT(yardstick(), 3.0 * sanitizer_slowdown * parse_only + 0.05)
    << "load " << yardstick() << " s, yaml-cpp alone " << parse_only << " s";
}

TEST(ConfigRobustness, ThousandSupervisorsDeepIsAClearError) {
  // yaml-cpp refuses documents nested deeper than its recursion limit; that
  // limit comes first, long before the stack would.
  std::string yaml = "grace: 1\nsupervisor:\n";
  std::string indent = "  ";
  for (int i = 0; i < 1000; ++i) {
    yaml += indent + "name: s" + std::to_string(i) + "\n";
    yaml += indent + "children:\n";
    yaml += indent + "- supervisor:\n";
    indent += "    ";
  }
  yaml += indent + "children: []\n";
  load_result r;
  auto took = seconds([&] { r = load(yaml); });
  EXPECT_LT(took, yardsticks(5)) << "yardstick " << yardstick() << " s";
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message,
            "nesting too deep (more than about 500 levels of YAML "
            "collections)");
  EXPECT_GT(r.errors[0].where.line, 1);
}

TEST(ConfigRobustness, HundredSupervisorsDeepLoad) {
  std::string yaml = "grace: 1\nsupervisor:\n";
  std::string indent = "  ";
  for (int i = 0; i < 100; ++i) {
    yaml += indent + "name: s" + std::to_string(i) + "\n";
    yaml += indent + "children:\n";
    yaml += indent + "- supervisor:\n";
    indent += "    ";
  }
  yaml += indent + "name: leaf\n" + indent
          + "children: [{name: c, command: [c]}]\n";
  auto r = load(yaml);
  ASSERT_TRUE(r.config) << to_string(r.errors.front());
  EXPECT_EQ(count_supervisors(r.config->root), 101u);
}

TEST(ConfigRobustness, TenMegabyteFileIsHandled) {
  grace::test::temp_dir dir{"grace-config"};
  std::string yaml = "grace: 1\nsupervisor:\n  children:\n";
  yaml.reserve(11 << 20);
  for (int i = 0; yaml.size() < (10u << 20); ++i)
    yaml += "    - {name: c" + std::to_string(i)
            + ", command: [/bin/sleep, \"100\"], env: {A: b, LONG: "
              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
              "xxxxxxxxxxxxxxxxxxx}}\n";
  auto p = dir.write("big.yaml", yaml);
  load_result r;
  auto took = seconds([&] { r = load_file(p); });
  ASSERT_TRUE(r.config) << to_string(r.errors.front());
  EXPECT_GT(count_children(r.config->root), 60'000u);
  // Against yaml-cpp reading the same text, on this machine, now (its speed
  // varies between machines by a factor of four): validation adds about
  // 15 %; anything worse than linear would show as a multiple.
  auto parse_only = seconds([&] { (void)YAML::Load(yaml); });
  EXPECT_LT(took, 2.0 * sanitizer_slowdown * parse_only + 0.5)
    << "load " << took << " s, yaml-cpp alone " << parse_only << " s";
}

TEST(ConfigRobustness, TooManyComponents) {
  std::string yaml = "grace: 1\nsupervisor:\n  children:\n";
  for (int i = 0; i < 11; ++i)
    yaml += "    - {name: p" + std::to_string(i)
            + ", command: [w], replicas: 10000}\n";
  auto r = load(yaml);
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(to_string(r.errors[0]),
            "t.yaml:13:7: error: too many components (more than 100000 "
            "processes and supervisors)");
}

TEST(ConfigRobustness, ScalarsWhereMappingsBelong) {
  EXPECT_EQ(errors_of("grace: 1\nsupervisor: root\n"),
            strings{"t.yaml:2:13: error: expected a mapping, got a scalar"});
  EXPECT_EQ(errors_of("grace: 1\nsupervisor:\n  children: [3, [x]]\n"),
            (strings{"t.yaml:3:14: error: children[]: expected a mapping, got "
                     "a scalar",
                     "t.yaml:3:17: error: children[]: expected a mapping, got "
                     "a list"}));
}

TEST(ConfigRobustness, ComplexKeys) {
  EXPECT_EQ(errors_of("grace: 1\n? [a, b]\n: 1\nsupervisor: {children: []}\n"),
            strings{"t.yaml:2:3: error: keys must be strings, got a list"});
}
