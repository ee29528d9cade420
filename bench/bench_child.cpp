// The child every restart benchmark supervises: its first statement takes
// CLOCK_MONOTONIC. Then, if $BENCH_PORT is set, it listens on
// 127.0.0.1:$BENCH_PORT; if $BENCH_NOTIFY is set and $NOTIFY_SOCKET names a
// socket, it sends READY=1 there; and it takes a second stamp (ready). It
// reports "pid start_ns ready_ns" on the FIFO named by $BENCH_FIFO (one
// write, shorter than PIPE_BUF, so lines never interleave) and waits to be
// killed. Built static, so its own start-up is small and the same under
// every supervisor.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

long long now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

// Listens on 127.0.0.1:port; exits with status 3 if it cannot (a
// benchmark must not measure a child that is not ready).
void listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::listen(fd, 64) != 0) {
    std::perror("bench_child: listen");
    std::exit(3);
  }
}

// Sends READY=1 to the notify socket at `path` (a leading '@' is the
// abstract namespace).
void notify_ready(const char* path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  auto len = std::strlen(path);
  if (len == 0 || len >= sizeof(a.sun_path))
    return;
  std::memcpy(a.sun_path, path, len);
  if (path[0] == '@')
    a.sun_path[0] = '\0';
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  static constexpr char msg[] = "READY=1";
  ::sendto(fd, msg, sizeof(msg) - 1, 0, reinterpret_cast<sockaddr*>(&a),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

} // namespace

int main() {
  auto start = now_ns();
  if (const char* port = std::getenv("BENCH_PORT"); port && *port)
    listen_on(std::atoi(port));
  if (const char* sock = std::getenv("NOTIFY_SOCKET");
      sock && std::getenv("BENCH_NOTIFY"))
    notify_ready(sock);
  auto ready = now_ns();
  if (const char* fifo = std::getenv("BENCH_FIFO")) {
    int fd = ::open(fifo, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      char line[96];
      auto n = std::snprintf(line, sizeof(line), "%d %lld %lld\n", ::getpid(),
                             start, ready);
      if (::write(fd, line, static_cast<size_t>(n)) < 0)
        return 2;
      ::close(fd);
    }
  }
  for (;;)
    ::pause();
}
