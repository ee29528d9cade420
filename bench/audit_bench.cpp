// The audit log's costs, measured:
//   - throughput: incidents written per second, fsync `always` and `never`
//     (a burst of N complete incident lines, appended as fast as possible,
//     until the last one is written and synced);
//   - durability latency: one incident at a time, append -> written and
//     fsynced (fsync `always`), min/p50/p90/p99/max;
//   - `grace incidents` on a 1,000,000-line log: wall time and peak RSS of
//     the real command (fork + exec + wait4), several runs.
//
//   audit_bench --grace BIN [--dir DIR] [-n 20000] [--lines 1000000]
//               [--runs 3] [--json FILE]
//
// DIR (default: the current directory) should be on the disk the audit log
// would live on: fsync costs nothing on tmpfs.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/stats.hpp"
#include "runtime/audit_log.hpp"
#include "runtime/incident.hpp"

namespace fs = std::filesystem;
using grace::runtime::audit_log;
using grace::runtime::incident;
using grace::runtime::incident_status;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// A resolved crash as grace writes it: about 600 bytes.
incident sample(int i, incident_status status) {
  incident x;
  x.id = "inc_20261127_164328_" + std::to_string(100000 + i % 900000) + "_"
         + std::to_string(i);
  x.component = "root/workers/w-" + std::to_string(i % 50);
  x.failure_mode = i % 3 ? "crashed" : "exited";
  x.severity = "high";
  x.status = status;
  x.detected_us = 1'795'884'208'024'197 + i * 1000LL;
  x.playbook = "restart";
  x.detail = {{"pid", std::int64_t{4242 + i}},
              {"signal", std::int64_t{9}},
              {"reason", std::string{"killed by SIGKILL"}}};
  if (status == incident_status::resolved) {
    x.closed_us = x.detected_us + 1200 + (i * 7919) % 5000;
    x.mttr_seconds = static_cast<double>(*x.closed_us - x.detected_us) / 1e6;
    x.attempts = 1;
    x.actions = {
      {"restart",
       true,
       x.detected_us + 10,
       {{"pid", std::int64_t{5000 + i}},
        {"detail", std::string{"one_for_one: restarted at once"}}}},
      {"verify",
       true,
       *x.closed_us,
       {{"ready", std::string{"running"}}, {"pid", std::int64_t{5000 + i}}}}};
  }
  return x;
}

struct options {
  std::string grace;
  std::string dir = ".";
  int n = 20000;
  int lines = 1'000'000;
  int runs = 3;
  std::string json;
};

double throughput(const std::string& dir, audit_log::sync fsync, int n,
                  const std::vector<std::string>& lines) {
  auto path = dir + "/throughput.jsonl";
  fs::remove(path);
  audit_log::options o;
  o.path = path;
  o.fsync = fsync;
  o.recover = false;
  audit_log log{o};
  auto t = clock_type::now();
  for (int i = 0; i < n; ++i)
    log.append(lines[static_cast<std::size_t>(i) % lines.size()]);
  log.flush(std::chrono::minutes{5});
  auto s = seconds_since(t);
  fs::remove(path);
  return n / s;
}

// Peak RSS (KiB) and wall time of one `grace incidents` run.
std::pair<double, long> run_report(const std::string& grace,
                                   const std::string& log) {
  auto t = clock_type::now();
  auto pid = ::fork();
  if (pid == 0) {
    auto null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl(grace.c_str(), grace.c_str(), "incidents", "--log", log.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  auto wall = seconds_since(t);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::fprintf(stderr, "grace incidents failed (status %d)\n", status);
  return {wall, ru.ru_maxrss};
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] { return grace::bench::next_arg(argc, argv, i); };
    if (a == "--grace")
      opts.grace = value();
    else if (a == "--dir")
      opts.dir = value();
    else if (a == "-n")
      opts.n = std::atoi(value().c_str());
    else if (a == "--lines")
      opts.lines = std::atoi(value().c_str());
    else if (a == "--runs")
      opts.runs = std::atoi(value().c_str());
    else if (a == "--json")
      opts.json = value();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (opts.grace.empty()) {
    std::fprintf(stderr, "usage: audit_bench --grace BIN [--dir DIR] [-n N] "
                         "[--lines N] [--runs N] [--json FILE]\n");
    return 2;
  }
  auto dir = opts.dir + "/audit-bench";
  fs::create_directories(dir);
  std::vector<std::string> lines;
  for (int i = 0; i < 1000; ++i)
    lines.push_back(to_json_line(
      sample(i, i % 2 ? incident_status::resolved : incident_status::open)));
  std::vector<std::string> json;

  // Throughput.
  auto always = throughput(dir, audit_log::sync::always, opts.n, lines);
  auto never = throughput(dir, audit_log::sync::never, opts.n, lines);
  std::printf("audit throughput (%d lines of ~%zu bytes)\n", opts.n,
              lines[1].size());
  std::printf("  fsync always  %10.0f lines/s\n", always);
  std::printf("  fsync never   %10.0f lines/s\n", never);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"case\":\"audit throughput\",\"lines\":%d,"
                "\"fsync_always_per_s\":%.0f,\"fsync_never_per_s\":%.0f}",
                opts.n, always, never);
  json.push_back(buf);

  // One durable record at a time.
  {
    audit_log::options o;
    o.path = dir + "/latency.jsonl";
    o.recover = false;
    audit_log log{o};
    std::vector<double> samples;
    for (int i = 0; i < 500; ++i) {
      auto t = clock_type::now();
      log.append(lines[static_cast<std::size_t>(i) % lines.size()]);
      log.flush(std::chrono::seconds{30});
      samples.push_back(seconds_since(t));
    }
    std::printf("\n");
    grace::bench::print_header();
    auto s = grace::bench::summarise(samples);
    grace::bench::print_row("append -> fsynced", s);
    json.push_back(grace::bench::to_json("append -> fsynced", s));
    fs::remove(o.path);
  }

  // The report over a big log: every incident opened then closed.
  auto big = dir + "/big.jsonl";
  {
    std::ofstream out{big};
    for (int i = 0; i < opts.lines / 2; ++i) {
      out << to_json_line(sample(i, incident_status::open)) << '\n';
      out << to_json_line(
        sample(i, i % 50 ? incident_status::resolved : incident_status::failed))
          << '\n';
    }
  }
  std::printf("\n`grace incidents` on %d lines (%.0f MB)\n", opts.lines,
              static_cast<double>(fs::file_size(big)) / 1e6);
  std::vector<double> walls;
  long rss = 0;
  for (int r = 0; r < opts.runs; ++r) {
    auto [wall, kib] = run_report(opts.grace, big);
    walls.push_back(wall);
    rss = std::max(rss, kib);
    std::printf("  run %d: %.3f s, peak RSS %.1f MB\n", r + 1, wall,
                static_cast<double>(kib) / 1024);
  }
  auto s = grace::bench::summarise(walls);
  std::snprintf(buf, sizeof buf,
                "{\"case\":\"grace incidents\",\"lines\":%d,\"runs\":%d,"
                "\"min_s\":%.3f,\"p50_s\":%.3f,\"max_s\":%.3f,"
                "\"peak_rss_mb\":%.1f}",
                opts.lines, opts.runs, s.min, s.p50, s.max,
                static_cast<double>(rss) / 1024);
  json.push_back(buf);
  fs::remove_all(dir);

  grace::bench::emit_json(json, opts.json);
  return 0;
}
