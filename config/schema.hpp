// The validated supervision tree as plain structs: what load_config() returns
// and every other part of Grace consumes. No YAML types leak out of config/;
// defaults are already applied, paths are absolute, `replicas` are expanded
// and every cross-reference (depends_on, playbooks, probe names) is resolved.
// The structs are immutable once loaded; copying them is cheap enough for
// handing a spec to the actor that owns it.
#pragma once

#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/error.hpp"
#include "config/units.hpp"

namespace grace::config {

// -- enumerations -------------------------------------------------------------

/// How a supervisor restarts its children (Erlang/OTP's restart strategies).
enum class strategy { one_for_one, one_for_all, rest_for_one };

/// When a child is restarted (OTP's restart types).
enum class restart_type { permanent, transient, temporary };

/// What a supervisor does once its restart intensity is exceeded.
enum class exhausted_action { escalate, hold };

/// When the audit log is fsynced.
enum class fsync_policy { always, never };

/// Severity of an incident.
enum class severity { low, medium, high, critical };

/// Every failure mode Grace recognises (SPEC.md section 4).
enum class failure_mode {
  crashed,
  exited,
  spawn_failed,
  sandbox_failed,
  oom_killed,
  ready_timeout,
  heartbeat_missed,
  connectivity_lost,
  api_timeout,
  api_error,
  rate_limited,
  check_failed,
  resource_spike,
  log_pattern,
  kpi_threshold,
  event_anomaly,
  file_stale,
  version_rollback,
  port_in_use,
  dependency_failed,
  restart_intensity_exceeded,
  node_down,
  partitioned,
};

/// Kinds of probe (SPEC.md section 4).
enum class probe_kind {
  heartbeat,
  tcp,
  http,
  exec,
  resource,
  log,
  kpi,
  anomaly,
  file,
};

std::string_view to_string(strategy x);
std::string_view to_string(restart_type x);
std::string_view to_string(exhausted_action x);
std::string_view to_string(fsync_policy x);
std::string_view to_string(severity x);
std::string_view to_string(failure_mode x);
std::string_view to_string(probe_kind x);

/// Returns every value of an enumeration, in declaration order, with its name.
template <class Enum>
const std::vector<std::pair<std::string_view, Enum>>& enum_names();

/// Parses the name of an enumerator; nullopt if `text` names none.
template <class Enum>
std::optional<Enum> from_string(std::string_view text) {
  for (auto& [name, value] : enum_names<Enum>())
    if (name == text)
      return value;
  return std::nullopt;
}

// -- building blocks ----------------------------------------------------------

/// Restart throttling of a crash-looping child (SPEC.md section 3).
struct backoff_spec {
  duration min{};
  duration max{};
  double factor = 0;
  double jitter = 0;

  friend bool operator==(const backoff_spec&, const backoff_spec&) = default;
};

/// How a child is stopped: SIGTERM, then SIGKILL after `timeout`.
struct shutdown_spec {
  enum class kind { timeout, brutal_kill, infinity };
  kind how = kind::timeout;
  duration timeout{};

  friend bool operator==(const shutdown_spec&, const shutdown_spec&) = default;
};

/// When a started child counts as ready.
struct ready_spec {
  enum class kind { running, tcp, notify, exec, delay };
  kind how = kind::running;
  std::string host;              // tcp
  std::uint16_t port = 0;        // tcp
  std::vector<std::string> argv; // exec
  duration within{};             // tcp, notify, exec: else ready_timeout
  duration delay{};              // delay

  friend bool operator==(const ready_spec&, const ready_spec&) = default;
};

/// One resource limit applied with setrlimit(2) before exec.
struct rlimit_spec {
  std::string name; // as written: nofile, core, as, ...
  int resource = 0; // RLIMIT_*; -1 for `memory` (its cgroup's memory.max)
  std::uint64_t value = 0;
  bool unlimited = false;
  source_pos where;

  friend bool operator==(const rlimit_spec&, const rlimit_spec&) = default;
};

/// A reference to another part of the config, with where it was written.
struct reference {
  std::string name;
  source_pos where;

  friend bool operator==(const reference&, const reference&) = default;
};

// -- probes -------------------------------------------------------------------

struct heartbeat_probe {
  duration within{};

