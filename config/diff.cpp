#include "config/diff.hpp"

#include <map>

namespace grace::config {

namespace {

void strip(reference& r) {
  r.where = {};
}

void strip(child_spec& c) {
  c.where = {};
  for (auto& p : c.probes) {
    p.where = {};
    if (auto* a = std::get_if<anomaly_probe>(&p.check))
      strip(a->of);
  }
  for (auto& [mode, ref] : c.on)
    strip(ref);
  for (auto& d : c.depends_on)
    strip(d);
}

// A supervisor's own settings, children and positions aside.
bool same_settings(const supervisor_spec& a, const supervisor_spec& b) {
  auto deps = [](std::vector<reference> v) {
    for (auto& r : v)
      strip(r);
    return v;
  };
  return a.strategy == b.strategy && a.intensity == b.intensity
         && a.period == b.period && a.on_exhausted == b.on_exhausted
         && a.restart == b.restart && a.shutdown == b.shutdown
         && deps(a.depends_on) == deps(b.depends_on);
}

void compare(const supervisor_spec& before, const supervisor_spec& after,
             tree_diff& out) {
  if (!same_settings(before, after))
    out.retuned.push_back(after.path);
  std::map<std::string, const component_spec*> old_children;
  for (auto& c : before.children)
    old_children[c.name()] = &c;
  // This supervisor's removals first, then what changed below it.
  // (A process that became a supervisor, or the other way round, is
  // removed and added.)
  std::map<std::string, bool> kept; // name -> is a supervisor
  for (auto& c : after.children)
    kept[c.name()] = c.is_supervisor();
  for (auto& c : before.children)
    if (auto k = kept.find(c.name());
        k == kept.end() || k->second != c.is_supervisor())
      out.removed.push_back(c.path());
  for (auto& c : after.children) {
    auto it = old_children.find(c.name());
    if (it == old_children.end()) {
      out.added.push_back(c.path());
      continue;
    }
    auto& old = *it->second;
    old_children.erase(it);
    if (old.is_supervisor() != c.is_supervisor()) {
      out.added.push_back(c.path()); // its removal is listed already
      continue;
    }
    if (c.is_supervisor())
      compare(std::get<supervisor_spec>(old.node),
              std::get<supervisor_spec>(c.node), out);
    else if (!same_child(std::get<child_spec>(old.node),
                         std::get<child_spec>(c.node)))
      out.changed.push_back(c.path());
  }
}

} // namespace

bool same_child(const child_spec& a, const child_spec& b) {
  auto x = a;
  auto y = b;
  strip(x);
  strip(y);
  return x == y;
}

tree_diff diff_trees(const supervisor_spec& before,
                     const supervisor_spec& after) {
  tree_diff out;
  compare(before, after, out);
  return out;
}

} // namespace grace::config
