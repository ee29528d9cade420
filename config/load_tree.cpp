// The loader: the top level, supervisors and children (loader_impl.hpp).
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

std::optional<endpoint> loader::host_port(node_id id, const std::string& label,
                                          std::string_view example) {
  auto text = w_.nonempty_string(id, label);
  if (!text)
    return std::nullopt;
  auto colon = text->rfind(':');
  std::string host;
  std::string port;
  if (colon != std::string::npos) {
    host = text->substr(0, colon);
    port = text->substr(colon + 1);
  }
  if (host.starts_with('[') && host.ends_with(']'))
    host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  auto res = std::from_chars(port.data(), port.data() + port.size(), value);
  if (colon == std::string::npos || host.empty() || port.empty()
      || res.ec != std::errc{} || res.ptr != port.data() + port.size()
      || value == 0 || value > 65535) {
    w_.error(id, label + ": expected host:port (e.g. " + std::string{example}
                   + "), got " + quote(*text));
    return std::nullopt;
  }
  return endpoint{host, static_cast<std::uint16_t>(value)};
}

void loader::load_metrics(node_id id) {
  cfg_.metrics = host_port(id, "metrics", "127.0.0.1:9464");
}

shutdown_spec loader::shutdown(node_id id, const std::string& label,
                               shutdown_spec fallback) {
  if (!w_.expect_scalar(id, label, "a duration, brutal_kill or infinity"))
    return fallback;
  auto& text = w_.at(id).value;
  if (text == "brutal_kill")
    return {shutdown_spec::kind::brutal_kill, {}};
  if (text == "infinity")
    return {shutdown_spec::kind::infinity, {}};
  auto parsed = parse_duration(text, false);
  if (auto* d = std::get_if<duration>(&parsed))
    return {shutdown_spec::kind::timeout, *d};
  w_.error(id, label + ": expected a duration, brutal_kill or infinity, got "
                 + quote(text));
  return fallback;
}

backoff_spec loader::backoff(node_id id, const std::string& label,
                             backoff_spec result) {
  fields f{w_, id, label, backoff_keys};
  if (!f.valid())
    return result;
  if (auto v = f.get("min"))
    if (auto d = w_.dur(*v, f.label("min")))
      result.min = *d;
  if (auto v = f.get("max"))
    if (auto d = w_.dur(*v, f.label("max")))
      result.max = *d;
  if (auto v = f.get("factor"))
    if (auto x = w_.number(*v, f.label("factor"), 1.0, 1000.0))
      result.factor = *x;
  if (auto v = f.get("jitter"))
    if (auto x = w_.number(*v, f.label("jitter"), 0.0, 1.0))
      result.jitter = *x;
  if (result.min > result.max)
    w_.error(id, label + ": min (" + format_duration(result.min)
                   + ") is greater than max (" + format_duration(result.max)
                   + ")");
  return result;
}

std::vector<reference> loader::names(node_id id, const std::string& label,
                                     std::string_view what) {
  std::vector<reference> result;
  auto& n = w_.at(id);
  if (n.type != yaml_node::kind::sequence) {
    w_.error(id, label + ": expected a list of " + std::string{what} + ", got "
                   + std::string{describe(n.type)});
    return result;
  }
  for (std::size_t i = 0; i < n.items.size(); ++i) {
    auto item = n.items[i];
    auto path = w_.nonempty_string(item, label + "[" + std::to_string(i) + "]");
    if (!path)
      continue;
    auto dup
      = std::find_if(result.begin(), result.end(),
                     [&](const reference& r) { return r.name == *path; });
    if (dup != result.end()) {
      w_.error(item, label + ": " + quote(*path) + " is listed twice");
      continue;
    }
    result.push_back({*path, w_.pos(item)});
  }
  return result;
}

