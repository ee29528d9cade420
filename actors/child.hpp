// The process actor: one per child process in the tree. It starts the
// process when its supervisor says so, decides when it is ready, stops it
// (its stop signal to its group, SIGKILL after the shutdown timeout) and
// reports every change to its supervisor; its phases follow child_fsm.hpp.
// It decides no restart: the supervisor does (OTP semantics live there
// only). With the supervisor's permit for the next exit (the fast path,
// messages.hpp) its exit watcher spawns the replacement at once, as the
// supervisor decided in advance, and it reports both.
#pragma once

#include <caf/fwd.hpp>

#include "actors/node_context.hpp"
#include "config/schema.hpp"

namespace grace::actors {

/// Spawns the process actor of `spec`, monitored by and reporting to
/// `supervisor`. The process is not started until a start_atom arrives.
caf::actor spawn_process_actor(caf::event_based_actor* supervisor,
                               const config::child_spec& spec,
                               node_context_ptr ctx);

} // namespace grace::actors
