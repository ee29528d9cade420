// The monitor actor: one per probe of a component (SPEC.md section 4). It
// runs its check every `every` on the I/O thread (runtime/probes.hpp),
// never two at once, cuts a slow one at `timeout`, and after `failures`
// consecutive failures raises one failure_report to the coordinator (through
// its process actor, which drops it if that instance is gone) - once,
// until a check passes again or the component restarts. It is paused while
// its component is not ready (stopped, restarting) and resumed by its
// process actor once it is, after the probe's `initial_delay` if it has one.
//
//   paused --unpause--> watching --check fails N times--> raised
//     ^                   |  ^                              |
//     +------pause--------+  +----------check passes--------+
//
// A fresh check (check_atom, for verification) answers with the first
// check that starts after the request.
#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/node_context.hpp"
#include "config/schema.hpp"
#include "runtime/process.hpp"

namespace grace::runtime {
class output_sink;
} // namespace grace::runtime

namespace grace::actors {

/// Spawns the monitor of `probe` for the component at `path`, whose process
/// actor `child` links it; exec checks start like the child (`exec`, argv
/// replaced); log probes read the lines written to `out` and `err`.
/// Failures go to `ctx->coordinator`.
caf::actor spawn_monitor(caf::event_based_actor* child, const std::string& path,
                         const config::probe_spec& probe,
                         runtime::spawn_options exec, node_context_ptr ctx,
                         caf::actor supervisor,
                         std::shared_ptr<runtime::output_sink> out,
                         std::shared_ptr<runtime::output_sink> err);

} // namespace grace::actors
