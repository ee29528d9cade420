// What the config schema allows, as tables the loader reads: the keys of
// each mapping, resource limits, signals, built-in playbooks, and the
// small checks of names and URLs. Internal to config/.
#pragma once

#include <algorithm>
#include <charconv>
#include <csignal>
#include <string>
#include <string_view>
#include <vector>

#include <pwd.h>
#include <sys/resource.h>

#include "config/schema.hpp"
#include "config/yaml_reader.hpp"

namespace grace::config::detail {

// -- the schema
// -----------------------------------------------------------------

inline const std::vector<std::string_view> top_keys{
  "grace",          "log_dir",    "metrics",   "audit",  "defaults",
  "restart_budget", "supervisor", "playbooks", "cluster"};

inline const std::vector<std::string_view> supervisor_keys{
  "name",    "strategy", "intensity",  "period",   "on_exhausted",
  "restart", "shutdown", "depends_on", "children", "nodes"};

inline const std::vector<std::string_view> child_keys{
  "name",        "command",  "shell",   "restart", "shutdown",
  "stop_signal", "ports",    "ready",   "env",     "cwd",
  "user",        "limits",   "probes",  "on",      "severity",
  "depends_on",  "replicas", "backoff", "nodes"};

inline const std::vector<std::string_view> cluster_keys{
  "node", "nodes", "heartbeat", "down_after", "quorum", "failback", "tls"};

inline const std::vector<std::string_view> tls_keys{"cert", "key", "ca"};

inline const std::vector<std::string_view> backoff_keys{"min", "max", "factor",
                                                        "jitter"};

inline const std::vector<std::string_view> probe_common_keys{
  "name", "kind", "every", "initial_delay", "timeout", "failures", "severity"};

inline std::vector<std::string_view> probe_keys(probe_kind kind) {
  std::vector<std::string_view> keys = probe_common_keys;
  auto add = [&](std::initializer_list<std::string_view> xs) {
    keys.insert(keys.end(), xs);
  };
  switch (kind) {
    case probe_kind::heartbeat:
      add({"within"});
      break;
    case probe_kind::tcp:
      add({"host", "port"});
      break;
    case probe_kind::http:
      add({"url", "expect"});
      break;
    case probe_kind::exec:
      add({"command"});
      break;
    case probe_kind::resource:
      add({"max_rss", "max_cpu", "max_fds", "for"});
      break;
    case probe_kind::log:
      add({"stream", "file", "pattern", "count", "window"});
      break;
    case probe_kind::kpi:
      add({"exec", "http", "json_pointer", "above", "below", "for"});
      break;
    case probe_kind::anomaly:
      add({"of", "z", "min_samples"});
      break;
    case probe_kind::file:
      add({"path", "max_age", "monotonic"});
      break;
  }
  return keys;
}

/// Built-in playbooks that can be named in `on:` without parameters.
inline const std::vector<std::string_view> builtin_playbooks{
  "restart", "free_port", "restart_dependents", "escalate", "safe_hold"};

/// Built-in playbooks that need parameters, so only exist as steps.
inline const std::vector<std::string_view> parameterised_playbooks{
  "exec", "signal", "notify"};

struct rlimit_info {
  std::string_view name;
  int resource;
  enum class unit { count, bytes, seconds } kind;
};

inline const std::vector<rlimit_info>& rlimits() {
  using u = rlimit_info::unit;
  static const std::vector<rlimit_info> xs{
    {"as", RLIMIT_AS, u::bytes},
    {"core", RLIMIT_CORE, u::bytes},
    {"cpu", RLIMIT_CPU, u::seconds},
    {"data", RLIMIT_DATA, u::bytes},
    {"fsize", RLIMIT_FSIZE, u::bytes},
    {"locks", RLIMIT_LOCKS, u::count},
    {"memlock", RLIMIT_MEMLOCK, u::bytes},
    {"msgqueue", RLIMIT_MSGQUEUE, u::bytes},
    {"nice", RLIMIT_NICE, u::count},
    {"nofile", RLIMIT_NOFILE, u::count},
    {"nproc", RLIMIT_NPROC, u::count},
    {"rss", RLIMIT_RSS, u::bytes},
    {"rtprio", RLIMIT_RTPRIO, u::count},
    {"sigpending", RLIMIT_SIGPENDING, u::count},
    {"stack", RLIMIT_STACK, u::bytes},
  };
  return xs;
}

/// Whether `name` is a user of this machine, or a numeric uid (a valid
/// identity with or without an entry).
inline bool known_user(const std::string& name) {
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return c >= '0' && c <= '9';
      }))
    return true;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  return found != nullptr;
}

struct signal_info {
  std::string_view name;
  int number;
};

inline const std::vector<signal_info>& signals() {
  static const std::vector<signal_info> xs{
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},     {"SIGQUIT", SIGQUIT},
    {"SIGABRT", SIGABRT}, {"SIGKILL", SIGKILL},   {"SIGUSR1", SIGUSR1},
    {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},   {"SIGPIPE", SIGPIPE},
    {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM},   {"SIGCONT", SIGCONT},
    {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},   {"SIGTTIN", SIGTTIN},
    {"SIGTTOU", SIGTTOU}, {"SIGWINCH", SIGWINCH}, {"SIGIO", SIGIO},
    {"SIGPWR", SIGPWR},   {"SIGSYS", SIGSYS},
  };
  return xs;
}

inline bool valid_env_name(std::string_view s) {
  if (s.empty() || (s.front() >= '0' && s.front() <= '9'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '_';
  });
}

/// Splits `http://host[:port][/target]`; returns the reason on failure.
inline std::string parse_http_url(const std::string& url, http_probe& out) {
  constexpr std::string_view scheme = "http://";
  if (url.starts_with("https://"))
    return "https is not supported yet (use http://)";
  if (!url.starts_with(scheme))
    return "expected an http:// URL, got " + quote(url);
  auto rest = std::string_view{url}.substr(scheme.size());
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  out.target
    = slash == std::string_view::npos ? "/" : std::string{rest.substr(slash)};
  if (out.target.front() == '?')
    out.target.insert(out.target.begin(), '/');
  if (authority.find('@') != std::string_view::npos)
    return "user names in URLs are not supported";
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return "missing ']' in " + quote(url);
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return "invalid URL " + quote(url);
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty())
    return "missing host in " + quote(url);
  out.host = std::string{host};
  out.port = 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto res = std::from_chars(port.data(), port.data() + port.size(), value);
    if (res.ec != std::errc{} || res.ptr != port.data() + port.size()
        || value == 0 || value > 65535)
      return "invalid port in " + quote(url);
    out.port = static_cast<std::uint16_t>(value);
  }
  return {};
}

} // namespace grace::config::detail
