// Grace's own error codes, for failures a caller decides on rather than only
// reports (std::error_code, category "grace"), and `failure`: a code with
// the message people read. A caller branches on the code, never on words.
#pragma once

#include <string>
#include <system_error>

namespace grace {

enum class grace_errc {
  another_instance = 1, // another grace answers on this log_dir's socket
  not_a_socket,         // the control socket's path holds something else
  path_too_long,        // longer than a unix socket address takes
};

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
