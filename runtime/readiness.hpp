// Readiness checks that poll the outside world from the I/O thread: a TCP
// port accepting connections, or a command exiting with code 0. The check
// retries every `interval` until it succeeds or is cancelled; it never blocks a
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/process.hpp"

namespace grace::runtime {

class io_loop;

/// Cancels a running check when set (from any thread).
using cancel_flag = std::shared_ptr<std::atomic<bool>>;

/// Calls `on_ready` on the I/O thread once `host:port` accepts a TCP
/// connection; tries every 250 us for 2 ms, then backs off to every
/// `interval`, until then, or until `cancel` is set.
void wait_for_tcp(io_loop& loop, std::string host, std::uint16_t port,
                  std::chrono::milliseconds interval, cancel_flag cancel,
                  std::function<void()> on_ready);

/// Calls `on_ready` on the I/O thread once `check` exits with code 0; runs
/// it again `interval` after each failed attempt, until `cancel` is set.
void wait_for_exec(io_loop& loop, spawn_options check,
                   std::chrono::milliseconds interval, cancel_flag cancel,
                   std::function<void()> on_ready);

} // namespace grace::runtime
