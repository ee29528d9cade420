// Grace with many children: how long the whole tree takes to start, what
// Grace costs while nothing happens (CPU, RSS), and a restart storm (every
// child SIGKILLed at once -> all ready again).
//
//   scale_bench --grace BIN --child BENCH_CHILD [--sizes 10,100,1000]
//               [--idle-s 10] [--storms 5] [--kills 50] [--port-base 30000]
//               [--json FILE]
//
// For each size N, two trees of N bench_child children (one_for_one,
// permanent, backoff min 0s), each child listening on its own port:
//   none: no probes;
//   tcp:  one tcp probe per child, every 1s.
// startup: `grace run` forked -> every child running / listening (the
// children's own stamps). idle: after a 2 s pause, Grace's CPU time (user +
// system, from /proc) over --idle-s seconds, as a share of one core, and its
// resident set. storm (tree "none"): --storms times, every child SIGKILLed
// in one loop -> every replacement listening; reported as the time until
// the last one and the distribution of each child's own time. one: then
// --kills times, one child (in turn) SIGKILLed 100 ms after the previous
// restart -> its replacement running (a crash among N siblings).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.hpp"
#include "bench/stats.hpp"

namespace fs = std::filesystem;
using grace::bench::now_ns;

namespace {

struct options {
  std::string grace;
  std::string child;
  std::vector<int> sizes{10, 100, 1000};
  double idle_s = 10;
  int storms = 5;
  int kills = 50;
  int port_base = 30000;
  std::string json;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] { return grace::bench::next_arg(argc, argv, i); };
    if (a == "--grace")
      o.grace = value();
    else if (a == "--child")
      o.child = value();
    else if (a == "--sizes") {
      o.sizes.clear();
      for (auto& item : grace::bench::split_list(value()))
        if (auto n = std::atoi(item.c_str()); n > 0)
          o.sizes.push_back(n);
    } else if (a == "--idle-s")
      o.idle_s = std::atof(value().c_str());
    else if (a == "--storms")
      o.storms = std::atoi(value().c_str());
    else if (a == "--kills")
      o.kills = std::atoi(value().c_str());
    else if (a == "--port-base")
      o.port_base = std::atoi(value().c_str());
    else if (a == "--json")
      o.json = value();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.grace.empty() || o.child.empty() || o.sizes.empty()) {
    std::fprintf(stderr, "usage: scale_bench --grace BIN --child BENCH_CHILD "
                         "[--sizes 10,100,1000] [--idle-s 10] [--storms 5] "
                         "[--port-base 30000] [--json FILE]\n");
    std::exit(2);
  }
  o.grace = fs::absolute(o.grace).string();
  o.child = fs::absolute(o.child).string();
  return o;
}

std::string write_config(const fs::path& dir, const std::string& name,
                         const std::string& child, int n, int port_base,
                         bool probes) {
  auto path = (dir / (name + ".yaml")).string();
  std::ofstream out{path};
  out << "grace: 1\nlog_dir: " << (dir / name).string()
      << "\ndefaults: {backoff: {min: 0s}}\n"
         "supervisor:\n  intensity: 1000000\n  period: 1s\n  children:\n";
  for (int i = 0; i < n; ++i) {
    auto port = port_base + i;
    out << "    - {name: c" << i << ", command: [" << child
        << "], env: {BENCH_PORT: \"" << port << "\"}";
    if (probes)
      out << ", probes: [{kind: tcp, port: " << port << ", every: 1s}]";
    out << "}\n";
  }
  return path;
}

/// Reads `n` reports whose pid is not in `old`; returns them (fewer if the
/// deadline passed first).
std::vector<grace::bench::child_stamp> collect(grace::bench::fifo_reader& r,
                                               std::size_t n,
                                               const std::set<int>& old,
                                               int timeout_ms) {
  std::vector<grace::bench::child_stamp> out;
  auto deadline = now_ns() + timeout_ms * 1'000'000LL;
  std::set<int> seen;
  while (out.size() < n) {
    auto left = static_cast<int>((deadline - now_ns()) / 1'000'000LL);
    if (left <= 0)
      break;
    auto s = r.next(left);
    if (!s)
      break;
    if (old.count(s->pid) || !seen.insert(s->pid).second)
      continue;
    out.push_back(*s);
  }
  return out;
}

struct tree_result {
  bool ok = false;
  double startup_running_s = 0;
  double startup_ready_s = 0;
  grace::bench::usage idle;
  double cpu_percent = 0;
  std::vector<double> storm_all;  // per storm: kill -> the last one ready
  std::vector<double> storm_each; // per child and storm: kill -> ready
  std::vector<double> single;     // one child killed: kill -> running
};

