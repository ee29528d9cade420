#include "playbooks/plan.hpp"

#include "config/defaults.hpp"

namespace grace::playbooks {

using config::failure_mode;
using config::step_spec;

std::string_view default_playbook(failure_mode mode) {
  switch (mode) {
    case failure_mode::port_in_use:
      return "free_port";
    case failure_mode::dependency_failed:
      return "restart_dependents";
    case failure_mode::restart_intensity_exceeded:
      return "escalate";
    default:
      return "restart";
  }
}

std::string playbook_for(const config::child_spec& child, failure_mode mode) {
  if (auto i = child.on.find(mode); i != child.on.end())
    return i->second.name;
  return std::string{default_playbook(mode)};
}

std::set<failure_mode> routed_to_playbooks(const config::child_spec& child) {
  std::set<failure_mode> out;
  for (auto& [mode, ref] : child.on)
    if (ref.name != "restart")
      out.insert(mode);
  return out;
}

std::vector<step_spec> with_verification(std::vector<step_spec> steps) {
  if (steps.empty() || steps.back().what != step_spec::kind::verify) {
    step_spec verify;
    verify.what = step_spec::kind::verify;
    verify.within = config::defaults::verify_within;
    verify.timeout = config::defaults::verify_within;
    steps.push_back(verify);
  }
  return steps;
}

namespace {

step_spec step(step_spec::kind what) {
  step_spec s;
  s.what = what;
  s.timeout = config::defaults::step_timeout;
  return s;
}

} // namespace

std::optional<plan> plan_of(const config::grace_config& cfg,
                            std::string_view name) {
  using k = step_spec::kind;
  plan p;
  p.name = std::string{name};
  if (auto i = cfg.playbooks.find(p.name); i != cfg.playbooks.end()) {
    p.steps = with_verification(i->second.steps);
    p.max_attempts = i->second.max_attempts;
    if (i->second.on_failure)
      p.on_failure = i->second.on_failure->name;
    return p;
  }
  p.builtin = true;
  if (name == "restart") {
    p.steps = with_verification({step(k::restart)});
  } else if (name == "free_port") {
    p.steps = with_verification({step(k::free_port), step(k::start)});
  } else if (name == "safe_hold") {
    // Held until an operator's `grace start`: nothing to verify.
    p.steps = {step(k::snapshot), step(k::stop)};
  } else if (name == "escalate" || name == "restart_dependents") {
    // Carried out by the supervisor and the coordinator, which own the tree
    // and the dependency graph; a plan without steps hands over to them.
  } else {
    return std::nullopt;
  }
  return p;
}

std::optional<plan> plan_for(const config::grace_config& cfg,
                             const config::child_spec* child,
                             config::failure_mode mode,
                             const builtin_deadlines& deadlines) {
  auto name
    = child ? playbook_for(*child, mode) : std::string{default_playbook(mode)};
  auto p = plan_of(cfg, name);
  if (p && p->builtin)
    for (auto& s : p->steps) {
      if (s.what == config::step_spec::kind::verify)
        s.within = s.timeout = deadlines.verify_within;
      if (s.what == config::step_spec::kind::restart
          || s.what == config::step_spec::kind::start)
        s.timeout = deadlines.restart_within;
    }
  return p;
}

} // namespace grace::playbooks
