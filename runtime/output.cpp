#include "runtime/output.hpp"

#include <cerrno>
#include <filesystem>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "runtime/io_loop.hpp"

namespace fs = std::filesystem;

namespace grace::runtime {

namespace {

/// Pipe buffer for child output: a burst this large never waits for grace.
constexpr int pipe_buffer = 1024 * 1024;

/// What one read takes from a pipe, into one buffer per I/O thread shared
/// by every reader on it (a buffer per reader held 64 KiB for each stream
/// of each child, and for the next instance's pipes too: 50 MiB of heap
/// for 200 children, most of it never written, which the allocator's
/// resident pages crept up to).
constexpr std::size_t read_size = 64 * 1024;

char* read_buffer() {
  thread_local std::unique_ptr<char[]> buf{new char[read_size]};
  return buf.get();
}

/// How much may wait for the disk before a pipe is not read: for one file,
/// and for all together (a memory bound, whatever the number of children).
constexpr std::size_t behind_one = 256 * 1024;
constexpr std::size_t behind_all = 16 * 1024 * 1024;
std::atomic<std::size_t> queued_all{0};

/// A pipe that waits for the disk is tried again this often.
constexpr std::chrono::milliseconds recheck{20};

/// A file's stall is said at most this often.
constexpr std::chrono::seconds stall_said_every{60};

} // namespace

std::string log_name(const std::string& path) {
  auto name = path;
  for (auto& c : name)
    if (c == '/')
      c = '.';
  return name;
}

struct output_sink::reader : std::enable_shared_from_this<reader> {
  reader(std::shared_ptr<output_sink> s, int fd)
      : sink(std::move(s)), desc(sink->loop_.context(), fd),
        timer(sink->loop_.context()) {}

  void wait() {
    desc.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
          self->drain();
      });
  }

  void drain() {
    // Bounded work per wake-up so one flooding child cannot starve the
    // other work of the I/O thread; the rest comes on the next wake-up.
    auto* buf = read_buffer();
    for (int i = 0; i < 16; ++i) {
      if (sink->behind())
        return later();
      sink->caught_up();
      auto n = ::read(desc.native_handle(), buf, read_size);
      if (n > 0) {
        sink->take(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        boost::system::error_code ignored;
        desc.close(ignored);
        return; // end of file: every writer is gone
      }
      if (errno == EAGAIN)
        break;
    }
    wait();
  }

  // The disk is behind: the pipe is left as it is (the child waits on it
  // once it is full) and read again when the disk has caught up.
  void later() {
    sink->stall();
    timer.expires_after(recheck);
    timer.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
          self->drain();
      });
  }

  std::shared_ptr<output_sink> sink;
  boost::asio::posix::stream_descriptor desc;
  boost::asio::steady_timer timer;
};

std::shared_ptr<output_sink> output_sink::make(io_loop& loop, std::string file,
                                               std::uint64_t max_bytes,
                                               int keep) {
  return std::shared_ptr<output_sink>{
    new output_sink(loop, std::move(file), max_bytes, keep)};
}

output_sink::output_sink(io_loop& loop, std::string file,
                         std::uint64_t max_bytes, int keep)
    : loop_(loop), file_(std::move(file)), max_bytes_(max_bytes), keep_(keep) {}

output_sink::~output_sink() = default;

output_sink::pipe_ends output_sink::make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {};
  ::fcntl(fds[0], F_SETPIPE_SZ, pipe_buffer); // best effort
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return {unique_fd{fds[0]}, unique_fd{fds[1]}};
}

void output_sink::read_from(unique_fd read) {
  auto r = std::make_shared<reader>(shared_from_this(), read.release());
  r->wait();
}

unique_fd output_sink::attach() {
  auto ends = make_pipe();
  if (!ends.read)
    return {};
  read_from(std::move(ends.read));
  return std::move(ends.write);
}

bool output_sink::open_file() {
  std::error_code ec;
  fs::create_directories(fs::path{file_}.parent_path(), ec);
  fd_.reset(
    ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) {
    failing("cannot open", errno);
    return false;
  }
  struct stat st {};
  size_
    = ::fstat(fd_.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

void output_sink::rotate() {
  fd_.reset();
  std::error_code ec;
  for (int i = keep_; i >= 1; --i) {
    auto from = i == 1 ? file_ : file_ + "." + std::to_string(i - 1);
    fs::rename(from, file_ + "." + std::to_string(i), ec); // gaps are fine
  }
  if (keep_ <= 0)
    fs::remove(file_, ec);
}

void output_sink::add_line_tap(std::function<void(std::string_view)> tap) {
  taps_.push_back(std::move(tap));
}

void output_sink::feed_taps(const char* data, std::size_t size) {
  constexpr std::size_t max_line = 4096;
  std::string_view rest{data, size};
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    auto piece = rest.substr(0, nl);
    if (partial_.size() < max_line)
      partial_.append(piece.substr(0, max_line - partial_.size()));
    if (nl == std::string_view::npos)
      return; // the line goes on in the next chunk
    for (auto& tap : taps_)
      tap(partial_);
    partial_.clear();
    rest.remove_prefix(nl + 1);
  }
}

void output_sink::failing(const char* what, int error) {
  if (error_ != error)
    spdlog::error("{} {}: {}; the child's output is dropped until it can be "
                  "written",
                  what, file_, std::strerror(error));
  error_ = error;
}

bool output_sink::behind() const noexcept {
  return queued_ >= behind_one || queued_all >= behind_all;
}

void output_sink::stall() {
  if (stalled_)
    return;
  stalled_ = true;
  stalled_since_ = std::chrono::steady_clock::now();
  if (stall_said_ == std::chrono::steady_clock::time_point{}
      || stalled_since_ - stall_said_ >= stall_said_every) {
    stall_said_ = stalled_since_;
    spdlog::warn("{}: the disk takes this output slower than the child "
                 "writes it; the child waits on its pipe until the disk has "
                 "caught up",
                 file_);
  }
}

void output_sink::caught_up() {
  if (!stalled_)
    return;
  stalled_ = false;
  if (stall_said_ == stalled_since_)
    spdlog::info("{}: the disk has caught up after {:.1f} s", file_,
                 std::chrono::duration<double>(std::chrono::steady_clock::now()
                                               - stalled_since_)
                   .count());
}

void output_sink::take(const char* data, std::size_t size) {
  if (!taps_.empty())
    feed_taps(data, size);
  queued_ += size;
  queued_all += size;
  loop_.post_to_disk(
    [self = shared_from_this(), chunk = std::string{data, size}] {
      self->write(chunk.data(), chunk.size());
      self->queued_ -= chunk.size();
      queued_all -= chunk.size();
    });
}

void output_sink::write(const char* data, std::size_t size) {
  while (size > 0) {
    if (!fd_ && !open_file()) {
      // Dropped rather than block the child (said once).
      dropped_ += size;
      return;
    }
    if (size_ >= max_bytes_) {
      rotate();
      continue;
    }
    auto room = static_cast<std::size_t>(max_bytes_ - size_);
    auto chunk = std::min(size, room);
    auto n = ::write(fd_.get(), data, chunk);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      failing("cannot write", errno);
      fd_.reset(); // retried (reopened) with the next output
      dropped_ += size;
      return;
    }
    if (error_ != 0) {
      spdlog::info("{}: written again; {} bytes of output were dropped", file_,
                   dropped_);
      error_ = 0;
      dropped_ = 0;
    }
    size_ += static_cast<std::uint64_t>(n);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

} // namespace grace::runtime
