// Every default of the config schema in one place (OTP keeps its
// ?default_flags the same way). SPEC.md sections 2-5 are the source; a change
// here is a change of the external contract.
#pragma once

#include <chrono>
#include <string_view>

#include "config/schema.hpp"

namespace grace::config::defaults {

using namespace std::chrono_literals;

// -- file ---------------------------------------------------------------------

inline constexpr int schema_version = 1;
inline constexpr std::string_view log_dir = "logs";
inline constexpr fsync_policy fsync = fsync_policy::always;
inline constexpr std::string_view root_name = "root";

// -- supervision (SPEC.md section 3)
// -------------------------------------------

inline constexpr config::strategy strategy = strategy::one_for_one;
/// systemd's StartLimitBurst / StartLimitIntervalSec (OTP: 1 in 5 s).
inline constexpr int intensity = 5;
inline constexpr duration period = 10s;
inline constexpr exhausted_action on_exhausted = exhausted_action::escalate;
inline constexpr restart_type restart = restart_type::permanent;
inline constexpr duration child_shutdown = 5s;
/// Supervisors wait for their subtree (OTP's `infinity` for supervisors).
inline constexpr shutdown_spec::kind supervisor_shutdown
  = shutdown_spec::kind::infinity;
inline constexpr duration backoff_min = 100ms;
inline constexpr duration backoff_max = 10s;
inline constexpr double backoff_factor = 2.0;
inline constexpr double backoff_jitter = 0.1;
/// How long `ready: {tcp|notify|exec}` may take before `ready_timeout`.
inline constexpr duration ready_within = 10s;
inline constexpr std::string_view ready_tcp_host = "127.0.0.1";
inline constexpr int max_replicas = 10'000;
/// Processes and supervisors in one tree, after `replicas` expansion.
inline constexpr std::size_t max_components = 100'000;

// -- probes (SPEC.md section 4)
// -------------------------------------------------

inline constexpr duration probe_every = 1s;
inline constexpr duration probe_timeout = 1s;
inline constexpr int probe_failures = 1;
inline constexpr std::string_view probe_tcp_host = "127.0.0.1";
inline constexpr int http_expect_min = 200;
inline constexpr int http_expect_max = 399;
inline constexpr duration log_window = 10s;
inline constexpr int log_count = 1;
inline constexpr double anomaly_z = 4.0;
inline constexpr int anomaly_min_samples = 20;

// -- playbooks (SPEC.md section 5)
// ----------------------------------------------

inline constexpr int max_attempts = 1;
inline constexpr duration verify_within = 10s;
inline constexpr duration step_timeout = 30s;

/// Returns the severity of a failure mode unless the config overrides it.
constexpr config::severity severity_of(failure_mode mode) {
  using fm = failure_mode;
  switch (mode) {
    case fm::restart_intensity_exceeded:
    case fm::node_down:
    case fm::partitioned:
      return severity::critical;
    case fm::crashed:
    case fm::exited:
    case fm::spawn_failed:
    case fm::sandbox_failed:
    case fm::oom_killed:
    case fm::port_in_use:
    case fm::heartbeat_missed:
    case fm::ready_timeout:
      return severity::high;
    case fm::event_anomaly:
    case fm::rate_limited:
      return severity::low;
    default:
      return severity::medium;
  }
}

} // namespace grace::config::defaults
