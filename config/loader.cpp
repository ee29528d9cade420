#include "config/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include <pwd.h>
#include <sys/resource.h>

#include "config/defaults.hpp"
#include "config/document.hpp"
#include "config/suggest.hpp"

namespace fs = std::filesystem;

namespace grace::config {

namespace {

// Thrown when aliases expand the document past what any real config needs.
struct alias_budget_exceeded {
  node_id at;
};

/// How many node reads a document may take: a handful per node of the file,
/// plus a fixed allowance for what aliases add. Only an alias bomb gets near.
constexpr std::size_t reads_per_node = 8;
constexpr std::size_t alias_budget = 4'000'000;

/// Supervisors deeper than this can only come from a recursive alias: YAML
/// itself stops at about 160 (the parser's nesting limit).
constexpr int max_supervisor_depth = 1000;

std::string quote(std::string_view s) {
  constexpr std::size_t max = 40;
  if (s.size() > max)
    return "'" + std::string{s.substr(0, max)} + "...'";
  return "'" + std::string{s} + "'";
}

std::string join(const std::vector<std::string_view>& xs) {
  std::string result;
  for (auto& x : xs) {
    if (!result.empty())
      result += ", ";
    result += x;
  }
  return result;
}

template <class Enum>
std::vector<std::string_view> names_of() {
  std::vector<std::string_view> result;
  for (auto& [name, value] : enum_names<Enum>())
    result.push_back(name);
  return result;
}

std::string_view describe(yaml_node::kind k) {
  switch (k) {
    case yaml_node::kind::null:
      return "nothing";
    case yaml_node::kind::scalar:
      return "a scalar";
    case yaml_node::kind::sequence:
      return "a list";
    case yaml_node::kind::map:
      return "a mapping";
  }
  return "?";
}

// -- walker: typed reads from the document, errors with positions -------------

class walker {
public:
  walker(const yaml_document& doc, std::vector<config_error>& errors,
         std::string base_dir)
      : doc_(doc), errors_(errors), base_dir_(std::move(base_dir)),
        budget_(doc.nodes.size() * reads_per_node + alias_budget) {}

  const yaml_node& at(node_id id) {
    if (++visits_ > budget_)
      throw alias_budget_exceeded{id};
    return doc_.nodes[id];
  }

  source_pos pos(node_id id) const {
    auto& n = doc_.nodes[id];
    return {doc_.file, n.line, n.column};
  }

  void error(node_id id, std::string message) {
    errors_.push_back({pos(id), std::move(message)});
  }

  void error(const source_pos& where, std::string message) {
    errors_.push_back({where, std::move(message)});
  }

  std::size_t error_count() const noexcept { return errors_.size(); }

  const std::string& base_dir() const { return base_dir_; }

  /// Returns whether mapping `id` has the key `key` (written, not merged).
  bool has_key(node_id id, std::string_view key) {
    auto& n = at(id);
    for (std::size_t i = 0; i < n.items.size(); i += 2) {
      auto& k = doc_.nodes[n.items[i]];
      if (k.type == yaml_node::kind::scalar && k.value == key)
        return true;
    }
    return false;
  }

  std::string absolute(const std::string& path) const {
    fs::path p{path};
    if (p.is_relative())
      p = fs::path{base_dir_} / p;
    return p.lexically_normal().string();
  }

  // -- scalars ----------------------------------------------------------------

  bool expect_scalar(node_id id, const std::string& label,
                     std::string_view expected) {
    auto& n = at(id);
    if (n.type == yaml_node::kind::scalar)
      return true;
    error(id, label + ": expected " + std::string{expected} + ", got "
                + std::string{describe(n.type)});
    return false;
  }

  std::optional<std::string> string(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "a string"))
      return std::nullopt;
    return at(id).value;
  }

