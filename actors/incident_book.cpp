#include "actors/incident_book.hpp"

#include <algorithm>

namespace grace::actors {

using runtime::incident;
using runtime::incident_action;
using runtime::incident_status;

namespace {

void add_action(incident& inc, incident_action a) {
  if (inc.actions.size() < incident_book::max_actions)
    inc.actions.push_back(std::move(a));
}

bool under(const std::string& path, const std::string& root) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0
         && path[root.size()] == '/';
}

} // namespace

runtime::detail_fields to_detail(const note_fields& f) {
  runtime::detail_fields out;
  for (auto& [k, v] : f.numbers)
    out.emplace_back(k, v);
  for (auto& [k, v] : f.texts)
    out.emplace_back(k, v);
  return out;
}

std::optional<incident> incident_book::failed(const failure_event& e) {
  if (auto it = open_.find(e.path); it != open_.end()) {
    // Counted on the open incident, not opened again.
    auto& o = it->second;
    ++o.inc.failures;
    o.last = e.what;
    incident_action a;
    a.step = "failure";
    a.ok = false;
    a.at_us = e.wall_us;
    if (e.what.pid > 0)
      a.fields.emplace_back("pid", std::int64_t{e.what.pid});
    a.fields.emplace_back("mode", std::string{to_string(e.what.mode)});
    a.fields.emplace_back("detail", e.what.detail);
    add_action(o.inc, std::move(a));
    return std::nullopt;
  }
  open_incident o;
  o.detected_ns = e.at_ns;
  o.needs_verification = e.needs_verification;
  o.last = e.what;
  auto& what = e.what;
  auto& inc = o.inc;
  inc.detected_us = e.wall_us;
  inc.id = ids_.next(e.wall_us);
  inc.component = e.path;
  inc.failure_mode = to_string(what.mode);
  inc.severity = to_string(e.severity);
  inc.playbook = e.playbook.empty() ? "restart" : e.playbook;
  if (!e.caused_by.empty())
    inc.caused_by = e.caused_by;
  if (what.failed_ns > 0 && what.failed_ns <= e.at_ns)
    inc.ttd_seconds = static_cast<double>(e.at_ns - what.failed_ns) / 1e9;
  if (what.pid > 0)
    inc.detail.emplace_back("pid", std::int64_t{what.pid});
  if (what.signal > 0)
    inc.detail.emplace_back("signal", std::int64_t{what.signal});
  else if (what.mode == config::failure_mode::exited)
    inc.detail.emplace_back("code", std::int64_t{what.code});
  inc.detail.emplace_back("reason", what.detail);
  auto extra = to_detail(what.fields);
  inc.detail.insert(inc.detail.end(), extra.begin(), extra.end());
  if (!what.output.empty())
    inc.detail.emplace_back("output", what.output);
  auto copy = inc;
  last_[e.path] = inc.id;
  open_.emplace(e.path, std::move(o));
  return copy;
}

void incident_book::act(const std::string& path, incident_action a, int attempt,
                        const std::string& playbook) {
  auto it = open_.find(path);
  if (it == open_.end())
    return;
  auto& inc = it->second.inc;
  if (attempt > 0)
    inc.attempts = std::max(inc.attempts, attempt);
  else if (a.step == "restart")
    ++inc.attempts;
  if (!playbook.empty())
    inc.playbook = playbook;
  add_action(inc, std::move(a));
}

std::optional<incident>
incident_book::recovered(const std::string& path, const std::string& rule,
                         std::int32_t pid, std::int64_t at_ns,
                         std::int64_t wall_us, bool verification) {
  auto it = open_.find(path);
  if (it == open_.end())
    return std::nullopt;
  auto& o = it->second;
  if (o.needs_verification && !verification) {
    incident_action ready;
    ready.step = "ready";
    ready.at_us = wall_us;
    ready.fields.emplace_back("ready", rule);
    if (pid > 0)
      ready.fields.emplace_back("pid", std::int64_t{pid});
    add_action(o.inc, std::move(ready));
    return std::nullopt;
  }
  auto inc = std::move(o.inc);
  incident_action verify;
  verify.step = "verify";
  verify.at_us = wall_us;
  verify.fields.emplace_back("ready", rule);
  if (pid > 0)
    verify.fields.emplace_back("pid", std::int64_t{pid});
  // The verification is always recorded, even past the cap.
  inc.actions.push_back(std::move(verify));
  inc.status = incident_status::resolved;
  inc.closed_us = wall_us;
  inc.mttr_seconds
    = static_cast<double>(std::max<std::int64_t>(0, at_ns - o.detected_ns))
      / 1e9;
  open_.erase(it);
  return inc;
}

std::vector<open_incident>
incident_book::close(const std::string& path, bool subtree,
                     incident_status status, const std::string& why,
                     std::int64_t wall_us,
                     std::optional<config::severity> severity) {
  return close_if(
    [&](const std::string& p) {
      return p == path || (subtree && under(p, path));
    },
    status, why, wall_us, severity);
}

std::vector<open_incident> incident_book::close_all(incident_status status,
                                                    const std::string& why,
                                                    std::int64_t wall_us) {
  return close_if([](const std::string&) { return true; }, status, why,
                  wall_us);
}

bool incident_book::set_snapshot(const std::string& path,
                                 std::string relative) {
  auto it = open_.find(path);
  if (it == open_.end())
    return false;
  it->second.inc.snapshot = std::move(relative);
  return true;
}

std::string incident_book::incident_of(const std::string& path) const {
  if (auto it = open_.find(path); it != open_.end())
    return it->second.inc.id;
  auto it = last_.find(path);
  return it == last_.end() ? std::string{} : it->second;
}

const open_incident* incident_book::find(const std::string& path) const {
  auto it = open_.find(path);
  return it == open_.end() ? nullptr : &it->second;
}

std::vector<open_incident>
incident_book::close_if(const std::function<bool(const std::string&)>& which,
                        incident_status status, const std::string& why,
                        std::int64_t wall_us,
                        std::optional<config::severity> severity) {
  std::vector<std::string> paths;
  for (auto& [p, o] : open_)
    if (which(p))
      paths.push_back(p);
  std::sort(paths.begin(), paths.end());
  std::vector<open_incident> out;
  for (auto& p : paths) {
    auto it = open_.find(p);
    auto o = std::move(it->second);
    open_.erase(it);
    o.inc.status = status;
    o.inc.closed_us = wall_us;
    if (severity)
      o.inc.severity = to_string(*severity);
    if (!why.empty())
      o.inc.detail.emplace_back("outcome", why);
    out.push_back(std::move(o));
  }
  return out;
}

} // namespace grace::actors
