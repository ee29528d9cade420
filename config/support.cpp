#include "config/support.hpp"

#include <functional>
#include <map>

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

// Each component's placed unit in a cluster: the nearest of itself and its
// supervisors with `nodes:`, "" if none (it runs on every node).
void placed_units(const supervisor_spec& sup, const std::string& unit,
                  std::map<std::string, std::string>& out) {
  out[sup.path] = !sup.nodes.empty() ? sup.path : unit;
  for (auto& c : sup.children) {
    if (auto* s = std::get_if<supervisor_spec>(&c.node)) {
      placed_units(*s, out[sup.path], out);
      continue;
    }
    auto& ch = std::get<child_spec>(c.node);
    out[ch.path] = !ch.nodes.empty() ? ch.path : out[sup.path];
  }
}

// A dependency on a placed component from outside its unit would wait for
// a component that may run on another node: not carried out yet.
void check_placed_dependencies(const grace_config& cfg,
                               std::vector<config_error>& out) {
  std::map<std::string, std::string> unit;
  placed_units(cfg.root, "", unit);
  auto check_refs = [&](const std::string& path,
                        const std::vector<reference>& refs) {
    for (auto& d : refs) {
      auto it = unit.find(d.name);
      if (it == unit.end() || it->second.empty() || it->second == unit[path])
        continue;
      out.push_back({d.where, path + ": depends_on " + d.name
                                + ": it is placed on nodes of the cluster "
                                  "(nodes: of "
                                + it->second
                                + "), and a dependency on a component that "
                                  "may run on another node is not supported "
                                  "yet by 'grace run'"});
    }
  };
  std::function<void(const supervisor_spec&)> walk
    = [&](const supervisor_spec& sup) {
        check_refs(sup.path, sup.depends_on);
        for (auto& c : sup.children) {
          if (auto* s = std::get_if<supervisor_spec>(&c.node))
            walk(*s);
          else
            check_refs(std::get<child_spec>(c.node).path,
                       std::get<child_spec>(c.node).depends_on);
        }
      };
  walk(cfg.root);
}

} // namespace

std::vector<config_error> unsupported_for_run(const grace_config& cfg,
                                              const std::string& no_memory) {
  std::vector<config_error> out;
  check(cfg.root, no_memory, out);
  if (cfg.cluster)
    check_placed_dependencies(cfg, out);
  return out;
}

} // namespace grace::config
