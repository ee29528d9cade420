// Ports for tests, asked of the kernel instead of fixed: two suites (or two
// tests) running at once on one machine never want the same one.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace grace::test {

/// Returns a loopback TCP port nobody listens on: one the kernel picked for
/// a socket bound to port 0, then closed. (Another program could take it
/// in between; the kernel hands out ephemeral ports round the range, so not
/// soon.)
/// Returns `n` different such ports (the sockets stay bound until all are
/// picked, or the kernel may hand out one port twice).
inline std::vector<std::uint16_t> free_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0
        || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0)
        ::close(fd);
      for (auto f : fds)
        ::close(f);
      throw std::runtime_error{"cannot bind a loopback port"};
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (auto fd : fds)
    ::close(fd);
  return ports;
}

inline std::uint16_t free_port() {
  return free_ports(1).front();
}

/// free_port() as text, for configs and command lines.
inline std::string free_port_text() {
  return std::to_string(free_port());
}

} // namespace grace::test
