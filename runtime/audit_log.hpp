// The append-only audit log, `<log_dir>/incidents.jsonl` (SPEC.md section
// 6), and the files that go with it (snapshots). A writer thread of its
// own does the I/O, so nobody who reports an incident ever waits for a
// disk: append() queues and returns. Each line is one write(2) on an
// O_APPEND descriptor, fsynced per policy before the next batch. A failing
// disk (full, read-only, gone) is reported loudly and retried with backoff;
// queued records are kept until they are written, never dropped.
//
// At start the writer first recovers what a previous run left: a torn last
// line is ended so the next line starts cleanly, and incidents still open
// (grace was killed) are closed as `abandoned`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace grace::runtime {

/// Writes incident lines and snapshot files on a thread of its own.
class audit_log {
public:
  enum class sync { always, never };

  struct options {
    std::string path; // the JSONL file
    sync fsync = sync::always;
    bool recover = true; // close incidents a previous run left open
    /// How long the writer waits after a wake-up for more lines, so that
    /// a restart's lines go out in one batch once its replacement runs.
    std::chrono::milliseconds linger{5};
    std::chrono::milliseconds retry_min{50};
    std::chrono::milliseconds retry_max{2000};
  };

  /// What the writer has done so far.
  struct counters {
    std::uint64_t written = 0;   // lines written (and synced per policy)
    std::uint64_t pending = 0;   // lines queued, not written yet
    std::uint64_t errors = 0;    // failed attempts (open, write, fsync)
    std::uint64_t abandoned = 0; // incidents closed by recovery
    std::uint64_t bad_lines = 0; // unreadable lines seen by recovery
    bool recovered = false;      // recovery has run
  };

  /// Starts the writer thread; it opens `opts.path` (creating directories)
  /// and recovers first if asked.
  explicit audit_log(options opts);

  /// Writes what is still queued (retrying for up to five seconds, then
  /// printing the unwritten lines to stderr), and stops the thread.
  ~audit_log();

  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  /// Queues one line (no newline) for writing. Returns at once.
  void append(std::string line);

  /// Queues a whole file (a snapshot), written before the lines appended
  /// after this call: `content` is called on the writer thread (it may read
  /// files), its text goes to a temporary name, synced per policy, renamed.
  void write_file(std::string path, std::function<std::string()> content);

  /// Waits until everything queued so far is written; false on timeout.
  bool flush(std::chrono::milliseconds timeout);

  /// Returns the writer's counters.
  counters stats() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace grace::runtime
