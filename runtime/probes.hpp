// One health check of a component, run on the I/O thread and cut at its
// timeout: a TCP connect, an HTTP request, a command (scheduled health
// check). CAF-free: the
// monitor actor (actors/monitor.hpp) schedules them and decides what a run
// of failures means. Every check calls its callback exactly once, on the
// I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "runtime/process.hpp"

namespace grace::runtime {

class io_loop;

/// What one check found.
struct probe_result {
  bool ok = false;
  /// The failure mode when not ok: connectivity_lost, check_failed, ...
  std::string mode;
  /// Why, in words: "connection refused", "exit code 3", "timed out after
  /// 1s".
  std::string detail;
  /// A measured value (seconds for latencies), if the check has one.
  std::optional<double> value;
  /// Output a command printed (exec checks), at most 4 KiB.
  std::string output;
};

using probe_callback = std::function<void(probe_result)>;

/// Connects to `host:port`; fails with `connectivity_lost` on a refusal or
/// after `timeout`. The value is the connect latency.
void probe_tcp(io_loop& loop, const std::string& host, std::uint16_t port,
               std::chrono::milliseconds timeout, probe_callback done);

/// Sends `GET target` to `host:port` over HTTP/1.1 (Boost.Beast). Fails
/// with `api_timeout` when no complete answer arrives within `timeout`,
/// `rate_limited` on status 429, `api_error` on another status outside
/// [expect_min, expect_max] or when the connection fails. The value is the
/// latency; the output, the start of the body.
void probe_http(io_loop& loop, const std::string& host, std::uint16_t port,
                const std::string& target, int expect_min, int expect_max,
                std::chrono::milliseconds timeout, probe_callback done);

/// Runs `check` (its stdout and stderr captured); fails with `check_failed`
/// on an exit code other than 0, a signal, a spawn failure, or `timeout`
/// (then its process group is killed). The value is its run time.
void probe_exec(io_loop& loop, spawn_options check,
                std::chrono::milliseconds timeout, probe_callback done);

} // namespace grace::runtime
