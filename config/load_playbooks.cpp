// The loader: playbooks and their steps (loader_impl.hpp).
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

void loader::load_playbooks(node_id id) {
  fields f{w_, id, "playbooks"};
  for (auto& e : f.entries()) {
    if (auto why = check_name(e.key); !why.empty()) {
      w_.error(e.key_node, "playbooks: " + why);
      continue;
    }
    auto builtin = [&](std::string_view n) { return n == e.key; };
    if (std::any_of(builtin_playbooks.begin(), builtin_playbooks.end(), builtin)
        || std::any_of(parameterised_playbooks.begin(),
                       parameterised_playbooks.end(), builtin)) {
      w_.error(e.key_node, "playbooks: " + quote(e.key)
                             + " is a built-in playbook; choose another "
                               "name");
      continue;
    }
    cfg_.playbooks[e.key] = playbook(e.key, e.value);
  }
}

playbook_spec loader::playbook(const std::string& name, node_id id) {
  playbook_spec pb;
  pb.name = name;
  pb.where = w_.pos(id);
  pb.max_attempts = defaults::max_attempts;
  auto prefix = "playbooks." + name;
  fields f{w_, id, prefix, {"steps", "max_attempts", "on_failure"}};
  if (!f.valid())
    return pb;
  if (auto v = f.get("steps")) {
    auto& list = w_.at(*v);
    if (list.type != yaml_node::kind::sequence || list.items.empty()) {
      w_.error(*v, f.label("steps") + ": expected a non-empty list of steps");
    } else {
      for (std::size_t i = 0; i < list.items.size(); ++i)
        if (auto s = step(list.items[i],
                          f.label("steps") + "[" + std::to_string(i) + "]"))
          pb.steps.push_back(std::move(*s));
    }
  } else {
    f.missing("steps");
  }
  if (auto v = f.get("max_attempts"))
    if (auto n = w_.integer(*v, f.label("max_attempts"), 1, 100))
      pb.max_attempts = static_cast<int>(*n);
  if (auto v = f.get("on_failure"))
    if (auto ref = w_.nonempty_string(*v, f.label("on_failure")))
      pb.on_failure = reference{*ref, w_.pos(*v)};
  return pb;
}

