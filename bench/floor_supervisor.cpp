// The floor: the least a supervisor can do on Linux to restart a process.
// posix_spawn the child, wait for its pidfd to become readable, reap it with
// waitid(P_PIDFD), spawn again at once. Nothing else: no logging, no
// bookkeeping, no throttle. Grace's restart latency is compared with this.
//
//   floor_supervisor PROGRAM [ARGS...]
#include <cerrno>
#include <csignal>
#include <cstdio>

#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

volatile sig_atomic_t stop = 0;

void on_term(int) {
  stop = 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: floor_supervisor PROGRAM [ARGS...]\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_term;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  while (!stop) {
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[1], nullptr, nullptr, argv + 1, environ)
        != 0) {
      std::perror("posix_spawn");
      return 1;
    }
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    pollfd p{fd, POLLIN, 0};
    while (!stop && ::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    if (stop) {
      ::kill(pid, SIGKILL);
    }
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(fd), &info, WEXITED);
    ::close(fd);
  }
  return 0;
}