  std::optional<std::string> nonempty_string(node_id id,
                                             const std::string& label) {
    auto s = string(id, label);
    if (s && s->empty()) {
      error(id, label + ": must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<int64_t> integer(node_id id, const std::string& label,
                                 int64_t lo, int64_t hi) {
    if (!expect_scalar(id, label, "an integer"))
      return std::nullopt;
    auto& n = at(id);
    int64_t value = 0;
    auto first = n.value.data();
    auto last = first + n.value.size();
    if (!n.value.empty() && *first == '+')
      ++first;
    auto res = std::from_chars(first, last, value);
    if (n.quoted || n.value.empty() || res.ec != std::errc{}
        || res.ptr != last) {
      if (res.ec == std::errc::result_out_of_range)
        error(id, label + ": " + quote(n.value) + " is out of range");
      else
        error(id, label + ": expected an integer, got " + quote(n.value));
      return std::nullopt;
    }
    if (value < lo || value > hi) {
      auto range = hi == std::numeric_limits<int64_t>::max()
                     ? "must be >= " + std::to_string(lo)
                     : "must be between " + std::to_string(lo) + " and "
                         + std::to_string(hi);
      error(id, label + ": " + range + " (got " + n.value + ")");
      return std::nullopt;
    }
    return value;
  }

  std::optional<double> number(node_id id, const std::string& label, double lo,
                               double hi) {
    if (!expect_scalar(id, label, "a number"))
      return std::nullopt;
    auto& n = at(id);
    double value = 0;
    auto first = n.value.data();
    auto last = first + n.value.size();
    if (!n.value.empty() && *first == '+')
      ++first;
    auto res = std::from_chars(first, last, value);
    if (n.quoted || n.value.empty() || res.ec != std::errc{} || res.ptr != last
        || !std::isfinite(value)) {
      error(id, label + ": expected a number, got " + quote(n.value));
      return std::nullopt;
    }
    if (value < lo || value > hi) {
      std::ostringstream range;
      if (hi == std::numeric_limits<double>::max())
        range << "must be >= " << lo;
      else
        range << "must be between " << lo << " and " << hi;
      error(id, label + ": " + range.str() + " (got " + n.value + ")");
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "true or false"))
      return std::nullopt;
    auto& n = at(id);
    if (!n.quoted) {
      if (n.value == "true" || n.value == "True" || n.value == "TRUE")
        return true;
      if (n.value == "false" || n.value == "False" || n.value == "FALSE")
        return false;
    }
    error(id, label + ": expected true or false, got " + quote(n.value));
    return std::nullopt;
  }

  std::optional<duration> dur(node_id id, const std::string& label,
                              bool allow_infinity = false,
                              duration min = duration::zero()) {
    if (!expect_scalar(id, label, "a duration"))
      return std::nullopt;
    auto& n = at(id);
    auto result = parse_duration(n.value, allow_infinity);
    if (auto* why = std::get_if<std::string>(&result)) {
      error(id, label + ": " + *why);
      return std::nullopt;
    }
    auto d = std::get<duration>(result);
    if (d < min) {
      error(id, label + ": must be at least " + format_duration(min) + " (got "
                  + n.value + ")");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::uint64_t> size(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "a size"))
      return std::nullopt;
    auto& n = at(id);
    auto result = parse_size(n.value);
    if (auto* why = std::get_if<std::string>(&result)) {
      error(id, label + ": " + *why);
      return std::nullopt;
    }
    return std::get<std::uint64_t>(result);
  }

  std::optional<std::uint16_t> port(node_id id, const std::string& label) {
    if (auto p = integer(id, label, 1, 65535))
      return static_cast<std::uint16_t>(*p);
    return std::nullopt;
  }

  template <class Enum>
  std::optional<Enum> enumeration(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "one of: " + join(names_of<Enum>())))
      return std::nullopt;
    auto& n = at(id);
    if (auto value = from_string<Enum>(n.value))
      return value;
    auto names = names_of<Enum>();
    auto hint = did_you_mean(n.value, names);
    if (hint.empty())
      hint = " (expected one of: " + join(names) + ")";
    error(id, label + ": unknown value " + quote(n.value) + hint);
    return std::nullopt;
  }

  std::optional<std::vector<std::string>>
  string_list(node_id id, const std::string& label, bool allow_empty) {
    auto& n = at(id);
    if (n.type != yaml_node::kind::sequence) {
      error(id,
            label + ": expected a list, got " + std::string{describe(n.type)});
      return std::nullopt;
    }
    if (n.items.empty() && !allow_empty) {
      error(id, label + ": must not be empty");
      return std::nullopt;
    }
    std::vector<std::string> result;
    bool ok = true;
    for (std::size_t i = 0; i < n.items.size(); ++i) {
      auto item = string(n.items[i], label + "[" + std::to_string(i) + "]");
      if (item)
        result.push_back(std::move(*item));
      else
        ok = false;
    }
    if (!ok)
      return std::nullopt;
    return result;
  }

  /// An argv: a non-empty list of strings whose first element is not empty.
  std::optional<std::vector<std::string>> argv(node_id id,
                                               const std::string& label) {
    auto& n = at(id);
    if (n.type == yaml_node::kind::scalar) {
      error(id,
            label
              + ": expected a list (argv, e.g. [./bin/app, --port, \"80\"]); "
                "for a shell command line use 'shell:'");
      return std::nullopt;
    }
    auto result = string_list(id, label, false);
    if (result && result->front().empty()) {
      error(n.items.front(), label + "[0]: the program must not be empty");
      return std::nullopt;
    }
    // A program given as a relative path is relative to the config file,
    // like every other path in it; a bare name is looked up in PATH.
    if (result && result->front().find('/') != std::string::npos)
      result->front() = absolute(result->front());
    return result;
  }

