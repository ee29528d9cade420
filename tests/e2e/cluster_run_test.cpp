// Three `grace run` processes on loopback as the nodes of one cluster (SPEC.md
// section 9), each with its own log_dir: where a placed component runs, what
// happens when its node is killed, frozen or comes back, and a node that
// brings another config.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/grace_run_fixture.hpp"
#include "tests/support/ports.hpp"

namespace grace::test {
namespace {

using namespace std::chrono_literals;

class ClusterRun : public GraceRun {
protected:
  ~ClusterRun() override {
    nodes_.clear(); // SIGKILLs what still runs; the base kills the children
  }

  // A cluster of a, b and c with `db` placed on [a, b, c] and `agent` on
  // every node, written to `file`; `extra` is appended to it.
  std::string cluster_config(const std::string& extra = "",
                             const std::string& file = "cluster.yaml",
                             const std::string& in_cluster = "") {
    std::string text = "grace: 1\nlog_dir: logs\ncluster:\n  nodes:\n";
    for (auto n : {"a", "b", "c"})
      text += std::string{"    "} + n + ": 127.0.0.1:" + port_[n] + "\n";
    text += "  heartbeat: 100ms\n  down_after: 1s\n" + in_cluster
            + "supervisor:\n  name: root\n  children:\n"
              "    - {name: db, nodes: [a, b, c], command: ["
            + crashy + ", --stamp, " + dir_ + "/db.stamp]}\n"
            + "    - {name: agent, command: [" + crashy + ", --stamp, " + dir_
            + "/agent.stamp]}\n" + extra;
    return tmp_.write(file, text);
  }

  // db placed on [a, b], ready 700 ms after it starts; api on every node
  // and web on [c, b], which depend on it.
  std::string dependency_config() {
    std::string text = "grace: 1\nlog_dir: logs\ncluster:\n  nodes:\n";
    for (auto n : {"a", "b", "c"})
      text += std::string{"    "} + n + ": 127.0.0.1:" + port_[n] + "\n";
    text += "  heartbeat: 100ms\n  down_after: 1s\n"
            "supervisor:\n  name: root\n  children:\n"
            "    - {name: db, nodes: [a, b], ready: {delay: 700ms}, command: ["
            + crashy + ", --stamp, " + dir_ + "/db.stamp]}\n"
            + "    - {name: api, depends_on: [root/db], command: [" + crashy
            + ", --stamp, " + dir_ + "/api.stamp]}\n"
            + "    - {name: web, nodes: [c, b], depends_on: [root/db], "
              "command: ["
            + crashy + ", --stamp, " + dir_ + "/web.stamp]}\n";
    return tmp_.write("cluster.yaml", text);
  }

  // The starts stamped in `file`: pid and CLOCK_MONOTONIC nanoseconds.
  struct stamp {
    int pid = 0;
    std::int64_t at_ns = 0;
  };
  std::vector<stamp> stamps(const std::string& file) const {
    std::vector<stamp> out;
    for (auto& line : lines_of(file)) {
      std::istringstream in{line};
      stamp s;
      if (in >> s.pid >> s.at_ns)
        out.push_back(s);
    }
    return out;
  }

  // The incident of `node` on `component` in `mode`, once it is resolved.
  nlohmann::json resolved(const std::string& node, const std::string& component,
                          const std::string& mode) {
    nlohmann::json found;
    wait_until(
      [&] {
        for (auto& i : incidents(node))
          if (i["component"] == component && i["failure_mode"] == mode
              && i["status"] == "resolved")
            found = i;
        return !found.is_null();
      },
      default_patience,
      [&] {
        return slurp(dir_ + "/logs/" + node + "/incidents.jsonl") + all_logs();
      });
    return found;
  }

  // db comes to run on a alone (from b), and never runs twice meanwhile.
  void expect_moved_back_to_a() {
    std::size_t most = 0;
    ASSERT_TRUE(wait_until(
      [&] {
        most = std::max(most, live_db().size());
        return runs_db("a") && !runs_db("b") && live_db().size() == 1;
      },
      20s, [&] { return all_logs(); }));
    EXPECT_LE(most, 1u) << all_logs();
  }

  // Whether api (dependency_config()) has started `n` times in all.
  bool api_started(std::size_t n) {
    return wait_until([&] { return stamps(dir_ + "/api.stamp").size() == n; },
                      default_patience, [&] { return all_logs(); });
  }

