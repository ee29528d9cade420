// Grace's own death: `kill -9` of grace -> the last process of its
// components gone (SPEC.md section 3, no orphans). Each round is a fresh
// `grace run` of --components components, each of which forks a grandchild
// in its own process group and one in a session of its own (setsid), as
// daemons' helpers do; once every pid is known, the driver SIGKILLs grace
// and takes the time until none of them is alive (zombies count as gone).
// The same rounds with GRACE_CGROUPS=off (process groups and the guardian
// only) count what survives there: a setsid descendant does.
//
//   containment_bench --grace BIN --child CRASHY_CHILD [-n 20] [--json FILE]
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "bench/harness.hpp"
#include "bench/stats.hpp"
#include "tests/support/proc.hpp"

namespace fs = std::filesystem;
using grace::test::alive;
using namespace std::chrono_literals;

namespace {

constexpr int components = 5;

int pid_in(const std::string& file) {
  std::ifstream in{file};
  int pid = 0;
  in >> pid;
  return pid;
}

struct round_result {
  bool ok = false;
  double gone_s = 0; // kill -9 -> the last descendant gone
  int survivors = 0; // alive after 2 s
};

round_result run_round(const std::string& grace, const std::string& child,
                       const std::string& dir, bool cgroups) {
  round_result r;
  std::error_code ec;
  fs::remove_all(dir + "/pids", ec);
  fs::create_directories(dir + "/pids");
  {
    std::ofstream out{dir + "/grace.yaml"};
    out << "grace: 1\nlog_dir: " << dir << "/logs\naudit: {fsync: never}\n"
        << "supervisor:\n  children:\n";
    for (int k = 0; k < components; ++k)
      out << "    - {name: c" << k << ", command: [" << child
          << ", --grandchild, " << dir << "/pids/g" << k << ", --orphan, "
          << dir << "/pids/o" << k << ", \"600000\"]}\n";
  }
  std::vector<std::pair<std::string, std::string>> env;
  if (!cgroups)
    env.emplace_back("GRACE_CGROUPS", "off");
  grace::bench::process g{
    {grace, "run", dir + "/grace.yaml"}, dir + "/grace.out", env};
  std::vector<int> pids;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int k = 0; k < components; ++k)
    for (auto* kind : {"/pids/g", "/pids/o"}) {
      auto file = dir + kind + std::to_string(k);
      int pid = 0;
      while ((pid = pid_in(file)) <= 0
             && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
      if (pid <= 0)
        return r;
      pids.push_back(pid);
    }
  // The guardian is armed once the tree runs (it logs its pid first).
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream log{dir + "/grace.out"};
    std::stringstream ss;
    ss << log.rdbuf();
    if (ss.str().find("supervision tree is up") != std::string::npos)
      break;
    std::this_thread::sleep_for(1ms);
  }
  auto t0 = grace::bench::now_ns();
  ::kill(g.pid(), SIGKILL);
  auto until = std::chrono::steady_clock::now() + 2s;
  auto any_alive = [&] {
    for (auto pid : pids)
      if (alive(pid))
        return true;
    return false;
  };
  while (any_alive() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(100us);
  r.gone_s = static_cast<double>(grace::bench::now_ns() - t0) / 1e9;
  for (auto pid : pids)
    if (alive(pid)) {
      ++r.survivors;
      ::kill(pid, SIGKILL);
    }
  r.ok = true;
  return r;
}

} // namespace

int main(int argc, char** argv) {
  grace::bench::run_options opts;
  opts.n = 20;
  grace::bench::parse_run_options(argc, argv, "containment_bench", opts);
  auto tmpl = (fs::temp_directory_path() / "grace-contain-XXXXXX").string();
  std::string dir = ::mkdtemp(tmpl.data());
  std::vector<double> with_cgroups, without;
  int survived_with = 0, survived_without = 0;
  for (int i = 0; i < opts.n; ++i) {
    for (bool cgroups : {true, false}) {
      auto r = run_round(opts.grace, opts.child, dir, cgroups);
      if (!r.ok) {
        std::fprintf(stderr, "round %d: the tree did not come up\n", i);
        return 1;
      }
      (cgroups ? with_cgroups : without).push_back(r.gone_s);
      (cgroups ? survived_with : survived_without) += r.survivors;
    }
  }
  std::printf("%d components x (a grandchild + a setsid descendant), %d "
              "rounds: survivors after 2 s: %d with cgroups, %d with "
              "process groups only\n",
              components, opts.n, survived_with, survived_without);
  grace::bench::report(
    {{"kill -9 grace -> last descendant gone (cgroups)", with_cgroups},
     {"kill -9 grace -> all gone or 2 s (process groups)", without}},
    opts.json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return survived_with == 0 ? 0 : 1;
}
