// A cluster of three `grace run` nodes on loopback (heartbeat 200 ms,
// down_after 1 s; SPEC.md section 9) with one placed component, db, on
// [a, b, c]. Each round SIGKILLs the node that runs db and takes the time
// until db's new instance starts on another node (its first instruction,
// stamped with CLOCK_MONOTONIC by the tests' helper child), then starts the
// killed node again and waits until it has joined. Then the three nodes sit
// idle: each node's CPU, and the bytes their connections carry (ss).
//
//   cluster_bench --grace BIN --child CRASHY_CHILD [-n 20] [--idle-s 10]
//                 [--windows K] [--json FILE]
//
// With --windows K, the idle span is also measured in K consecutive
// windows, each printed: whether the cost settles after the failovers.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/harness.hpp"
#include "bench/stats.hpp"
#include "tests/support/proc.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> names{"a", "b", "c"};

// The stamps of db's instances: pid and CLOCK_MONOTONIC start, in order.
std::vector<std::pair<int, long long>> stamps(const std::string& file) {
  std::vector<std::pair<int, long long>> out;
  std::ifstream in{file};
  int pid = 0;
  long long ns = 0;
  while (in >> pid >> ns)
    out.emplace_back(pid, ns);
  return out;
}

// How many of the stamped instances are alive (not zombies).
int live_instances(const std::string& file) {
  int n = 0;
  for (auto& [pid, ns] : stamps(file))
    n += grace::test::alive(pid) ? 1 : 0;
  return n;
}

// CPU time of every thread of `pid` so far, in seconds, as the scheduler
// measures it (/proc/PID/task/TID/schedstat, nanoseconds): exact, where
// /proc/PID/stat counts 10 ms ticks.
double cpu_seconds(int pid) {
  long long ns = 0;
  std::error_code ec;
  for (auto& t :
       fs::directory_iterator{"/proc/" + std::to_string(pid) + "/task", ec}) {
    std::ifstream in{t.path() / "schedstat"};
    long long on_cpu = 0;
    if (in >> on_cpu)
      ns += on_cpu;
  }
  return static_cast<double>(ns) / 1e9;
}

// Bytes sent so far on every TCP connection to or from `ports` (the
// kernel's count, through iproute2's ss); -1 without ss.
long long bytes_sent(const std::set<int>& ports) {
  std::string filter;
  for (auto p : ports)
    filter += std::string{filter.empty() ? "" : " or "} + "sport = :"
              + std::to_string(p) + " or dport = :" + std::to_string(p);
  auto cmd = "ss -tinH '( " + filter + " )' 2>/dev/null";
  auto* f = ::popen(cmd.c_str(), "r");
  if (!f)
    return -1;
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
    out.append(buf, n);
  if (::pclose(f) != 0)
    return -1;
  long long total = 0;
  const std::string key = "bytes_sent:";
  for (auto at = out.find(key); at != std::string::npos;
       at = out.find(key, at + 1))
    total += std::atoll(out.c_str() + at + key.size());
  return total;
}

class cluster {
public:
  cluster(std::string grace, std::string dir)
      : grace_(std::move(grace)), dir_(std::move(dir)) {}

  void start(const std::string& node) {
    auto log = dir_ + "/" + node + "." + std::to_string(++runs_[node]) + ".log";
    logs_[node] = log;
    nodes_[node] = std::make_unique<grace::bench::process>(
      std::vector<std::string>{grace_, "run", dir_ + "/cluster.yaml", "--node",
                               node},
      log);
  }

  void kill(const std::string& node) {
    ::kill(nodes_[node]->pid(), SIGKILL);
    nodes_[node].reset(); // reaps it
  }

  int pid(const std::string& node) { return nodes_[node]->pid(); }

  std::string log(const std::string& node) {
    return grace::test::slurp(logs_[node]);
  }

  // The node that says it runs db, if one does.
  std::optional<std::string> owner() {
    for (auto& n : names) {
      auto text = log(n);
      auto ran = text.rfind("cluster: root/db runs here");
      auto stopped = text.rfind("cluster: stopping root/db here");
      if (ran != std::string::npos
          && (stopped == std::string::npos || stopped < ran))
        return n;
    }
    return std::nullopt;
  }

  // Whether `node` has heard both others and learnt where db runs.
  bool joined(const std::string& node) {
    auto text = log(node);
    int up = 0;
    for (auto& n : names)
      if (n != node
          && text.find("cluster: node " + n + " is up") != std::string::npos)
        ++up;
    return up == 2
           && (text.find("cluster: root/db runs on node") != std::string::npos
               || text.find("cluster: root/db runs here") != std::string::npos);
  }

private:
  std::string grace_;
  std::string dir_;
  std::map<std::string, int> runs_;
  std::map<std::string, std::string> logs_;
  std::map<std::string, std::unique_ptr<grace::bench::process>> nodes_;
};

} // namespace

