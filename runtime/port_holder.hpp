// Who holds a TCP port: the listening sockets of /proc/net/tcp and tcp6,
// and the process whose /proc/PID/fd links to one of them. Used before a
// component that declares `ports:` starts, to tell a stale instance of it
// (stopped) from a foreign holder (waited for, never killed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grace::runtime {

/// Returns the socket inodes listening on `port` in the text of
/// /proc/net/tcp or /proc/net/tcp6.
std::vector<std::uint64_t> listening_inodes(std::string_view proc_net_tcp,
                                            std::uint16_t port);

/// A process holding a port.
struct port_holder {
  int pid = 0;
  std::string exe;               // /proc/PID/exe, if readable
  std::vector<std::string> argv; // /proc/PID/cmdline
  /// Its GRACE_COMPONENT (/proc/PID/environ): which component of a grace
  /// started it (or the process it was forked from); empty if none.
  std::string component;
  /// Its cgroup v2 path (/proc/PID/cgroup, "/grace-1234/root/api"); empty
  /// if none.
  std::string cgroup;
  /// The device and inode of its executable (0 if unreadable): a daemon
  /// that rewrites its argv still runs the same file.
  std::uint64_t exe_dev = 0;
  std::uint64_t exe_ino = 0;
  int ppid = 0;
  std::string command() const; // argv joined by spaces, trailing ones cut
};

/// Returns what /proc says of process `pid` (everything port_holder holds
/// but the port), if it exists.
std::optional<port_holder> describe_process(int pid);

/// Returns whether process `pid` runs the file `path` (same device and
/// inode).
bool runs_file(const port_holder& process, const std::string& path);

/// Returns the main process of the instance `worker` belongs to: its
/// farthest ancestor that runs the same executable, short of `stop_at`
/// (grace) and init: for an nginx worker, its master.
port_holder main_process(const port_holder& worker, int stop_at);

/// Returns whether anything listens on TCP `port` (IPv4 or IPv6): the
/// kernel's listening sockets through sock_diag (else /proc/net/tcp{,6}),
/// tens of microseconds.
bool port_listened(std::uint16_t port);

/// Returns the process listening on TCP `port` (IPv4 or IPv6), if any can
/// be seen: the socket's inode, then the process whose /proc/PID/fd links
/// to it (newest processes first). About a millisecond on a busy machine.
std::optional<port_holder> find_port_holder(std::uint16_t port);

} // namespace grace::runtime