private:
  const yaml_document& doc_;
  std::vector<config_error>& errors_;
  std::string base_dir_;
  std::size_t visits_ = 0;
  std::size_t budget_;
};

// -- fields: one mapping, its keys checked
// -------------------------------------

class fields {
public:
  struct entry {
    std::string key;
    node_id key_node;
    node_id value;
  };

  /// Reads the mapping at `id`; reports a non-mapping, duplicate keys and, if
  /// `allowed` is not empty, unknown keys. `prefix` labels messages.
  fields(walker& w, node_id id, std::string prefix,
         std::vector<std::string_view> allowed = {})
      : w_(w), id_(id), prefix_(std::move(prefix)) {
    auto& n = w.at(id);
    if (n.type != yaml_node::kind::map) {
      auto what = prefix_.empty() ? std::string{"expected a mapping"}
                                  : prefix_ + ": expected a mapping";
      w.error(id, what + ", got " + std::string{describe(n.type)});
      valid_ = false;
      return;
    }
    collect(id, false);
    if (allowed.empty())
      return;
    for (auto& e : entries_) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end())
        continue;
      w.error(e.key_node, label_prefix() + "unknown key " + quote(e.key)
                            + did_you_mean(e.key, allowed));
    }
  }

  bool valid() const { return valid_; }
  node_id id() const { return id_; }
  const std::vector<entry>& entries() const { return entries_; }

  std::optional<node_id> get(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key)
        return e.value;
    return std::nullopt;
  }

  bool has(std::string_view key) const { return get(key).has_value(); }

  std::optional<node_id> key_node(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key)
        return e.key_node;
    return std::nullopt;
  }

  std::string label(std::string_view key) const {
    return prefix_.empty() ? std::string{key}
                           : prefix_ + "." + std::string{key};
  }

  std::string label_prefix() const {
    return prefix_.empty() ? std::string{} : prefix_ + ": ";
  }

  /// Reports a missing required key at the mapping.
  void missing(std::string_view key) const {
    w_.error(id_, label_prefix() + "missing required key '" + std::string{key}
                    + "'");
  }

private:
  // Adds the entries of mapping `id`. Merged entries (`<<: *base`) never
  // override keys written in the mapping itself, as YAML's merge key says.
  void collect(node_id id, bool merged) {
    auto& n = w_.at(id);
    std::vector<node_id> merges;
    for (std::size_t i = 0; i + 1 < n.items.size(); i += 2) {
      auto key_id = n.items[i];
      auto value_id = n.items[i + 1];
      auto& key = w_.at(key_id);
      if (key.type != yaml_node::kind::scalar) {
        w_.error(key_id, label_prefix() + "keys must be strings, got "
                           + std::string{describe(key.type)});
        continue;
      }
      if (key.value == "<<" && !key.quoted) {
        merges.push_back(value_id);
        continue;
      }
      auto dup
        = std::find_if(entries_.begin(), entries_.end(),
                       [&](const entry& e) { return e.key == key.value; });
      if (dup != entries_.end()) {
        if (!merged) {
          auto first = w_.pos(dup->key_node);
          w_.error(key_id, label_prefix() + "duplicate key " + quote(key.value)
                             + " (first at line " + std::to_string(first.line)
                             + ")");
        }
        continue;
      }
      entries_.push_back({key.value, key_id, value_id});
    }
    for (auto m : merges) {
      auto& v = w_.at(m);
      if (v.type == yaml_node::kind::map) {
        collect(m, true);
      } else if (v.type == yaml_node::kind::sequence) {
        for (auto item : v.items) {
          if (w_.at(item).type == yaml_node::kind::map)
            collect(item, true);
          else
            w_.error(item, label_prefix() + "'<<' merges mappings only");
        }
      } else {
        w_.error(m, label_prefix() + "'<<' merges mappings only");
      }
    }
  }

  walker& w_;
  node_id id_;
  std::string prefix_;
  bool valid_ = true;
  std::vector<entry> entries_;
};

// -- the schema
// -----------------------------------------------------------------

const std::vector<std::string_view> top_keys{
  "grace",    "log_dir",        "metrics",    "audit",
  "defaults", "restart_budget", "supervisor", "playbooks"};

const std::vector<std::string_view> supervisor_keys{
  "name",    "strategy", "intensity",  "period",  "on_exhausted",
  "restart", "shutdown", "depends_on", "children"};

const std::vector<std::string_view> child_keys{
  "name",   "command", "shell",    "restart",    "shutdown", "stop_signal",
  "ports",  "ready",   "env",      "cwd",        "user",     "limits",
  "probes", "on",      "severity", "depends_on", "replicas", "backoff"};

const std::vector<std::string_view> backoff_keys{"min", "max", "factor",
                                                 "jitter"};

