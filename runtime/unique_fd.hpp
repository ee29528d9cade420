// A move-only owner of a file descriptor (fmt's `file`, seastar's
// `file_desc`): -1 means empty; the destructor closes and never throws.
#pragma once

#include <utility>

#include <unistd.h>

namespace grace::runtime {

/// Owns one file descriptor.
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  /// Returns the descriptor, or -1.
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// Gives up ownership and returns the descriptor.
  int release() noexcept { return std::exchange(fd_, -1); }

  /// Closes the descriptor held, if any, and takes `fd`.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_); // EINTR on close: the fd is gone either way on Linux
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

} // namespace grace::runtime
