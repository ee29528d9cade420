#include "config/support.hpp"

namespace grace::config {

namespace {

void check(const supervisor_spec& sup, const std::string& no_memory,
           std::vector<config_error>& out) {
  auto refuse = [&](const source_pos& where, const std::string& path,
                    const std::string& what) {
    out.push_back(
      {where, path + ": " + what + " is not supported yet by 'grace run'"});
  };
  for (auto& c : sup.children) {
    if (auto* s = std::get_if<supervisor_spec>(&c.node)) {
      check(*s, no_memory, out);
      continue;
    }
    auto& ch = std::get<child_spec>(c.node);
    if (ch.replica.value_or(0) > 0)
      continue; // one report per pool is enough
    // A dependent waits for its dependency and is restarted after it
    // (restart_dependents); nothing else is built for either side yet.
    for (auto& l : ch.limits)
      if (l.resource < 0 && !no_memory.empty())
        out.push_back({l.where, ch.path + ": limits." + l.name
                                  + " (memory.max of its cgroup) cannot be "
                                    "set on this host: "
                                  + no_memory});
    for (auto& [mode, ref] : ch.on) {
      auto dependency = mode == failure_mode::dependency_failed;
      if (dependency != (ref.name == "restart_dependents"))
        refuse(ref.where, ch.path,
               "on." + std::string{to_string(mode)} + ": " + ref.name);
    }
  }
}

} // namespace

std::vector<config_error> unsupported_for_run(const grace_config& cfg,
                                              const std::string& no_memory) {
  std::vector<config_error> out;
  check(cfg.root, no_memory, out);
  return out;
}

} // namespace grace::config
