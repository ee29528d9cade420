// Which holder of a component's port is a stale instance of it, safe to
// stop (SPEC.md section 3, free_port), and which is foreign, never killed.
// CAF-free, part of the pure core.
#pragma once

#include "config/schema.hpp"
#include "runtime/port_holder.hpp"

namespace grace::runtime {
class containment;
} // namespace grace::runtime

namespace grace::actors {

/// Whether `holder` is a stale instance of the component `spec`: in its
/// cgroup (left by an earlier run), started for it (GRACE_COMPONENT), or -
/// unless it belongs to another running component of this grace - running
/// the same executable file as its command (a daemon that rewrites its argv
/// and environ still does). `cgroups` may be null (process groups only);
/// `current` is the component's own running pid (-1 if none).
bool is_stale_instance(const runtime::port_holder& holder,
                       const config::child_spec& spec,
                       const runtime::containment* cgroups, int current);

} // namespace grace::actors
