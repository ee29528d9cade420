// `cluster:` and `nodes:` (SPEC.md section 9): what the loader reads, and
// every mistake it reports with its position.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/cluster.hpp"
#include "config/support.hpp"
#include "tests/config/config_test_util.hpp"

using grace::test::config_of;
using grace::test::errors_of;
using strings = std::vector<std::string>;

namespace {

const std::string three_nodes = R"(grace: 1
cluster:
  node: a
  nodes:
    a: 127.0.0.1:4701
    b: 127.0.0.1:4702
    c: 127.0.0.1:4703
)";

} // namespace

TEST(ClusterConfig, TheExampleOfTheSpecReads) {
  auto cfg = config_of(three_nodes + R"(  heartbeat: 200ms
  down_after: 1s
  quorum: majority
  failback: false
  tls: {cert: tls/a.pem, key: tls/a.key, ca: tls/ca.pem}
supervisor:
  name: root
  children:
    - {name: agent, command: [./bin/agent]}
    - {name: db, command: [./bin/db], nodes: [a, b]}
    - supervisor: {name: api, nodes: [b, c, a], children: [{name: x, command: [x]}]}
)");
  ASSERT_TRUE(cfg.cluster);
  auto& c = *cfg.cluster;
  EXPECT_EQ(c.node, "a");
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.nodes[1].name, "b");
  EXPECT_EQ(c.nodes[1].address.host, "127.0.0.1");
  EXPECT_EQ(c.nodes[1].address.port, 4702);
  EXPECT_EQ(c.heartbeat, std::chrono::milliseconds{200});
  EXPECT_EQ(c.down_after, std::chrono::seconds{1});
  EXPECT_EQ(c.quorum, 2u);
  EXPECT_FALSE(c.failback);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->ca, "/etc/grace/tls/ca.pem") << "relative to the file";
  auto& children = cfg.root.children;
  EXPECT_TRUE(
    std::get<grace::config::child_spec>(children[0].node).nodes.empty());
  auto& db = std::get<grace::config::child_spec>(children[1].node);
  ASSERT_EQ(db.nodes.size(), 2u);
  EXPECT_EQ(db.nodes[0].name, "a");
  auto& api = std::get<grace::config::supervisor_spec>(children[2].node);
  ASSERT_EQ(api.nodes.size(), 3u);
  EXPECT_EQ(api.nodes[0].name, "b");
}

TEST(ClusterConfig, DefaultsAndAQuorumByNumber) {
  auto cfg = config_of(three_nodes
                       + "  quorum: 1\n  failback: true\nsupervisor: "
                         "{children: [{name: a, command: [x]}]}\n");
  auto& c = *cfg.cluster;
  EXPECT_EQ(c.quorum, 1u);
  EXPECT_TRUE(c.failback);
  EXPECT_EQ(c.heartbeat, std::chrono::milliseconds{200});
  EXPECT_EQ(c.down_after, std::chrono::seconds{1});
  EXPECT_FALSE(c.tls);
}

TEST(ClusterConfig, MistakesInTheClusterSection) {
  EXPECT_EQ(errors_of(R"(grace: 1
cluster:
  node: d
  nodes:
    a: 127.0.0.1:4701
    b: 127.0.0.1
    c: 127.0.0.1:4701
    "x y": 127.0.0.1:4704
  heartbeat: 2s
  down_after: 1s
  quorum: 5
  failback: maybe
  tls: {cert: a.pem}
  colour: red
supervisor: {children: [{name: a, command: [x]}]}
)"),
            (strings{
              "t.yaml:3:9: error: cluster.node: 'd' is not one of "
              "cluster.nodes (did you mean 'a'?)",
              "t.yaml:6:8: error: cluster.nodes.b: expected host:port (e.g. "
              "127.0.0.1:4701), got '127.0.0.1'",
              "t.yaml:7:8: error: cluster.nodes.c: 127.0.0.1:4701 is a's "
              "address too (line 5)",
              "t.yaml:8:5: error: cluster.nodes.x y: invalid name 'x y' "
              "(allowed: a-z, 0-9, '_' and '-')",
              "t.yaml:10:15: error: cluster.down_after: must be longer than "
              "heartbeat (2s), or a node is down between two heartbeats",
              // b's address is wrong: three nodes are known.
              "t.yaml:11:11: error: cluster.quorum: 5 is more than the 3 "
              "nodes: a quorum could never form",
              "t.yaml:12:13: error: cluster.failback: expected true or false, "
              "got 'maybe'",
              "t.yaml:13:8: error: cluster.tls: missing required key 'key'",
              "t.yaml:13:8: error: cluster.tls: missing required key 'ca'",
              "t.yaml:14:3: error: cluster: unknown key 'colour'",
            }));
}

TEST(ClusterConfig, AQuorumIsMajorityOrANumber) {
  auto errors = errors_of(three_nodes
                          + "  quorum: most\nsupervisor: {children: [{name: "
                            "a, command: [x]}]}\n");
  EXPECT_EQ(errors,
            strings{"t.yaml:8:11: error: cluster.quorum: expected majority or "
                    "a number of nodes (at least 1), got 'most'"});
}

