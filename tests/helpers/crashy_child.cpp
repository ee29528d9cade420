// The one misbehaving child of Grace's tests, steered by flags. Options run
// in the order given; without --exit or --signal it waits forever.
//
//   --stamp FILE       append "pid monotonic_ns" (CLOCK_MONOTONIC at start)
//   --pid-file FILE    write the pid
//   --print TEXT       print TEXT and a newline on stdout (--eprint: stderr)
//   --env NAME         print NAME=value of the environment on stdout
//   --cwd              print the working directory on stdout
//   --nofile           print the RLIMIT_NOFILE soft limit on stdout
//   --pgid             print "pgid=<n> pid=<n>" on stdout
//   --signals          print "pipe=dfl|ign term_blocked=0|1" on stdout
//   --ignore-term      ignore SIGTERM
//   --grandchild FILE  fork a child that sleeps forever; write its pid to FILE
//   --orphan FILE MS   fork a child that leaves the process group (setsid),
//                      writes its pid to FILE and exits after MS ms
//   --listen PORT      listen on 127.0.0.1:PORT
//   --unlisten         close that listening socket (and keep running)
//   --http PORT ONCE FIRST LOG  serve HTTP on PORT forever: status FIRST on
//                      the first run (file ONCE absent; 0 = no answer),
//                      200 after; per request, its first line (and its
//                      body, if any) in LOG
//   --notify TEXT      send TEXT (e.g. READY=1) to $NOTIFY_SOCKET
//   --grow MB MAX      allocate (and touch) MB MiB every 10 ms up to MAX MiB
//   --http-json PORT BODY  serve HTTP 200 with BODY on PORT
//   --http-sick PORT FILE  serve HTTP 200 on PORT, 503 while FILE holds
//                      this process's pid
//   --beat-sick MS FILE  WATCHDOG=1 every MS ms, none while FILE holds this
//                      process's pid
//   --beat MS ONCE STOP_MS  send WATCHDOG=1 every MS ms: forever, except
//                      on the first run (file ONCE absent) only for STOP_MS
//   --sleep MS         sleep MS milliseconds
//   --sleep-random MIN MAX  sleep MIN..MAX milliseconds, drawn at each start
//   --flood            write to stdout as fast as possible, forever
//   --first-run FILE   if FILE exists, skip the remaining options and wait;
//                      else create it and go on (misbehave only once)
//   --fail-times FILE N  count starts in FILE; exit 1 during the first N
//   --exit N           exit with code N
//   --signal N         kill itself with signal N
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

void write_file(const char* path, const std::string& text, bool append) {
  auto* f = std::fopen(path, append ? "a" : "w");
  if (!f) {
    std::perror(path);
    std::exit(100);
  }
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

long long monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void notify(const char* text) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) {
    std::fprintf(stderr, "crashy_child: NOTIFY_SOCKET is not set\n");
    std::exit(101);
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto len = std::min(std::strlen(path), sizeof(addr.sun_path) - 1);
  std::memcpy(addr.sun_path, path, len);
  // As sd_notify(3) does: '@' is the abstract namespace, whose names are
  // exactly `len` bytes long (no terminating NUL).
  if (addr.sun_path[0] == '@')
    addr.sun_path[0] = '\0';
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len
                                         + (path[0] == '@' ? 0 : 1));
  if (::sendto(fd, text, std::strlen(text), 0,
               reinterpret_cast<sockaddr*>(&addr), addr_len)
      < 0) {
    std::perror("sendto NOTIFY_SOCKET");
    std::exit(102);
  }
  ::close(fd);
}

} // namespace

// Returns the number in `path`, or -1.
static long read_int(const char* path) {
  auto* f = std::fopen(path, "r");
  if (!f)
    return -1;
  long v = -1;
  if (std::fscanf(f, "%ld", &v) != 1)
    v = -1;
  std::fclose(f);
  return v;
}

