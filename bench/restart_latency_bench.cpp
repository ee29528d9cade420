// Crash -> running and crash -> ready latency, measured from outside the
// supervisor: the child (bench_child) stamps CLOCK_MONOTONIC as the first
// statement of main() (running) and again once it listens or has sent
// READY=1 (ready), and reports both on a FIFO; this driver SIGKILLs it and
// takes the time to the replacement's stamps. The same method, in the same
// run, for Grace and for the floor (floor_supervisor: posix_spawn + pidfd,
// nothing else): both run side by side and the kills alternate between
// them, so a noisy moment of the machine hits both.
//
//   restart_latency_bench --grace BIN --floor BIN --child BIN
//                         [-n 500] [--warmup 5] [--settle-ms 100]
//                         [--modes isolated,crashloop,tcp,notify]
//                         [--json FILE] [--without-audit | --without-cgroups
//                         | --other-grace BIN] [--without-events]
//
// --without-audit adds a third subject: Grace with GRACE_BENCH_NO_AUDIT=1
// (no tracker, no audit log), to show what recording incidents costs;
// --without-cgroups one with GRACE_CGROUPS=off (process groups only), to
// show what containment costs.
// --other-grace adds another build of Grace instead (a regression check:
// this build against an earlier one, in the same run).
//
// isolated: the child has been up for --settle-ms before each kill (one
// crash). crashloop: killed as soon as it reports (the first restarts of a
// crash loop; Grace's backoff min is 0s here, as the user's explicit
// opt-out). tcp: isolated, the child listens on a port and Grace's rule is
// `ready: {tcp: PORT}`; notify: isolated, the child sends READY=1 and the
// rule is `ready: {notify: true}`. In those two modes the driver also
// follows `grace events` on the control socket and takes the time at which
// Grace reports the replacement ready (kill -> "grace knows": what a
// dependent or an operator waits for); --without-events leaves that out, to
// show what streaming the events costs the restart itself.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nlohmann/json.hpp>

#include "bench/harness.hpp"
#include "bench/stats.hpp"

namespace fs = std::filesystem;
using grace::bench::now_ns;

namespace {

struct options {
  std::string grace;
  std::string floor;
  std::string child;
  int n = 500;
  int warmup = 5;
  int settle_ms = 100;
  std::vector<std::string> modes{"isolated", "crashloop"};
  std::string json;
  bool without_audit = false;
  bool without_cgroups = false;
  bool without_events = false;
  std::string other_grace;
};

/// Follows `grace events` on a control socket and remembers when (by this
/// process's clock, at receipt) each pid was reported ready.
class ready_events {
public:
  /// Connects to `socket` (waiting up to 10 s for it to appear) and asks
  /// for the event stream.
  explicit ready_events(const std::string& socket) : lines_(connect(socket)) {}

  bool ok() const { return lines_.ok(); }

  /// When `pid` was reported ready, waiting up to `timeout_ms`.
  std::optional<long long> ready_at(int pid, int timeout_ms) {
    auto deadline = now_ns() + timeout_ms * 1'000'000LL;
    for (;;) {
      if (auto it = seen_.find(pid); it != seen_.end())
        return it->second;
      auto left = static_cast<int>((deadline - now_ns()) / 1'000'000LL);
      auto line = lines_.next(std::max(left, 0));
      if (!line)
        return std::nullopt;
      auto j = nlohmann::json::parse(*line, nullptr, false);
      if (j.is_object() && j.value("state", std::string{}) == "ready"
          && j.contains("pid") && j["pid"].is_number_integer())
        seen_.emplace(j["pid"].get<int>(), now_ns());
    }
  }

private:
  static int connect(const std::string& socket) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket.c_str(), sizeof(a.sun_path) - 1);
    for (auto deadline = now_ns() + 10'000'000'000LL; now_ns() < deadline;
         std::this_thread::sleep_for(std::chrono::milliseconds{5})) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        continue;
      }
      static constexpr char req[] = "{\"cmd\":\"events\"}\n";
      if (::write(fd, req, sizeof(req) - 1) < 0
          || ::fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        ::close(fd);
        return -1;
      }
      return fd;
    }
    return -1;
  }

  grace::bench::line_reader lines_;
  std::unordered_map<int, long long> seen_;
};

