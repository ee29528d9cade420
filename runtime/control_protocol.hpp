// The control socket's protocol (SPEC.md section 7), pure: a request line
// -> a typed request or the error to answer with, and the answer and event
// lines. One JSON object per line; text from a request may be any bytes
// (invalid UTF-8 is replaced in answers, never thrown about). The control
// actor (actors/control.cpp) only routes what these return.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace grace::runtime {

/// One component as `grace status` shows it. A supervisor answers with its
/// own entry first, then its children's, depth first.
struct component_status {
  std::string path;
  bool supervisor = false;
  std::string state;          // running, starting, stopping, stopped, held,
                              // waiting (for a dependency), done (temporary)
  std::int32_t pid = 0;       // processes: the current one, else 0
  std::int64_t ready_ns = 0;  // steady: last ready (uptime), else 0
  std::int32_t restarts = 0;  // since grace started
  std::string last_failure;   // in words, else ""
  std::int64_t failed_ns = 0; // steady: when, else 0
  std::string probes;         // "tcp ok, http failing 1/2", else ""
  std::string node;           // in a cluster: the node it runs on, else ""
  bool late = false; // its answer (a process's probes, the rows under a
                     // supervisor) did not come in time: this row is what
                     // its supervisor knows
};

/// A node of a cluster as the answering node sees it (`grace status`).
struct node_status {
  std::string name;
  bool up = false;
  bool self = false;        // the node that answers
  std::int64_t down_ns = 0; // steady: when it went down, if it is down
};

enum class control_command {
  status,
  reload,
  events,
  shutdown,
  start,
  stop,
  restart
};

/// A request understood.
struct control_request_line {
  control_command cmd = control_command::status;
  std::string path; // start, stop, restart: the component
};

/// Parses one request line; `root` is the root supervisor's path (start,
/// stop and restart of it are refused: `grace shutdown` stops everything).
/// Returns the request, or the failure line to answer with.
std::variant<control_request_line, std::string>
parse_control_request(std::string_view line, const std::string& root);

/// {"ok":true}
std::string ok_line();

/// {"ok":false,"error":why}, with "code" (a grace_errc's name, for
/// scripts) unless `code` is empty.
std::string failure_line(const std::string& why, std::string_view code = {});

/// The answer to `status`: every component, uptimes and ages at steady
/// `now_ns`; in a cluster, every node too.
std::string status_line(const std::vector<component_status>& all,
                        std::int64_t now_ns,
                        const std::vector<node_status>& nodes = {});

/// The first line of an `events` stream.
std::string events_stream_line();

/// An event: component `path` is now `state` (at `at_utc`).
std::string state_event_line(const std::string& at_utc, const std::string& path,
                             const std::string& state, std::int32_t pid,
                             const std::string& detail);

/// An event: an incident line was written.
std::string incident_event_line(const std::string& at_utc,
                                const std::string& incident_line);

} // namespace grace::runtime
