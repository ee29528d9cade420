// Crash -> running latency, measured from outside the supervisor: the child
// (bench_child) stamps CLOCK_MONOTONIC as the first statement of main() and
// reports it on a FIFO; this driver SIGKILLs it and takes the time to the
// replacement's stamp. The same method, in the same run, for Grace and for
// the floor (floor_supervisor: posix_spawn + pidfd, nothing else): both run
// side by side and the kills alternate between them, so a noisy moment of
// the machine hits both.
//
//   restart_latency_bench --grace BIN --floor BIN --child BIN
//                         [-n 500] [--warmup 5] [--settle-ms 100]
//                         [--modes isolated,crashloop] [--json FILE]
//                         [--without-audit | --other-grace BIN]
//
// --without-audit adds a third subject: Grace with GRACE_BENCH_NO_AUDIT=1
// (no tracker, no audit log), to show what recording incidents costs.
// --other-grace adds another build of Grace instead (a regression check:
// this build against an earlier one, in the same run).
//
// isolated: the child has been up for --settle-ms before each kill (one
// crash). crashloop: killed as soon as it reports (the first restarts of a
// crash loop; Grace's backoff min is 0s here, as the user's explicit opt-out).
#include <cerrno>
#include <chrono>
#include <csignal>
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
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/stats.hpp"

namespace fs = std::filesystem;

namespace {

long long now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

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
  std::string other_grace;
};

/// Reads "pid start_ns" lines from the FIFO, with a deadline.
class fifo_reader {
public:
  explicit fifo_reader(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)) {}
  ~fifo_reader() { ::close(fd_); }

  std::optional<std::pair<int, long long>> next(int timeout_ms) {
    auto deadline = now_ns() + timeout_ms * 1'000'000LL;
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::istringstream line{buf_.substr(0, nl)};
        buf_.erase(0, nl + 1);
        int pid = 0;
        long long ns = 0;
        if (line >> pid >> ns)
          return std::make_pair(pid, ns);
        continue;
      }
      auto left = static_cast<int>((deadline - now_ns()) / 1'000'000LL);
      if (left <= 0)
        return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0)
        continue;
      char tmp[4096];
      auto n = ::read(fd_, tmp, sizeof(tmp));
      if (n > 0)
        buf_.append(tmp, static_cast<size_t>(n));
    }
  }

private:
  int fd_;
  std::string buf_;
};

/// A supervisor under test, in its own session; killed by pid at the end.
class supervisor_process {
public:
  supervisor_process(const std::vector<std::string>& argv,
                     const std::string& fifo, const std::string& log,
                     bool no_audit = false) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      ::setenv("BENCH_FIFO", fifo.c_str(), 1);
      if (no_audit)
        ::setenv("GRACE_BENCH_NO_AUDIT", "1", 1);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }

  ~supervisor_process() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }

private:
  int pid_ = -1;
};

/// One supervisor under test and the FIFO its children report on.
struct subject {
  std::string name;
  std::unique_ptr<fifo_reader> reader;
  std::unique_ptr<supervisor_process> sup;
  int pid = -1;
  std::vector<double> samples;
};

