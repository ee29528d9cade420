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

#include "config/schema.hpp"
#include "runtime/process.hpp"

namespace grace::runtime {

class io_loop;

/// What one check found.
struct probe_result {
  bool ok = false;
  /// The failure mode when not ok: connectivity_lost, check_failed, ...
  config::failure_mode mode = config::failure_mode::check_failed;
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

/// POSTs `json` to `host:port` `target` (Content-Type application/json);
/// judged like probe_http() with a 2xx..3xx answer expected: `api_timeout`
/// past `timeout`, `api_error` otherwise. Used by `notify` steps.
void http_post(io_loop& loop, const std::string& host, std::uint16_t port,
               const std::string& target, std::string json,
               std::chrono::milliseconds timeout, probe_callback done);

/// Runs `check` (its stdout and stderr captured); fails with `check_failed`
/// on an exit code other than 0, a signal, a spawn failure, or `timeout`
/// (then its process group is killed). The value is its run time.
void probe_exec(io_loop& loop, spawn_options check,
                std::chrono::milliseconds timeout, probe_callback done);

/// What a file check remembers between runs (the last version seen).
struct file_memory {
  std::optional<std::string> last_text;
};

/// Checks the file at `path`: `file_stale` if it is missing or was not
/// modified within `max_age`; with `monotonic`, `version_rollback` if its
/// version (a number or a dotted version) is older than the last one seen.
/// Runs at once (a stat and a small read).
void probe_file(const std::string& path,
                std::optional<std::chrono::nanoseconds> max_age, bool monotonic,
                file_memory& memory, probe_callback done);

/// Limits for a process tree.
struct resource_limits {
  std::optional<std::uint64_t> max_rss; // bytes
  std::optional<double> max_cpu;        // percent of one core
  std::optional<std::uint64_t> max_fds;
  std::chrono::nanoseconds sustained{}; // over a limit this long raises
};

/// What a resource check remembers between runs.
struct resource_memory {
  std::optional<std::uint64_t> cpu_ticks; // the last sample
  std::chrono::steady_clock::time_point sampled{};
  std::optional<std::chrono::steady_clock::time_point> over_since;
};

/// Samples the tree of `pid` from /proc (what is in its `cgroup`, a
/// directory descriptor, where it has one): `resource_spike` once a limit
/// has been exceeded for `sustained` (CPU needs two samples). The value is
/// the RSS in bytes.
void probe_resource(int pid, int cgroup, const resource_limits& limits,
                    resource_memory& memory, probe_callback done);

/// A KPI's bounds and what it remembers between runs.
struct kpi_rule {
  std::string json_pointer; // empty: the first number of the output
  std::optional<double> above;
  std::optional<double> below;
  std::chrono::nanoseconds sustained{};
};

struct kpi_memory {
  std::optional<std::chrono::steady_clock::time_point> out_since;
};

/// Turns the result of the exec or http check behind a KPI into the KPI's
/// own: the number (its output's first number, or the value at the JSON
/// pointer) past `above` or `below` for `sustained` is `kpi_threshold`; a
/// check that failed, or output without the number, is `kpi_threshold` at
/// once (the KPI cannot be read). The value is the number.
probe_result judge_kpi(probe_result raw, const kpi_rule& rule,
                       kpi_memory& memory);

} // namespace grace::runtime
