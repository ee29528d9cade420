// The child every restart benchmark supervises: its first statement takes
// CLOCK_MONOTONIC, then it reports "pid start_ns" on the FIFO named by
// $BENCH_FIFO (one write, shorter than PIPE_BUF, so lines never interleave)
// and waits to be killed. Built static, so its own start-up is small and the
// same under every supervisor.
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <fcntl.h>
#include <unistd.h>

int main() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto start = static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
  if (const char* fifo = std::getenv("BENCH_FIFO")) {
    int fd = ::open(fifo, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      char line[64];
      auto n
        = std::snprintf(line, sizeof(line), "%d %lld\n", ::getpid(), start);
      if (::write(fd, line, static_cast<size_t>(n)) < 0)
        return 2;
      ::close(fd);
    }
  }
  for (;;)
    ::pause();
}
