// Where a child's stdout and stderr go: `<log_dir>/<path>.out|.err`. The
// child writes into a pipe with a large buffer; the I/O thread reads it and
// hands it to the disk thread, which appends it to the file and rotates the
// file by size (`.1`, `.2`, ... oldest dropped) while the child runs. A
// disk slower than the child holds up only that child: past 256 KiB queued
// for its file, the pipe is not read until the disk has caught up, and the
// child waits on it. One sink per stream lives as long as the component:
// every incarnation of the child appends to the same file.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/unique_fd.hpp"

namespace grace::runtime {

class io_loop;

/// Returns the log file name of component `path` (`root/db` -> `root.db`).
std::string log_name(const std::string& path);

/// Copies what a child writes to a pipe into a size-rotated file.
class output_sink : public std::enable_shared_from_this<output_sink> {
public:
  /// Creates a sink for `file`; nothing is opened until attach().
  static std::shared_ptr<output_sink> make(io_loop& loop, std::string file,
                                           std::uint64_t max_bytes, int keep);

  ~output_sink();

  /// Creates a pipe, starts copying from its read end, and returns its
  /// write end for the child. Call on the I/O thread. Returns an empty fd
  /// (errno set) if the pipe cannot be created.
  unique_fd attach();

  /// A pipe for the child: `write` goes to the child, `read` to read_from().
  struct pipe_ends {
    unique_fd read;
    unique_fd write;
  };

  /// Creates a pipe with a large buffer (any thread). Both ends empty (errno
  /// set) on failure.
  static pipe_ends make_pipe();

  /// Starts copying from `read` (a make_pipe() read end). Call on the I/O
  /// thread.
  void read_from(unique_fd read);

  /// Calls `tap` with every complete line written from now on (at most
  /// 4 KiB of each; longer lines are cut), on the I/O thread. Call on the
  /// I/O thread.
  void add_line_tap(std::function<void(std::string_view)> tap);

  /// Returns whether what is queued for the disk is too much to read more
  /// (this sink's, or all sinks' together).
  bool behind() const noexcept;

private:
  output_sink(io_loop& loop, std::string file, std::uint64_t max_bytes,
              int keep);

  struct reader;
  // On the I/O thread: the taps, then the chunk is queued for the disk.
  void take(const char* data, std::size_t size);
  // On the disk thread.
  void write(const char* data, std::size_t size);
  void failing(const char* what, int error); // says so once per errno
  void rotate();
  bool open_file();

  io_loop& loop_;
  std::string file_;
  std::uint64_t max_bytes_;
  int keep_;
  // The disk thread's.
  unique_fd fd_;
  std::uint64_t size_ = 0;    // of the current file
  int error_ = 0;             // of the failing writes (0: none)
  std::uint64_t dropped_ = 0; // bytes since it began
  // Any thread's.
  std::atomic<std::size_t> queued_{0}; // read, not written yet
  // The I/O thread's.
  std::vector<std::function<void(std::string_view)>> taps_;
  std::string partial_;  // the start of a line not ended yet (for taps)
  bool stalled_ = false; // reading waits for the disk
  // When this stall began, and when a stall was last said (the same time
  // if this one was).
  std::chrono::steady_clock::time_point stalled_since_, stall_said_;

  void stall();     // reading waits for the disk: said (at most once a minute)
  void caught_up(); // reading goes on: said if the stall was

  void feed_taps(const char* data, std::size_t size);
};

} // namespace grace::runtime
