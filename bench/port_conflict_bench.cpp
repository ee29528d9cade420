// The seed's port conflict: a stale instance of a component, left over from
// an earlier run, holds the component's port when Grace starts. Grace finds
// the holder (/proc/net/tcp + /proc/*/fd), sees it is an instance of this
// component (same program and arguments), stops it, starts the component,
// verifies it (ready by tcp) and records the `port_in_use` incident as
// resolved. Each round is a fresh `grace run` with a fresh stale instance
// (the helper child of the tests listening on the port); the figure is the
// incident's MTTR (detected -> resolved, Grace's steady clock), and beside
// it the share spent stopping the stale instance (detected -> free_port
// done, wall clock of the actions).
//
//   port_conflict_bench --grace BIN --child CRASHY_CHILD [-n 30] [--json FILE]
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

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/harness.hpp"
#include "bench/stats.hpp"
#include "runtime/incident.hpp"
#include "runtime/port_holder.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The last line of the incident of root/api in `log`, once closed.
std::optional<grace::runtime::incident> closed(const std::string& log) {
  std::optional<grace::runtime::incident> last;
  std::ifstream in{log};
  for (std::string line; std::getline(in, line);)
    if (auto x = grace::runtime::incident_from_json(line))
      if (x->component == "root/api"
          && x->status != grace::runtime::incident_status::open)
        last = std::move(*x);
  return last;
}

} // namespace

int main(int argc, char** argv) {
  grace::bench::run_options opts;
  opts.n = 30;
  grace::bench::parse_run_options(argc, argv, "port_conflict_bench", opts);
  auto& [grace, child, json, n] = opts;
  // A port the kernel picked: two runs (or a run and a test suite) on one
  // machine never want the same one.
  auto picked = grace::bench::try_loopback_port(0);
  if (picked <= 0) {
    std::fprintf(stderr, "no free loopback port\n");
    return 1;
  }
  auto port = static_cast<std::uint16_t>(picked);
  auto tmpl = (fs::temp_directory_path() / "grace-port-XXXXXX").string();
  std::string dir = ::mkdtemp(tmpl.data());
  auto p = std::to_string(port);
  std::vector<std::string> api{child, "--listen", p};
  std::ofstream{dir + "/grace.yaml"}
    << "grace: 1\nlog_dir: " << dir << "/logs\n"
    << "audit: {fsync: never}\n"
    << "supervisor:\n  children:\n"
    << "    - name: api\n      command: [" << child << ", --listen, \"" << p
    << "\"]\n      ports: [" << p << "]\n      ready: {tcp: " << p
    << ", within: 5s}\n";
  std::vector<double> mttr, freeing;
  bool ok = true;
  for (int i = 0; i < n && ok; ++i) {
    auto log = dir + "/logs/incidents.jsonl";
    std::error_code ec;
    fs::remove(log, ec);
    // The stale instance: the component's own command line, not Grace's.
    grace::bench::process stale{api, dir + "/stale.out"};
    if (!grace::bench::wait_for(
          [&] { return grace::runtime::port_listened(port); }, 5s)) {
      std::fprintf(stderr, "the stale instance did not listen\n");
      ok = false;
      break;
    }
    std::optional<grace::runtime::incident> x;
    {
      grace::bench::process g{{grace, "run", dir + "/grace.yaml"},
                              dir + "/grace.out"};
      grace::bench::wait_for([&] { return (x = closed(log)).has_value(); },
                             10s);
    }
    // Reaped here if Grace stopped it (it is this process's child).
    bool stale_gone = !stale.alive();
    if (!x || x->status != grace::runtime::incident_status::resolved
        || x->failure_mode != "port_in_use" || !stale_gone) {
      std::fprintf(stderr, "round %d: not healed (%s)\n", i,
                   x ? grace::runtime::to_json_line(*x).c_str()
                     : "no incident");
      ok = false;
      break;
    }
    mttr.push_back(x->mttr_seconds.value_or(0));
    for (auto& a : x->actions)
      if (a.step == "free_port")
        freeing.push_back(static_cast<double>(a.at_us - x->detected_us) / 1e6);
  }
  if (!ok) {
    std::fprintf(stderr, "%s", slurp(dir + "/grace.out").c_str());
    return 1;
  }
  grace::bench::report({{"port_in_use: incident MTTR", mttr},
                        {"port_in_use: stale instance stopped", freeing}},
                       json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