supervisor_spec loader::supervisor(node_id id, const std::string& parent_path,
                                   bool is_root) {
  supervisor_spec sup;
  sup.where = w_.pos(id);
  if (depth_ >= max_supervisor_depth) {
    w_.error(id, "supervisors nested more than "
                   + std::to_string(max_supervisor_depth)
                   + " deep (a recursive alias?)");
    too_many_ = true;
    return sup;
  }
  struct depth_guard {
    int& depth;
    explicit depth_guard(int& d) : depth(++d) {}
    ~depth_guard() { --depth; }
  } guard{depth_};
  sup.strategy = defaults::strategy;
  sup.intensity = defaults::intensity;
  sup.period = defaults::period;
  sup.on_exhausted = defaults::on_exhausted;
  sup.restart = defaults::restart;
  sup.shutdown = {defaults::supervisor_shutdown, {}};
  fields f{w_, id, "", supervisor_keys};
  if (!f.valid())
    return sup;
  if (auto v = f.get("name")) {
    if (auto name = w_.string(*v, "name")) {
      if (auto why = check_name(*name); !why.empty())
        w_.error(*v, "name: " + why);
      sup.name = *name;
    }
  } else if (is_root) {
    sup.name = std::string{defaults::root_name};
  } else {
    f.missing("name");
  }
  sup.path = parent_path.empty() ? sup.name : parent_path + "/" + sup.name;
  if (auto v = f.get("strategy"))
    if (auto x = w_.enumeration<strategy>(*v, "strategy"))
      sup.strategy = *x;
  if (auto v = f.get("intensity"))
    if (auto x = w_.integer(*v, "intensity", 0, 1'000'000))
      sup.intensity = static_cast<int>(*x);
  if (auto v = f.get("period"))
    if (auto x = w_.dur(*v, "period", false, std::chrono::milliseconds{1}))
      sup.period = *x;
  if (auto v = f.get("on_exhausted"))
    if (auto x = w_.enumeration<exhausted_action>(*v, "on_exhausted"))
      sup.on_exhausted = *x;
  if (is_root && f.has("nodes"))
    w_.error(*f.key_node("nodes"), "nodes: not allowed on the root supervisor "
                                   "(the root runs on every node; place its "
                                   "children)");
  for (auto key : {"restart", "shutdown", "depends_on"}) {
    if (is_root && f.has(key))
      w_.error(*f.key_node(key), std::string{key}
                                   + ": not allowed on the root supervisor "
                                     "(it has no parent)");
  }
  if (!is_root) {
    if (auto v = f.get("restart"))
      if (auto x = w_.enumeration<restart_type>(*v, "restart"))
        sup.restart = *x;
    if (auto v = f.get("shutdown"))
      sup.shutdown = shutdown(*v, "shutdown", sup.shutdown);
    if (auto v = f.get("depends_on"))
      sup.depends_on = names(*v, "depends_on", "component paths");
    if (auto v = f.get("nodes"))
      sup.nodes = nodes(*v);
  }
  ++components_;
  if (auto v = f.get("children"))
    children(*v, sup);
  else
    f.missing("children");
  return sup;
}

void loader::children(node_id id, supervisor_spec& sup) {
  auto& list = w_.at(id);
  if (list.type != yaml_node::kind::sequence) {
    w_.error(id, "children: expected a list, got "
                   + std::string{describe(list.type)});
    return;
  }
  std::unordered_map<std::string, source_pos> seen;
  auto add = [&](component_spec c) {
    auto [it, fresh] = seen.emplace(c.name(), c.where());
    if (!fresh && !c.name().empty()) {
      w_.error(c.where(), "duplicate name " + quote(c.name())
                            + " among the children of " + quote(sup.path)
                            + " (first at line "
                            + std::to_string(it->second.line) + ")");
      return;
    }
    sup.children.push_back(std::move(c));
  };
  for (auto item : list.items) {
    if (too_many_) // reported once; stop building a tree nobody can run
      return;
    auto& node = w_.at(item);
    if (node.type != yaml_node::kind::map) {
      w_.error(item, "children[]: expected a mapping, got "
                       + std::string{describe(node.type)});
      continue;
    }
    if (w_.has_key(item, "supervisor")) {
      fields entry{w_, item, ""};
      for (auto& e : entry.entries())
        if (e.key != "supervisor")
          w_.error(e.key_node,
                   "a supervisor entry has only the 'supervisor' key; move "
                     + quote(e.key) + " inside it");
      add(
        component_spec{supervisor(*entry.get("supervisor"), sup.path, false)});
    } else {
      for (auto& c : child(item, sup.path))
        add(component_spec{std::move(c)});
    }
    if (components_ > defaults::max_components && !too_many_) {
      too_many_ = true;
      w_.error(item, "too many components (more than "
                       + std::to_string(defaults::max_components)
                       + " processes and supervisors)");
    }
  }
}

