#include <gtest/gtest.h>

#include "config/topology.hpp"
#include "tests/config/config_test_util.hpp"

using namespace grace;
using config::topology;
using grace::test::config_of;
using strings = std::vector<std::string>;

namespace {

// db <- api <- web; cache alone; the workers pool depends on api; inside
// `edge` (which depends on db) a proxy depends on web.
const char* tree = R"(grace: 1
supervisor:
  children:
    - {name: db, command: [x]}
    - {name: cache, command: [x]}
    - {name: api, command: [x], depends_on: [root/db]}
    - {name: web, command: [x], depends_on: [root/api, root/cache]}
    - supervisor:
        name: workers
        children:
          - {name: w, command: [x], replicas: 2, depends_on: [root/api]}
    - supervisor:
        name: edge
        depends_on: [root/db]
        children:
          - {name: proxy, command: [x], depends_on: [root/web]}
)";

} // namespace

TEST(Topology, DependentsAreTransitiveAndInStartOrder) {
  auto cfg = config_of(tree);
  topology t{cfg.root};
  EXPECT_EQ(t.dependents("root/db"),
            (strings{"root/api", "root/web", "root/workers/w-0",
                     "root/workers/w-1", "root/edge"}))
    << "proxy goes with edge";
  EXPECT_EQ(t.dependents("root/cache"),
            (strings{"root/web", "root/edge/proxy"}));
  EXPECT_EQ(t.dependents("root/web"), (strings{"root/edge/proxy"}));
  EXPECT_TRUE(t.dependents("root/edge/proxy").empty());
  EXPECT_TRUE(t.has_dependents("root/db"));
  EXPECT_FALSE(t.has_dependents("root/workers/w-0"));
}

TEST(Topology, ASupervisorsDependenciesCountForWhatItHolds) {
  auto cfg = config_of(tree);
  topology t{cfg.root};
  EXPECT_EQ(t.dependencies("root/edge/proxy"),
            (strings{"root/web", "root/db"}));
  EXPECT_TRUE(t.is_dependent("root/edge/proxy"));
  EXPECT_FALSE(t.is_dependent("root/cache"));
  EXPECT_LT(t.position("root/db"), t.position("root/api"));
}

TEST(Topology, DependentsOfSomethingInsideASupervisorFollowIt) {
  auto cfg = config_of(R"(grace: 1
supervisor:
  children:
    - supervisor:
        name: data
        children:
          - {name: db, command: [x]}
    - {name: api, command: [x], depends_on: [root/data/db]}
    - {name: web, command: [x], depends_on: [root/data]}
)");
  topology t{cfg.root};
  EXPECT_EQ(t.dependents("root/data"), (strings{"root/api", "root/web"}))
    << "restarting data restarts db, on which api depends";
  EXPECT_EQ(t.dependents("root/data/db"), (strings{"root/api"}));
}
