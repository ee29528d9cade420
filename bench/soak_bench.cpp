// A soak: `grace run` with N children crash-looping at random intervals for
// a long while, half of them probed, with a client streaming `grace events`
// and another polling `grace status` - does grace stay flat?
//
//   soak_bench --grace BIN --child CRASHY_CHILD [-n 200] [--minutes 10]
//              [--sample-s 10] [--port-base 31000] [--run-ms 200:3000]
//              [--backoff-min 50ms] [--json FILE]
//
// Each child runs 200 ms to 3 s (--run-ms, drawn at each start), then exits
// 1; it is restarted after its backoff (50 ms, doubling up to 1 s). Every other
// child listens on a port of its own, with a tcp probe every second. Every
// --sample-s seconds: grace's resident set, open descriptors, threads and
// CPU time, and the restarts so far (`grace status --json`, polled every
// second, each poll timed). Reported: each measure's first, last and
// largest value and its slope (least squares, per hour) after the first
// minute and over the second half of the run (a warm-up that levels off
// shows in the first and not in the second); CPU time per restart; the status
// polls' latency; the events streamed. At the end grace is stopped (SIGTERM):
// it must exit 0, and its audit log must read line by line, with every incident
// closed.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "bench/harness.hpp"
#include "bench/stats.hpp"
#include "runtime/incident_reader.hpp"
#include "tests/support/proc.hpp"

namespace fs = std::filesystem;
using grace::bench::now_ns;

namespace {

struct options {
  std::string grace;
  std::string child;
  int n = 200;
  double minutes = 10;
  double sample_s = 10;
  int port_base = 31000;
  int run_min_ms = 200; // how long each child runs before it exits 1
  int run_max_ms = 3000;
  std::string backoff_min = "50ms";
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
    else if (a == "-n")
      o.n = std::atoi(value().c_str());
    else if (a == "--minutes")
      o.minutes = std::atof(value().c_str());
    else if (a == "--sample-s")
      o.sample_s = std::atof(value().c_str());
    else if (a == "--port-base")
      o.port_base = std::atoi(value().c_str());
    else if (a == "--run-ms") {
      auto v = value();
      o.run_min_ms = std::atoi(v.c_str());
      auto colon = v.find(':');
      o.run_max_ms = colon == std::string::npos
                       ? o.run_min_ms
                       : std::atoi(v.c_str() + colon + 1);
    } else if (a == "--backoff-min")
      o.backoff_min = value();
    else if (a == "--json")
      o.json = value();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.grace.empty() || o.child.empty() || o.n < 2 || o.sample_s <= 0) {
    std::fprintf(stderr,
                 "usage: soak_bench --grace BIN --child CRASHY_CHILD [-n 200] "
                 "[--minutes 10] [--sample-s 10] [--port-base 31000] "
                 "[--run-ms 200:3000] [--backoff-min 50ms] [--json FILE]\n");
    std::exit(2);
  }
  o.grace = fs::absolute(o.grace).string();
  o.child = fs::absolute(o.child).string();
  return o;
}

std::string write_config(const fs::path& dir, const options& o, int ports) {
  auto path = (dir / "soak.yaml").string();
  std::ofstream out{path};
  out << "grace: 1\nlog_dir: " << (dir / "logs").string()
      << "\ndefaults: {backoff: {min: " << o.backoff_min
      << ", max: 1s}}\n"
         "supervisor:\n  intensity: 1000000\n  period: 1s\n  children:\n";
  for (int i = 0; i < o.n; ++i) {
    out << "    - {name: c" << i << ", command: [" << o.child;
    if (i % 2 == 0)
      out << ", --listen, \"" << ports + i / 2 << "\"";
    out << ", --sleep-random, \"" << o.run_min_ms << "\", \"" << o.run_max_ms
        << "\", --exit, \"1\"]";
    if (i % 2 == 0)
      out << ", probes: [{kind: tcp, port: " << ports + i / 2
          << ", every: 1s}]";
    out << "}\n";
  }
  return path;
}

/// Runs `argv` to its end; returns its exit status and its stdout (its
/// stderr goes to the file `err`).
std::pair<int, std::string> capture(const std::vector<std::string>& argv,
                                    const std::string& err) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {-1, {}};
  auto pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

struct sample {
  double t = 0; // seconds since the tree was up
  double rss_mb = 0;
  double anon_mb = 0; // of rss_mb: anonymous (heap, stacks)
  double file_mb = 0; // of rss_mb: mapped files (code)
  double fds = 0;
  double threads = 0;
  double cpu_s = 0;
  double restarts = 0;
};

