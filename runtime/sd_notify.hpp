// The systemd notification protocol (sd_notify(3)), so daemons written for
// systemd run under grace unchanged: each child that asks for it gets its
// own datagram socket in $NOTIFY_SOCKET and sends `READY=1`, `WATCHDOG=1`,
// `STATUS=...`, `MAINPID=...` lines to it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/unique_fd.hpp"

namespace grace::runtime {

class io_loop;

/// One datagram, parsed. Unknown assignments are ignored, as systemd does.
struct notify_message {
  bool ready = false;
  bool watchdog = false;
  bool stopping = false;
  bool reloading = false;
  std::optional<std::string> status;
  std::optional<int> main_pid;
};

/// Parses a notification datagram (newline-separated VAR=value lines).
notify_message parse_notify(std::string_view datagram);

/// A child's notification socket, read on the I/O thread.
class notify_socket : public std::enable_shared_from_this<notify_socket> {
public:
  /// Called on the I/O thread with the sender's pid and process group.
  using handler = std::function<void(int pid, int pgid, notify_message)>;

  /// Binds a socket in the abstract namespace; returns nullptr (errno set)
  /// on failure. Call on the I/O thread.
  static std::shared_ptr<notify_socket> open(io_loop& loop, handler on_message);

  ~notify_socket();

  /// Returns the value for $NOTIFY_SOCKET (`@grace/...`).
  const std::string& address() const noexcept { return address_; }

  /// Stops reading and closes the socket. Call on the I/O thread.
  void close();

private:
  struct impl;
  explicit notify_socket(std::unique_ptr<impl> p);
  void wait();

  std::unique_ptr<impl> impl_;
  std::string address_;
};

} // namespace grace::runtime
