#include "actors/stale_instance.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

#include "actors/launch.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/process.hpp"

namespace grace::actors {

namespace {

// "/usr/bin/x" for "/usr/bin/x (deleted)" (/proc/PID/exe of a replaced
// binary).
std::string live_exe(std::string exe) {
  constexpr std::string_view deleted{" (deleted)"};
  if (exe.ends_with(deleted))
    exe.resize(exe.size() - deleted.size());
  return exe;
}

} // namespace

bool is_stale_instance(const runtime::port_holder& h,
                       const config::child_spec& spec,
                       const runtime::containment* cgroups, int current) {
  if (h.pid <= 1 || h.pid == ::getpid() || h.pid == current)
    return false;
  auto owner = cgroups && !h.cgroup.empty() ? cgroups->component_of(h.cgroup)
                                            : std::string{};
  if (owner == spec.path)
    return true;
  if (h.component == spec.path)
    return true; // started for this component (by this grace or another)
  if (!owner.empty())
    return false; // another component's, running
  if (runtime::is_tracked(h.pid))
    return false; // another component of this grace, running
  auto exe
    = runtime::find_executable(spec.argv.front(), base_options(spec).env);
  if (exe.empty())
    return false;
  if (runtime::runs_file(h, exe))
    return true;
  // Or its file as it was before an upgrade replaced it.
  char real[4096];
  return ::realpath(exe.c_str(), real) && live_exe(h.exe) == real;
}

} // namespace grace::actors
