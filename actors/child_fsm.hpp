// One supervised process's life as a table (STYLE.md: a pure core), phases
// by events, as s6-supervise keeps its own: what each event does in each
// phase, and what the process actor (child.cpp) must then carry out. No
// actors, no clock, no processes.
//
//   stopped   start -> spawning              stop -> stopped (said so)
//   blocked   start -> spawning (look again)  stop -> stopped
//             heal_failed -> stopped (a failed start)
//   spawning  spawned -> starting (stopping, if a stop came meanwhile)
//             spawn_failed -> stopped         port_held -> blocked
//             stop -> spawning (the stop follows the spawn)
//   starting  ready -> running                ready_timeout -> starting
//             exited -> stopped (a failure)   (killed; its exit says so)
//             respawned -> starting           stop -> stopping
//   running   exited -> stopped (a failure)   respawned -> starting
//             stop -> stopping
//   stopping  exited -> stopped (stopped)     respawned -> stopping (the
//             kill_timeout -> stopping        replacement goes too)
//             (SIGKILL)
//
// Any other event in a phase is ignored: it came too late or too early
// (a readiness after a stop, a start while starting).
//
// Verification and free_port are steps beside this table, not phases: a
// verification waits for `running` (child_readiness.cpp), free_port acts
// on whoever holds the ports of a `blocked` start (child_ports.cpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace grace::actors {

enum class child_phase : std::uint8_t {
  stopped,  // no process
  blocked,  // a start waits: one of its ports is held (free_port heals it)
  spawning, // being spawned (on the I/O thread for notify children)
  starting, // runs; not ready yet
  running,  // runs and is ready
  stopping, // asked to stop; its exit is awaited
};

enum class child_event : std::uint8_t {
  start,         // the supervisor (or a playbook) starts it
  port_held,     // the start found one of its ports held
  spawned,       // its process runs
  spawn_failed,  // it could not be spawned or confined
  ready,         // its readiness rule passed
  ready_timeout, // its readiness rule did not pass in time
  exited,        // its process ended
  respawned,     // it ended and its permit started the replacement at once
  stop,          // the supervisor stops it
  heal_failed,   // the playbook freeing its port gave up
  kill_timeout,  // it did not stop within its `shutdown` timeout
};

/// What the actor carries out after a transition.
enum class child_effect : std::uint8_t {
  ignore,           // the event has no meaning in this phase
  spawn,            // look for held ports, confine, spawn
  wait_for_port,    // tell the coordinator: its playbook frees the port
  announce_started, // report `started`, arm readiness
  announce_ready,   // report `ready`, unpause probes, answer verifications
  kill,             // SIGKILL its group (readiness or shutdown timed out)
  report_failure,   // report the exit to the supervisor (a failure)
  report_restarted, // report the exit and its replacement, arm readiness
  report_stopped,   // report `stopped`
  report_no_start,  // report a failed start (spawn, sandbox, held port)
  begin_stop,       // stop_signal (then SIGKILL after `shutdown`)
  stop_after_spawn, // remembered: the stop follows the spawn
};

/// A child's phase and the two facts the table needs beside it.
struct child_fsm {
  child_phase now = child_phase::stopped;
  bool stop_pending = false;    // a stop arrived while spawning
  bool ready_timed_out = false; // killed for not being ready in time
};

/// Applies `e` to `f` and returns what the actor must do.
child_effect step(child_fsm& f, child_event e);

std::string_view to_string(child_phase p);
std::string_view to_string(child_event e);

} // namespace grace::actors
