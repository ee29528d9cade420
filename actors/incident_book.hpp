// The incident lifecycle, pure: which incidents are open (one per
// component), what a failure, an action, a recovery or a close does to
// them, and the complete incident to write each time. No CAF, no clock, no
// I/O: times come in as arguments (steady nanoseconds for durations, wall
// microseconds for the record). The tracker actor (tracker.hpp) is its
// thin shell.
//
//   (none) --failed--> open --failed--> open (failures + 1)
//                       |  --action--> open (action recorded)
//                       |  --recovered--> resolved (MTTR = ready - detected)
//                       +--close--> failed | escalated | held | abandoned
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/failure.hpp"
#include "config/schema.hpp"
#include "runtime/incident.hpp"

namespace grace::actors {

/// A failure as the tracker hears of it: the failure note, classified.
struct failure_event {
  std::string path;
  component_failure what;
  config::severity severity = config::severity::high;
  std::int64_t at_ns = 0;   // steady: detected
  std::int64_t wall_us = 0; // wall clock at at_ns
  /// Resolved only by a verification (the coordinator's path), not by the
  /// component merely being ready again.
  bool needs_verification = false;
  /// The playbook that heals it; empty: `restart`.
  std::string playbook;
  /// The incident that caused it (a dependency's), if any.
  std::string caused_by;
};

/// An open incident and what the book keeps beside it.
struct open_incident {
  runtime::incident inc;
  std::int64_t detected_ns = 0;
  component_failure last; // the latest failure counted on it
  bool needs_verification = false;
};

/// Named values as an incident's fields, in their order.
runtime::detail_fields to_detail(const note_fields& f);

/// The open incidents of one node.
class incident_book {
public:
  /// Past this many, further failures and actions are only counted: a
  /// component failing for hours must not grow one incident without bound.
  static constexpr std::size_t max_actions = 64;

  /// `node`: this node's name in a cluster (its ids end with it); "" alone.
  explicit incident_book(std::string node = {}) : ids_(std::move(node)) {}

  /// Opens an incident for `e.path` and returns it (to write, `open`), or
  /// counts the failure on the one already open and returns nothing.
  std::optional<runtime::incident> failed(const failure_event& e);

  /// Records `a` on the open incident of `path`, if any. A `restart` is a
  /// remediation attempt, unless the action says which attempt of its
  /// playbook it belongs to (`attempt` > 0). A non-empty `playbook` is the
  /// one healing it from now on (an `on_failure` fallback).
  void act(const std::string& path, runtime::incident_action a, int attempt = 0,
           const std::string& playbook = {});

  /// Resolves the open incident of `path` (ready at steady `at_ns`, wall
  /// `wall_us`, by `rule`) and returns it complete; nothing if none is open.
  /// An incident that needs a verification is resolved only by one
  /// (`verification`); readiness alone is then recorded as an action.
  std::optional<runtime::incident>
  recovered(const std::string& path, const std::string& rule, std::int32_t pid,
            std::int64_t at_ns, std::int64_t wall_us,
            bool verification = false);

  /// Sets the snapshot of the open incident of `path`; false if none.
  bool set_snapshot(const std::string& path, std::string relative);

  /// Closes the open incident of `path` (and, with `subtree`, every one
  /// under it) with `status`, and returns them complete.
  /// A `severity` replaces theirs (a hold by the restart budget is
  /// critical).
  std::vector<open_incident>
  close(const std::string& path, bool subtree, runtime::incident_status status,
        const std::string& why, std::int64_t wall_us,
        std::optional<config::severity> severity = std::nullopt);

  /// Closes every open incident with `status`.
  std::vector<open_incident> close_all(runtime::incident_status status,
                                       const std::string& why,
                                       std::int64_t wall_us);

  /// Returns the id of the open incident of `path`, else of the last one it
  /// had (resolved moments ago, say), else "".
  std::string incident_of(const std::string& path) const;

  /// Returns the open incident of `path`, or null.
  const open_incident* find(const std::string& path) const;

  std::size_t open_count() const noexcept { return open_.size(); }

private:
  // Closes the open incidents whose path `which` accepts, in path order.
  std::vector<open_incident>
  close_if(const std::function<bool(const std::string&)>& which,
           runtime::incident_status status, const std::string& why,
           std::int64_t wall_us,
           std::optional<config::severity> severity = std::nullopt);

  std::unordered_map<std::string, open_incident> open_;
  std::unordered_map<std::string, std::string> last_; // path -> last id
  runtime::incident_ids ids_;
};

} // namespace grace::actors