tree_result run_tree(const options& o, const fs::path& dir, int n,
                     bool probes) {
  tree_result res;
  std::string name = "n";
  name += std::to_string(n);
  name += probes ? "-tcp" : "-none";
  auto base = grace::bench::free_port_range(o.port_base, n);
  if (base < 0) {
    std::fprintf(stderr, "%s: no %d free ports\n", name.c_str(), n);
    return res;
  }
  auto config = write_config(dir, name, o.child, n, base, probes);
  auto fifo = (dir / (name + ".fifo")).string();
  grace::bench::fifo_reader reader{fifo};
  auto t0 = now_ns();
  grace::bench::process grace{{o.grace, "run", config},
                              (dir / (name + ".log")).string(),
                              {{"BENCH_FIFO", fifo}},
                              std::chrono::seconds{30}};
  auto first = collect(reader, static_cast<std::size_t>(n), {}, 60'000);
  if (first.size() != static_cast<std::size_t>(n)) {
    std::fprintf(stderr, "%s: only %zu of %d children started (log: %s.log)\n",
                 name.c_str(), first.size(), n, name.c_str());
    return res;
  }
  long long last_start = 0, last_ready = 0;
  for (auto& s : first) {
    last_start = std::max(last_start, s.start_ns);
    last_ready = std::max(last_ready, s.ready_ns);
  }
  res.startup_running_s = static_cast<double>(last_start - t0) / 1e9;
  res.startup_ready_s = static_cast<double>(last_ready - t0) / 1e9;

  // Idle: let the start's own work finish, then measure a quiet stretch.
  std::this_thread::sleep_for(std::chrono::seconds{2});
  auto u0 = grace::bench::usage_of(grace.pid());
  auto w0 = now_ns();
  std::this_thread::sleep_for(
    std::chrono::milliseconds{static_cast<long long>(o.idle_s * 1000)});
  auto u1 = grace::bench::usage_of(grace.pid());
  auto wall = static_cast<double>(now_ns() - w0) / 1e9;
  if (!u0.ok || !u1.ok) {
    std::fprintf(stderr, "%s: grace is gone (log: %s.log)\n", name.c_str(),
                 name.c_str());
    return res;
  }
  res.idle = u1;
  res.cpu_percent = (u1.cpu_seconds - u0.cpu_seconds) / wall * 100.0;

  if (!probes) {
    std::vector<int> pids;
    for (auto& s : first)
      pids.push_back(s.pid);
    for (int k = 0; k < o.storms; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds{500});
      std::set<int> old(pids.begin(), pids.end());
      auto t_kill = now_ns();
      for (auto pid : pids)
        ::kill(pid, SIGKILL);
      auto next = collect(reader, pids.size(), old, 30'000);
      if (next.size() != pids.size()) {
        std::fprintf(stderr, "%s: storm %d: only %zu of %zu came back\n",
                     name.c_str(), k, next.size(), pids.size());
        return res;
      }
      long long last = 0;
      pids.clear();
      for (auto& s : next) {
        last = std::max(last, s.ready_ns);
        res.storm_each.push_back(static_cast<double>(s.ready_ns - t_kill)
                                 / 1e9);
        pids.push_back(s.pid);
      }
      res.storm_all.push_back(static_cast<double>(last - t_kill) / 1e9);
    }
    // One crash among many: does the size of the tree slow a restart?
    for (int k = 0; k < o.kills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
      auto& victim = pids[static_cast<std::size_t>(k) % pids.size()];
      auto t_kill = now_ns();
      ::kill(victim, SIGKILL);
      auto next = collect(reader, 1, {victim}, 10'000);
      if (next.empty()) {
        std::fprintf(stderr, "%s: no restart of %d\n", name.c_str(), victim);
        return res;
      }
      res.single.push_back(static_cast<double>(next[0].start_ns - t_kill)
                           / 1e9);
      victim = next[0].pid;
    }
  }
  if (!grace.alive()) {
    std::fprintf(stderr, "%s: grace exited\n", name.c_str());
    return res;
  }
  res.ok = true;
  return res;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  auto tmpl = (fs::temp_directory_path() / "grace-scale-XXXXXX").string();
  fs::path dir = ::mkdtemp(tmpl.data());
  std::vector<std::string> json;
  std::vector<std::pair<std::string, std::vector<double>>> storms;
  int status = 0;
  std::printf("%-10s %7s %12s %12s %9s %9s %9s %8s\n", "children", "probes",
              "startup ms", "ready ms", "idle CPU%", "RSS MiB", "peak MiB",
              "threads");
  for (auto n : o.sizes) {
    for (bool probes : {false, true}) {
      auto r = run_tree(o, dir, n, probes);
      if (!r.ok) {
        status = 1;
        continue;
      }
      std::printf("%-10d %7s %12.1f %12.1f %9.2f %9.1f %9.1f %8d\n", n,
                  probes ? "tcp/1s" : "none", r.startup_running_s * 1e3,
                  r.startup_ready_s * 1e3, r.cpu_percent, r.idle.rss_mb,
                  r.idle.hwm_mb, r.idle.threads);
      std::fflush(stdout);
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "{\"case\":\"scale\",\"children\":%d,\"probes\":\"%s\","
                    "\"startup_running_s\":%.6f,\"startup_ready_s\":%.6f,"
                    "\"idle_s\":%.1f,\"idle_cpu_percent\":%.3f,"
                    "\"rss_mb\":%.2f,\"peak_rss_mb\":%.2f,\"threads\":%d}",
                    n, probes ? "tcp" : "none", r.startup_running_s,
                    r.startup_ready_s, o.idle_s, r.cpu_percent, r.idle.rss_mb,
                    r.idle.hwm_mb, r.idle.threads);
      json.emplace_back(buf);
      if (!probes && !r.storm_all.empty()) {
        auto tag = "storm N=" + std::to_string(n);
        storms.emplace_back(tag + " all ready", r.storm_all);
        storms.emplace_back(tag + " each ready", r.storm_each);
      }
      if (!probes && !r.single.empty())
        storms.emplace_back("one of N=" + std::to_string(n) + " running",
                            r.single);
    }
  }
  if (!storms.empty()) {
    std::printf("\nrestart storm: every child SIGKILLed at once -> ready;"
                " one child killed -> running\n");
    grace::bench::print_header();
    for (auto& [name, xs] : storms) {
      auto s = grace::bench::summarise(xs);
      grace::bench::print_row(name, s);
      json.push_back(grace::bench::to_json(name, s, &xs));
    }
  }
  grace::bench::emit_json(json, o.json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}