/// One supervisor under test and the FIFO its children report on.
struct subject {
  std::string name;
  bool is_grace = false;
  std::unique_ptr<grace::bench::fifo_reader> reader;
  std::unique_ptr<grace::bench::process> sup;
  std::unique_ptr<ready_events> events;
  std::string socket; // grace's control socket
  int pid = -1;
  std::vector<double> running; // kill -> the replacement's main()
  std::vector<double> ready;   // kill -> the replacement listening/notified
  std::vector<double> known;   // kill -> grace reports it ready
};

/// Kills the current child of `x` and waits for its replacement; returns
/// false if that did not happen.
bool kill_once(subject& x, bool record) {
  auto t_kill = now_ns();
  if (x.pid <= 1 || ::kill(x.pid, SIGKILL) != 0) {
    std::fprintf(stderr, "%s: cannot kill %d\n", x.name.c_str(), x.pid);
    return false;
  }
  std::optional<grace::bench::child_stamp> next;
  do {
    next = x.reader->next(10'000);
  } while (next && next->pid == x.pid);
  if (!next) {
    std::fprintf(stderr, "%s: no restart within 10 s\n", x.name.c_str());
    return false;
  }
  x.pid = next->pid;
  std::optional<long long> known;
  if (x.events) {
    known = x.events->ready_at(x.pid, 10'000);
    if (!known) {
      std::fprintf(stderr, "%s: grace did not report %d ready within 10 s\n",
                   x.name.c_str(), x.pid);
      return false;
    }
  }
  if (record) {
    x.running.push_back(static_cast<double>(next->start_ns - t_kill) / 1e9);
    x.ready.push_back(static_cast<double>(next->ready_ns - t_kill) / 1e9);
    if (known)
      x.known.push_back(static_cast<double>(*known - t_kill) / 1e9);
  }
  return true;
}

/// Measures every subject in one mode, alternating kills between them so
/// all see the same machine; returns false on failure.
bool measure(std::vector<subject>& xs, const options& opts, bool crashloop) {
  auto settle = std::chrono::milliseconds{crashloop ? 0 : opts.settle_ms};
  for (auto& x : xs) {
    auto first = x.reader->next(30'000);
    if (!first) {
      std::fprintf(stderr, "%s: the child never started\n", x.name.c_str());
      return false;
    }
    x.pid = first->pid;
  }
  for (int i = 0; i < opts.warmup + opts.n; ++i) {
    for (auto& x : xs) {
      if (settle.count() > 0)
        std::this_thread::sleep_for(settle);
      if (!kill_once(x, i >= opts.warmup))
        return false;
    }
  }
  return true;
}

options parse(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] { return grace::bench::next_arg(argc, argv, i); };
    if (a == "--grace")
      opts.grace = value();
    else if (a == "--floor")
      opts.floor = value();
    else if (a == "--child")
      opts.child = value();
    else if (a == "-n")
      opts.n = std::atoi(value().c_str());
    else if (a == "--warmup")
      opts.warmup = std::atoi(value().c_str());
    else if (a == "--settle-ms")
      opts.settle_ms = std::atoi(value().c_str());
    else if (a == "--modes")
      opts.modes = grace::bench::split_list(value());
    else if (a == "--json")
      opts.json = value();
    else if (a == "--without-audit")
      opts.without_audit = true;
    else if (a == "--without-cgroups")
      opts.without_cgroups = true;
    else if (a == "--without-events")
      opts.without_events = true;
    else if (a == "--other-grace")
      opts.other_grace = value();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  for (auto& m : opts.modes)
    if (m != "isolated" && m != "crashloop" && m != "tcp" && m != "notify") {
      std::fprintf(stderr, "unknown mode %s\n", m.c_str());
      std::exit(2);
    }
  if (opts.grace.empty() || opts.floor.empty() || opts.child.empty()) {
    std::fprintf(stderr, "usage: restart_latency_bench --grace BIN --floor "
                         "BIN --child BIN [-n N] [--modes "
                         "isolated,crashloop,tcp,notify] [--json FILE]\n");
    std::exit(2);
  }
  // The config lives in a temporary directory: paths must be absolute.
  for (auto* path : {&opts.grace, &opts.floor, &opts.child})
    *path = fs::absolute(*path).string();
  if (!opts.other_grace.empty())
    opts.other_grace = fs::absolute(opts.other_grace).string();
  return opts;
}

/// Adds the rows of one subject (and its ratios to `base`) to the table and
/// the JSON.
void report(const std::string& mode, const subject& x, const subject* base,
            std::vector<std::string>& json) {
  auto row = [&](const std::string& what, const std::vector<double>& xs,
                 const std::vector<double>* against) {
    if (xs.empty())
      return;
    auto s = grace::bench::summarise(xs);
    auto name = x.name + " " + mode + " " + what;
    grace::bench::print_row(name, s);
    json.push_back(grace::bench::to_json(name, s, &xs));
    if (against && !against->empty()) {
      auto b = grace::bench::summarise(*against);
      std::printf("%-34s /%s p50 %.2f, p99 %.2f\n", "", base->name.c_str(),
                  s.p50 / b.p50, s.p99 / b.p99);
    }
  };
  auto ready_modes = mode == "tcp" || mode == "notify";
  row("running", x.running, base ? &base->running : nullptr);
  if (ready_modes) {
    row("ready", x.ready, base ? &base->ready : nullptr);
    row("known ready", x.known, nullptr);
  }
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv);
  auto third
    = opts.without_audit || opts.without_cgroups || !opts.other_grace.empty();
  auto third_name = opts.without_audit     ? std::string{"grace-noaudit"}
                    : opts.without_cgroups ? std::string{"grace-nocgroups"}
                                           : std::string{"grace-other"};
  auto tmpl = (fs::temp_directory_path() / "grace-bench-XXXXXX").string();
  fs::path dir = ::mkdtemp(tmpl.data());
  // One config (and log directory) per Grace under test.
  auto write_config
    = [&](const std::string& name, const std::string& mode, int port) {
        auto config = (dir / (name + ".yaml")).string();
        std::ofstream out{config};
        out << "grace: 1\nlog_dir: " << (dir / name).string()
            << "\ndefaults: {backoff: {min: 0s}}\n"
               "supervisor:\n  intensity: 1000000\n  period: 1s\n  children:\n"
               "    - name: child\n      command: ["
            << opts.child << "]\n";
        if (mode == "tcp")
          out << "      env: {BENCH_PORT: \"" << port << "\"}\n"
              << "      ready: {tcp: " << port << ", within: 5s}\n";
        else if (mode == "notify")
          out << "      env: {BENCH_NOTIFY: \"1\"}\n"
              << "      ready: {notify: true, within: 5s}\n";
        return config;
      };
  std::vector<std::string> json;
  grace::bench::print_header();
  int status = 0;
  for (auto& mode : opts.modes) {
    auto crashloop = mode == "crashloop";
    std::vector<subject> xs(third ? 3 : 2);
    xs[0].name = "floor";
    xs[1].name = "grace";
    xs[1].is_grace = true;
    if (third) {
      xs[2].name = third_name;
      xs[2].is_grace = true;
    }
    for (std::size_t k = 0; k < xs.size(); ++k) {
      auto& x = xs[k];
      auto tag = x.name + "-" + mode;
      auto fifo = (dir / (tag + ".fifo")).string();
      x.reader = std::make_unique<grace::bench::fifo_reader>(fifo);
      std::vector<std::pair<std::string, std::string>> env{
        {"BENCH_FIFO", fifo}};
      auto port = grace::bench::try_loopback_port(0);
      std::vector<std::string> cmd;
      if (!x.is_grace) {
        cmd = {opts.floor, opts.child};
        // The floor knows no readiness: its child listens (tcp), so its
        // "ready" stamp is the physical cost of binding a port.
        if (mode == "tcp")
          env.emplace_back("BENCH_PORT", std::to_string(port));
      } else {
        auto bin
          = k == 2 && !opts.other_grace.empty() ? opts.other_grace : opts.grace;
        cmd = {bin, "run", write_config(tag, mode, port)};
        if (k == 2 && opts.without_audit)
          env.emplace_back("GRACE_BENCH_NO_AUDIT", "1");
        if (k == 2 && opts.without_cgroups)
          env.emplace_back("GRACE_CGROUPS", "off");
        x.socket = (dir / tag / "grace.sock").string();
      }
      x.sup = std::make_unique<grace::bench::process>(
        cmd, (dir / (tag + ".log")).string(), env);
    }
    if ((mode == "tcp" || mode == "notify") && !opts.without_events)
      for (auto& x : xs)
        if (x.is_grace) {
          x.events = std::make_unique<ready_events>(x.socket);
          if (!x.events->ok())
            std::fprintf(stderr, "%s: no control socket at %s\n",
                         x.name.c_str(), x.socket.c_str());
        }
    if (!measure(xs, opts, crashloop)) {
      status = 1;
      continue;
    }
    report(mode, xs[0], nullptr, json);
    report(mode, xs[1], &xs[0], json);
    if (third)
      report(mode, xs[2], nullptr, json);
  }
  grace::bench::emit_json(json, opts.json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}