/// The least-squares slope of y over t (per second), from index `from`.
double slope(const std::vector<sample>& xs, std::size_t from,
             double sample::*y) {
  double n = 0, st = 0, sy = 0, stt = 0, sty = 0;
  for (auto i = from; i < xs.size(); ++i) {
    auto t = xs[i].t;
    auto v = xs[i].*y;
    n += 1;
    st += t;
    sy += v;
    stt += t * t;
    sty += t * v;
  }
  auto d = n * stt - st * st;
  return n < 2 || d == 0 ? 0 : (n * sty - st * sy) / d;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  auto dir
    = fs::temp_directory_path() / ("grace-soak-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto ports = grace::bench::free_port_range(o.port_base, (o.n + 1) / 2);
  if (ports < 0) {
    std::fprintf(stderr, "no %d free ports\n", (o.n + 1) / 2);
    return 1;
  }
  auto config = write_config(dir, o, ports);
  auto sock = (dir / "logs" / "grace.sock").string();
  // Why polls failed (the first few of each reason).
  std::map<std::string, int> poll_errors;
  long poll_incomplete = 0; // answered, with rows that came late
  auto poll_err = (dir / "status.err").string();
  auto restarts_now = [&](int* status_rc) {
    auto [rc, out]
      = capture({o.grace, "status", "--json", "--control", sock}, poll_err);
    if (status_rc)
      *status_rc = rc;
    if (rc != 0) {
      std::ifstream why{poll_err};
      std::string line;
      std::getline(why, line);
      ++poll_errors[line.empty() ? "exit " + std::to_string(rc) : line];
    }
    auto j = nlohmann::json::parse(out, nullptr, false);
    long total = -1;
    if (!j.is_discarded() && j.contains("components")) {
      if (j.contains("complete") && j["complete"] == false)
        ++poll_incomplete;
      total = 0;
      for (auto& row : j["components"])
        if (row.value("kind", "") == "process")
          total += row.value("restarts", 0L);
    }
    return total;
  };
  std::vector<sample> samples;
  std::vector<double> polls; // seconds per `grace status`
  long poll_failures = 0;
  std::uint64_t events = 0;
  int exit_status = -1;
  {
    grace::bench::process g({o.grace, "run", config},
                            (dir / "grace.log").string(), {},
                            std::chrono::seconds{30});
    if (!grace::bench::wait_for([&] { return restarts_now(nullptr) >= 0; },
                                std::chrono::seconds{60})) {
      std::fprintf(stderr, "grace did not answer; see %s\n",
                   (dir / "grace.log").c_str());
      return 1;
    }
    poll_errors.clear(); // those of the wait for its start are not polls
    poll_incomplete = 0;
    // The events client: reads all it is sent, counts the lines.
    grace::bench::process ev({o.grace, "events", "--json", "--control", sock},
                             (dir / "events.jsonl").string());
    auto t0 = now_ns();
    auto seconds = [&] { return static_cast<double>(now_ns() - t0) / 1e9; };
    auto take = [&](long restarts) {
      auto u = grace::bench::usage_of(g.pid());
      sample s{seconds(),
               u.rss_mb,
               u.anon_mb,
               u.file_mb,
               static_cast<double>(grace::test::open_fds(g.pid())),
               static_cast<double>(u.threads),
               u.cpu_seconds,
               static_cast<double>(restarts)};
      samples.push_back(s);
      std::printf("t=%6.0f s  RSS %6.1f MiB  fds %4.0f  threads %3.0f  CPU "
                  "%7.2f s  restarts %7.0f\n",
                  s.t, s.rss_mb, s.fds, s.threads, s.cpu_s, s.restarts);
      std::fflush(stdout);
    };
    take(restarts_now(nullptr));
    auto end = o.minutes * 60;
    auto next_sample = o.sample_s;
    while (seconds() < end) {
      auto before = now_ns();
      int rc = 0;
      auto restarts = restarts_now(&rc);
      polls.push_back(static_cast<double>(now_ns() - before) / 1e9);
      poll_failures += rc != 0 || restarts < 0;
      if (seconds() >= next_sample) {
        take(restarts);
        next_sample += o.sample_s;
      }
      std::this_thread::sleep_for(std::chrono::seconds{1}); // the poll period
    }
    ev.stop();
    std::ifstream streamed{dir / "events.jsonl"};
    for (std::string line; std::getline(streamed, line);)
      events += !line.empty();
    int st = g.stop();
    exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  // The audit log: every line reads, every incident is closed.
  auto audit
    = grace::runtime::find_open((dir / "logs" / "incidents.jsonl").string());
  auto lines = audit.counts.lines;
  auto unreadable = audit.counts.bad_lines;
  auto incidents = audit.counts.closed_lines + audit.open.size();
  auto still_open = audit.open.size();
  // After the first minute (from the start, in a run too short for three
  // samples after it).
  std::size_t from = 0;
  while (from < samples.size() && samples[from].t < 60)
    ++from;
  if (samples.size() - from < 3)
    from = 0;
  auto& first = samples.front();
  auto& last = samples.back();
  // The second half of the run (all of it, if that holds under 3 samples).
  std::size_t half = from;
  while (half < samples.size() && samples[half].t < samples.back().t / 2)
    ++half;
  if (samples.size() - half < 3)
    half = from;
  auto per_hour = [&](double sample::*y, std::size_t since) {
    return slope(samples, since, y) * 3600;
  };
  auto largest = [&](double sample::*y) {
    double m = 0;
    for (auto& s : samples)
      m = std::max(m, s.*y);
    return m;
  };
  struct row {
    const char* name;
    double sample::*y;
  };
  std::vector<row> rows{{"RSS MiB", &sample::rss_mb},
                        {"  anonymous MiB", &sample::anon_mb},
                        {"  mapped files MiB", &sample::file_mb},
                        {"open descriptors", &sample::fds},
                        {"threads", &sample::threads}};
  auto restarts_total = last.restarts - first.restarts;
  auto cpu_total = last.cpu_s - first.cpu_s;
  auto cpu_per_restart_ms
    = restarts_total > 0 ? cpu_total / restarts_total * 1e3 : 0.0;
  std::printf("\nsoak: %d children, %.1f min, %zu samples; slopes from t=%.0f "
              "s and from t=%.0f s\n",
              o.n, o.minutes, samples.size(), samples[from].t, samples[half].t);
  std::printf("%-18s %10s %10s %10s %14s %14s\n", "measure", "first", "last",
              "max", "slope per hour", "2nd half");
  for (auto& r : rows)
    std::printf("%-18s %10.1f %10.1f %10.1f %14.2f %14.2f\n", r.name,
                first.*r.y, last.*r.y, largest(r.y), per_hour(r.y, from),
                per_hour(r.y, half));
  std::printf("restarts %.0f (%.1f a second), grace CPU %.1f s: %.3f ms per "
              "restart\n",
              restarts_total, restarts_total / std::max(1.0, last.t), cpu_total,
              cpu_per_restart_ms);
  std::printf("events streamed %llu; status polls %zu, %ld failed, %ld "
              "incomplete (rows late)\n",
              static_cast<unsigned long long>(events), polls.size(),
              poll_failures, poll_incomplete);
  for (auto& [why, times] : poll_errors)
    std::printf("  %d x %s\n", times, why.c_str());
  std::printf("audit log: %zu lines, %zu unreadable, %zu incidents, %zu still "
              "open; grace exited %d\n",
              lines, unreadable, incidents, still_open, exit_status);
  grace::bench::print_header();
  auto poll_summary
    = polls.empty() ? grace::bench::summary{} : grace::bench::summarise(polls);
  grace::bench::print_row("grace status under the soak", poll_summary);
  // JSON: the series for the chart, the totals, the polls.
  nlohmann::json series{{"case", "soak series"}};
  for (auto& s : samples) {
    series["t"].push_back(s.t);
    series["rss_mb"].push_back(s.rss_mb);
    series["anon_mb"].push_back(s.anon_mb);
    series["file_mb"].push_back(s.file_mb);
    series["fds"].push_back(s.fds);
    series["threads"].push_back(s.threads);
    series["cpu_s"].push_back(s.cpu_s);
    series["restarts"].push_back(s.restarts);
  }
  nlohmann::json totals{{"case", "soak"},
                        {"children", o.n},
                        {"minutes", o.minutes},
                        {"sample_s", o.sample_s},
                        {"slope_from_s", samples[from].t},
                        {"second_half_from_s", samples[half].t},
                        {"restarts", restarts_total},
                        {"cpu_s", cpu_total},
                        {"cpu_per_restart_ms", cpu_per_restart_ms},
                        {"events", events},
                        {"status_polls", polls.size()},
                        {"status_failures", poll_failures},
                        {"status_incomplete", poll_incomplete},
                        {"status_errors", poll_errors},
                        {"log_lines", lines},
                        {"log_unreadable", unreadable},
                        {"incidents", incidents},
                        {"incidents_open", still_open},
                        {"exit_status", exit_status}};
  for (auto& r : rows)
    totals["measures"].push_back(
      {{"measure", r.name},
       {"first", first.*r.y},
       {"last", last.*r.y},
       {"max", largest(r.y)},
       {"slope_per_hour", per_hour(r.y, from)},
       {"second_half_slope_per_hour", per_hour(r.y, half)}});
  grace::bench::emit_json({series.dump(), totals.dump(),
                           grace::bench::to_json("grace status under the soak",
                                                 poll_summary, &polls)},
                          o.json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  bool ok = exit_status == 0 && unreadable == 0 && still_open == 0
            && poll_failures == 0 && !samples.empty();
  if (!ok)
    std::fprintf(stderr, "soak: FAILED (see above)\n");
  return ok ? 0 : 1;
}