const std::vector<std::string_view> probe_common_keys{
  "name", "kind", "every", "initial_delay", "timeout", "failures", "severity"};

std::vector<std::string_view> probe_keys(probe_kind kind) {
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
const std::vector<std::string_view> builtin_playbooks{
  "restart", "free_port", "restart_dependents", "escalate", "safe_hold"};

/// Built-in playbooks that need parameters, so only exist as steps.
const std::vector<std::string_view> parameterised_playbooks{"exec", "signal",
                                                            "notify"};

struct rlimit_info {
  std::string_view name;
  int resource;
  enum class unit { count, bytes, seconds } kind;
};

const std::vector<rlimit_info>& rlimits() {
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
bool known_user(const std::string& name) {
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

const std::vector<signal_info>& signals() {
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

bool valid_env_name(std::string_view s) {
  if (s.empty() || (s.front() >= '0' && s.front() <= '9'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '_';
  });
}

/// Splits `http://host[:port][/target]`; returns the reason on failure.
std::string parse_http_url(const std::string& url, http_probe& out) {
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

// -- the loader
// -----------------------------------------------------------------

class loader {
public:
  loader(walker& w, grace_config& cfg) : w_(w), cfg_(cfg) {}

  void load(std::optional<node_id> root) {
    if (!root || w_.at(*root).type == yaml_node::kind::null) {
      w_.error(source_pos{cfg_.file, 1, 1},
               "empty config (expected a mapping with 'grace: 1' and "
               "'supervisor:')");
      return;
    }
    fields top{w_, *root, "", top_keys};
    if (!top.valid())
      return;
    if (auto v = top.get("grace")) {
      if (auto version = w_.integer(*v, "grace", 0, 1'000'000)) {
        if (*version != defaults::schema_version)
          w_.error(*v, "grace: unsupported schema version "
                         + std::to_string(*version) + " (this grace reads "
                         + std::to_string(defaults::schema_version) + ")");
      }
    } else {
      top.missing("grace");
    }
    cfg_.log_dir = w_.absolute(std::string{defaults::log_dir});
    if (auto v = top.get("log_dir"))
      if (auto dir = w_.nonempty_string(*v, "log_dir"))
        cfg_.log_dir = w_.absolute(*dir);
    if (auto v = top.get("metrics"))
      load_metrics(*v);
    if (auto v = top.get("audit")) {
      cfg_.audit_configured = true;
      fields audit{w_, *v, "audit", {"fsync"}};
      if (auto f = audit.get("fsync"))
        if (auto policy = w_.enumeration<fsync_policy>(*f, "audit.fsync"))
          cfg_.fsync = *policy;
    }
    cfg_.default_shutdown
      = {shutdown_spec::kind::timeout, defaults::child_shutdown};
    cfg_.default_backoff = {defaults::backoff_min, defaults::backoff_max,
                            defaults::backoff_factor, defaults::backoff_jitter};
    if (auto v = top.get("defaults")) {
      fields defs{w_, *v, "defaults", {"shutdown", "backoff"}};
      if (auto s = defs.get("shutdown"))
        cfg_.default_shutdown
          = shutdown(*s, "defaults.shutdown", cfg_.default_shutdown);
      if (auto b = defs.get("backoff"))
        cfg_.default_backoff
          = backoff(*b, "defaults.backoff", cfg_.default_backoff);
    }
    if (auto v = top.get("restart_budget")) {
      fields b{w_, *v, "restart_budget", {"restarts", "period"}};
      budget_spec budget;
      budget.period = std::chrono::minutes{1};
      bool ok = b.valid();
      if (auto r = b.get("restarts")) {
        if (auto x = w_.integer(*r, "restart_budget.restarts", 1, 100'000'000))
          budget.restarts = static_cast<int>(*x);
        else
          ok = false;
      } else {
        b.missing("restarts");
        ok = false;
      }
      if (auto p = b.get("period")) {
        if (auto x = w_.dur(*p, "restart_budget.period", false,
                            std::chrono::milliseconds{1}))
          budget.period = *x;
        else
          ok = false;
      }
      if (ok)
        cfg_.restart_budget = budget;
    }
    if (auto v = top.get("playbooks"))
      load_playbooks(*v);
    if (auto v = top.get("supervisor")) {
      cfg_.root = supervisor(*v, "", true);
      resolve();
    } else {
      top.missing("supervisor");
    }
  }

private:
  // -- top level --------------------------------------------------------------

  void load_metrics(node_id id) {
    auto text = w_.nonempty_string(id, "metrics");
    if (!text)
      return;
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
      w_.error(id, "metrics: expected host:port (e.g. 127.0.0.1:9464), got "
                     + quote(*text));
      return;
    }
    cfg_.metrics = endpoint{host, static_cast<std::uint16_t>(value)};
  }

  shutdown_spec shutdown(node_id id, const std::string& label,
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

  backoff_spec backoff(node_id id, const std::string& label,
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

  std::vector<reference> depends_on(node_id id, const std::string& label) {
    std::vector<reference> result;
    auto& n = w_.at(id);
    if (n.type != yaml_node::kind::sequence) {
      w_.error(id, label + ": expected a list of component paths, got "
                     + std::string{describe(n.type)});
      return result;
    }
    for (std::size_t i = 0; i < n.items.size(); ++i) {
      auto item = n.items[i];
      auto path
        = w_.nonempty_string(item, label + "[" + std::to_string(i) + "]");
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

  // -- supervisors ------------------------------------------------------------

  supervisor_spec supervisor(node_id id, const std::string& parent_path,
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
        sup.depends_on = depends_on(*v, "depends_on");
    }
    ++components_;
    if (auto v = f.get("children"))
      children(*v, sup);
    else
      f.missing("children");
    return sup;
  }

  void children(node_id id, supervisor_spec& sup) {
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
        add(component_spec{
          supervisor(*entry.get("supervisor"), sup.path, false)});
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

  // -- children
  // -----------------------------------------------------------------

  std::vector<child_spec> child(node_id id, const std::string& parent_path) {
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
      w_.error(*f.key_node("shell"),
               "use either 'command' or 'shell', not both");
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
      c.depends_on = depends_on(*v, "depends_on");
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

  std::vector<std::uint16_t> ports(node_id id) {
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
        w_.error(n.items[i],
                 "ports: " + std::to_string(*p) + " is listed twice");
        continue;
      }
      result.push_back(*p);
    }
    return result;
  }

  ready_spec ready(node_id id) {
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
      else if (auto d = w_.dur(*v, "ready.within", false,
                               std::chrono::milliseconds{1}))
        r.within = *d;
    }
    return r;
  }

  std::vector<std::pair<std::string, std::string>> env(node_id id) {
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

  std::vector<rlimit_spec> limits(node_id id) {
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

  std::map<failure_mode, reference> on(node_id id) {
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

  std::map<failure_mode, config::severity> severities(node_id id) {
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
      if (auto s
          = w_.enumeration<config::severity>(e.value, "severity." + e.key))
        result[*mode] = *s;
    }
    return result;
  }

  // -- probes
  // -------------------------------------------------------------------

  std::vector<probe_spec> probes(node_id id) {
    std::vector<probe_spec> result;
    auto& n = w_.at(id);
    if (n.type != yaml_node::kind::sequence) {
      w_.error(id,
               "probes: expected a list, got " + std::string{describe(n.type)});
      return result;
    }
    std::unordered_map<std::string, source_pos> names;
    for (auto item : n.items) {
      auto p = probe(item);
      if (!p)
        continue;
      auto [it, fresh] = names.emplace(p->name, p->where);
      if (!fresh) {
        w_.error(p->where, "probes: duplicate probe name " + quote(p->name)
                             + " (first at line "
                             + std::to_string(it->second.line)
                             + "); give each probe a 'name'");
        continue;
      }
      result.push_back(std::move(*p));
    }
    return result;
  }

  std::optional<probe_spec> probe(node_id id) {
    fields peek{w_, id, "probe"};
    if (!peek.valid())
      return std::nullopt;
    probe_spec p;
    p.where = w_.pos(id);
    p.every = defaults::probe_every;
    p.timeout = defaults::probe_timeout;
    p.failures = defaults::probe_failures;
    std::optional<probe_kind> kind;
    if (auto v = peek.get("kind"))
      kind = w_.enumeration<probe_kind>(*v, "probe.kind");
    else
      peek.missing("kind");
    if (!kind)
      return std::nullopt;
    p.kind = *kind;
    auto prefix = std::string{to_string(*kind)} + " probe";
    fields f{w_, id, prefix, probe_keys(*kind)};
    p.name = std::string{to_string(*kind)};
    if (auto v = f.get("name")) {
      if (auto name = w_.string(*v, f.label("name"))) {
        if (auto why = check_name(*name); !why.empty())
          w_.error(*v, f.label("name") + ": " + why);
        p.name = *name;
      }
    }
    if (auto v = f.get("every"))
      if (auto d
          = w_.dur(*v, f.label("every"), false, std::chrono::milliseconds{10}))
        p.every = *d;
    if (auto v = f.get("initial_delay"))
      p.initial_delay = w_.dur(*v, f.label("initial_delay"));
    if (auto v = f.get("timeout"))
      if (auto d
          = w_.dur(*v, f.label("timeout"), false, std::chrono::milliseconds{1}))
        p.timeout = *d;
    if (auto v = f.get("failures"))
      if (auto x = w_.integer(*v, f.label("failures"), 1, 1'000'000))
        p.failures = static_cast<int>(*x);
    if (auto v = f.get("severity"))
      p.severity = w_.enumeration<config::severity>(*v, f.label("severity"));
    auto required = [&](std::string_view key) -> std::optional<node_id> {
      auto v = f.get(key);
      if (!v)
        f.missing(key);
      return v;
    };
    switch (*kind) {
      case probe_kind::heartbeat: {
        heartbeat_probe x;
        if (auto v = required("within"))
          if (auto d = w_.dur(*v, f.label("within"), false,
                              std::chrono::milliseconds{1}))
            x.within = *d;
        p.check = x;
        break;
      }
      case probe_kind::tcp: {
        tcp_probe x;
        x.host = std::string{defaults::probe_tcp_host};
        if (auto v = f.get("host"))
          if (auto host = w_.nonempty_string(*v, f.label("host")))
            x.host = *host;
        if (auto v = required("port"))
          if (auto port = w_.port(*v, f.label("port")))
            x.port = *port;
        p.check = x;
        break;
      }
      case probe_kind::http: {
        http_probe x;
        if (auto v = required("url")) {
          if (auto url = w_.nonempty_string(*v, f.label("url"))) {
            x.url = *url;
            if (auto why = parse_http_url(*url, x); !why.empty())
              w_.error(*v, f.label("url") + ": " + why);
          }
        }
        if (auto v = f.get("expect"))
          expect(*v, f.label("expect"), x);
        p.check = x;
        break;
      }
      case probe_kind::exec: {
        exec_probe x;
        if (auto v = required("command"))
          if (auto argv = w_.argv(*v, f.label("command")))
            x.argv = std::move(*argv);
        p.check = x;
        break;
      }
      case probe_kind::resource: {
        resource_probe x;
        if (auto v = f.get("max_rss"))
          x.max_rss = w_.size(*v, f.label("max_rss"));
        if (auto v = f.get("max_cpu"))
          x.max_cpu = w_.number(*v, f.label("max_cpu"), 0.001, 100'000.0);
        if (auto v = f.get("max_fds"))
          if (auto n = w_.integer(*v, f.label("max_fds"), 1, 100'000'000))
            x.max_fds = static_cast<std::uint64_t>(*n);
        if (auto v = f.get("for"))
          if (auto d = w_.dur(*v, f.label("for")))
            x.sustained = *d;
        if (!f.has("max_rss") && !f.has("max_cpu") && !f.has("max_fds"))
          w_.error(id, prefix
                         + ": needs at least one of max_rss, max_cpu or "
                           "max_fds");
        p.check = x;
        break;
      }
      case probe_kind::log: {
        log_probe x;
        x.count = defaults::log_count;
        x.window = defaults::log_window;
        auto stream = f.get("stream");
        auto file = f.get("file");
        if (stream && file) {
          w_.error(*f.key_node("file"),
                   prefix + ": use either 'stream' or 'file', not both");
        } else if (file) {
          if (auto path = w_.nonempty_string(*file, f.label("file"))) {
            x.from = log_probe::source::file;
            x.file = w_.absolute(*path);
          }
        } else if (stream) {
          if (auto s = w_.string(*stream, f.label("stream"))) {
            if (*s == "stdout")
              x.from = log_probe::source::out;
            else if (*s == "stderr")
              x.from = log_probe::source::err;
            else if (*s == "both")
              x.from = log_probe::source::both;
            else
              w_.error(*stream,
                       f.label("stream") + ": unknown value " + quote(*s)
                         + did_you_mean(*s, {"stdout", "stderr", "both"}));
          }
        }
        if (auto v = required("pattern")) {
          if (auto pattern = w_.nonempty_string(*v, f.label("pattern"))) {
            x.pattern = *pattern;
            check_regex(*v, f.label("pattern"), *pattern);
          }
        }
        if (auto v = f.get("count"))
          if (auto n = w_.integer(*v, f.label("count"), 1, 1'000'000))
            x.count = static_cast<int>(*n);
        if (auto v = f.get("window"))
          if (auto d = w_.dur(*v, f.label("window"), false,
                              std::chrono::milliseconds{1}))
            x.window = *d;
        p.check = x;
        break;
      }
      case probe_kind::kpi: {
        kpi_probe x;
        auto exec = f.get("exec");
        auto http = f.get("http");
        if (exec && http) {
          w_.error(*f.key_node("http"),
                   prefix + ": use either 'exec' or 'http', not both");
        } else if (exec) {
          if (auto argv = w_.argv(*exec, f.label("exec")))
            x.argv = std::move(*argv);
        } else if (http) {
          if (auto url = w_.nonempty_string(*http, f.label("http"))) {
            http_probe parsed;
            if (auto why = parse_http_url(*url, parsed); !why.empty())
              w_.error(*http, f.label("http") + ": " + why);
            x.url = *url;
            x.http = parsed;
          }
          if (!f.has("json_pointer"))
            w_.error(id, prefix
                           + ": 'http' needs a 'json_pointer' to the "
                             "number (e.g. /queue/depth)");
        } else {
          w_.error(id, prefix
                         + ": needs 'exec' (a command printing a number) "
                           "or 'http' (a URL with a JSON body)");
        }
        if (auto v = f.get("json_pointer")) {
          if (auto ptr = w_.string(*v, f.label("json_pointer"))) {
            if (!ptr->empty() && ptr->front() != '/')
              w_.error(*v, f.label("json_pointer")
                             + ": must be empty or start with '/' (RFC 6901)");
            x.json_pointer = *ptr;
          }
        }
        auto bound = [&](std::string_view key) -> std::optional<double> {
          if (auto v = f.get(key))
            return w_.number(*v, f.label(key),
                             std::numeric_limits<double>::lowest(),
                             std::numeric_limits<double>::max());
          return std::nullopt;
        };
        x.above = bound("above");
        x.below = bound("below");
        if (!f.has("above") && !f.has("below"))
          w_.error(id, prefix + ": needs 'above' or 'below' (or both)");
        if (x.above && x.below && *x.below > *x.above)
          w_.error(*f.get("below"),
                   prefix
                     + ": below is greater than above: every value "
                       "would fail");
        if (auto v = f.get("for"))
          if (auto d = w_.dur(*v, f.label("for")))
            x.sustained = *d;
        p.check = x;
        break;
      }
      case probe_kind::anomaly: {
        anomaly_probe x;
        x.z = defaults::anomaly_z;
        x.min_samples = defaults::anomaly_min_samples;
        if (auto v = required("of"))
          if (auto of = w_.nonempty_string(*v, f.label("of")))
            x.of = reference{*of, w_.pos(*v)};
        if (auto v = f.get("z"))
          if (auto z = w_.number(*v, f.label("z"), 0.1, 1000.0))
            x.z = *z;
        if (auto v = f.get("min_samples"))
          if (auto n = w_.integer(*v, f.label("min_samples"), 2, 1'000'000))
            x.min_samples = static_cast<int>(*n);
        p.check = x;
        break;
      }
      case probe_kind::file: {
        file_probe x;
        if (auto v = required("path"))
          if (auto path = w_.nonempty_string(*v, f.label("path")))
            x.path = w_.absolute(*path);
        if (auto v = f.get("max_age"))
          x.max_age = w_.dur(*v, f.label("max_age"), false,
                             std::chrono::milliseconds{1});
        if (auto v = f.get("monotonic"))
          if (auto b = w_.boolean(*v, f.label("monotonic")))
            x.monotonic = *b;
        if (!f.has("max_age") && !x.monotonic)
          w_.error(id, prefix + ": needs 'max_age' or 'monotonic: true'");
        p.check = x;
        break;
      }
    }
    return p;
  }

  void expect(node_id id, const std::string& label, http_probe& x) {
    if (!w_.expect_scalar(id, label, "a status or a range like 200..399"))
      return;
    auto& text = w_.at(id).value;
    auto parse = [](std::string_view s, int& out) {
      auto res = std::from_chars(s.data(), s.data() + s.size(), out);
      return res.ec == std::errc{} && res.ptr == s.data() + s.size()
             && out >= 100 && out <= 599;
    };
    auto dots = text.find("..");
    int lo = 0;
    int hi = 0;
    bool ok = dots == std::string::npos
                ? parse(text, lo) && parse(text, hi)
                : parse(std::string_view{text}.substr(0, dots), lo)
                    && parse(std::string_view{text}.substr(dots + 2), hi)
                    && lo <= hi;
    if (!ok) {
      w_.error(id, label
                     + ": expected a status (100-599) or a range like "
                       "200..399, got "
                     + quote(text));
      return;
    }
    x.expect_min = lo;
    x.expect_max = hi;
  }

  void check_regex(node_id id, const std::string& label,
                   const std::string& pattern) {
    if (pattern.size() > 4096) {
      w_.error(id, label + ": pattern is too long (at most 4096 characters)");
      return;
    }
    try {
      std::regex re{pattern, std::regex::ECMAScript};
    } catch (const std::regex_error& e) {
      w_.error(id, label + ": invalid regular expression: " + e.what());
    }
  }

  // -- playbooks
  // ----------------------------------------------------------------

  void load_playbooks(node_id id) {
    fields f{w_, id, "playbooks"};
    for (auto& e : f.entries()) {
      if (auto why = check_name(e.key); !why.empty()) {
        w_.error(e.key_node, "playbooks: " + why);
        continue;
      }
      auto builtin = [&](std::string_view n) { return n == e.key; };
      if (std::any_of(builtin_playbooks.begin(), builtin_playbooks.end(),
                      builtin)
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

  playbook_spec playbook(const std::string& name, node_id id) {
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

  std::optional<step_spec> step(node_id id, const std::string& label) {
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
        w_.error(id,
                 label + ": missing the step (one of: " + join(kinds) + ")");
        return std::nullopt;
      }
      if (auto t = f.get("timeout"))
        if (auto d = w_.dur(*t, label + ".timeout", false,
                            std::chrono::milliseconds{1}))
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

  std::optional<int> signal(node_id id, const std::string& label) {
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

  bool notify(node_id id, const std::string& label, step_spec& s) {
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

  // -- cross-references
  // ---------------------------------------------------------

  void index(const supervisor_spec& sup) {
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

  void resolve() {
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
      if (std::find(builtin_playbooks.begin(), builtin_playbooks.end(),
                    ref.name)
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
        w_.error(ref.where,
                 "playbooks." + name + ".on_failure: unknown playbook "
                   + quote(ref.name) + did_you_mean(ref.name, options));
      }
    }
    check_playbook_cycles();
    check_ports();
  }

  template <class OnChild, class OnSupervisor>
  void visit_all(OnChild on_child, OnSupervisor on_supervisor) {
    std::function<void(supervisor_spec&)> rec = [&](supervisor_spec& s) {
      on_supervisor(s);
      for (auto& c : s.children) {
        if (auto* sub = std::get_if<supervisor_spec>(&c.node))
          rec(*sub);
        else
          on_child(std::get<child_spec>(c.node));
      }
    };
    rec(cfg_.root);
  }

  void check_anomalies(child_spec& c) {
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

  // Start-up dependencies form a graph over components: a dependent waits for
  // its dependency, and a supervisor is ready only when its children are, so
  // it waits for them too. A cycle in that graph would wait forever.
  void check_cycles() {
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
          auto from = std::find_if(stack.begin(), stack.end(), [&](auto& f) {
            return f.path == edge.name;
          });
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

  // A dependency must be ready before its dependent starts. Children start
  // in list order, each ready before the next, depth first: so the
  // dependency must come earlier in that order (and not inside the
  // dependent).
  void check_start_order() {
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

  void check_playbook_cycles() {
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

  void check_ports() {
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

  walker& w_;
  grace_config& cfg_;
  std::size_t components_ = 0;
  int depth_ = 0;
  bool too_many_ = false;
  std::map<std::string, std::vector<std::string>> pools_; // pool -> replicas
  std::unordered_map<std::string, source_pos> where_of_;  // every path
  std::vector<std::string> order_;
};

void sort_and_dedupe(std::vector<config_error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](auto& a, auto& b) {
    return std::tie(a.where.line, a.where.column)
           < std::tie(b.where.line, b.where.column);
  });
  errors.erase(std::unique(errors.begin(), errors.end()), errors.end());
}

} // namespace

load_result load_text(std::string_view text, const std::string& file,
                      const std::string& base_dir) {
  load_result result;
  auto doc = parse_yaml(text, file, result.errors);
  if (!result.errors.empty()) {
    sort_and_dedupe(result.errors);
    return result;
  }
  grace_config cfg;
  cfg.file = file;
  cfg.base_dir = fs::path{base_dir}.lexically_normal().string();
  walker w{doc, result.errors, cfg.base_dir};
  try {
    loader{w, cfg}.load(doc.root);
  } catch (const alias_budget_exceeded& e) {
    result.errors.push_back(
      {w.pos(e.at),
       "aliases expand the config far beyond its size (an alias bomb?)"});
  }
  sort_and_dedupe(result.errors);
  if (result.errors.empty())
    result.config = std::move(cfg);
  return result;
}

load_result load_file(const std::string& path) {
  load_result result;
  auto fail = [&](std::string message) {
    result.errors.push_back({{path, 1, 1}, std::move(message)});
    return result;
  };
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return fail("cannot read config: "
                + (ec ? ec.message() : std::string{"no such file"}));
  if (fs::is_directory(status))
    return fail("cannot read config: is a directory");
  if (!fs::is_regular_file(status))
    return fail("cannot read config: not a regular file");
  auto size = fs::file_size(path, ec);
  if (!ec && size > max_config_bytes)
    return fail("file is too large (" + std::to_string(size)
                + " bytes, at most " + std::to_string(max_config_bytes) + ")");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return fail(std::string{"cannot read config: "} + std::strerror(errno));
  std::string text;
  text.resize(static_cast<std::size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    return fail(std::string{"cannot read config: "} + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto base = fs::absolute(fs::path{path}, ec).parent_path();
  return load_text(text, path, base.string());
}

grace_config load_config(const std::string& path) {
  auto result = load_file(path);
  if (!result.config)
    throw config_exception(std::move(result.errors));
  return std::move(*result.config);
}

} // namespace grace::config
