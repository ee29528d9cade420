// What the benchmarks that drive real processes share: the monotonic clock
// the children stamp, the FIFO they report on, a process started in its own
// session and killed (by pid) when it goes out of scope, and what the kernel
// says a process costs (CPU time, RSS).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace grace::bench {

/// CLOCK_MONOTONIC in nanoseconds: the clock bench_child stamps with.
inline long long now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

/// Polls `done` every millisecond until it holds (true) or `timeout`
/// passes (false).
template <class F>
bool wait_for(F done, std::chrono::milliseconds timeout) {
  for (auto until = std::chrono::steady_clock::now() + timeout;
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds{1}))
    if (done())
      return true;
  return done();
}

/// Binds 127.0.0.1:`port` (0: any free port) and lets it go again; returns
/// the port it got, or -1 if it is taken.
inline int try_loopback_port(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int got = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    got = ntohs(a.sin_port);
  ::close(fd);
  return got;
}

/// The first port >= `from` with `n` free ports from there on, or -1.
inline int free_port_range(int from, int n) {
  for (int base = from; base + n < 65000; ++base) {
    int k = 0;
    while (k < n && try_loopback_port(base + k) > 0)
      ++k;
    if (k == n)
      return base;
    base += k;
  }
  return -1;
}

/// The items of a comma-separated list, empty ones left out.
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss{s};
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

/// One report of bench_child: its pid, when main() began, when it was
/// ready (listening and/or notified; equal to start when neither applies).
struct child_stamp {
  int pid = 0;
  long long start_ns = 0;
  long long ready_ns = 0;
};

/// Reads lines from a non-blocking descriptor (owned), with a deadline.
class line_reader {
public:
  explicit line_reader(int fd) : fd_(fd) {}
  ~line_reader() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  line_reader(const line_reader&) = delete;
  line_reader& operator=(const line_reader&) = delete;

  bool ok() const { return fd_ >= 0; }

  /// The next line (without its newline), or nothing after `timeout_ms` or
  /// at the end of the stream.
  std::optional<std::string> next(int timeout_ms) {
    auto deadline = now_ns() + timeout_ms * 1'000'000LL;
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        auto line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left = static_cast<int>((deadline - now_ns()) / 1'000'000LL);
      if (left <= 0 || fd_ < 0)
        return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0)
        continue;
      char tmp[8192];
      auto n = ::read(fd_, tmp, sizeof(tmp));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return std::nullopt;
      if (n > 0)
        buf_.append(tmp, static_cast<size_t>(n));
    }
  }

private:
  int fd_ = -1;
  std::string buf_;
};

/// Reads bench_child's "pid start_ns [ready_ns]" lines from a FIFO, with a
/// deadline. Opened O_RDWR, so a child's open never blocks and the reader's
/// own wake-up is not part of any figure (both stamps are the child's).
class fifo_reader {
public:
  /// Creates the FIFO at `path` and opens it.
  explicit fifo_reader(const std::string& path) : lines_(open_fifo(path)) {}

  /// Returns the next report, or nothing after `timeout_ms`.
  std::optional<child_stamp> next(int timeout_ms) {
    auto deadline = now_ns() + timeout_ms * 1'000'000LL;
    for (;;) {
      auto left = static_cast<int>((deadline - now_ns()) / 1'000'000LL);
      auto line = lines_.next(std::max(left, 0));
      if (!line)
        return std::nullopt;
      std::istringstream in{*line};
      child_stamp s;
      if (!(in >> s.pid >> s.start_ns))
        continue;
      if (!(in >> s.ready_ns))
        s.ready_ns = s.start_ns;
      return s;
    }
  }

private:
  static int open_fifo(const std::string& path) {
    ::mkfifo(path.c_str(), 0600);
    return ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  }

  line_reader lines_;
};

/// A process under test, started in its own session with `env` added to
/// the environment and its output in `log`. On destruction: SIGTERM, up to
/// `patience` for it to exit, then SIGKILL to its process group and to it.
class process {
public:
  process(const std::vector<std::string>& argv, const std::string& log,
          const std::vector<std::pair<std::string, std::string>>& env = {},
          std::chrono::milliseconds patience = std::chrono::seconds{5})
      : patience_(patience) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      for (auto& [k, v] : env)
        ::setenv(k.c_str(), v.c_str(), 1);
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
  ~process() { stop(); }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  int pid() const { return pid_; }

  /// Stops the process (as the destructor does); returns its wait status,
  /// or -1 if it was stopped before.
  int stop() {
    if (pid_ <= 0)
      return -1;
    auto pid = std::exchange(pid_, -1);
    int st = 0;
    ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + patience_;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, &st, WNOHANG) == pid)
        return st;
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    return st;
  }

  /// True while the process has not exited (reaps it if it has: then
  /// there is nothing left to stop).
  bool alive() {
    int st = 0;
    if (pid_ <= 0)
      return false;
    if (::waitpid(pid_, &st, WNOHANG) == 0)
      return true;
    pid_ = -1;
    return false;
  }

private:
  int pid_ = -1;
  std::chrono::milliseconds patience_;
};

/// What the kernel says process `pid` has cost so far.
struct usage {
  double cpu_seconds = 0; // user + system
  double rss_mb = 0;      // resident set (VmRSS), MiB
  double anon_mb = 0;     // of it, anonymous memory (RssAnon): heap, stacks
  double file_mb = 0;     // of it, mapped files (RssFile): code, libraries
  double hwm_mb = 0;      // peak resident set (VmHWM), MiB
  int threads = 0;
  bool ok = false;
};

/// Reads /proc/PID/stat and /proc/PID/status.
inline usage usage_of(int pid) {
  usage u;
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string all;
  if (!std::getline(stat, all))
    return u;
  // Fields after the command (which may hold spaces): state is field 3.
  auto close = all.rfind(')');
  if (close == std::string::npos)
    return u;
  std::istringstream rest{all.substr(close + 2)};
  std::vector<std::string> f{std::istream_iterator<std::string>{rest}, {}};
  if (f.size() < 13)
    return u;
  auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  u.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / tick;
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(status, line);) {
    auto kb = [&] { return std::atof(line.c_str() + line.find(':') + 1); };
    if (line.rfind("VmRSS:", 0) == 0)
      u.rss_mb = kb() / 1024.0;
    else if (line.rfind("RssAnon:", 0) == 0)
      u.anon_mb = kb() / 1024.0;
    else if (line.rfind("RssFile:", 0) == 0)
      u.file_mb = kb() / 1024.0;
    else if (line.rfind("VmHWM:", 0) == 0)
      u.hwm_mb = kb() / 1024.0;
    else if (line.rfind("Threads:", 0) == 0)
      u.threads = std::atoi(line.c_str() + 8);
  }
  u.ok = true;
  return u;
}

} // namespace grace::bench
