#include "config/topology.hpp"

#include <algorithm>
#include <set>

namespace grace::config {

topology::topology(const config::supervisor_spec& root) {
  struct walker {
    topology& t;
    void add(const std::string& path, const std::string& parent,
             const std::vector<config::reference>& deps) {
      t.position_[path] = t.position_.size();
      if (!parent.empty()) {
        t.parent_[path] = parent;
        t.children_[parent].push_back(path);
      }
      for (auto& d : deps) {
        t.depends_on_[path].push_back(d.name);
        t.dependents_[d.name].push_back(path);
      }
    }
    void visit(const config::supervisor_spec& s, const std::string& parent) {
      add(s.path, parent, s.depends_on);
      for (auto& c : s.children) {
        if (auto* child = std::get_if<config::child_spec>(&c.node))
          add(child->path, s.path, child->depends_on);
        else
          visit(std::get<config::supervisor_spec>(c.node), s.path);
      }
    }
  };
  walker{*this}.visit(root, {});
}

bool topology::has_dependents(const std::string& path) const {
  return dependents_.count(path) > 0;
}

bool topology::is_dependent(const std::string& path) const {
  return !dependencies(path).empty();
}

std::vector<std::string> topology::dependencies(const std::string& path) const {
  std::vector<std::string> out;
  for (auto p = path;;) {
    if (auto it = depends_on_.find(p); it != depends_on_.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
    auto up = parent_.find(p);
    if (up == parent_.end())
      break;
    p = up->second;
  }
  return out;
}

std::vector<std::string> topology::dependents(const std::string& path) const {
  std::set<std::string> seen;
  std::vector<std::string> todo{path};
  while (!todo.empty()) {
    auto p = std::move(todo.back());
    todo.pop_back();
    // What depends on p, or on anything inside it (restarted with it).
    std::vector<std::string> within{p};
    for (std::size_t k = 0; k < within.size(); ++k)
      if (auto c = children_.find(within[k]); c != children_.end())
        within.insert(within.end(), c->second.begin(), c->second.end());
    for (auto& w : within)
      if (auto it = dependents_.find(w); it != dependents_.end())
        for (auto& d : it->second)
          if (seen.insert(d).second)
            todo.push_back(d);
  }
  // A component inside a dependent supervisor goes with its supervisor.
  auto inside = [&](const std::string& p) {
    for (auto up = parent_.find(p); up != parent_.end();
         up = parent_.find(up->second))
      if (seen.count(up->second))
        return true;
    return false;
  };
  std::vector<std::string> out;
  for (auto& p : seen)
    if (!inside(p))
      out.push_back(p);
  std::sort(out.begin(), out.end(),
            [&](const std::string& a, const std::string& b) {
              return position(a) < position(b);
            });
  return out;
}

std::size_t topology::position(const std::string& path) const {
  auto it = position_.find(path);
  return it == position_.end() ? position_.size() : it->second;
}

} // namespace grace::config
