#include "actors/launch.hpp"

#include <string_view>

extern char** environ;

namespace grace::actors {

runtime::spawn_options base_options(const config::child_spec& spec) {
  runtime::spawn_options o;
  o.argv = spec.argv;
  // What the child gets from grace's own environment: all but what the
  // config or grace sets for it (else the child would see both, and
  // getenv() the inherited one), and NOTIFY_SOCKET and LISTEN_*, which
  // belong to grace's own supervisor.
  auto set_here = [&spec](std::string_view name) {
    for (auto own :
         {"GRACE_COMPONENT", "GRACE_ATTEMPT", "WATCHDOG_USEC", "NOTIFY_SOCKET"})
      if (name == own)
        return true;
    // A user: child gets that user's (runtime::spawn).
    if (spec.user)
      for (auto theirs : {"HOME", "USER", "LOGNAME", "SHELL"})
        if (name == theirs)
          return true;
    for (auto& [k, v] : spec.env)
      if (name == k)
        return true;
    return name.starts_with("LISTEN_");
  };
  for (auto** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    if (!set_here(kv.substr(0, kv.find('='))))
      o.env.emplace_back(kv);
  }
  for (auto& [k, v] : spec.env)
    o.env.push_back(k + "=" + v);
  o.env.push_back("GRACE_COMPONENT=" + spec.path);
  o.cwd = spec.cwd;
  o.user = spec.user;
  for (auto& l : spec.limits)
    if (l.resource >= 0) // not `memory`: its cgroup's, not an rlimit
      o.limits.push_back({l.resource, l.value, l.unlimited});
  return o;
}

} // namespace grace::actors
