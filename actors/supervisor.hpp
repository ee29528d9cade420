// The supervisor actor: one per supervisor in the config. It starts its
// children in order (each ready before the next), applies its strategy and
// restart intensity when one fails (Erlang/OTP's supervisor semantics,
// decided by restart_policy), and stops them in reverse order. A nested
// supervisor is a child like any other: it speaks the same start / stop /
// child_report protocol (messages.hpp) to its parent.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/node_context.hpp"
#include "config/schema.hpp"

namespace grace::actors {

/// Spawns the supervisor actor of `spec`, monitored by and reporting to
/// `parent`. Nothing starts until a start_atom arrives.
caf::actor spawn_supervisor(caf::event_based_actor* parent,
                            std::shared_ptr<const config::supervisor_spec> spec,
                            node_context_ptr ctx);

} // namespace grace::actors
