// How a component's process is started: its command, environment,
// directory, user and limits, from its spec and grace's own environment.
// CAF-free; the process actor adds what changes per start (GRACE_ATTEMPT,
// NOTIFY_SOCKET, its output).
#pragma once

#include "config/schema.hpp"
#include "runtime/process.hpp"

namespace grace::actors {

/// Returns how the child of `spec` is started: its command, environment
/// (grace's, less what the spec or grace sets for the child, its own
/// NOTIFY_SOCKET and LISTEN_*, and for a `user:` child HOME, USER, LOGNAME
/// and SHELL; then the spec's and GRACE_COMPONENT), directory, user and
/// limits. Its checks run likewise.
runtime::spawn_options base_options(const config::child_spec& spec);

} // namespace grace::actors
