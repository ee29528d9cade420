// Grace's own error codes, for failures a caller decides on rather than only
// reports (std::error_code, category "grace"), and `failure`: a code with
// the message people read. A caller branches on the code, never on words.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace grace {

enum class grace_errc {
  another_instance = 1, // another grace answers on this log_dir's socket
  not_a_socket,         // the control socket's path holds something else
  path_too_long,        // longer than a unix socket address takes
  // What a supervisor answers a start, stop or restart it will not do:
  no_such_component,  // no component has that path
  not_supervising,    // its supervisor is stopping, gave up or holds
  not_running,        // it is held or ended (temporary): start it first
  stopped,            // a stop came first: the restart or start is off
  budget_spent,       // the node's restart budget is spent
  intensity_exceeded, // its supervisor's restart intensity is exceeded
  gave_up,            // its supervisor gave up (a reload under way, say)
  unknown_operation,  // not start, stop or restart
  elsewhere,          // placed by the cluster on another node
};

/// The code's name, as the control socket answers it ("no_such_component").
std::string_view code_name(grace_errc e) noexcept;

const std::error_category& grace_category() noexcept;

std::error_code make_error_code(grace_errc e) noexcept;

/// What went wrong: `code` to decide on, `message` to read.
struct failure {
  std::error_code code;
  std::string message;
};

} // namespace grace

template <>
struct std::is_error_code_enum<grace::grace_errc> : std::true_type {};
