// An incident as the audit log records it (SPEC.md section 6), its JSON
// codec, its id, and the UTC wall-clock format it uses. Plain data: the
// tracker actor fills incidents in, the audit log writes them, and `grace
// incidents` reads them back. Wall times are microseconds since the Unix
// epoch; durations (MTTR, time to detect) come from the steady clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace grace::runtime {

/// Where an incident stands. `open` until it closes with one of the others.
enum class incident_status {
  open,
  resolved,
  failed,
  escalated,
  held,
  abandoned
};

std::string_view to_string(incident_status x);
std::optional<incident_status> incident_status_from(std::string_view text);

/// A value in an incident's `detail` object or an action's extra fields.
using detail_value = std::variant<std::int64_t, double, bool, std::string>;

/// Named values, written in this order.
using detail_fields = std::vector<std::pair<std::string, detail_value>>;

/// One thing done about an incident: a restart, a start, a verification.
struct incident_action {
  std::string step;
  bool ok = true;
  std::int64_t at_us = 0; // wall clock
  detail_fields fields;   // pid, holder_pid, reason, ...

  friend bool operator==(const incident_action&, const incident_action&)
    = default;
};

/// An incident: one failure of one component and what was done about it.
struct incident {
  std::string id;
  std::string component;
  std::string failure_mode;
  std::string severity;
  incident_status status = incident_status::open;
  std::int64_t detected_us = 0;          // wall clock
  std::optional<std::int64_t> closed_us; // wall clock, once closed
  std::optional<double> mttr_seconds;    // resolved only
  std::optional<double> ttd_seconds;     // when the failure time is known
  std::string playbook;
  int attempts = 0; // remediation attempts (restarts ordered)
  int failures = 1; // failures counted while it was open
  std::vector<incident_action> actions;
  std::optional<std::string> snapshot; // relative to the log directory
  std::optional<std::string> caused_by;
  detail_fields detail;

  /// Returns true only for resolved incidents.
  bool success() const noexcept { return status == incident_status::resolved; }

  friend bool operator==(const incident&, const incident&) = default;
};

/// Renders `x` as one JSON line (no newline), keys in SPEC order.
std::string to_json_line(const incident& x);

/// Parses a line written by to_json_line(). Returns nullopt and sets
/// `error` on anything else (a torn line, garbage, a missing key).
std::optional<incident> incident_from_json(std::string_view line,
                                           std::string* error = nullptr);

/// Renders wall-clock microseconds as `2026-11-27T16:43:28.024197Z`.
std::string format_utc(std::int64_t us);

/// Parses what format_utc() writes (the `Z` is required). Nullopt if the
/// text is not such a time.
std::optional<std::int64_t> parse_utc(std::string_view text);

/// Makes incident ids in the seed's format `inc_YYYYMMDD_HHMMSS_ffffff`
/// (UTC), with a `_N` suffix when two incidents fall in one microsecond,
/// and in a cluster the node's name last: `inc_..._ffffff_<node>`.
class incident_ids {
public:
  /// `node`: this node's name in a cluster; "" on a single node.
  explicit incident_ids(std::string node = {}) : node_(std::move(node)) {}

  /// Returns a fresh id for an incident detected at `wall_us`.
  std::string next(std::int64_t wall_us);

private:
  // Ids given per microsecond, kept for ten seconds of detections:
  // detections reach the tracker nearly in order.
  std::map<std::int64_t, int> recent_;
  std::string node_;
};

} // namespace grace::runtime