std::vector<child_spec> loader::child(node_id id,
                                      const std::string& parent_path) {
  child_spec c;
  c.where = w_.pos(id);
  c.restart = defaults::restart;
  c.shutdown = cfg_.default_shutdown;
  c.backoff = cfg_.default_backoff;
  c.cwd = w_.base_dir();
  fields f{w_, id, "", child_keys};
  if (auto v = f.get("name")) {
    if (auto name = w_.string(*v, "name")) {
      if (auto why = check_name(*name); !why.empty())
        w_.error(*v, "name: " + why);
      c.name = *name;
    }
  } else {
    f.missing("name");
  }
  c.path = parent_path + "/" + c.name;
  auto command = f.get("command");
  auto shell = f.get("shell");
  if (command && shell) {
    w_.error(*f.key_node("shell"), "use either 'command' or 'shell', not both");
  } else if (command) {
    if (auto argv = w_.argv(*command, "command"))
      c.argv = std::move(*argv);
  } else if (shell) {
    if (auto line = w_.nonempty_string(*shell, "shell")) {
      c.argv = {"/bin/sh", "-c", *line};
      c.shell = true;
    }
  } else {
    f.missing("command");
  }
  if (auto v = f.get("restart"))
    if (auto x = w_.enumeration<restart_type>(*v, "restart"))
      c.restart = *x;
  if (auto v = f.get("shutdown"))
    c.shutdown = shutdown(*v, "shutdown", c.shutdown);
  if (auto v = f.get("stop_signal"))
    if (auto sig = signal(*v, "stop_signal"))
      c.stop_signal = *sig;
  if (auto v = f.get("ports"))
    c.ports = ports(*v);
  if (auto v = f.get("ready"))
    c.ready = ready(*v);
  if (auto v = f.get("env"))
    c.env = env(*v);
  if (auto v = f.get("cwd"))
    if (auto dir = w_.nonempty_string(*v, "cwd"))
      c.cwd = w_.absolute(*dir);
  if (auto v = f.get("user")) {
    c.user = w_.nonempty_string(*v, "user");
    if (c.user && !known_user(*c.user))
      w_.error(*v, "user: unknown user " + quote(*c.user)
                     + " (not in this machine's user database)");
  }
  if (auto v = f.get("limits"))
    c.limits = limits(*v);
  if (auto v = f.get("probes"))
    c.probes = probes(*v);
  if (auto v = f.get("on"))
    c.on = on(*v);
  if (auto v = f.get("severity"))
    c.severity = severities(*v);
  if (auto v = f.get("depends_on"))
    c.depends_on = names(*v, "depends_on", "component paths");
  if (auto v = f.get("nodes"))
    c.nodes = nodes(*v);
  if (auto v = f.get("backoff"))
    c.backoff = backoff(*v, "backoff", c.backoff);
  std::vector<child_spec> result;
  auto replicas = f.get("replicas");
  if (!replicas) {
    ++components_;
    result.push_back(std::move(c));
    return result;
  }
  auto n = w_.integer(*replicas, "replicas", 1, defaults::max_replicas);
  if (!n)
    return {std::move(c)};
  if (*n > 1 && !c.ports.empty())
    w_.error(*f.get("ports"),
             "ports: the " + std::to_string(*n)
               + " replicas of a pool cannot all own the same ports");
  if (*n > 1 && c.ready.how == ready_spec::kind::tcp)
    w_.error(*f.get("ready"),
             "ready.tcp: the " + std::to_string(*n)
               + " replicas of a pool cannot all listen on one port");
  pools_.emplace(c.path, std::vector<std::string>{});
  auto& members = pools_[c.path];
  for (int i = 0; i < *n; ++i) {
    auto replica = c;
    replica.name = c.name + "-" + std::to_string(i);
    replica.path = parent_path + "/" + replica.name;
    replica.replica = i;
    members.push_back(replica.path);
    result.push_back(std::move(replica));
  }
  components_ += static_cast<std::size_t>(*n);
  return result;
}

