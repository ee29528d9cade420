#include "config/schema.hpp"

namespace grace::config {

namespace {

template <class Enum>
std::string_view name_of(Enum x) {
  for (auto& [name, value] : enum_names<Enum>())
    if (value == x)
      return name;
  return "?";
}

} // namespace

template <>
const std::vector<std::pair<std::string_view, strategy>>& enum_names() {
  static const std::vector<std::pair<std::string_view, strategy>> xs{
    {"one_for_one", strategy::one_for_one},
    {"one_for_all", strategy::one_for_all},
    {"rest_for_one", strategy::rest_for_one},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, restart_type>>& enum_names() {
  static const std::vector<std::pair<std::string_view, restart_type>> xs{
    {"permanent", restart_type::permanent},
    {"transient", restart_type::transient},
    {"temporary", restart_type::temporary},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, exhausted_action>>& enum_names() {
  static const std::vector<std::pair<std::string_view, exhausted_action>> xs{
    {"escalate", exhausted_action::escalate},
    {"hold", exhausted_action::hold},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, fsync_policy>>& enum_names() {
  static const std::vector<std::pair<std::string_view, fsync_policy>> xs{
    {"always", fsync_policy::always},
    {"never", fsync_policy::never},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, severity>>& enum_names() {
  static const std::vector<std::pair<std::string_view, severity>> xs{
    {"low", severity::low},
    {"medium", severity::medium},
    {"high", severity::high},
    {"critical", severity::critical},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, failure_mode>>& enum_names() {
  using fm = failure_mode;
  static const std::vector<std::pair<std::string_view, failure_mode>> xs{
    {"crashed", fm::crashed},
    {"exited", fm::exited},
    {"spawn_failed", fm::spawn_failed},
    {"sandbox_failed", fm::sandbox_failed},
    {"oom_killed", fm::oom_killed},
    {"ready_timeout", fm::ready_timeout},
    {"heartbeat_missed", fm::heartbeat_missed},
    {"connectivity_lost", fm::connectivity_lost},
    {"api_timeout", fm::api_timeout},
    {"api_error", fm::api_error},
    {"rate_limited", fm::rate_limited},
    {"check_failed", fm::check_failed},
    {"resource_spike", fm::resource_spike},
    {"log_pattern", fm::log_pattern},
    {"kpi_threshold", fm::kpi_threshold},
    {"event_anomaly", fm::event_anomaly},
    {"file_stale", fm::file_stale},
    {"version_rollback", fm::version_rollback},
    {"port_in_use", fm::port_in_use},
    {"dependency_failed", fm::dependency_failed},
    {"restart_intensity_exceeded", fm::restart_intensity_exceeded},
    {"node_down", fm::node_down},
    {"partitioned", fm::partitioned},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, probe_kind>>& enum_names() {
  static const std::vector<std::pair<std::string_view, probe_kind>> xs{
    {"heartbeat", probe_kind::heartbeat},
    {"tcp", probe_kind::tcp},
    {"http", probe_kind::http},
    {"exec", probe_kind::exec},
    {"resource", probe_kind::resource},
    {"log", probe_kind::log},
    {"kpi", probe_kind::kpi},
    {"anomaly", probe_kind::anomaly},
    {"file", probe_kind::file},
  };
  return xs;
}

template <>
const std::vector<std::pair<std::string_view, step_spec::kind>>& enum_names() {
  using k = step_spec::kind;
  static const std::vector<std::pair<std::string_view, step_spec::kind>> xs{
    {"snapshot", k::snapshot}, {"restart", k::restart},
    {"stop", k::stop},         {"start", k::start},
    {"signal", k::signal},     {"wait", k::wait},
    {"exec", k::exec},         {"free_port", k::free_port},
    {"notify", k::notify},     {"verify", k::verify},
  };
  return xs;
}

std::string_view to_string(strategy x) {
  return name_of(x);
}

std::string_view to_string(restart_type x) {
  return name_of(x);
}

std::string_view to_string(exhausted_action x) {
  return name_of(x);
}

std::string_view to_string(fsync_policy x) {
  return name_of(x);
}

std::string_view to_string(severity x) {
  return name_of(x);
}

std::string_view to_string(failure_mode x) {
  return name_of(x);
}

std::string_view to_string(probe_kind x) {
  return name_of(x);
}

std::string_view to_string(step_spec::kind x) {
  return name_of(x);
}

const std::string& component_spec::name() const {
  return std::visit([](auto& x) -> const std::string& { return x.name; }, node);
}

const std::string& component_spec::path() const {
  return std::visit([](auto& x) -> const std::string& { return x.path; }, node);
}

const source_pos& component_spec::where() const {
  return std::visit([](auto& x) -> const source_pos& { return x.where; }, node);
}

std::size_t count_children(const supervisor_spec& sup) {
  std::size_t n = 0;
  for_each_child(sup, [&n](const child_spec&) { ++n; });
  return n;
}

std::size_t count_supervisors(const supervisor_spec& sup) {
  std::size_t n = 1;
  for (auto& c : sup.children)
    if (auto* s = std::get_if<supervisor_spec>(&c.node))
      n += count_supervisors(*s);
  return n;
}

} // namespace grace::config
