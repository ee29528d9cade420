// Where a child's stdout and stderr go: `<log_dir>/<path>.out|.err`. The
// child writes into a pipe with a large buffer; the I/O thread copies it
// into the file and rotates the file by size (`.1`, `.2`, ... oldest
// dropped) while the child runs. One sink per stream lives as long as the
// component: every incarnation of the child appends to the same file.
#pragma once

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

  /// Returns the bytes copied into files so far (all generations).
  std::uint64_t bytes_written() const noexcept { return total_; }

private:
  output_sink(io_loop& loop, std::string file, std::uint64_t max_bytes,
              int keep);

  struct reader;
  void write(const char* data, std::size_t size);
  void failing(const char* what, int error); // says so once per errno
  void rotate();
  bool open_file();

  io_loop& loop_;
  std::string file_;
  std::uint64_t max_bytes_;
  int keep_;
  unique_fd fd_;
  std::uint64_t size_ = 0;    // of the current file
  std::uint64_t total_ = 0;   // copied overall
  int error_ = 0;             // of the failing writes (0: none)
  std::uint64_t dropped_ = 0; // bytes since it began
  std::vector<std::function<void(std::string_view)>> taps_;
  std::string partial_; // the start of a line not ended yet (for taps)

  void feed_taps(const char* data, std::size_t size);
};

} // namespace grace::runtime