std::vector<std::uint16_t> loader::ports(node_id id) {
  std::vector<std::uint16_t> result;
  auto& n = w_.at(id);
  if (n.type != yaml_node::kind::sequence) {
    w_.error(id, "ports: expected a list of port numbers, got "
                   + std::string{describe(n.type)});
    return result;
  }
  for (std::size_t i = 0; i < n.items.size(); ++i) {
    auto p = w_.port(n.items[i], "ports[" + std::to_string(i) + "]");
    if (!p)
      continue;
    if (std::find(result.begin(), result.end(), *p) != result.end()) {
      w_.error(n.items[i], "ports: " + std::to_string(*p) + " is listed twice");
      continue;
    }
    result.push_back(*p);
  }
  return result;
}

ready_spec loader::ready(node_id id) {
  ready_spec r;
  r.within = defaults::ready_within;
  fields f{
    w_, id, "ready", {"tcp", "host", "notify", "exec", "delay", "within"}};
  if (!f.valid())
    return r;
  std::vector<std::string_view> kinds;
  for (auto k : {"tcp", "notify", "exec", "delay"})
    if (f.has(k))
      kinds.emplace_back(k);
  if (kinds.empty()) {
    w_.error(id, "ready: expected one of tcp, notify, exec or delay");
    return r;
  }
  if (kinds.size() > 1) {
    w_.error(*f.key_node(kinds[1]),
             "ready: use only one of tcp, notify, exec or delay (got "
               + join(kinds) + ")");
    return r;
  }
  auto kind = kinds.front();
  if (kind == "tcp") {
    r.how = ready_spec::kind::tcp;
    if (auto p = w_.port(*f.get("tcp"), "ready.tcp"))
      r.port = *p;
    r.host = std::string{defaults::ready_tcp_host};
    if (auto v = f.get("host"))
      if (auto host = w_.nonempty_string(*v, "ready.host"))
        r.host = *host;
  } else if (kind == "notify") {
    r.how = ready_spec::kind::notify;
    if (auto b = w_.boolean(*f.get("notify"), "ready.notify"); b && !*b)
      w_.error(*f.get("notify"),
               "ready.notify: must be true (leave 'ready' out to count a "
               "running process as ready)");
  } else if (kind == "exec") {
    r.how = ready_spec::kind::exec;
    if (auto argv = w_.argv(*f.get("exec"), "ready.exec"))
      r.argv = std::move(*argv);
  } else {
    r.how = ready_spec::kind::delay;
    if (auto d = w_.dur(*f.get("delay"), "ready.delay"))
      r.delay = *d;
  }
  if (kind != "tcp" && f.has("host"))
    w_.error(*f.key_node("host"), "ready.host: only used with ready.tcp");
  if (auto v = f.get("within")) {
    if (kind == "delay")
      w_.error(*f.key_node("within"),
               "ready.within: not used with ready.delay (the child is ready "
               "once the delay has passed)");
    else if (auto d
             = w_.dur(*v, "ready.within", false, std::chrono::milliseconds{1}))
      r.within = *d;
  }
  return r;
}

std::vector<std::pair<std::string, std::string>> loader::env(node_id id) {
  std::vector<std::pair<std::string, std::string>> result;
  fields f{w_, id, "env"};
  for (auto& e : f.entries()) {
    if (!valid_env_name(e.key)) {
      w_.error(e.key_node, "env: invalid variable name " + quote(e.key)
                             + " (allowed: A-Z, a-z, 0-9 and '_', not "
                               "starting with a digit)");
      continue;
    }
    if (e.key == "GRACE_COMPONENT" || e.key == "GRACE_ATTEMPT"
        || e.key == "NOTIFY_SOCKET") {
      w_.error(e.key_node, "env: " + e.key + " is set by grace");
      continue;
    }
    auto& v = w_.at(e.value);
    if (v.type == yaml_node::kind::null) {
      result.emplace_back(e.key, "");
      continue;
    }
    if (auto value = w_.string(e.value, "env." + e.key))
      result.emplace_back(e.key, *value);
  }
  return result;
}

