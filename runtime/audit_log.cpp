#include "runtime/audit_log.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "runtime/incident.hpp"
#include "runtime/incident_reader.hpp"
#include "runtime/unique_fd.hpp"

namespace grace::runtime {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

namespace {

struct job {
  bool is_file = false;
  std::string text; // the line, or (once made) the file's content
  std::string path; // files only
  std::function<std::string()> make; // files only
};

std::int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

struct audit_log::impl {
  options opts;
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable drained;
  std::deque<job> queue;
  bool stopping = false;
  int flushing = 0;         // callers waiting in flush()
  std::uint64_t queued = 0; // jobs ever queued
  std::uint64_t done = 0;   // jobs ever finished (written or given up)
  counters c;

  // Writer thread only.
  unique_fd fd;
  bool need_newline = false; // the file ends inside a line: end it first
  bool recovery_due = false;
  bool failing = false;
  clock::time_point last_report{};
  clock::time_point give_up_at = clock::time_point::max();
  std::thread thread;

  explicit impl(options o) : opts(std::move(o)), recovery_due(opts.recover) {}

  void run() {
    // Low priority, like the log writer: on a busy machine a replacement's
    // exec goes first; the record follows a moment later.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    if (recovery_due) // before anything of this run is written
      with_retries([&] { return ensure_open(); });
    std::deque<job> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock{mutex};
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty() && stopping)
          break;
        // Linger a moment: what woke us is usually a restart whose
        // replacement is exec'ing right now, and more lines follow (its
        // incident resolves a millisecond later). One batch, one sync, and
        // the disk work after the replacement runs. Nothing waits on it but
        // flush(), which cuts it short.
        if (opts.linger.count() > 0)
          wake.wait_for(lock, opts.linger,
                        [&] { return stopping || flushing > 0; });
        batch.swap(queue);
      }
      std::size_t lines = 0;
      for (auto& j : batch) {
        carry_out(j);
        lines += j.is_file ? 0 : 1;
      }
      if (lines > 0)
        sync_data();
      {
        std::lock_guard<std::mutex> lock{mutex};
        done += batch.size();
        c.written += lines;
      }
      drained.notify_all();
      batch.clear();
    }
  }

  // Keeps trying `attempt` with backoff until it succeeds or, once grace
  // is stopping, until the deadline passes. Returns whether it succeeded.
  template <class F>
  bool with_retries(F&& attempt) {
    auto delay = opts.retry_min;
    for (;;) {
      if (attempt()) {
        if (failing) {
          failing = false;
          spdlog::info("audit log {} is writable again", opts.path);
        }
        return true;
      }
      {
        std::lock_guard<std::mutex> lock{mutex};
        ++c.errors;
        if (stopping && give_up_at == clock::time_point::max())
          give_up_at = clock::now() + std::chrono::seconds{5};
      }
      if (clock::now() >= give_up_at)
        return false;
      std::unique_lock<std::mutex> lock{mutex};
      // Woken early by the destructor: the deadline then starts.
      wake.wait_for(lock, delay, [&] {
        return stopping && give_up_at == clock::time_point::max();
      });
      delay = std::min(opts.retry_max, delay * 2);
    }
  }

  void report(const char* what, int err) {
    auto now = clock::now();
    if (failing && now - last_report < std::chrono::seconds{5})
      return;
    failing = true;
    last_report = now;
    std::uint64_t waiting;
    {
      std::lock_guard<std::mutex> lock{mutex};
      waiting = queued - done;
    }
    spdlog::error("audit log {}: cannot {}: {} ({} record(s) waiting); "
                  "retrying, nothing is dropped",
                  opts.path, what, std::strerror(err), waiting);
  }

  bool ensure_open() {
    if (!fd) {
      std::error_code ec;
      auto dir = fs::path{opts.path}.parent_path();
      if (!dir.empty())
        fs::create_directories(dir, ec);
      fd.reset(::open(opts.path.c_str(),
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
      if (!fd) {
        report("open it", errno);
        return false;
      }
      // A previous write (or run) may have stopped inside a line.
      struct stat st {};
      char last = '\n';
      if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
        unique_fd rd{::open(opts.path.c_str(), O_RDONLY | O_CLOEXEC)};
        if (rd && ::pread(rd.get(), &last, 1, st.st_size - 1) == 1
            && last != '\n')
          need_newline = true;
      }
    }
    if (recovery_due) {
      recovery_due = false;
      recover();
    }
    return true;
  }

  // Closes the incidents a previous run left open, as `abandoned`.
  void recover() {
    auto found = find_open(opts.path);
    if (found.counts.torn_tail)
      spdlog::warn("audit log {}: the last line was torn (power loss or a "
                   "kill mid-write); skipped, the next line starts cleanly",
                   opts.path);
    if (found.counts.bad_lines > 0)
      spdlog::warn("audit log {}: {} unreadable line(s) skipped", opts.path,
                   found.counts.bad_lines);
    auto now = wall_now_us();
    for (auto& x : found.open) {
      x.status = incident_status::abandoned;
      x.closed_us = now;
      x.detail.emplace_back(
        "abandoned", std::string{"still open when grace started again: the "
                                 "previous run ended without closing it"});
      auto line = to_json_line(x);
      with_retries([&] { return write_line(line); });
      spdlog::warn("incident {} ({} {}) left open by a previous run: "
                   "abandoned",
                   x.id, x.component, x.failure_mode);
    }
    std::lock_guard<std::mutex> lock{mutex};
    c.abandoned += found.open.size();
    c.bad_lines += found.counts.bad_lines;
    c.recovered = true;
  }

  bool cut_fragment(ssize_t n) {
    struct stat st {};
    return ::fstat(fd.get(), &st) == 0 && st.st_size >= n
           && ::ftruncate(fd.get(), st.st_size - n) == 0;
  }

  bool write_line(const std::string& line) {
    if (!ensure_open())
      return false;
    std::string buf;
    buf.reserve(line.size() + 2);
    if (need_newline)
      buf += '\n';
    buf += line;
    buf += '\n';
    for (;;) {
      auto n = ::write(fd.get(), buf.data(), buf.size());
      if (n == static_cast<ssize_t>(buf.size())) {
        need_newline = false;
        return true;
      }
      if (n < 0 && errno == EINTR)
        continue;
      auto err = n < 0 ? errno : ENOSPC;
      // A fragment a full disk let through (the file's last n bytes: one
      // writer, O_APPEND) is cut off again, so the retry leaves no torn
      // line; if it cannot be, it is ended before the retry.
      if (n > 0 && !cut_fragment(n))
        need_newline = true;
      report("write to it", err);
      fd.reset(); // reopen: the file may have been replaced or remounted
      return false;
    }
  }

  void sync_data() {
    if (opts.fsync != audit_log::sync::always || !fd)
      return;
    while (::fdatasync(fd.get()) != 0) {
      if (errno == EINTR)
        continue;
      report("fsync it", errno);
      std::lock_guard<std::mutex> lock{mutex};
      ++c.errors;
      return;
    }
  }

  bool write_file(job& j) {
    if (j.make) {
      j.text = j.make();
      j.make = nullptr;
    }
    std::error_code ec;
    fs::create_directories(fs::path{j.path}.parent_path(), ec);
    auto tmp = j.path + ".tmp";
    unique_fd out{
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)};
    if (!out) {
      report("create a snapshot", errno);
      return false;
    }
    std::string_view rest = j.text;
    while (!rest.empty()) {
      auto n = ::write(out.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        report("write a snapshot", n < 0 ? errno : ENOSPC);
        ::unlink(tmp.c_str());
        return false;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (opts.fsync == audit_log::sync::always)
      ::fdatasync(out.get());
    if (::rename(tmp.c_str(), j.path.c_str()) != 0) {
      report("rename a snapshot", errno);
      ::unlink(tmp.c_str());
      return false;
    }
    return true;
  }

  void carry_out(job& j) {
    auto ok = j.is_file ? with_retries([&] { return write_file(j); })
                        : with_retries([&] { return write_line(j.text); });
    if (ok)
      return;
    // Stopping, and the disk still refuses: the record goes to stderr,
    // the last place left, rather than nowhere.
    std::fprintf(stderr, "grace: audit %s NOT WRITTEN to %s: %s\n",
                 j.is_file ? "snapshot" : "record",
                 j.is_file ? j.path.c_str() : opts.path.c_str(),
                 j.text.c_str());
  }
};

audit_log::audit_log(options opts)
    : impl_(std::make_unique<impl>(std::move(opts))) {
  impl_->thread = std::thread{[this] { impl_->run(); }};
}

audit_log::~audit_log() {
  {
    std::lock_guard<std::mutex> lock{impl_->mutex};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
}

void audit_log::append(std::string line) {
  {
    std::lock_guard<std::mutex> lock{impl_->mutex};
    impl_->queue.push_back(job{false, std::move(line), {}, {}});
    ++impl_->queued;
  }
  impl_->wake.notify_one();
}

void audit_log::write_file(std::string path,
                           std::function<std::string()> content) {
  {
    std::lock_guard<std::mutex> lock{impl_->mutex};
    impl_->queue.push_back(job{true, {}, std::move(path), std::move(content)});
    ++impl_->queued;
  }
  impl_->wake.notify_one();
}

bool audit_log::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{impl_->mutex};
  auto target = impl_->queued;
  ++impl_->flushing;
  impl_->wake.notify_all();
  auto ok = impl_->drained.wait_for(lock, timeout,
                                    [&] { return impl_->done >= target; });
  --impl_->flushing;
  return ok;
}

audit_log::counters audit_log::stats() const {
  std::lock_guard<std::mutex> lock{impl_->mutex};
  auto c = impl_->c;
  c.pending = impl_->queued - impl_->done;
  return c;
}

} // namespace grace::runtime
