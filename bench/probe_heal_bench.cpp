// Probe failure -> resolved: how long Grace takes to notice a sick (but
// running) component through a probe, restart it through its supervisor and
// verify it, for an http probe and a missed heartbeat. A real `grace run`
// with two children (the helper child of the tests): `web` answers 503 and
// `beat` stops sending WATCHDOG=1 as soon as the benchmark writes their pid
// into a file (their replacements, with other pids, are healthy). The clock
// starts when the benchmark makes one sick (wall clock, this process) and
// stops at the incident's `resolved_at` in incidents.jsonl; the incident's
// own MTTR (detection -> resolved) is reported beside it.
//
//   probe_heal_bench --grace BIN --child CRASHY_CHILD [-n 50] [--json FILE]
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

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Returns the resolved incidents of `component` in the log, in order.
std::vector<grace::runtime::incident> resolved(const std::string& log,
                                               const std::string& component) {
  std::vector<grace::runtime::incident> out;
  std::ifstream in{log};
  for (std::string line; std::getline(in, line);)
    if (auto x = grace::runtime::incident_from_json(line))
      if (x->component == component
          && x->status == grace::runtime::incident_status::resolved)
        out.push_back(std::move(*x));
  return out;
}

int pid_in(const std::string& path) {
  std::ifstream in{path};
  int pid = -1;
  in >> pid;
  return pid;
}

struct sample_set {
  std::vector<double> onset_to_resolved;
  std::vector<double> mttr;
};

// Makes `component` sick n times; returns the samples, or nothing if a
// healing did not happen within 10 s.
bool measure(const std::string& dir, const std::string& name, int n,
             sample_set& out) {
  auto log = dir + "/logs/incidents.jsonl";
  auto component = "root/" + name;
  for (int i = 0; i < n; ++i) {
    auto before = resolved(log, component).size();
    // The current instance, once it is up (a replacement writes its pid).
    int pid = -1;
    for (auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(1ms)) {
      pid = pid_in(dir + "/" + name + ".pid");
      if (pid > 1 && ::kill(pid, 0) == 0)
        break;
    }
    if (pid <= 1)
      return false;
    // Let it be seen healthy for a moment, then make it sick.
    std::this_thread::sleep_for(100ms);
    auto onset = wall_us();
    {
      std::ofstream sick{dir + "/" + name + ".sick.tmp"};
      sick << pid << '\n';
    }
    fs::rename(dir + "/" + name + ".sick.tmp", dir + "/" + name + ".sick");
    std::vector<grace::runtime::incident> now;
    for (auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(1ms)) {
      now = resolved(log, component);
      if (now.size() > before)
        break;
    }
    if (now.size() <= before) {
      std::fprintf(stderr, "%s: not healed within 10 s\n", name.c_str());
      return false;
    }
    auto& x = now.back();
    out.onset_to_resolved.push_back(static_cast<double>(*x.closed_us - onset)
                                    / 1e6);
    out.mttr.push_back(x.mttr_seconds.value_or(0));
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  grace::bench::run_options opts;
  opts.n = 50;
  grace::bench::parse_run_options(argc, argv, "probe_heal_bench", opts);
  auto& [grace, child, json, n] = opts;
  auto tmpl = (fs::temp_directory_path() / "grace-heal-XXXXXX").string();
  std::string dir = ::mkdtemp(tmpl.data());
  auto port = std::to_string(grace::bench::try_loopback_port(0));
  std::ofstream{dir + "/grace.yaml"}
    << "grace: 1\nlog_dir: " << dir << "/logs\n"
    << "supervisor:\n  intensity: 100000\n  period: 1s\n  children:\n"
    << "    - name: web\n      command: [" << child << ", --pid-file, " << dir
    << "/web.pid, --http-sick, \"" << port << "\", " << dir << "/web.sick]\n"
    << "      ready: {tcp: " << port << ", within: 5s}\n"
    << "      probes:\n"
    << "        - {kind: http, url: \"http://127.0.0.1:" << port
    << "/health\", every: 20ms, timeout: 500ms}\n"
    << "    - name: beat\n      command: [" << child << ", --pid-file, " << dir
    << "/beat.pid, --beat-sick, \"10\", " << dir << "/beat.sick]\n"
    << "      probes:\n"
    << "        - {kind: heartbeat, within: 100ms}\n";
  bool ok = false;
  sample_set web, beat;
  {
    grace::bench::process g{{grace, "run", dir + "/grace.yaml"},
                            dir + "/grace.out"};
    ok = measure(dir, "web", n, web) && measure(dir, "beat", n, beat);
  }
  if (!ok) {
    std::fprintf(stderr, "%s", slurp(dir + "/grace.out").c_str());
    return 1;
  }
  grace::bench::report(
    {{"http: sick -> resolved", web.onset_to_resolved},
     {"http: incident MTTR", web.mttr},
     {"heartbeat: silent -> resolved", beat.onset_to_resolved},
     {"heartbeat: incident MTTR", beat.mttr}},
    json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
