#include "playbooks/run.hpp"

namespace grace::playbooks {

next step_ok(run& r) {
  ++r.step;
  if (r.step >= r.current.steps.size())
    return after::held{};
  return after::step{};
}

next step_failed(run& r, const std::string& why,
                 const config::grace_config& cfg, std::string* fallback) {
  auto& p = r.current;
  if (r.attempt < p.max_attempts) {
    ++r.attempt;
    r.step = 0;
    return after::step{};
  }
  if (!p.on_failure)
    return after::failed{p.name + ": " + why};
  auto name = *p.on_failure;
  if (name == "escalate")
    return after::escalate{p.name + " failed: " + why};
  auto next_plan = plan_of(cfg, name);
  if (!next_plan)
    return after::failed{p.name + ": " + why + "; no playbook " + name};
  if (fallback)
    *fallback = name;
  r.current = std::move(*next_plan);
  r.step = 0;
  r.attempt = 1;
  return after::step{};
}

} // namespace grace::playbooks
