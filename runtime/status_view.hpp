// `grace status` for people: the tree a running grace reports (its JSON
// answer), one line per component, indented by depth, with state, pid,
// uptime, restarts and the last failure; coloured on a terminal.
#pragma once

#include <string>

namespace grace::runtime {

/// Renders the control socket's answer to {"cmd":"status"}. Returns "" if
/// `answer` is not such an answer.
std::string render_status(const std::string& answer, bool colour);

/// Renders one line of `grace events` (a JSON event) for people:
/// "2026-11-28T04:25:15.123456Z root/db exited (pid 42): killed by SIGSEGV",
/// "... incident inc_... root/db crashed resolved in 1.2 ms". Unknown lines
/// are returned as they are.
std::string render_event(const std::string& line);

/// Returns a compact age: "42s", "5m03s", "2h05m", "3d04h".
std::string compact_age(double seconds);

} // namespace grace::runtime
