#include <gtest/gtest.h>

#include "config/diff.hpp"
#include "tests/config/config_test_util.hpp"

using namespace grace;
using config::diff_trees;
using grace::test::config_of;
using strings = std::vector<std::string>;

namespace {

const char* before = R"(grace: 1
supervisor:
  children:
    - {name: db, command: [db, --port, "5433"]}
    - name: api
      command: [api]
      probes: [{kind: tcp, port: 8080}]
    - supervisor:
        name: workers
        strategy: one_for_all
        children:
          - {name: w, command: [w], replicas: 2}
)";

} // namespace

TEST(ConfigDiff, TheSameTreeWrittenElsewhereIsUnchanged) {
  auto a = config_of(before);
  // Comments and blank lines move every position; nothing else changes.
  auto b = config_of(std::string{"# a comment\n\n"} + before);
  EXPECT_TRUE(diff_trees(a.root, b.root).empty());
}

TEST(ConfigDiff, AddedRemovedChangedAndRetunedComponents) {
  auto a = config_of(before);
  auto b = config_of(R"(grace: 1
supervisor:
  intensity: 9
  children:
    - {name: db, command: [db, --port, "5434"]}
    - name: api
      command: [api]
      probes: [{kind: tcp, port: 8080}]
    - {name: cache, command: [cache]}
    - supervisor:
        name: workers
        strategy: one_for_one
        children:
          - {name: w, command: [w], replicas: 3}
)");
  auto d = diff_trees(a.root, b.root);
  EXPECT_EQ(d.added, (strings{"root/cache", "root/workers/w-2"}));
  EXPECT_TRUE(d.removed.empty());
  EXPECT_EQ(d.changed, (strings{"root/db"})) << "api is unchanged";
  EXPECT_EQ(d.retuned, (strings{"root", "root/workers"}));
  auto back = diff_trees(b.root, a.root);
  EXPECT_EQ(back.removed, (strings{"root/cache", "root/workers/w-2"}));
}

TEST(ConfigDiff, AChangedProbeChangesItsProcess) {
  auto a = config_of(before);
  std::string text = before;
  text.replace(text.find("port: 8080"), 10, "port: 8081");
  auto d = diff_trees(a.root, config_of(text).root);
  EXPECT_EQ(d.changed, (strings{"root/api"}));
}

TEST(ConfigDiff, AProcessBecomingASupervisorIsReplaced) {
  auto a = config_of(before);
  auto b = config_of(R"(grace: 1
supervisor:
  children:
    - supervisor:
        name: db
        children:
          - {name: primary, command: [db]}
    - name: api
      command: [api]
      probes: [{kind: tcp, port: 8080}]
)");
  auto d = diff_trees(a.root, b.root);
  EXPECT_EQ(d.removed, (strings{"root/db", "root/workers"}));
  EXPECT_EQ(d.added, (strings{"root/db"}));
}
