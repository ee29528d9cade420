#include "runtime/io_loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace grace::runtime {

struct io_loop::impl {
  boost::asio::io_context ctx{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
    guard{ctx.get_executor()};
  std::thread thread;
  std::thread::id id;
};

io_loop::io_loop() : impl_(std::make_unique<impl>()) {
  impl_->thread = std::thread{[this] { impl_->ctx.run(); }};
  impl_->id = impl_->thread.get_id();
}

io_loop::~io_loop() {
  stop();
}

void io_loop::post(std::function<void()> fn) {
  boost::asio::post(impl_->ctx, std::move(fn));
}

bool io_loop::on_io_thread() const noexcept {
  return std::this_thread::get_id() == impl_->id;
}

void io_loop::stop() {
  if (!impl_->thread.joinable())
    return;
  impl_->guard.reset();
  impl_->ctx.stop();
  impl_->thread.join();
}

boost::asio::io_context& io_loop::context() noexcept {
  return impl_->ctx;
}

} // namespace grace::runtime
