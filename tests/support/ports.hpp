// Ports for tests, asked of the kernel instead of fixed: two suites (or two
// tests) running at once on one machine never want the same one.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace grace::test {

/// Returns a loopback TCP port nobody listens on: one the kernel picked for
/// a socket bound to port 0, then closed. (Another program could take it
/// in between; the kernel hands out ephemeral ports round the range, so not
/// soon.)
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error{"socket() failed"};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error{"cannot bind a loopback port"};
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// free_port() as text, for configs and command lines.
inline std::string free_port_text() {
  return std::to_string(free_port());
}

} // namespace grace::test