  friend bool operator==(const heartbeat_probe&, const heartbeat_probe&)
    = default;
};

struct tcp_probe {
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const tcp_probe&, const tcp_probe&) = default;
};

struct http_probe {
  std::string url;
  std::string host; // from url
  std::uint16_t port = 80;
  std::string target; // path and query, "/" at least
  int expect_min = 200;
  int expect_max = 399;

  friend bool operator==(const http_probe&, const http_probe&) = default;
};

struct exec_probe {
  std::vector<std::string> argv;

  friend bool operator==(const exec_probe&, const exec_probe&) = default;
};

struct resource_probe {
  std::optional<std::uint64_t> max_rss; // bytes
  std::optional<double> max_cpu;        // percent of one core
  std::optional<std::uint64_t> max_fds;
  duration sustained{}; // `for`

  friend bool operator==(const resource_probe&, const resource_probe&)
    = default;
};

struct log_probe {
  enum class source { both, out, err, file };
  source from = source::both;
  std::string file; // absolute, when from == file
  std::string pattern;
  int count = 1;
  duration window{};

  friend bool operator==(const log_probe&, const log_probe&) = default;
};

struct kpi_probe {
  std::vector<std::string> argv; // exec source, or
  std::string url;               // http source
  http_probe http;               // the url, parsed
  std::string json_pointer;
  std::optional<double> above;
  std::optional<double> below;
  duration sustained{}; // `for`

  friend bool operator==(const kpi_probe&, const kpi_probe&) = default;
};

struct anomaly_probe {
  reference of; // a probe of the same component
  double z = 0;
  int min_samples = 0;

  friend bool operator==(const anomaly_probe&, const anomaly_probe&) = default;
};

struct file_probe {
  std::string path; // absolute
  std::optional<duration> max_age;
  bool monotonic = false;

  friend bool operator==(const file_probe&, const file_probe&) = default;
};

/// One monitor of a component.
struct probe_spec {
  std::string name;
  probe_kind kind = probe_kind::tcp;
  duration every{};
  // The first check comes this long after the component is ready; unset,
  // one `every` after it.
  std::optional<duration> initial_delay;
  duration timeout{};
  int failures = 1;
  std::optional<config::severity> severity; // else the failure mode's default
  std::variant<heartbeat_probe, tcp_probe, http_probe, exec_probe,
               resource_probe, log_probe, kpi_probe, anomaly_probe, file_probe>
    check;
  source_pos where;

  friend bool operator==(const probe_spec&, const probe_spec&) = default;
};

// -- playbooks ----------------------------------------------------------------

/// One step of a playbook (SPEC.md section 5).
struct step_spec {
  enum class kind {
    snapshot,
    restart,
    stop,
    start,
    signal,
    wait,
    exec,
    free_port,
    notify,
    verify,
  };
  kind what = kind::restart;
  int signal = 0;                // signal
  duration wait{};               // wait
  std::vector<std::string> argv; // exec, notify (hook command)
  std::string url;               // notify (webhook)
  std::string host;              // notify: from url
  std::uint16_t port = 80;       // notify: from url
  std::string target;            // notify: from url, "/" at least
  duration within{};             // verify
  duration timeout{};            // every step
  source_pos where;

  friend bool operator==(const step_spec&, const step_spec&) = default;
};

std::string_view to_string(step_spec::kind x);

/// A user playbook from the config's `playbooks:` section.
struct playbook_spec {
  std::string name;
  std::vector<step_spec> steps;
  int max_attempts = 1;
  std::optional<reference> on_failure; // a playbook, `escalate` or `safe_hold`
  source_pos where;
};

// -- the tree -----------------------------------------------------------------

