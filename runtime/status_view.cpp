#include "runtime/status_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

namespace grace::runtime {

namespace {

using json = nlohmann::json;

std::string padded(std::string s, std::size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

const char* colour_of(const std::string& state) {
  if (state == "running")
    return "\033[32m"; // green
  if (state == "held" || state == "stopped" || state == "giving up")
    return "\033[31m"; // red
  return "\033[33m";   // yellow: on its way somewhere
}

} // namespace

std::string compact_age(double seconds) {
  if (!(seconds >= 0))
    seconds = 0;
  auto s = static_cast<long long>(std::floor(seconds));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

std::string render_event(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return line;
  auto at = j.value("at", std::string{});
  auto kind = j.value("event", std::string{});
  if (kind == "state") {
    auto out = at + " " + j.value("path", std::string{}) + " "
               + j.value("state", std::string{});
    if (j.contains("pid") && j["pid"].is_number())
      out += " (pid " + std::to_string(j["pid"].get<long long>()) + ")";
    if (j.contains("detail") && j["detail"].is_string())
      out += ": " + j["detail"].get<std::string>();
    return out;
  }
  if (kind == "incident" && j.contains("incident")
      && j["incident"].is_object()) {
    auto& x = j["incident"];
    auto out = at + " incident " + x.value("incident_id", std::string{}) + " "
               + x.value("component", std::string{}) + " "
               + x.value("failure_mode", std::string{}) + " "
               + x.value("status", std::string{});
    if (x.contains("mttr_seconds") && x["mttr_seconds"].is_number()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, " in %.1f ms",
                    x["mttr_seconds"].get<double>() * 1e3);
      out += buf;
    }
    return out;
  }
  return line;
}

std::string render_status(const std::string& answer, bool colour) {
  constexpr std::size_t max_failure_width = 60;
  json j = json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("components")
      || !j["components"].is_array())
    return {};
  struct row {
    std::string name, state, node, pid, uptime, restarts, probes, failure;
  };
  std::vector<row> rows;
  std::size_t name_width = 9;
  std::size_t probes_width = 8;
  std::size_t node_width = 0; // no column unless in a cluster
  auto late = false;
  for (auto& c : j["components"]) {
    if (!c.is_object())
      continue;
    auto path = c.value("path", std::string{});
    auto depth
      = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
    row r;
    r.name = std::string(2 * depth, ' ') + path.substr(path.rfind('/') + 1);
    r.state = c.value("state", std::string{});
    if (c.contains("node") && c["node"].is_string()) {
      r.node = c["node"].get<std::string>();
      node_width = std::max(node_width, r.node.size() + 2);
    }
    if (c.contains("pid") && c["pid"].is_number())
      r.pid = std::to_string(c["pid"].get<long long>());
    if (c.contains("uptime_seconds") && c["uptime_seconds"].is_number())
      r.uptime = compact_age(c["uptime_seconds"].get<double>());
    r.restarts = std::to_string(c.value("restarts", 0));
    if (c.contains("probes") && c["probes"].is_string())
      r.probes = c["probes"].get<std::string>();
    if (c.contains("late") && c["late"].is_boolean() && c["late"].get<bool>()) {
      r.probes += r.probes.empty() ? "late" : ", late";
      late = true;
    }
    probes_width = std::max(probes_width, r.probes.size() + 2);
    if (c.contains("last_failure") && c["last_failure"].is_string()) {
      // The table keeps to a line; --json has all of it.
      r.failure = c["last_failure"].get<std::string>();
      if (r.failure.size() > max_failure_width) {
        auto cut = max_failure_width - 3;
        while (cut > 0 && (r.failure[cut] & 0xC0) == 0x80)
          --cut; // not inside a UTF-8 sequence
        r.failure = r.failure.substr(0, cut) + "...";
      }
      if (c.contains("last_failure_ago_seconds")
          && c["last_failure_ago_seconds"].is_number())
        r.failure += ", "
                     + compact_age(c["last_failure_ago_seconds"].get<double>())
                     + " ago";
    }
    name_width = std::max(name_width, r.name.size());
    rows.push_back(std::move(r));
  }
  if (node_width > 0)
    node_width = std::max<std::size_t>(node_width, 6);
  auto node_column = [&](const std::string& text) {
    return node_width > 0 ? padded(text, node_width) : std::string{};
  };
  std::string out = padded("COMPONENT", name_width + 2) + padded("STATE", 11)
                    + node_column("NODE") + padded("PID", 9)
                    + padded("UPTIME", 9) + padded("RESTARTS", 10)
                    + padded("PROBES", probes_width) + "LAST FAILURE\n";
  for (auto& r : rows) {
    auto state = padded(r.state, 11);
    if (colour)
      state = colour_of(r.state) + state + "\033[0m";
    auto line = padded(r.name, name_width + 2) + state + node_column(r.node)
                + padded(r.pid, 9) + padded(r.uptime, 9)
                + padded(r.restarts, 10) + padded(r.probes, probes_width)
                + r.failure;
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  if (j.contains("nodes") && j["nodes"].is_array()) {
    std::string nodes;
    for (auto& n : j["nodes"]) {
      if (!n.is_object())
        continue;
      nodes += (nodes.empty() ? "" : ", ") + n.value("name", std::string{});
      if (n.value("self", false))
        nodes += " (this one)";
      if (n.value("up", false))
        nodes += " up";
      else if (n.contains("down_for_seconds")
               && n["down_for_seconds"].is_number())
        nodes
          += " down for " + compact_age(n["down_for_seconds"].get<double>());
      else
        nodes += " not heard from";
    }
    out += "NODES: " + nodes + "\n";
  }
  if (late)
    out += "late: its answer did not come in time (grace is busy); the row is "
           "what its supervisor knows, and a supervisor's rows below it are "
           "missing\n";
  return out;
}

} // namespace grace::runtime
