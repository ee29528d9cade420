#include "runtime/log_follow.hpp"

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "runtime/io_loop.hpp"
#include "runtime/unique_fd.hpp"

namespace grace::runtime {

namespace fs = std::filesystem;

struct file_follower::impl {
  impl(io_loop& l, std::string p, line_handler h)
      : loop(l), path(std::move(p)), on_line(std::move(h)),
        events(l.context()) {}

  // Opens the file if it exists; from its end on the first open, from its
  // start after a rotation.
  void open(bool from_end) {
    file.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    offset = 0;
    inode = 0;
    if (!file)
      return;
    struct stat st {};
    if (::fstat(file.get(), &st) == 0) {
      inode = st.st_ino;
      if (from_end)
        offset = st.st_size;
    }
  }

  // Reads what was appended since the last read and hands out its lines.
  void read_new() {
    if (!file)
      return;
    char buf[64 * 1024];
    for (int rounds = 0; rounds < 64; ++rounds) {
      auto n = ::pread(file.get(), buf, sizeof buf, offset);
      if (n <= 0)
        return;
      offset += n;
      std::string_view data{buf, static_cast<std::size_t>(n)};
      while (!data.empty()) {
        auto nl = data.find('\n');
        auto piece = data.substr(0, nl);
        if (partial.size() < 4096)
          partial.append(piece.substr(0, 4096 - partial.size()));
        if (nl == std::string_view::npos)
          break;
        on_line(partial);
        partial.clear();
        data.remove_prefix(nl + 1);
      }
    }
  }

  // After a directory event: go on with the same file, or finish the old
  // one and start on the new one (rotated or truncated).
  void check() {
    read_new();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return; // renamed away, not created again yet: keep the old one
    }
    if (!file || st.st_ino != inode) {
      read_new(); // the rest of the old one
      partial.clear();
      open(false);
      read_new();
    } else if (st.st_size < offset) {
      offset = 0; // truncated in place
      partial.clear();
      read_new();
    }
  }

  io_loop& loop;
  std::string path;
  line_handler on_line;
  boost::asio::posix::stream_descriptor events;
  unique_fd file;
  off_t offset = 0;
  ino_t inode = 0;
  std::string partial;
  bool stopped = false;
};

std::shared_ptr<file_follower>
file_follower::start(io_loop& loop, std::string path, line_handler on_line) {
  auto p = std::make_unique<impl>(loop, std::move(path), std::move(on_line));
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return nullptr;
  auto dir = fs::path{p->path}.parent_path();
  if (::inotify_add_watch(fd, dir.c_str(),
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM
                            | IN_DELETE | IN_CLOSE_WRITE)
      < 0) {
    auto err = errno;
    ::close(fd);
    errno = err;
    return nullptr;
  }
  p->events.assign(fd);
  p->open(true);
  std::shared_ptr<file_follower> f{new file_follower(std::move(p))};
  f->wait();
  return f;
}

file_follower::file_follower(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

file_follower::~file_follower() = default;

void file_follower::stop() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->events.close(ignored);
}

void file_follower::wait() {
  impl_->events.async_wait(
    boost::asio::posix::stream_descriptor::wait_read,
    [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->impl_->stopped)
        return;
      self->on_events();
      self->wait();
    });
}

void file_follower::on_events() {
  // The events only say "something happened in the directory": drain them
  // and look at the file itself.
  char buf[16 * 1024];
  while (::read(impl_->events.native_handle(), buf, sizeof buf) > 0) {
  }
  impl_->check();
}

} // namespace grace::runtime