/// An OS process supervised by Grace.
struct child_spec {
  std::string name; // `w-2` for replica 2 of `w`
  std::string path; // `root/workers/w-2`
  std::vector<std::string> argv;
  bool shell = false; // argv is {"/bin/sh", "-c", <shell>}
  restart_type restart = restart_type::permanent;
  shutdown_spec shutdown;
  int stop_signal = SIGTERM; // sent first to stop it (then SIGCONT)
  std::vector<std::uint16_t> ports;
  ready_spec ready;
  std::vector<std::pair<std::string, std::string>> env; // in file order
  std::string cwd;                                      // absolute
  std::optional<std::string> user;
  std::vector<rlimit_spec> limits;
  std::vector<probe_spec> probes;
  std::map<failure_mode, reference> on; // failure mode -> playbook
  std::map<failure_mode, config::severity> severity;
  std::vector<reference> depends_on; // component paths, resolved
  backoff_spec backoff;
  std::optional<int> replica; // index within its pool
  /// In a cluster: the nodes it may run on, in order (exactly one at a
  /// time); empty: it runs on every node.
  std::vector<reference> nodes;
  source_pos where;

  friend bool operator==(const child_spec&, const child_spec&) = default;
};

struct component_spec;

/// A supervisor: a strategy over an ordered list of children.
struct supervisor_spec {
  std::string name;
  std::string path;
  config::strategy strategy = strategy::one_for_one;
  int intensity = 0;
  duration period{};
  exhausted_action on_exhausted = exhausted_action::escalate;
  restart_type restart = restart_type::permanent; // as a child of its parent
  shutdown_spec shutdown;
  std::vector<reference> depends_on;
  std::vector<component_spec> children;
  /// In a cluster: the nodes the subtree may run on, as a whole.
  std::vector<reference> nodes;
  source_pos where;

  friend bool operator==(const supervisor_spec&, const supervisor_spec&)
    = default;
};

/// A child of a supervisor: a process or a nested supervisor.
struct component_spec {
  std::variant<child_spec, supervisor_spec> node;

  bool is_supervisor() const noexcept { return node.index() == 1; }
  const std::string& name() const;
  const std::string& path() const;
  const source_pos& where() const;

  friend bool operator==(const component_spec&, const component_spec&)
    = default;
};

/// A metrics endpoint `host:port`.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// A node of a cluster: its name and the address it listens on.
struct cluster_node {
  std::string name;
  endpoint address;
  source_pos where;
};

/// Mutual TLS between the nodes: this node's certificate and key, and the
/// authority that signs every node's certificate (absolute paths).
struct tls_spec {
  std::string cert;
  std::string key;
  std::string ca;
};

/// `cluster:` (SPEC.md section 9): the nodes and how they agree on who is up.
struct cluster_spec {
  std::string node; // this node; empty: `grace run --node NAME` names it
  std::vector<cluster_node> nodes; // in the file's order
  duration heartbeat{std::chrono::milliseconds{200}};
  duration down_after{std::chrono::seconds{1}};
  std::size_t quorum = 0; // nodes that must be reachable, this one included
  bool failback = false;
  std::optional<tls_spec> tls;
  source_pos where; // of the `cluster` key
};

/// The node's restart budget: at most `restarts` restarts across the whole
/// tree within any `period`; past it, failed components are held instead
/// of restarted (a critical incident each).
struct budget_spec {
  int restarts = 0;
  duration period{};
};

/// The whole config file, validated.
struct grace_config {
  std::string file;     // as given
  std::string base_dir; // absolute directory of the file
  std::string digest;   // SHA-256 of the file's bytes, hex (config/cluster)
  int version = 1;
  std::string log_dir; // absolute
  std::optional<endpoint> metrics;
  fsync_policy fsync = fsync_policy::always;
  bool audit_configured = false; // an `audit:` section is present
  shutdown_spec default_shutdown;
  backoff_spec default_backoff;
  std::optional<budget_spec> restart_budget; // none: no node-wide limit
  std::optional<cluster_spec> cluster;       // none: a single node
  supervisor_spec root;
  std::map<std::string, playbook_spec> playbooks;
};

/// Calls `f(const child_spec&)` for every process in the tree, in start order.
template <class F>
void for_each_child(const supervisor_spec& sup, F&& f) {
  for (auto& c : sup.children) {
    if (auto* child = std::get_if<child_spec>(&c.node))
      f(*child);
    else
      for_each_child(std::get<supervisor_spec>(c.node), f);
  }
}

/// Returns the number of processes in the tree.
std::size_t count_children(const supervisor_spec& sup);

/// Returns the number of supervisors in the tree, the root included.
std::size_t count_supervisors(const supervisor_spec& sup);

} // namespace grace::config
