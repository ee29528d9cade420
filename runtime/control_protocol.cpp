#include "runtime/control_protocol.hpp"

#include <nlohmann/json.hpp>

namespace grace::runtime {

namespace {

using json = nlohmann::json;

std::string line_of(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json to_json(const component_status& c, std::int64_t now_ns) {
  json j{{"path", c.path},
         {"kind", c.supervisor ? "supervisor" : "process"},
         {"state", c.state},
         {"restarts", c.restarts}};
  j["pid"] = c.pid > 0 ? json(c.pid) : json(nullptr);
  j["uptime_seconds"] = c.ready_ns > 0
                          ? json(static_cast<double>(now_ns - c.ready_ns) / 1e9)
                          : json(nullptr);
  j["last_failure"]
    = c.last_failure.empty() ? json(nullptr) : json(c.last_failure);
  j["probes"] = c.probes.empty() ? json(nullptr) : json(c.probes);
  if (!c.node.empty())
    j["node"] = c.node;
  j["late"] = c.late;
  j["last_failure_ago_seconds"]
    = c.failed_ns > 0 ? json(static_cast<double>(now_ns - c.failed_ns) / 1e9)
                      : json(nullptr);
  return j;
}

} // namespace

std::variant<control_request_line, std::string>
parse_control_request(std::string_view line, const std::string& root) {
  json req;
  try {
    req = json::parse(line);
  } catch (const json::exception& e) {
    return failure_line(std::string{"malformed request: "} + e.what());
  }
  if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
    return failure_line("a request is an object with a \"cmd\" string");
  auto cmd = req["cmd"].get<std::string>();
  using c = control_command;
  static const std::pair<const char*, control_command> names[]
    = {{"status", c::status},     {"reload", c::reload}, {"events", c::events},
       {"shutdown", c::shutdown}, {"start", c::start},   {"stop", c::stop},
       {"restart", c::restart}};
  control_request_line out;
  auto known = false;
  for (auto& [name, value] : names)
    if (cmd == name) {
      out.cmd = value;
      known = true;
    }
  if (!known)
    return failure_line(
      "unknown command '" + cmd
      + "' (status, start, stop, restart, reload, events, shutdown)");
  if (out.cmd == c::start || out.cmd == c::stop || out.cmd == c::restart) {
    if (!req.contains("path") || !req["path"].is_string())
      return failure_line(cmd + " needs a \"path\"");
    out.path = req["path"].get<std::string>();
    if (out.path == root)
      return failure_line(out.path
                          + " is the root supervisor: use 'grace shutdown' to "
                            "stop everything");
  }
  return out;
}

std::string ok_line() {
  return line_of(json{{"ok", true}});
}

std::string failure_line(const std::string& why, std::string_view code) {
  auto j = json{{"ok", false}, {"error", why}};
  if (!code.empty())
    j["code"] = code;
  return line_of(j);
}

std::string status_line(const std::vector<component_status>& all,
                        std::int64_t now_ns,
                        const std::vector<node_status>& nodes) {
  json list = json::array();
  auto complete = true;
  for (auto& c : all) {
    list.push_back(to_json(c, now_ns));
    complete = complete && !c.late;
  }
  // complete: false when some part of the tree did not answer in time
  // (grace is busy): the answer is what had come in by then.
  json answer{{"ok", true}, {"complete", complete}, {"components", list}};
  if (!nodes.empty()) {
    json ns = json::array();
    for (auto& n : nodes) {
      json j{{"name", n.name}, {"up", n.up}, {"self", n.self}};
      j["down_for_seconds"]
        = !n.up && n.down_ns > 0
            ? json(static_cast<double>(now_ns - n.down_ns) / 1e9)
            : json(nullptr);
      ns.push_back(j);
    }
    answer["nodes"] = ns;
  }
  return line_of(answer);
}

std::string events_stream_line() {
  return line_of(json{{"ok", true}, {"stream", "events"}});
}

std::string state_event_line(const std::string& at_utc, const std::string& path,
                             const std::string& state, std::int32_t pid,
                             const std::string& detail) {
  json j{{"event", "state"}, {"at", at_utc}, {"path", path}, {"state", state}};
  j["pid"] = pid > 0 ? json(pid) : json(nullptr);
  if (!detail.empty())
    j["detail"] = detail;
  return line_of(j);
}

std::string incident_event_line(const std::string& at_utc,
                                const std::string& incident_line) {
  return R"({"event":"incident","at":")" + at_utc + R"(","incident":)"
         + incident_line + "}";
}

} // namespace grace::runtime
