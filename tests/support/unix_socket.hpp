// A client's end of a unix stream socket, for tests of the control socket.
#pragma once

#include <cstdio>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace grace::test {

/// A connection to the unix socket at `path` (-1 if refused).
inline int dial(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace grace::test
