#include "runtime/guardian.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup.hpp"

namespace grace::runtime {

namespace {

std::atomic<int> write_end{-1};
int guardian = -1;

// One message: "A" arm, "D" disarm, "+PGID" / "-PGID" a process group.
// Shorter than PIPE_BUF, so each write arrives whole.
void say(char op, int n = 0) {
  int fd = write_end.load(std::memory_order_relaxed);
  if (fd < 0)
    return;
  char buf[24];
  int len = std::snprintf(buf, sizeof buf, "%c%d\n", op, n);
  while (::write(fd, buf, static_cast<std::size_t>(len)) < 0 && errno == EINTR)
    ;
}

// The process groups it was told of (process-group containment only).
constexpr int max_groups = 1 << 16;
int groups[max_groups];
int group_count = 0;

void handle(const char* line, bool& armed) {
  switch (line[0]) {
    case 'A':
      armed = true;
      return;
    case 'D':
      armed = false;
      return;
    case '+':
      if (group_count < max_groups)
        groups[group_count++] = std::atoi(line + 1);
      return;
    case '-': {
      int pgid = std::atoi(line + 1);
      for (int k = 0; k < group_count; ++k)
        if (groups[k] == pgid) {
          groups[k] = groups[--group_count];
          break;
        }
      return;
    }
    default:
      return;
  }
}

// The guardian's whole life: read until grace's end closes, then act.
// Forked before grace has a thread of its own, so it may allocate.
[[noreturn]] void guard(int in, const std::string* cgroup_dir) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN,
                  SIGTTOU, SIGUSR1, SIGUSR2})
    ::signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "grace-guardian");
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd)
    ::dup2(null, fd);
  ::dup2(in, 3);
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  bool armed = false;
  char buf[4096];
  char line[32];
  std::size_t len = 0;
  for (;;) {
    auto n = ::read(3, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t k = 0; k < n; ++k) {
      if (buf[k] == '\n') {
        line[len] = '\0';
        handle(line, armed);
        len = 0;
      } else if (len + 1 < sizeof line) {
        line[len++] = buf[k];
      }
    }
  }
  if (armed) {
    if (cgroup_dir) {
      auto kill_file = *cgroup_dir + "/cgroup.kill";
      int fd = ::open(kill_file.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        [[maybe_unused]] auto w = ::write(fd, "1", 1);
        ::close(fd);
      }
    }
    for (int k = 0; k < group_count; ++k)
      if (groups[k] > 1)
        ::kill(-groups[k], SIGKILL);
    // Once they are gone, the cgroups grace could not remove.
    if (cgroup_dir
        && cgroup_kill_and_wait(*cgroup_dir, std::chrono::seconds{5}))
      remove_cgroup_tree(*cgroup_dir);
  }
  ::_exit(0);
}

} // namespace

bool start_guardian(const std::string& cgroup_dir, std::string* why) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    if (why)
      *why = std::string{"pipe: "} + std::strerror(errno);
    return false;
  }
  auto pid = ::fork();
  if (pid < 0) {
    if (why)
      *why = std::string{"fork: "} + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    ::close(fds[1]);
    guard(fds[0], cgroup_dir.empty() ? nullptr : &cgroup_dir);
  }
  ::close(fds[0]);
  guardian = pid;
  write_end = fds[1];
  return true;
}

void arm_guardian() {
  say('A');
}

void disarm_guardian() {
  say('D');
}

int guardian_pid() {
  return guardian;
}

void guardian_watch_group(int pgid) {
  say('+', pgid);
}

void guardian_forget_group(int pgid) {
  say('-', pgid);
}

} // namespace grace::runtime
