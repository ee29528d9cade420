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
    }
    return "grace error " + std::to_string(e);
  }
};

} // namespace

const std::error_category& grace_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(grace_errc e) noexcept {
  return {static_cast<int>(e), grace_category()};
}

} // namespace grace
