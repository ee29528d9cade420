// The runtime's single I/O thread. Everything that waits on the operating
// system (process exits, pipes, sockets, signals, timers of probes) runs here
// on one Boost.Asio io_context and reports back through callbacks; actors
// never block. Asio itself stays out of this header.
#pragma once

#include <functional>
#include <memory>
#include <thread>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace grace::runtime {

/// One thread running one io_context until stop() or destruction.
class io_loop {
public:
  /// Starts the thread.
  io_loop();

  /// Stops the loop and joins the thread.
  ~io_loop();

  io_loop(const io_loop&) = delete;
  io_loop& operator=(const io_loop&) = delete;

  /// Runs `fn` on the I/O thread, after what is already queued.
  void post(std::function<void()> fn);

  /// Runs `fn` on the disk thread, after what is already queued there: file
  /// writes that may block (a slow or stuck disk) wait there instead of
  /// holding up the I/O thread's probes, pipes and sockets.
  void post_to_disk(std::function<void()> fn);

  /// Returns whether the caller runs on the I/O thread.
  bool on_io_thread() const noexcept;

  /// Stops the loop (pending handlers are dropped) and joins the thread;
  /// then gives the disk thread up to 5 s to write what is queued for it
  /// (a disk stuck longer: it is left to the end of the process).
  void stop();

  /// Returns the io_context; use its objects only on the I/O thread.
  boost::asio::io_context& context() noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace grace::runtime