TEST(ClusterConfig, MistakesInNodesOfComponents) {
  EXPECT_EQ(errors_of(three_nodes + R"(supervisor:
  nodes: [a]
  children:
    - {name: db, command: [x], nodes: [a, bb]}
    - {name: cache, command: [x], nodes: []}
    - {name: web, command: [x], nodes: [a, a]}
    - supervisor:
        name: api
        nodes: [b, c]
        children:
          - {name: x, command: [x], nodes: [c]}
)"),
            (strings{
              "t.yaml:9:3: error: nodes: not allowed on the root supervisor "
              "(the root runs on every node; place its children)",
              "t.yaml:11:43: error: nodes: unknown node 'bb' (did you mean "
              "'b'?)",
              "t.yaml:12:42: error: nodes: an empty list places it nowhere "
              "(leave nodes: out to run it on every node)",
              "t.yaml:13:44: error: nodes: 'a' is listed twice",
              "t.yaml:18:45: error: nodes: root/api/x is inside root/api, "
              "which moves as a whole (its nodes: decide)",
            }));
}

TEST(ClusterConfig, NodesWithoutAClusterSaySo) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: db, command: [x], nodes: [a]}
)"),
            strings{"t.yaml:4:40: error: nodes: needs a cluster: section that "
                    "names the nodes"});
}

TEST(ClusterConfig, GraceRunRunsAClusterWithOrWithoutTls) {
  auto tree = "supervisor: {children: [{name: a, command: [x]}]}\n";
  auto plain = config_of(three_nodes + tree);
  EXPECT_TRUE(grace::config::unsupported_for_run(plain, "").empty());
  auto secured = config_of(
    three_nodes + "  tls: {cert: a.pem, key: a.key, ca: ca.pem}\n" + tree);
  EXPECT_TRUE(grace::config::unsupported_for_run(secured, "").empty());
}

TEST(ClusterConfig, DependenciesThatCrossNodesAreFoundAndRun) {
  auto cfg = config_of(three_nodes + R"(supervisor:
  name: root
  children:
    - {name: db, command: [x], nodes: [a, b]}
    - {name: api, command: [x], depends_on: [root/db]}
    - supervisor:
        name: jobs
        nodes: [b, c]
        depends_on: [root/db]
        children:
          - {name: q, command: [x]}
          - {name: w, command: [x], depends_on: [root/jobs/q]}
    - {name: agent, command: [x]}
    - {name: cache, command: [x], nodes: [c], depends_on: [root/agent]}
    - {name: web, command: [x], nodes: [a], depends_on: [root/jobs/q]}
)");
  EXPECT_TRUE(grace::config::unsupported_for_run(cfg, "").empty());
  auto layout = grace::config::layout_of(cfg);
  using units = std::map<std::string, std::string>;
  EXPECT_EQ(layout.unit, (units{{"root", ""},
                                {"root/db", "root/db"},
                                {"root/api", ""},
                                {"root/jobs", "root/jobs"},
                                {"root/jobs/q", "root/jobs"},
                                {"root/jobs/w", "root/jobs"},
                                {"root/agent", ""},
                                {"root/cache", "root/cache"},
                                {"root/web", "root/web"}}));
  // Within a unit (w on q), or on a component on every node (cache on
  // agent): each node has its own.
  EXPECT_EQ(layout.shared,
            (units{{"root/db", "root/db"}, {"root/jobs/q", "root/jobs"}}));
  using deps = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(layout.gated, (deps{{"root/api", {"root/db"}},
                                {"root/jobs", {"root/db"}},
                                {"root/web", {"root/jobs/q"}}}));
  auto alone
    = config_of("grace: 1\nsupervisor: {children: [{name: a, command: [x]}, "
                "{name: b, command: [x], depends_on: [root/a]}]}\n");
  EXPECT_TRUE(grace::config::layout_of(alone).unit.empty());
}

TEST(ClusterConfig, TheDigestIsTheSha256OfTheFilesBytes) {
  EXPECT_EQ(grace::config::digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(grace::config::digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto text
    = three_nodes + "supervisor: {children: [{name: a, command: [x]}]}\n";
  EXPECT_EQ(config_of(text).digest, grace::config::digest(text));
  EXPECT_NE(config_of(text + "# another node's copy\n").digest,
            config_of(text).digest)
    << "a comment changes the bytes";
}

TEST(ClusterConfig, TheNodeIsChosenByTheFlagOrTheConfig) {
  auto text
    = three_nodes + "supervisor: {children: [{name: a, command: [x]}]}\n";
  auto cfg = config_of(text);
  auto log_dir = cfg.log_dir;
  EXPECT_TRUE(grace::config::choose_node(cfg, "").empty());
  EXPECT_EQ(cfg.cluster->node, "a");
  EXPECT_EQ(cfg.log_dir, log_dir + "/a") << "each node has its own";
  cfg = config_of(text);
  EXPECT_TRUE(grace::config::choose_node(cfg, "c").empty());
  EXPECT_EQ(cfg.cluster->node, "c");
  EXPECT_EQ(cfg.log_dir, log_dir + "/c");
  auto wrong = grace::config::choose_node(cfg, "cc");
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(to_string(wrong[0]), "t.yaml:2:1: error: --node cc: not one of "
                                 "cluster.nodes (did you mean 'c'?)");
  EXPECT_EQ(cfg.cluster->node, "c") << "unchanged";
  auto unnamed
    = config_of("grace: 1\ncluster:\n  nodes: {a: 127.0.0.1:4701}\nsupervisor: "
                "{children: [{name: a, command: [x]}]}\n");
  wrong = grace::config::choose_node(unnamed, "");
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(to_string(wrong[0]), "t.yaml:2:1: error: cluster: name this node "
                                 "with cluster.node or --node NAME");
  auto single = config_of("grace: 1\nsupervisor: {children: [{name: a, "
                          "command: [x]}]}\n");
  EXPECT_TRUE(grace::config::choose_node(single, "").empty());
  wrong = grace::config::choose_node(single, "a");
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(to_string(wrong[0]),
            "t.yaml:1:1: error: --node a: the config has no cluster: section");
}
