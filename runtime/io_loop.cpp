#include "runtime/io_loop.hpp"

#include <chrono>
#include <future>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace grace::runtime {

namespace {

using work_guard
  = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

// The disk thread's own: shared with the thread, which may outlive the
// loop when a stuck disk holds it (stop()).
struct disk_worker {
  boost::asio::io_context ctx{1};
  work_guard guard{ctx.get_executor()};
  std::future<void> done;
};

} // namespace

struct io_loop::impl {
  boost::asio::io_context ctx{1};
  work_guard guard{ctx.get_executor()};
  std::thread thread;
  std::thread::id id;
  std::shared_ptr<disk_worker> disk = std::make_shared<disk_worker>();
  std::thread disk_thread;
};

io_loop::io_loop() : impl_(std::make_unique<impl>()) {
  impl_->thread = std::thread{[this] { impl_->ctx.run(); }};
  impl_->id = impl_->thread.get_id();
  std::promise<void> finished;
  impl_->disk->done = finished.get_future();
  impl_->disk_thread = std::thread{
    [disk = impl_->disk, finished = std::move(finished)]() mutable {
      disk->ctx.run();
      finished.set_value();
    }};
}

io_loop::~io_loop() {
  stop();
}

void io_loop::post(std::function<void()> fn) {
  boost::asio::post(impl_->ctx, std::move(fn));
}

void io_loop::post_to_disk(std::function<void()> fn) {
  boost::asio::post(impl_->disk->ctx, std::move(fn));
}

bool io_loop::on_io_thread() const noexcept {
  return std::this_thread::get_id() == impl_->id;
}

void io_loop::stop() {
  if (impl_->thread.joinable()) {
    impl_->guard.reset();
    impl_->ctx.stop();
    impl_->thread.join();
  }
  if (!impl_->disk_thread.joinable())
    return;
  // What is queued for the disk is written, unless the disk is stuck.
  impl_->disk->guard.reset();
  if (impl_->disk->done.wait_for(std::chrono::seconds{5})
      == std::future_status::ready) {
    impl_->disk_thread.join();
    return;
  }
  spdlog::warn("the disk has not taken the children's last output in 5 s; "
               "grace goes on without waiting for it");
  impl_->disk_thread.detach();
}

boost::asio::io_context& io_loop::context() noexcept {
  return impl_->ctx;
}

} // namespace grace::runtime
