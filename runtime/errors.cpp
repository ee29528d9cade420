#include "runtime/errors.hpp"

namespace grace {

namespace {

class category : public std::error_category {
public:
  const char* name() const noexcept override { return "grace"; }

  std::string message(int e) const override {
    switch (static_cast<grace_errc>(e)) {
      case grace_errc::another_instance:
        return "another grace answers there";
      case grace_errc::not_a_socket:
        return "not a socket";
      case grace_errc::path_too_long:
        return "path too long for a unix socket";
      case grace_errc::no_such_component:
        return "no such component";
      case grace_errc::not_supervising:
        return "its supervisor is not supervising";
      case grace_errc::not_running:
        return "it is not running";
      case grace_errc::stopped:
        return "stopped";
      case grace_errc::budget_spent:
        return "the node's restart budget is spent";
      case grace_errc::intensity_exceeded:
        return "restart intensity exceeded";
      case grace_errc::gave_up:
        return "its supervisor gave up";
      case grace_errc::unknown_operation:
        return "unknown operation";
      case grace_errc::elsewhere:
        return "placed on another node";
    }
    return "grace error " + std::to_string(e);
  }
};

} // namespace

std::string_view code_name(grace_errc e) noexcept {
  switch (e) {
    case grace_errc::another_instance:
      return "another_instance";
    case grace_errc::not_a_socket:
      return "not_a_socket";
    case grace_errc::path_too_long:
      return "path_too_long";
    case grace_errc::no_such_component:
      return "no_such_component";
    case grace_errc::not_supervising:
      return "not_supervising";
    case grace_errc::not_running:
      return "not_running";
    case grace_errc::stopped:
      return "stopped";
    case grace_errc::budget_spent:
      return "budget_spent";
    case grace_errc::intensity_exceeded:
      return "intensity_exceeded";
    case grace_errc::gave_up:
      return "gave_up";
    case grace_errc::unknown_operation:
      return "unknown_operation";
    case grace_errc::elsewhere:
      return "elsewhere";
  }
  return "error";
}

const std::error_category& grace_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(grace_errc e) noexcept {
  return {static_cast<int>(e), grace_category()};
}

} // namespace grace