  // api's starts from the `from`-th on came after db's latest instance was
  // ready (700 ms after its start), and b's and c's `dependency_failed`
  // incidents of api, resolved, say `why`.
  void expect_restarted_after_db(std::size_t from, const std::string& why) {
    auto db = stamps(dir_ + "/db.stamp");
    ASSERT_EQ(db.size(), 2u);
    auto api = stamps(dir_ + "/api.stamp");
    for (auto i = from; i < api.size(); ++i)
      EXPECT_GE(api[i].at_ns, db[1].at_ns + 650'000'000) << all_logs();
    for (auto n : {"b", "c"}) {
      auto inc = resolved(n, "root/api", "dependency_failed");
      ASSERT_FALSE(inc.is_null()) << n;
      EXPECT_NE(inc["detail"].dump().find(why), std::string::npos)
        << inc.dump();
    }
  }

  // Starts `node`; each run of it logs to a file of its own.
  // A CA and a certificate it signed (shared by the nodes on this machine)
  // under `dir`/tls, made with the openssl CLI.
  void make_certificates(const std::string& dir) {
    std::filesystem::create_directories(dir + "/tls");
    auto tls = dir + "/tls/";
    auto ssl = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"/usr/bin/env", "openssl"});
      auto r = run_process(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    };
    ssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tls + "ca.key",
         "-out", tls + "ca.pem", "-days", "2", "-subj", "/CN=grace-test-ca"});
    ssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", tls + "node.key", "-out", tls + "node.csr",
         "-subj", "/CN=grace-node"});
    ssl({"x509", "-req", "-in", tls + "node.csr", "-CA", tls + "ca.pem",
         "-CAkey", tls + "ca.key", "-CAcreateserial", "-out", tls + "node.pem",
         "-days", "2"});
  }

  void start(const std::string& node, const std::string& config) {
    auto run = dir_ + "/" + node + "." + std::to_string(++runs_[node]);
    log_file_[node] = run + ".err";
    nodes_[node] = std::make_unique<background>(
      std::vector<std::string>{grace_bin, "run", config, "--node", node},
      run + ".out", run + ".err");
  }

  // What the latest run of `node` logged.
  std::string log(const std::string& node) const {
    auto it = log_file_.find(node);
    return it == log_file_.end() ? std::string{} : slurp(it->second);
  }

  std::string all_logs() const {
    std::string out = "live db:";
    for (auto pid : live_db())
      out += " " + std::to_string(pid);
    out += "\n";
    for (auto n : {"a", "b", "c"})
      out += std::string{"--- "} + n + "\n" + log(n);
    return out;
  }

  // The instances of db alive now, whichever node started them.
  std::vector<int> live_db() const {
    std::vector<int> out;
    for (auto& line : lines_of(dir_ + "/db.stamp"))
      if (auto pid = std::stoi(line); alive(pid))
        out.push_back(pid);
    return out;
  }

  // Whether `node` runs db, by its own account (its latest word on it).
  bool runs_db(const std::string& node) const {
    auto text = log(node);
    auto ran = text.rfind("cluster: root/db runs here");
    auto stopped = text.rfind("cluster: stopping root/db here");
    return ran != std::string::npos
           && (stopped == std::string::npos || stopped < ran);
  }

  // Whether `pred` holds throughout `span` (checked every 10 ms).
  template <class Pred>
  bool holds_for(Pred pred, std::chrono::milliseconds span) {
    auto until = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < until) {
      if (!pred())
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  std::vector<nlohmann::json> incidents(const std::string& node) const {
    std::vector<nlohmann::json> out;
    for (auto& line : lines_of(dir_ + "/logs/" + node + "/incidents.jsonl"))
      out.push_back(nlohmann::json::parse(line));
    return out;
  }

  void start_all(const std::string& config) {
    for (auto n : {"a", "b", "c"})
      start(n, config);
    ASSERT_TRUE(
      wait_until([&] { return runs_db("a"); }, 20s, [&] { return all_logs(); }))
      << "db is placed on a, the first node of its list";
    ASSERT_TRUE(wait_until([&] { return live_db().size() == 1; }));
    for (auto n : {"b", "c"})
      ASSERT_TRUE(wait_until([&] {
        return log(n).find("cluster: root/db runs on node a")
               != std::string::npos;
      }))
        << n << " hears where db runs\n"
        << log(n);
  }

  // a, b, c and metrics.
  std::vector<std::uint16_t> ports_ = free_ports(4);
  std::map<std::string, std::string> port_{{"a", std::to_string(ports_[0])},
                                           {"b", std::to_string(ports_[1])},
                                           {"c", std::to_string(ports_[2])}};
  std::map<std::string, int> runs_;
  std::map<std::string, std::string> log_file_;
  std::map<std::string, std::unique_ptr<background>> nodes_;
};