// A tiny HTTP/1.1 server, one connection at a time, never returns.
[[noreturn]] static void serve_http(uint16_t port, int status, const char* log,
                                    const char* sick = nullptr,
                                    const char* body = "ok") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(fd, 16) != 0) {
    std::fprintf(stderr, "crashy_child: bind: %s\n", std::strerror(errno));
    std::exit(98);
  }
  for (;;) {
    int c = ::accept(fd, nullptr, nullptr);
    if (c < 0)
      continue;
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      auto n = ::read(c, buf, sizeof buf);
      if (n <= 0)
        break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    if (log) {
      // The request line, then the posted if it has one (a POSTed JSON).
      auto head_end = request.find("\r\n\r\n");
      std::string posted;
      auto cl = request.find("Content-Length: ");
      if (head_end != std::string::npos && cl != std::string::npos
          && cl < head_end) {
        auto want
          = static_cast<std::size_t>(std::atol(request.c_str() + cl + 16));
        posted = request.substr(head_end + 4);
        while (posted.size() < want) {
          auto n = ::read(c, buf, sizeof buf);
          if (n <= 0)
            break;
          posted.append(buf, static_cast<std::size_t>(n));
        }
      }
      write_file(log,
                 request.substr(0, request.find("\r\n")) + "\n"
                   + (posted.empty() ? "" : posted + "\n"),
                 true);
    }
    if (sick && read_int(sick) == ::getpid()) {
      std::string reply = "HTTP/1.1 503 Sick\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n";
      if (::write(c, reply.data(), reply.size()) < 0)
        std::perror("write");
    } else if (status == 0) {
      sleep_ms(60'000); // never answers (in time)
    } else {
      auto reply
        = "HTTP/1.1 " + std::to_string(status)
          + " Whatever\r\nContent-Length: " + std::to_string(std::strlen(body))
          + "\r\nConnection: close\r\n\r\n" + body;
      if (::write(c, reply.data(), reply.size()) < 0)
        std::perror("write");
    }
    ::close(c);
  }
}

