// The loader: cross-references and semantic checks - names, cycles,
// start order, ports (loader_impl.hpp).
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "config/loader_impl.hpp"

namespace fs = std::filesystem;

namespace grace::config::detail {

void loader::index(const supervisor_spec& sup) {
  where_of_[sup.path] = sup.where;
  order_.push_back(sup.path);
  for (auto& c : sup.children) {
    if (auto* s = std::get_if<supervisor_spec>(&c.node)) {
      index(*s);
    } else {
      where_of_[c.path()] = c.where();
      order_.push_back(c.path());
    }
  }
}

void loader::resolve() {
  index(cfg_.root);
  std::vector<std::string_view> all_paths;
  for (auto& p : order_)
    all_paths.push_back(p);
  for (auto& [pool, members] : pools_)
    all_paths.push_back(pool);
  // depends_on: resolve names; pools stand for all their replicas.
  auto resolve_deps
    = [&](const std::string& self, std::vector<reference>& deps) {
        std::vector<reference> resolved;
        for (auto& d : deps) {
          std::vector<std::string> targets;
          if (where_of_.count(d.name))
            targets.push_back(d.name);
          else if (auto pool = pools_.find(d.name); pool != pools_.end())
            targets = pool->second;
          if (targets.empty()) {
            auto hint = did_you_mean(d.name, all_paths);
            if (hint.empty() && d.name.find('/') == std::string::npos)
              hint = " (depends_on takes full paths such as 'root/db')";
            w_.error(d.where,
                     "depends_on: unknown component " + quote(d.name) + hint);
            continue;
          }
          for (auto& t : targets) {
            if (t == self) {
              w_.error(d.where, "depends_on: " + quote(self)
                                  + " cannot depend on itself");
              continue;
            }
            resolved.push_back({t, d.where});
          }
        }
        deps = std::move(resolved);
      };
  visit_all([&](child_spec& c) { resolve_deps(c.path, c.depends_on); },
            [&](supervisor_spec& s) { resolve_deps(s.path, s.depends_on); });
  auto errors_before = w_.error_count();
  check_cycles();
  if (w_.error_count() == errors_before)
    check_start_order();
  // Playbook references.
  std::vector<std::string_view> playbook_names = builtin_playbooks;
  for (auto& [name, pb] : cfg_.playbooks)
    playbook_names.push_back(name);
  auto known_playbook = [&](const reference& ref, const std::string& label) {
    if (cfg_.playbooks.count(ref.name))
      return;
    if (std::find(builtin_playbooks.begin(), builtin_playbooks.end(), ref.name)
        != builtin_playbooks.end())
      return;
    if (std::find(parameterised_playbooks.begin(),
                  parameterised_playbooks.end(), ref.name)
        != parameterised_playbooks.end()) {
      w_.error(ref.where, label + ": built-in playbook " + quote(ref.name)
                            + " needs parameters; define a playbook with an "
                              "'"
                            + ref.name + "' step and name it here");
      return;
    }
    w_.error(ref.where, label + ": unknown playbook " + quote(ref.name)
                          + did_you_mean(ref.name, playbook_names));
  };
  visit_all(
    [&](child_spec& c) {
      for (auto& [mode, ref] : c.on)
        known_playbook(ref, "on." + std::string{to_string(mode)});
      check_anomalies(c);
    },
    [](supervisor_spec&) {});
  for (auto& [name, pb] : cfg_.playbooks) {
    if (!pb.on_failure)
      continue;
    auto& ref = *pb.on_failure;
    if (ref.name == "escalate" || ref.name == "safe_hold")
      continue;
    if (!cfg_.playbooks.count(ref.name)) {
      std::vector<std::string_view> options{"escalate", "safe_hold"};
      for (auto& [other, unused] : cfg_.playbooks)
        options.push_back(other);
      w_.error(ref.where, "playbooks." + name + ".on_failure: unknown playbook "
                            + quote(ref.name)
                            + did_you_mean(ref.name, options));
    }
  }
  check_playbook_cycles();
  check_ports();
  check_cluster();
}

void loader::check_anomalies(child_spec& c) {
  for (auto& p : c.probes) {
    auto* a = std::get_if<anomaly_probe>(&p.check);
    if (!a || a->of.name.empty())
      continue;
    auto target = std::find_if(c.probes.begin(), c.probes.end(),
                               [&](auto& q) { return q.name == a->of.name; });
    std::vector<std::string_view> names;
    for (auto& q : c.probes)
      if (q.name != p.name)
        names.push_back(q.name);
    auto label = p.name + " probe.of";
    if (target == c.probes.end()) {
      w_.error(a->of.where, label + ": no probe named " + quote(a->of.name)
                              + " in this component"
                              + did_you_mean(a->of.name, names));
    } else if (&*target == &p) {
      w_.error(a->of.where, label + ": a probe cannot watch itself");
    } else if (target->kind == probe_kind::anomaly
               || target->kind == probe_kind::heartbeat
               || target->kind == probe_kind::log
               || target->kind == probe_kind::file) {
      w_.error(a->of.where,
               label + ": probe " + quote(a->of.name) + " is a "
                 + std::string{to_string(target->kind)}
                 + " probe, which measures no value (use a tcp, http, "
                   "exec, kpi or resource probe)");
    }
  }
}

void loader::check_cycles() {
  std::unordered_map<std::string, std::vector<reference>> edges;
  visit_all([&](child_spec& c) { edges[c.path] = c.depends_on; },
            [&](supervisor_spec& s) {
              auto& out = edges[s.path];
              out = s.depends_on;
              for (auto& c : s.children)
                out.push_back({c.path(), {}});
            });
  enum class color { white, grey, black };
  std::unordered_map<std::string, color> colors;
  std::set<std::string> reported;
  struct frame {
    std::string path;
    std::size_t next = 0;
  };
  for (auto& start : order_) {
    if (colors[start] != color::white)
      continue;
    std::vector<frame> stack{{start, 0}};
    colors[start] = color::grey;
    while (!stack.empty()) {
      auto& top = stack.back();
      auto& out = edges[top.path];
      if (top.next == out.size()) {
        colors[top.path] = color::black;
        stack.pop_back();
        continue;
      }
      auto& edge = out[top.next++];
      auto& c = colors[edge.name];
      if (c == color::white) {
        c = color::grey;
        stack.push_back({edge.name, 0});
      } else if (c == color::grey) {
        // The cycle is the part of the stack from edge.name upwards.
        auto from = std::find_if(stack.begin(), stack.end(),
                                 [&](auto& f) { return f.path == edge.name; });
        std::string text;
        std::vector<std::string> members;
        for (auto i = from; i != stack.end(); ++i) {
          text += i->path + " -> ";
          members.push_back(i->path);
        }
        text += edge.name;
        std::sort(members.begin(), members.end());
        std::string key;
        for (auto& m : members)
          key += m + "|";
        if (!reported.insert(key).second)
          continue;
        // Point at a depends_on entry on the cycle (containment edges have
        // no position of their own).
        source_pos where = edge.where;
        for (auto i = from; where.line == 0 && i != stack.end(); ++i) {
          auto next
            = std::next(i) == stack.end() ? edge.name : std::next(i)->path;
          for (auto& e : edges[i->path])
            if (e.name == next && e.where.line > 0)
              where = e.where;
        }
        if (where.line == 0)
          where = where_of_[edge.name];
        w_.error(where, "depends_on: dependency cycle: " + text);
      }
    }
  }
}

void loader::check_start_order() {
  std::unordered_map<std::string, std::size_t> pos;
  for (auto& p : order_)
    pos.emplace(p, pos.size());
  auto under = [](const std::string& p, const std::string& root) {
    return p.size() > root.size() && p.compare(0, root.size(), root) == 0
           && p[root.size()] == '/';
  };
  auto check = [&](const std::string& self,
                   const std::vector<reference>& deps) {
    for (auto& d : deps) {
      if (pos[d.name] < pos[self])
        continue;
      if (under(d.name, self)) {
        w_.error(d.where, "depends_on: " + quote(self) + " cannot depend on "
                            + quote(d.name) + ", which is inside it");
        continue;
      }
      // Name the two siblings to reorder: the first components where the
      // paths part.
      std::size_t common = 0;
      for (std::size_t i = 0;
           i < self.size() && i < d.name.size() && self[i] == d.name[i]; ++i)
        if (self[i] == '/')
          common = i + 1;
      auto first = [&](const std::string& p) {
        auto slash = p.find('/', common);
        return p.substr(0, slash);
      };
      w_.error(d.where,
               "depends_on: " + quote(self) + " depends on " + quote(d.name)
                 + ", which starts after it (children start in "
                   "list order, each ready before the next): list "
                 + quote(first(d.name)) + " before " + quote(first(self)));
    }
  };
  visit_all([&](child_spec& c) { check(c.path, c.depends_on); },
            [&](supervisor_spec& sv) { check(sv.path, sv.depends_on); });
}

void loader::check_playbook_cycles() {
  for (auto& [name, pb] : cfg_.playbooks) {
    std::vector<std::string> chain{name};
    auto* cur = &pb;
    while (cur->on_failure && cfg_.playbooks.count(cur->on_failure->name)) {
      auto& next = cur->on_failure->name;
      if (std::find(chain.begin(), chain.end(), next) != chain.end()) {
        // Report each cycle once, from its smallest name.
        if (name == *std::min_element(chain.begin(), chain.end())
            && next == name) {
          std::string text;
          for (auto& c : chain)
            text += c + " -> ";
          w_.error(cur->on_failure->where,
                   "playbooks." + cur->name
                     + ".on_failure: playbooks fail over to each other in "
                       "a cycle: "
                     + text + name);
        }
        break;
      }
      chain.push_back(next);
      cur = &cfg_.playbooks.at(next);
    }
  }
}

void loader::check_ports() {
  std::unordered_map<std::uint16_t, std::string> owner;
  for_each_child(cfg_.root, [&](const child_spec& c) {
    for (auto p : c.ports) {
      auto [it, fresh] = owner.emplace(p, c.path);
      if (!fresh)
        w_.error(c.where, "ports: port " + std::to_string(p)
                            + " is also claimed by " + quote(it->second));
    }
  });
}

} // namespace grace::config::detail