std::vector<rlimit_spec> loader::limits(node_id id) {
  std::vector<rlimit_spec> result;
  std::vector<std::string_view> names;
  for (auto& r : rlimits())
    names.push_back(r.name);
  names.push_back("memory");
  fields f{w_, id, "limits", names};
  for (auto& e : f.entries()) {
    if (e.key == "memory") {
      // memory.max of the component's cgroup (grace run refuses it where
      // there is no memory controller: config/support.cpp).
      rlimit_spec spec{e.key, -1, 0, false, w_.pos(e.value)};
      if (auto bytes = w_.size(e.value, "limits.memory")) {
        if (*bytes == 0) {
          w_.error(e.value, "limits.memory: must be more than 0");
          continue;
        }
        spec.value = *bytes;
        result.push_back(spec);
      }
      continue;
    }
    auto info = std::find_if(rlimits().begin(), rlimits().end(),
                             [&](auto& r) { return r.name == e.key; });
    if (info == rlimits().end())
      continue; // reported as an unknown key
    auto label = "limits." + e.key;
    rlimit_spec spec{e.key, info->resource, 0, false, w_.pos(e.value)};
    auto& v = w_.at(e.value);
    if (v.type == yaml_node::kind::scalar
        && (v.value == "infinity" || v.value == "unlimited")) {
      spec.unlimited = true;
      result.push_back(spec);
      continue;
    }
    switch (info->kind) {
      case rlimit_info::unit::bytes:
        if (auto bytes = w_.size(e.value, label)) {
          spec.value = *bytes;
          result.push_back(spec);
        }
        break;
      case rlimit_info::unit::seconds:
        if (v.type == yaml_node::kind::scalar && !v.value.empty()
            && !std::isdigit(static_cast<unsigned char>(v.value.back()))) {
          if (auto d = w_.dur(e.value, label)) {
            spec.value = static_cast<std::uint64_t>(
              std::chrono::ceil<std::chrono::seconds>(*d).count());
            result.push_back(spec);
          }
          break;
        }
        [[fallthrough]];
      case rlimit_info::unit::count:
        if (auto n = w_.integer(e.value, label, 0,
                                std::numeric_limits<int64_t>::max())) {
          spec.value = static_cast<std::uint64_t>(*n);
          result.push_back(spec);
        }
        break;
    }
  }
  return result;
}

std::map<failure_mode, reference> loader::on(node_id id) {
  std::map<failure_mode, reference> result;
  fields f{w_, id, "on"};
  auto modes = names_of<failure_mode>();
  for (auto& e : f.entries()) {
    auto mode = from_string<failure_mode>(e.key);
    if (!mode) {
      w_.error(e.key_node, "on: unknown failure mode " + quote(e.key)
                             + did_you_mean(e.key, modes));
      continue;
    }
    if (auto name = w_.nonempty_string(e.value, "on." + e.key))
      result[*mode] = reference{*name, w_.pos(e.value)};
  }
  return result;
}

std::map<failure_mode, config::severity> loader::severities(node_id id) {
  std::map<failure_mode, config::severity> result;
  fields f{w_, id, "severity"};
  auto modes = names_of<failure_mode>();
  for (auto& e : f.entries()) {
    auto mode = from_string<failure_mode>(e.key);
    if (!mode) {
      w_.error(e.key_node, "severity: unknown failure mode " + quote(e.key)
                             + did_you_mean(e.key, modes));
      continue;
    }
    if (auto s = w_.enumeration<config::severity>(e.value, "severity." + e.key))
      result[*mode] = *s;
  }
  return result;
}

} // namespace grace::config::detail