/// Kills the current child of `x` and waits for its replacement; returns
/// false if that did not happen.
bool kill_once(subject& x, bool record) {
  auto t_kill = now_ns();
  if (x.pid <= 1 || ::kill(x.pid, SIGKILL) != 0) {
    std::fprintf(stderr, "%s: cannot kill %d\n", x.name.c_str(), x.pid);
    return false;
  }
  std::optional<std::pair<int, long long>> next;
  do {
    next = x.reader->next(10'000);
  } while (next && next->first == x.pid);
  if (!next) {
    std::fprintf(stderr, "%s: no restart within 10 s\n", x.name.c_str());
    return false;
  }
  if (record)
    x.samples.push_back(static_cast<double>(next->second - t_kill) / 1e9);
  x.pid = next->first;
  return true;
}

/// Measures the floor and grace in one mode, alternating kills between
/// them so both see the same machine; returns false on failure.
bool measure(std::vector<subject>& xs, const options& opts, bool crashloop) {
  auto settle = std::chrono::milliseconds{crashloop ? 0 : opts.settle_ms};
  for (auto& x : xs) {
    auto first = x.reader->next(30'000);
    if (!first) {
      std::fprintf(stderr, "%s: the child never started\n", x.name.c_str());
      return false;
    }
    x.pid = first->first;
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

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss{s};
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

int main(int argc, char** argv) {
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
      opts.modes = split(value());
    else if (a == "--json")
      opts.json = value();
    else if (a == "--without-audit")
      opts.without_audit = true;
    else if (a == "--other-grace")
      opts.other_grace = value();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (opts.grace.empty() || opts.floor.empty() || opts.child.empty()) {
    std::fprintf(stderr, "usage: restart_latency_bench --grace BIN --floor "
                         "BIN --child BIN [-n N] [--modes isolated,crashloop]"
                         " [--json FILE]\n");
    return 2;
  }
  // The config lives in a temporary directory: paths must be absolute.
  for (auto* path : {&opts.grace, &opts.floor, &opts.child})
    *path = fs::absolute(*path).string();
  if (!opts.other_grace.empty())
    opts.other_grace = fs::absolute(opts.other_grace).string();
  auto third = opts.without_audit || !opts.other_grace.empty();
  auto third_name = opts.without_audit ? std::string{"grace-noaudit"}
                                       : std::string{"grace-other"};
  auto tmpl = (fs::temp_directory_path() / "grace-bench-XXXXXX").string();
  fs::path dir = ::mkdtemp(tmpl.data());
  // One config (and log directory) per Grace under test.
  auto write_config = [&](const std::string& name) {
    auto config = (dir / (name + ".yaml")).string();
    std::ofstream{config} << "grace: 1\nlog_dir: " << (dir / name).string()
                          << "\ndefaults: {backoff: {min: 0s}}\n"
                             "supervisor:\n  intensity: 1000000\n  period: "
                             "1s\n  children:\n    - {name: child, command: ["
                          << opts.child << "]}\n";
    return config;
  };
  std::vector<std::string> json;
  grace::bench::print_header();
  int status = 0;
  for (auto& mode : opts.modes) {
    auto crashloop = mode == "crashloop";
    std::vector<subject> xs(third ? 3 : 2);
    xs[0].name = "floor-" + mode;
    xs[1].name = "grace-" + mode;
    std::vector<std::vector<std::string>> argvs{
      {opts.floor, opts.child}, {opts.grace, "run", write_config(xs[1].name)}};
    if (third) {
      xs[2].name = third_name + "-" + mode;
      argvs.push_back({opts.without_audit ? opts.grace : opts.other_grace,
                       "run", write_config(xs[2].name)});
    }
    for (std::size_t k = 0; k < xs.size(); ++k) {
      auto fifo = (dir / (xs[k].name + ".fifo")).string();
      ::mkfifo(fifo.c_str(), 0600);
      xs[k].reader = std::make_unique<fifo_reader>(fifo);
      xs[k].sup = std::make_unique<supervisor_process>(
        argvs[k], fifo, (dir / (xs[k].name + ".log")).string(),
        k == 2 && opts.without_audit);
    }
    if (!measure(xs, opts, crashloop)) {
      status = 1;
      continue;
    }
    auto fs = grace::bench::summarise(xs[0].samples);
    auto gs = grace::bench::summarise(xs[1].samples);
    grace::bench::print_row("floor " + mode, fs);
    grace::bench::print_row("grace " + mode, gs);
    std::printf("%-28s grace/floor p50 %.2f, p99 %.2f\n", "", gs.p50 / fs.p50,
                gs.p99 / fs.p99);
    json.push_back(grace::bench::to_json("floor " + mode, fs));
    json.push_back(grace::bench::to_json("grace " + mode, gs));
    if (third) {
      auto ns = grace::bench::summarise(xs[2].samples);
      grace::bench::print_row(third_name + " " + mode, ns);
      std::printf("%-28s grace/%s p50 %.2f, p99 %.2f\n", "", third_name.c_str(),
                  gs.p50 / ns.p50, gs.p99 / ns.p99);
      json.push_back(grace::bench::to_json(third_name + " " + mode, ns));
    }
  }
  grace::bench::emit_json(json, opts.json);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}