TEST_F(ClusterRun, AComponentFailsOverWhenItsNodeIsKilledAndStaysPut) {
  auto config = cluster_config();
  start_all(config);
  EXPECT_FALSE(runs_db("b"));
  EXPECT_FALSE(runs_db("c"));
  EXPECT_EQ(lines_of(dir_ + "/agent.stamp").size(), 3u) << "on every node";
  auto first = live_db().front();

  nodes_["a"]->signal(SIGKILL);
  ASSERT_TRUE(
    wait_until([&] { return runs_db("b"); }, 20s, [&] { return all_logs(); }))
    << "the next node of its list takes it over";
  ASSERT_TRUE(wait_until([&] { return live_db().size() == 1; }));
  EXPECT_NE(live_db().front(), first) << "a's instance went with a";
  EXPECT_FALSE(runs_db("c"));

  // The incident is b's, detected when a was declared down, resolved once
  // db was ready there.
  nlohmann::json closed;
  ASSERT_TRUE(wait_until(
    [&] {
      for (auto& i : incidents("b"))
        if (i["failure_mode"] == "node_down" && i["status"] == "resolved")
          closed = i;
      return !closed.is_null();
    },
    default_patience,
    [&] { return slurp(dir_ + "/logs/b/incidents.jsonl") + all_logs(); }));
  EXPECT_EQ(closed["component"], "root/db");
  EXPECT_EQ(closed["severity"], "critical");
  EXPECT_EQ(closed["detail"]["node"], "a");
  EXPECT_TRUE(closed["incident_id"].get<std::string>().ends_with("_b"));
  EXPECT_GE(closed["mttr_seconds"].get<double>(), 0.0);
  EXPECT_TRUE(incidents("c").empty());

  // a comes back: db stays where it runs, no second instance.
  start("a", config);
  ASSERT_TRUE(
    wait_until([&] { return occurrences(log("a"), "cluster: node ") >= 2; },
               20s, [&] { return log("a"); }))
    << "a hears b and c again";
  EXPECT_TRUE(holds_for(
    [&] { return live_db().size() == 1 && runs_db("b") && !runs_db("a"); },
    patience(2s)))
    << all_logs();

  // The operator's start places it on the first node of its list that is
  // up: a (asked of c). b stops it first: never two instances.
  auto r = run_process(
    {grace_bin, "start", "root/db", "--control", dir_ + "/logs/c/grace.sock"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  expect_moved_back_to_a();
}

TEST_F(ClusterRun, WithFailbackAComponentMovesBackToItsPreferredNode) {
  auto config = cluster_config("", "cluster.yaml", "  failback: true\n");
  start_all(config);
  nodes_["a"]->signal(SIGKILL);
  ASSERT_TRUE(
    wait_until([&] { return runs_db("b"); }, 20s, [&] { return all_logs(); }));
  start("a", config);
  // Once a has been up for down_after, b stops db, then a starts it: never
  // two instances.
  expect_moved_back_to_a();
  auto b_log = log("b");
  EXPECT_NE(b_log.find("cluster: stopping root/db here (failback, node a"),
            std::string::npos)
    << b_log;
}

TEST_F(ClusterRun, StatusOperationsAndMetricsSpanTheCluster) {
  // One port in the shared file: the first node to take it serves metrics.
  auto metrics = ports_[3];
  start_all(
    cluster_config("metrics: 127.0.0.1:" + std::to_string(metrics) + "\n"));
  auto on = [&](const std::string& node, std::vector<std::string> args) {
    args.insert(args.begin(), grace_bin);
    args.push_back("--control");
    args.push_back(dir_ + "/logs/" + node + "/grace.sock");
    return run_process(args);
  };
  auto db_as_seen_by = [&](const std::string& node) {
    auto r = on(node, {"status", "--json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded())
      return nlohmann::json{};
    for (auto& c : j["components"])
      if (c["path"] == "root/db")
        return c;
    return nlohmann::json{};
  };
  auto db = db_as_seen_by("c");
  EXPECT_EQ(db["node"], "a") << db;
  EXPECT_EQ(db["state"], "running");
  ASSERT_EQ(live_db().size(), 1u);
  EXPECT_EQ(db["pid"], live_db().front()) << "a's own account of it";
  auto status = on("c", {"status", "--json"});
  auto nodes = nlohmann::json::parse(status.out)["nodes"];
  ASSERT_EQ(nodes.size(), 3u) << status.out;
  for (auto& n : nodes)
    EXPECT_TRUE(n["up"].get<bool>()) << n;
  auto text = on("b", {"status"}).out;
  EXPECT_NE(text.find("NODES: b (this one) up, a up, c up"), std::string::npos)
    << text;

  // Asked of c and b, carried out on a, where db runs.
  auto before = live_db().front();
  EXPECT_EQ(on("c", {"restart", "root/db"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] {
    auto live = live_db();
    return live.size() == 1 && live.front() != before;
  }));
  EXPECT_TRUE(runs_db("a"));
  EXPECT_EQ(on("b", {"stop", "root/db"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return live_db().empty(); }));
  EXPECT_EQ(db_as_seen_by("c")["state"], "held");
  EXPECT_EQ(on("c", {"start", "root/db"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return live_db().size() == 1; }));
  EXPECT_EQ(db_as_seen_by("b")["node"], "a");

  EXPECT_TRUE(wait_until([&] {
    auto scraped = http_get(metrics, "/metrics");
    return scraped.find("grace_component_up{node=\"") != std::string::npos
           && scraped.find(",component=\"root/agent\"} 1") != std::string::npos;
  }))
    << http_get(metrics, "/metrics");
}

TEST_F(ClusterRun, AFrozenNodeStopsWhatMovedAwayWhenItWakes) {
  start_all(cluster_config());
  auto first = live_db().front();

  nodes_["a"]->signal(SIGSTOP);
  ASSERT_TRUE(
    wait_until([&] { return runs_db("b"); }, 20s, [&] { return all_logs(); }));
  // (b's instance writes its stamp as it starts, maybe after b logged it.)
  EXPECT_TRUE(wait_until([&] { return live_db().size() == 2; }))
    << "a's instance runs on, a is frozen";

  nodes_["a"]->signal(SIGCONT);
  ASSERT_TRUE(
    wait_until([&] { return !alive(first); }, 20s, [&] { return log("a"); }))
    << "a stops its instance before anything else";
  EXPECT_TRUE(wait_until([&] {
    return log("a").find("cluster: stopping root/db here") != std::string::npos;
  }))
    << log("a");
  EXPECT_TRUE(holds_for(
    [&] { return live_db().size() == 1 && runs_db("b") && !runs_db("a"); },
    patience(2s)))
    << all_logs();
}

TEST_F(ClusterRun, ANodeWithAnotherConfigIsRefusedAndLeaves) {
  auto config = cluster_config();
  start("a", config);
  start("b", config);
  ASSERT_TRUE(
    wait_until([&] { return runs_db("a"); }, 20s, [&] { return all_logs(); }));
  auto other = cluster_config("# c's copy differs\n", "other.yaml");
  start("c", other);
  EXPECT_EQ(nodes_["c"]->wait(patience(20s)), 2) << log("c");
  auto digest_of = [](const std::string& file) {
    auto r = run_process({grace_bin, "check", file, "--node", "c"});
    auto at = r.out.find("config digest ");
    return at == std::string::npos ? std::string{} : r.out.substr(at + 14, 64);
  };
  auto ours = digest_of(config);
  auto theirs = digest_of(other);
  ASSERT_EQ(ours.size(), 64u);
  ASSERT_NE(ours, theirs);
  EXPECT_NE(log("c").find(theirs + ") differs from node"), std::string::npos)
    << log("c");
  EXPECT_NE(log("c").find("(digest " + ours + ")"), std::string::npos);
  // Nothing it sent was acted on (a and b may not have heard it at all).
  for (auto n : {"a", "b"})
    EXPECT_EQ(log(n).find("node c is up"), std::string::npos) << log(n);
  EXPECT_EQ(live_db().size(), 1u);
}

TEST_F(ClusterRun, WithTlsOnlyPeersSignedByTheCaJoin) {
  // c runs the same file from another directory, whose tls/ holds a
  // certificate of another CA.
  make_certificates(dir_);
  make_certificates(dir_ + "/foreign");
  auto tls = "  tls: {cert: tls/node.pem, key: tls/node.key, ca: tls/ca.pem}\n";
  auto config = cluster_config("", "cluster.yaml", tls);
  auto foreign = cluster_config("", "foreign/cluster.yaml", tls);
  start("a", config);
  start("b", config);
  start("c", foreign);
  ASSERT_TRUE(
    wait_until([&] { return runs_db("a"); }, 20s, [&] { return all_logs(); }));
  for (auto n : {"a", "b"})
    EXPECT_TRUE(wait_until(
      [&] {
        return log(n).find("cluster: node c at 127.0.0.1:" + port_["c"]
                           + " refused")
               != std::string::npos;
      },
      default_patience, [&] { return log(n); }));
  // Over TLS, b asks a what it runs.
  auto r = run_process(
    {grace_bin, "status", "--json", "--control", dir_ + "/logs/b/grace.sock"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out << r.err;
  for (auto& c : j["components"])
    if (c["path"] == "root/db") {
      EXPECT_EQ(c["node"], "a");
      EXPECT_EQ(c["state"], "running");
    }
  for (auto n : {"a", "b"})
    EXPECT_EQ(log(n).find("node c is up"), std::string::npos) << log(n);
  for (auto n : {"a", "b"})
    EXPECT_EQ(log("c").find(std::string{"cluster: node "} + n + " is up"),
              std::string::npos)
      << log("c");
  EXPECT_EQ(live_db().size(), 1u);
}

TEST_F(ClusterRun, ATlsFileThatCannotBeLoadedIsNamed) {
  auto config = cluster_config(
    "", "cluster.yaml",
    "  tls: {cert: tls/node.pem, key: tls/node.key, ca: tls/ca.pem}\n");
  start("a", config);
  EXPECT_EQ(nodes_["a"]->wait(patience(10s)), 2) << log("a");
  EXPECT_NE(log("a").find("cluster.tls: cannot load the certificate " + dir_
                          + "/tls/node.pem"),
            std::string::npos)
    << log("a");
  EXPECT_TRUE(lines_of(dir_ + "/agent.stamp").empty()) << "nothing started";
}

TEST_F(ClusterRun, ATakenClusterPortIsNamed) {
  // Something else listens on b's port.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port_["b"])));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  start("b", cluster_config());
  EXPECT_EQ(nodes_["b"]->wait(patience(10s)), 1) << log("b");
  EXPECT_NE(log("b").find("cluster port 127.0.0.1:" + port_["b"]),
            std::string::npos)
    << log("b");
  EXPECT_TRUE(lines_of(dir_ + "/agent.stamp").empty()) << "nothing started";
  ::close(fd);
}

TEST_F(ClusterRun, ADependencyOnAnotherNodeIsReadyBeforeItsDependentsStart) {
  start_all(dependency_config());
  ASSERT_TRUE(api_started(3)) << "api runs on every node";
  auto db = stamps(dir_ + "/db.stamp");
  ASSERT_EQ(db.size(), 1u);
  // db is ready 700 ms after it started, on a; api, on every node, only
  // then (without the wait it would start at once, before db).
  for (auto& api : stamps(dir_ + "/api.stamp"))
    EXPECT_GE(api.at_ns, db[0].at_ns + 650'000'000) << all_logs();
  // web is placed on c only then.
  ASSERT_TRUE(
    wait_until([&] { return stamps(dir_ + "/web.stamp").size() == 1; },
               default_patience, [&] { return all_logs(); }));
  EXPECT_GE(stamps(dir_ + "/web.stamp")[0].at_ns, db[0].at_ns + 650'000'000)
    << all_logs();
  // (Whether c says it waits depends on whether it placed web before db
  // was ready: on a slow run db may be ready first. The times above are
  // what the rule promises.)
  for (auto n : {"b", "c"})
    EXPECT_NE(log(n).find("cluster: root/db is ready on node a"),
              std::string::npos)
      << log(n);
}

TEST_F(ClusterRun, AFailureOfADependencyIsSeenAcrossTheCluster) {
  start_all(dependency_config());
  ASSERT_TRUE(api_started(3));
  ::kill(live_db().front(), SIGKILL);
  // db restarts on a; api, on every node, waits for it and starts again
  // once it is ready.
  ASSERT_TRUE(api_started(6)) << "api restarted on every node";
  expect_restarted_after_db(3, "on node a");
  // On a, caused by db's own incident there.
  auto on_a = resolved("a", "root/api", "dependency_failed");
  ASSERT_FALSE(on_a.is_null());
  auto db_incident = resolved("a", "root/db", "crashed");
  ASSERT_FALSE(db_incident.is_null());
  EXPECT_EQ(on_a["caused_by"], db_incident["incident_id"]);
  EXPECT_EQ(live_db().size(), 1u);
}

TEST_F(ClusterRun, WhenADependencyFailsOverItsDependentsRestartAfterIt) {
  start_all(dependency_config());
  ASSERT_TRUE(api_started(3));
  nodes_["a"]->signal(SIGKILL);
  // db moves to b; api on b and c (a's went with a) restarts once db is
  // ready there.
  ASSERT_TRUE(api_started(5)) << "api restarted on b and c";
  expect_restarted_after_db(3, "node a is down");
  EXPECT_FALSE(resolved("b", "root/db", "node_down").is_null());
}

} // namespace
} // namespace grace::test