int main(int argc, char** argv) {
  auto start = monotonic_ns();
  int listener = -1;
  for (int i = 1; i < argc; ++i) {
    std::string opt = argv[i];
    auto arg = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "crashy_child: %s needs a value\n", opt.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (opt == "--stamp") {
      write_file(
        arg(), std::to_string(::getpid()) + " " + std::to_string(start) + "\n",
        true);
    } else if (opt == "--pid-file") {
      write_file(arg(), std::to_string(::getpid()) + "\n", false);
    } else if (opt == "--print") {
      std::printf("%s\n", arg());
      std::fflush(stdout);
    } else if (opt == "--eprint") {
      std::fprintf(stderr, "%s\n", arg());
    } else if (opt == "--env") {
      auto* name = arg();
      auto* value = std::getenv(name);
      std::printf("%s=%s\n", name, value ? value : "(unset)");
      std::fflush(stdout);
    } else if (opt == "--cwd") {
      char buf[4096];
      std::printf("%s\n", ::getcwd(buf, sizeof(buf)) ? buf : "?");
      std::fflush(stdout);
    } else if (opt == "--nofile") {
      rlimit r{};
      ::getrlimit(RLIMIT_NOFILE, &r);
      std::printf("nofile=%llu\n", static_cast<unsigned long long>(r.rlim_cur));
      std::fflush(stdout);
    } else if (opt == "--fds") {
      // The descriptors this process was started with.
      std::vector<int> fds;
      if (auto* d = ::opendir("/proc/self/fd")) {
        while (auto* e = ::readdir(d))
          if (e->d_name[0] != '.' && std::atoi(e->d_name) != ::dirfd(d))
            fds.push_back(std::atoi(e->d_name));
        ::closedir(d);
      }
      std::sort(fds.begin(), fds.end());
      std::string list;
      for (auto fd : fds) {
        if (!list.empty())
          list += ',';
        list += std::to_string(fd);
      }
      std::printf("fds=%s\n", list.c_str());
      std::fflush(stdout);
    } else if (opt == "--pgid") {
      std::printf("pgid=%d pid=%d\n", ::getpgid(0), ::getpid());
      std::fflush(stdout);
    } else if (opt == "--signals") {
      struct sigaction sa {};
      ::sigaction(SIGPIPE, nullptr, &sa);
      sigset_t mask;
      ::sigprocmask(SIG_BLOCK, nullptr, &mask);
      std::printf("pipe=%s term_blocked=%d\n",
                  sa.sa_handler == SIG_IGN ? "ign" : "dfl",
                  sigismember(&mask, SIGTERM));
      std::fflush(stdout);
    } else if (opt == "--ignore-term") {
      ::signal(SIGTERM, SIG_IGN);
    } else if (opt == "--grandchild") {
      auto* file = arg();
      auto pid = ::fork();
      if (pid == 0) {
        for (;;)
          ::pause();
      }
      write_file(file, std::to_string(pid) + "\n", false);
    } else if (opt == "--orphan") {
      auto* file = arg();
      auto ms = std::atol(arg());
      auto pid = ::fork();
      if (pid == 0) {
        ::setsid();
        write_file(file, std::to_string(::getpid()) + "\n", false);
        sleep_ms(ms);
        ::_exit(0);
      }
    } else if (opt == "--listen") {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(std::atoi(arg())));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
          || ::listen(fd, 16) != 0) {
        std::fprintf(stderr, "crashy_child: bind: %s\n", std::strerror(errno));
        std::exit(98);
      }
      listener = fd;
    } else if (opt == "--unlisten") {
      ::close(listener);
      listener = -1;
    } else if (opt == "--notify") {
      notify(arg());
    } else if (opt == "--sleep") {
      sleep_ms(std::atol(arg()));
    } else if (opt == "--sleep-random") {
      long lo = std::atol(arg());
      long hi = std::atol(arg());
      std::srand(static_cast<unsigned>(::getpid())
                 ^ static_cast<unsigned>(monotonic_ns()));
      sleep_ms(lo + (hi > lo ? std::rand() % (hi - lo + 1) : 0));
    } else if (opt == "--flood") {
      static char line[4096];
      std::memset(line, 'x', sizeof(line) - 1);
      line[sizeof(line) - 1] = '\n';
      for (;;)
        if (::write(1, line, sizeof(line)) < 0 && errno != EINTR)
          return 3;
    } else if (opt == "--http") {
      // Serves HTTP on 127.0.0.1:PORT forever: status FIRST on the first
      // run (file ONCE absent; 0 = never answer), 200 after; one line per
      // request in LOG.
      auto port = static_cast<uint16_t>(std::atoi(arg()));
      auto* once = arg();
      auto first_status = std::atoi(arg());
      auto* log = arg();
      auto first = ::access(once, F_OK) != 0;
      if (first)
        write_file(once, "1\n", false);
      serve_http(port, first ? first_status : 200, log);
    } else if (opt == "--grow") {
      // Grows by MB MiB every 10 ms, touching every page, up to MAX MiB.
      auto step = std::atol(arg());
      auto max = std::atol(arg());
      for (long total = 0; total < max; total += step) {
        auto bytes = static_cast<std::size_t>(step) << 20;
        auto* p = static_cast<char*>(std::malloc(bytes));
        if (!p)
          break;
        std::memset(p, 1, bytes); // resident, not just reserved
        sleep_ms(10);
      }
    } else if (opt == "--http-json") {
      // Serves 200 with BODY on PORT.
      auto port = static_cast<uint16_t>(std::atoi(arg()));
      auto* body = arg();
      serve_http(port, 200, nullptr, nullptr, body);
    } else if (opt == "--http-sick") {
      // Serves 200 on PORT, 503 while FILE holds this process's pid.
      auto port = static_cast<uint16_t>(std::atoi(arg()));
      auto* sick = arg();
      serve_http(port, 200, nullptr, sick);
    } else if (opt == "--beat-sick") {
      // WATCHDOG=1 every MS ms, none while FILE holds this process's pid.
      auto every = std::atol(arg());
      auto* sick = arg();
      for (;;) {
        if (read_int(sick) != ::getpid())
          notify("WATCHDOG=1");
        sleep_ms(every);
      }
    } else if (opt == "--beat") {
      // WATCHDOG=1 every MS; on the first run (ONCE absent) only for
      // STOP_MS, then silence (a hang), else forever.
      auto every = std::atol(arg());
      auto* once = arg();
      auto stop = std::atol(arg());
      auto first = ::access(once, F_OK) != 0;
      if (first)
        write_file(once, "1\n", false);
      for (long waited = 0; !first || waited < stop; waited += every) {
        notify("WATCHDOG=1");
        sleep_ms(every);
      }
    } else if (opt == "--first-run") {
      auto* file = arg();
      if (::access(file, F_OK) == 0)
        break;
      write_file(file, "1\n", false);
    } else if (opt == "--fail-times") {
      auto* file = arg();
      auto limit = std::atoi(arg());
      write_file(file, "x", true);
      long runs = 0;
      if (auto* f = std::fopen(file, "r")) {
        while (std::fgetc(f) == 'x')
          ++runs;
        std::fclose(f);
      }
      if (runs <= limit)
        return 1;
    } else if (opt == "--exit") {
      std::exit(std::atoi(arg()));
    } else if (opt == "--signal") {
      auto sig = std::atoi(arg());
      ::signal(sig, SIG_DFL);
      ::raise(sig);
      return 99;
    } else {
      std::fprintf(stderr, "crashy_child: unknown option %s\n", opt.c_str());
      return 2;
    }
  }
  for (;;)
    ::pause();
}
