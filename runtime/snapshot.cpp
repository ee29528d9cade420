#include "runtime/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "config/units.hpp"
#include "runtime/incident.hpp"
#include "runtime/unique_fd.hpp"

namespace grace::runtime {

namespace {

using ojson = nlohmann::ordered_json;

std::string text(config::duration d) {
  return config::format_duration(d);
}

ojson shutdown_json(const config::shutdown_spec& s) {
  switch (s.how) {
    case config::shutdown_spec::kind::brutal_kill:
      return "brutal_kill";
    case config::shutdown_spec::kind::infinity:
      return "infinity";
    case config::shutdown_spec::kind::timeout:
      break;
  }
  return text(s.timeout);
}

ojson ready_json(const config::ready_spec& r) {
  ojson j;
  switch (r.how) {
    case config::ready_spec::kind::running:
      j["kind"] = "running";
      break;
    case config::ready_spec::kind::tcp:
      j["kind"] = "tcp";
      j["host"] = r.host;
      j["port"] = r.port;
      break;
    case config::ready_spec::kind::notify:
      j["kind"] = "notify";
      break;
    case config::ready_spec::kind::exec:
      j["kind"] = "exec";
      j["command"] = r.argv;
      break;
    case config::ready_spec::kind::delay:
      j["kind"] = "delay";
      j["delay"] = text(r.delay);
      break;
  }
  if (r.within.count() > 0)
    j["within"] = text(r.within);
  return j;
}

ojson child_json(const config::child_spec& c) {
  ojson j;
  j["name"] = c.name;
  j["command"] = c.argv;
  j["restart"] = std::string{to_string(c.restart)};
  j["shutdown"] = shutdown_json(c.shutdown);
  j["ready"] = ready_json(c.ready);
  auto env = ojson::object();
  for (auto& [k, v] : c.env)
    env[k] = v;
  j["env"] = std::move(env);
  j["cwd"] = c.cwd;
  if (c.user)
    j["user"] = *c.user;
  auto limits = ojson::object();
  for (auto& l : c.limits)
    limits[l.name] = l.unlimited ? ojson("unlimited") : ojson(l.value);
  j["limits"] = std::move(limits);
  j["ports"] = c.ports;
  j["backoff"] = {{"min", text(c.backoff.min)},
                  {"max", text(c.backoff.max)},
                  {"factor", c.backoff.factor},
                  {"jitter", c.backoff.jitter}};
  auto probes = ojson::array();
  for (auto& p : c.probes)
    probes.push_back(
      {{"name", p.name}, {"kind", std::string{to_string(p.kind)}}});
  j["probes"] = std::move(probes);
  return j;
}

ojson supervisor_json(const config::supervisor_spec& s) {
  ojson j;
  j["name"] = s.name;
  j["strategy"] = std::string{to_string(s.strategy)};
  j["intensity"] = s.intensity;
  j["period"] = text(s.period);
  j["on_exhausted"] = std::string{to_string(s.on_exhausted)};
  auto children = ojson::array();
  for (auto& c : s.children)
    children.push_back(c.path());
  j["children"] = std::move(children);
  return j;
}

} // namespace

std::vector<std::string> tail_lines(const std::string& path, std::size_t n) {
  std::vector<std::string> lines;
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || n == 0)
    return lines;
  constexpr off_t window = 256 * 1024;
  auto from = st.st_size > window ? st.st_size - window : 0;
  std::string buf(static_cast<std::size_t>(st.st_size - from), '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    auto r = ::pread(fd.get(), buf.data() + got, buf.size() - got,
                     from + static_cast<off_t>(got));
    if (r <= 0)
      break;
    got += static_cast<std::size_t>(r);
  }
  buf.resize(got);
  if (!buf.empty() && buf.back() == '\n')
    buf.pop_back();
  // Walk back from the end, one line at a time.
  auto end = buf.size();
  while (lines.size() < n && end > 0) {
    auto nl = buf.rfind('\n', end - 1);
    auto begin = nl == std::string::npos ? 0 : nl + 1;
    if (begin == 0 && from > 0)
      break; // cut by the window: not a whole line
    lines.push_back(buf.substr(begin, end - begin));
    if (nl == std::string::npos)
      break;
    end = nl;
  }
  return {lines.rbegin(), lines.rend()};
}

std::string make_snapshot(const snapshot_input& in) {
  ojson j;
  j["incident_id"] = in.incident_id;
  j["component"] = in.component;
  j["taken_at"] = format_utc(in.at_us);
  j["state"] = in.state;
  j["status_text"]
    = in.status_text.empty() ? ojson(nullptr) : ojson(in.status_text);
  j["pid"] = in.pid == 0 ? ojson(nullptr) : ojson(in.pid);
  j["last_exit"] = {
    {"code", in.exit_code}, {"signal", in.exit_signal}, {"reason", in.reason}};
  if (in.child)
    j["config"] = child_json(*in.child);
  else if (in.supervisor)
    j["config"] = supervisor_json(*in.supervisor);
  else
    j["config"] = nullptr;
  j["probe_history"] = ojson::array();
  j["stdout_tail"] = tail_lines(in.stdout_file, snapshot_tail_lines);
  j["stderr_tail"] = tail_lines(in.stderr_file, snapshot_tail_lines);
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

} // namespace grace::runtime