int main(int argc, char** argv) {
  grace::bench::run_options opts;
  opts.n = 20;
  double idle_s = 10;
  int windows = 1;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string{argv[i]} == "--idle-s")
      idle_s = std::atof(grace::bench::next_arg(argc, argv, i).c_str());
    else if (std::string{argv[i]} == "--windows")
      windows
        = std::max(1, std::atoi(grace::bench::next_arg(argc, argv, i).c_str()));
    else
      rest.push_back(argv[i]);
  }
  grace::bench::parse_run_options(static_cast<int>(rest.size()), rest.data(),
                                  "cluster_bench", opts);
  auto tmpl = (fs::temp_directory_path() / "grace-cluster-XXXXXX").string();
  std::set<int> ports;
  std::string dir = ::mkdtemp(tmpl.data());
  {
    std::ofstream out{dir + "/cluster.yaml"};
    out << "grace: 1\nlog_dir: logs\naudit: {fsync: never}\ncluster:\n"
        << "  nodes:\n";
    while (ports.size() < names.size())
      ports.insert(grace::bench::try_loopback_port(0));
    auto port = ports.begin();
    for (auto& n : names)
      out << "    " << n << ": 127.0.0.1:" << *port++ << "\n";
    out << "  heartbeat: 200ms\n  down_after: 1s\nsupervisor:\n  children:\n"
        << "    - {name: db, nodes: [a, b, c], command: [" << opts.child
        << ", --stamp, " << dir << "/db.stamp]}\n";
  }
  cluster c{opts.grace, dir};
  for (auto& n : names)
    c.start(n);
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "%s\n", why.c_str());
    for (auto& n : names)
      std::fprintf(stderr, "--- %s\n%s", n.c_str(), c.log(n).c_str());
    return 1;
  };
  if (!grace::bench::wait_for(
        [&] {
          return c.owner() && c.joined("a") && c.joined("b") && c.joined("c");
        },
        20s))
    return fail("the cluster did not form");
  std::vector<double> failover;
  for (int i = 0; i < opts.n; ++i) {
    auto victim = *c.owner();
    // Its instance has stamped its start (it may log "runs here" first).
    if (!grace::bench::wait_for(
          [&] { return live_instances(dir + "/db.stamp") == 1; }, 10s))
      return fail("round " + std::to_string(i) + ": no single instance of db");
    auto before = stamps(dir + "/db.stamp").size();
    auto t0 = grace::bench::now_ns();
    c.kill(victim);
    if (!grace::bench::wait_for(
          [&] { return stamps(dir + "/db.stamp").size() > before; }, 10s))
      return fail("round " + std::to_string(i) + ": db did not move");
    failover.push_back(
      static_cast<double>(stamps(dir + "/db.stamp").back().second - t0) / 1e9);
    c.start(victim);
    if (!grace::bench::wait_for(
          [&] {
            auto o = c.owner();
            return o && *o != victim && c.joined(victim);
          },
          20s))
      return fail("round " + std::to_string(i) + ": " + victim
                  + " did not join again");
  }
  // Idle: what the membership costs each node.
  std::map<std::string, double> before;
  for (auto& n : names)
    before[n] = cpu_seconds(c.pid(n));
  auto sent_before = bytes_sent(ports);
  auto t0 = std::chrono::steady_clock::now();
  for (int w = 0; w < windows; ++w) {
    std::map<std::string, double> at;
    for (auto& n : names)
      at[n] = cpu_seconds(c.pid(n));
    auto w0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(
      std::chrono::duration<double>(idle_s / windows));
    auto span
      = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0)
          .count();
    if (windows > 1) {
      std::printf("idle window %d of %d (%.1f s): CPU %% of a core per node",
                  w + 1, windows, span);
      for (auto& n : names)
        std::printf(" %.2f", 100.0 * (cpu_seconds(c.pid(n)) - at[n]) / span);
      std::printf("\n");
    }
  }
  auto took
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
        .count();
  auto sent_after = bytes_sent(ports);
  std::vector<double> cpu;
  for (auto& n : names)
    cpu.push_back(100.0 * (cpu_seconds(c.pid(n)) - before[n]) / took);
  std::vector<std::pair<std::string, std::vector<double>>> rows{
    {"kill -9 of db's node -> db started on another node", failover},
    {"idle: CPU % of a core per node", cpu}};
  std::printf("3 nodes, heartbeat 200 ms, down_after 1 s: %d failovers; "
              "idle %.1f s: CPU %% of a core per node %.2f %.2f %.2f\n",
              opts.n, took, cpu[0], cpu[1], cpu[2]);
  if (sent_before >= 0 && sent_after >= 0) {
    auto per_node = static_cast<double>(sent_after - sent_before) / took
                    / static_cast<double>(names.size());
    std::printf("membership traffic: %.0f bytes/s sent per node (TCP)\n",
                per_node);
    rows.push_back({"idle: bytes/s sent per node (membership)", {per_node}});
  } else {
    std::printf("membership traffic: not measured (no ss)\n");
  }
  grace::bench::report(rows, opts.json);
  for (auto& n : names)
    c.kill(n);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
