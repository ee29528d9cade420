// Follows a log file the way `tail -F` does, with inotify on its directory:
// new lines are read as they are appended, and when the file is rotated
// (renamed away and created again, or truncated) the follower reads what is
// left of the old one and goes on with the new one from its start. Lines
// are handed out on the I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace grace::runtime {

class io_loop;

/// A running `tail -F`.
class file_follower : public std::enable_shared_from_this<file_follower> {
public:
  using line_handler = std::function<void(std::string_view)>;

  /// Starts following `path` from its current end (the whole file if it
  /// appears later). Returns nullptr (errno set) if inotify is unavailable.
  /// Call on the I/O thread.
  static std::shared_ptr<file_follower> start(io_loop& loop, std::string path,
                                              line_handler on_line);

  ~file_follower();

  /// Stops following. Call on the I/O thread.
  void stop();

private:
  struct impl;
  explicit file_follower(std::unique_ptr<impl> p);
  void wait();
  void on_events();

  std::unique_ptr<impl> impl_;
};

} // namespace grace::runtime
