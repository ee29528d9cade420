// One failure as the actors pass it on (messages.hpp), CAF-free: the record
// whoever noticed it fills once and everyone after passes on whole, and what
// the failed component was doing. Failure modes and severities are the
// config's (config/schema.hpp), incident statuses the record's
// (runtime/incident.hpp).
//
//   process actor -child_report-> supervisor  -failure_note-> tracker
//   monitor -failure_report->        coordinator -failure_note-> tracker
//
// Each message carries the same `component_failure`; the tracker hands it to
// its incident book (incident_book.hpp) in a failure_event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.hpp"

namespace grace::actors {

/// Named values for an incident's `detail` or an action's fields, in order:
/// numbers first, then texts (`port`, `holder_pid`, `holder_cmd`, ...).
struct note_fields {
  std::vector<std::pair<std::string, std::int64_t>> numbers;
  std::vector<std::pair<std::string, std::string>> texts;

  bool empty() const noexcept { return numbers.empty() && texts.empty(); }
};

/// What went wrong with one instance of a component. The component (its
/// path) and when grace observed it travel beside it, in the message.
struct component_failure {
  config::failure_mode mode = config::failure_mode::exited;
  std::int32_t pid = 0;    // the instance that failed, if known
  std::int32_t code = 0;   // an exit's code (or a spawn's errno)
  std::int32_t signal = 0; // the signal that ended it, or 0
  /// Why, in words: "killed by SIGSEGV", "ready_timeout", "cannot execute".
  std::string detail;
  std::string output; // what a failing check printed
  /// Steady nanoseconds when the failure itself happened, if earlier than
  /// grace observed it (a probe's first failing check); else 0.
  std::int64_t failed_ns = 0;
  note_fields fields; // into the incident's `detail`: port, holder_pid, ...
};

/// What a component was doing when it failed (its snapshot says so).
enum class instance_state : std::uint8_t {
  running, // it runs: a probe failed
  exited,  // its process ended
  blocked, // a start waits: one of its ports is held
};

constexpr std::string_view to_string(instance_state x) {
  switch (x) {
    case instance_state::running:
      return "running";
    case instance_state::exited:
      return "exited";
    case instance_state::blocked:
      return "blocked";
  }
  return "exited";
}

} // namespace grace::actors
