// The daemon's end of the control socket (SPEC.md section 7): a unix stream
// socket, mode 0600, newline-delimited JSON. Only the same user (or root)
// may talk to it (SO_PEERCRED). Every complete line is one request, handed
// to the handler with a function to answer it; a connection's requests are
// answered in order, one at a time. A line longer than 64 KiB, a client
// that sends nothing complete for a while (one byte a second) or too many
// clients at once get an error or are dropped; none of them blocks the
// daemon or other clients. With as many clients as it takes, a newcomer
// takes the place of the one idle longest (one that connected and never
// wrote, say); only if each has something under way is it refused. Runs on the
// I/O thread; Asio stays out of this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "runtime/errors.hpp"

namespace grace::runtime {

class io_loop;

/// What a control socket tolerates.
struct control_limits {
  std::size_t max_line = 64 * 1024;
  std::size_t max_clients = 128; // at once (the idlest makes room)
  /// A client this many lines, or bytes, behind (a stream it does not
  /// read) is dropped.
  std::size_t max_backlog = 10'000;
  std::size_t max_backlog_bytes = 1024 * 1024;
  /// A client that completes no request for this long is dropped.
  std::chrono::milliseconds idle{30'000};
};

class control_server {
public:
  using limits = control_limits;
  /// Answers a request with a JSON line (without the newline); callable
  /// from any thread. A plain answer is one call with `last` true. A stream
  /// (`grace events`) calls it again and again with `last` false, for as
  /// long as it returns true: false means the client is gone.
  using reply_fn = std::function<bool(std::string line, bool last)>;
  /// Handles one request line. Called on the I/O thread.
  using handler = std::function<void(std::string request, reply_fn reply)>;

  /// Listens on `path`. A stale socket file (nobody answers there) is
  /// replaced; a live one is an error (grace_errc::another_instance).
  /// Returns null and sets `error` on failure. Call on any thread but the
  /// I/O thread (it waits for the socket to be set up there).
  static std::unique_ptr<control_server> open(io_loop& loop,
                                              const std::string& path,
                                              handler on_request,
                                              failure* error, limits lim = {});

  /// Stops listening, drops the clients and removes the socket file.
  ~control_server();

  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  const std::string& path() const noexcept { return path_; }

  struct impl;

private:
  control_server(io_loop& loop, std::string path);
  io_loop& loop_;
  std::string path_;
  std::shared_ptr<impl> impl_;
};

/// Where the commands look for a grace without --control or $GRACE_CONTROL
/// (`grace run`'s socket for the default log_dir).
inline constexpr const char* default_control_socket = "logs/grace.sock";

/// Sends `request` (one JSON line) to the daemon at `path` and returns its
/// one-line answer; an empty string and `error` set when nobody answers
/// within `timeout`. For the command line.
std::string control_request(const std::string& path, const std::string& request,
                            std::chrono::milliseconds timeout,
                            std::string* error);

/// Sends `request` and calls `on_line` with every line the daemon answers
/// until it closes the connection or `on_line` returns false (a stream).
/// Returns false and sets `error` if nobody answers at `path`.
bool control_stream(const std::string& path, const std::string& request,
                    const std::function<bool(const std::string&)>& on_line,
                    std::string* error);

} // namespace grace::runtime
