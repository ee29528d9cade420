// The vocabulary of a failure as the actors pass it on (messages.hpp),
// CAF-free: what the failed component was doing. Failure modes and severities
// are the config's (config/schema.hpp), incident statuses the record's
// (runtime/incident.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace grace::actors {

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