std::optional<step_spec> loader::step(node_id id, const std::string& label) {
  using k = step_spec::kind;
  step_spec s;
  s.where = w_.pos(id);
  s.timeout = defaults::step_timeout;
  auto kinds = names_of<step_spec::kind>();
  auto& n = w_.at(id);
  std::optional<node_id> arg;
  std::string key;
  if (n.type == yaml_node::kind::scalar) {
    key = n.value;
  } else if (n.type == yaml_node::kind::map) {
    std::vector<std::string_view> allowed = kinds;
    allowed.push_back("timeout");
    fields f{w_, id, label, allowed};
    for (auto& e : f.entries()) {
      if (e.key == "timeout")
        continue;
      if (!key.empty()) {
        w_.error(e.key_node, label + ": one step per list item (found "
                               + quote(key) + " and " + quote(e.key) + ")");
        return std::nullopt;
      }
      key = e.key;
      arg = e.value;
    }
    if (key.empty()) {
      w_.error(id, label + ": missing the step (one of: " + join(kinds) + ")");
      return std::nullopt;
    }
    if (auto t = f.get("timeout"))
      if (auto d
          = w_.dur(*t, label + ".timeout", false, std::chrono::milliseconds{1}))
        s.timeout = *d;
  } else {
    w_.error(id, label + ": expected a step name or a mapping, got "
                   + std::string{describe(n.type)});
    return std::nullopt;
  }
  auto kind = from_string<step_spec::kind>(key);
  if (!kind) {
    if (n.type == yaml_node::kind::scalar)
      w_.error(id, label + ": unknown step " + quote(key)
                     + did_you_mean(key, kinds));
    return std::nullopt; // a mapping's unknown key was reported already
  }
  s.what = *kind;
  auto needs = [&](std::string_view example) {
    w_.error(id, label + ": step '" + key + "' needs a value, e.g. "
                   + std::string{example});
  };
  auto takes_nothing = [&] {
    if (!arg)
      return true;
    auto& v = w_.at(*arg);
    if (v.type == yaml_node::kind::null
        || (v.type == yaml_node::kind::map && v.items.empty()))
      return true;
    w_.error(*arg, label + ": step '" + key + "' takes no value");
    return false;
  };
  switch (*kind) {
    case k::snapshot:
    case k::restart:
    case k::stop:
    case k::start:
    case k::free_port:
      if (!takes_nothing())
        return std::nullopt;
      break;
    case k::signal:
      if (!arg) {
        needs("{signal: SIGUSR1}");
        return std::nullopt;
      }
      if (auto sig = signal(*arg, label + ".signal"))
        s.signal = *sig;
      else
        return std::nullopt;
      break;
    case k::wait:
      if (!arg) {
        needs("{wait: 200ms}");
        return std::nullopt;
      }
      if (auto d = w_.dur(*arg, label + ".wait"))
        s.wait = *d;
      else
        return std::nullopt;
      break;
    case k::exec:
      if (!arg) {
        needs("{exec: [./bin/cleanup, --all]}");
        return std::nullopt;
      }
      if (auto argv = w_.argv(*arg, label + ".exec"))
        s.argv = std::move(*argv);
      else
        return std::nullopt;
      break;
    case k::notify:
      if (!arg) {
        needs("{notify: http://127.0.0.1:8080/hook}");
        return std::nullopt;
      }
      if (!notify(*arg, label + ".notify", s))
        return std::nullopt;
      break;
    case k::verify:
      s.within = defaults::verify_within;
      if (arg && w_.at(*arg).type != yaml_node::kind::null) {
        fields f{w_, *arg, label + ".verify", {"within"}};
        if (auto v = f.get("within"))
          if (auto d = w_.dur(*v, f.label("within"), false,
                              std::chrono::milliseconds{1}))
            s.within = *d;
      }
      break;
  }
  return s;
}

std::optional<int> loader::signal(node_id id, const std::string& label) {
  if (!w_.expect_scalar(id, label, "a signal name like SIGUSR1"))
    return std::nullopt;
  auto text = w_.at(id).value;
  std::vector<std::string_view> names;
  for (auto& s : signals()) {
    names.push_back(s.name);
    if (text == s.name || "SIG" + text == s.name)
      return s.number;
  }
  int number = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), number);
  if (res.ec == std::errc{} && res.ptr == text.data() + text.size()
      && number >= 1 && number <= 64)
    return number;
  w_.error(id, label + ": unknown signal " + quote(text)
                 + did_you_mean(text, names));
  return std::nullopt;
}

bool loader::notify(node_id id, const std::string& label, step_spec& s) {
  auto& v = w_.at(id);
  auto url = [&](node_id at, const std::string& text) {
    http_probe parsed;
    if (auto why = parse_http_url(text, parsed); !why.empty()) {
      w_.error(at, label + ": " + why);
      return false;
    }
    s.url = text;
    s.host = parsed.host;
    s.port = parsed.port;
    s.target = parsed.target;
    return true;
  };
  if (v.type == yaml_node::kind::scalar)
    return url(id, v.value);
  fields f{w_, id, label, {"url", "command"}};
  if (!f.valid())
    return false;
  if (f.has("url") == f.has("command")) {
    w_.error(id, label + ": expected exactly one of 'url' or 'command'");
    return false;
  }
  if (auto u = f.get("url")) {
    auto text = w_.nonempty_string(*u, f.label("url"));
    return text && url(*u, *text);
  }
  if (auto argv = w_.argv(*f.get("command"), f.label("command"))) {
    s.argv = std::move(*argv);
    return true;
  }
  return false;
}

} // namespace grace::config::detail
