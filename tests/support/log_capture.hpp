// Captures what grace logs through spdlog, so tests can wait for a
// supervisor's decision ("not restarted", "giving up") instead of sleeping.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace grace::test {

/// An spdlog sink that keeps every message.
class log_capture : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// Returns the messages logged so far.
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> guard{mutex_};
    return lines_;
  }

  /// Returns when (steady clock, the clock of the children's stamps) the
  /// first message containing `text` was logged, or -1 ns.
  long long time_of(const std::string& text) {
    std::lock_guard<std::mutex> guard{mutex_};
    for (std::size_t i = 0; i < lines_.size(); ++i)
      if (lines_[i].find(text) != std::string::npos)
        return times_[i];
    return -1;
  }

  /// Returns the last `n` messages, one per line (what a test saw).
  std::string tail(std::size_t n = 20) {
    auto ls = lines();
    std::string out;
    for (auto i = ls.size() > n ? ls.size() - n : 0; i < ls.size(); ++i)
      out += "\n    " + ls[i];
    return out;
  }

  /// Returns how many messages contain `text`.
  std::size_t count(const std::string& text) {
    std::size_t n = 0;
    for (auto& l : lines())
      if (l.find(text) != std::string::npos)
        ++n;
    return n;
  }

  /// Returns the index of the first message containing `text`, or -1.
  long index_of(const std::string& text) {
    auto ls = lines();
    for (std::size_t i = 0; i < ls.size(); ++i)
      if (ls[i].find(text) != std::string::npos)
        return static_cast<long>(i);
    return -1;
  }

  /// Returns the index of the last message containing `text`, or -1.
  long last_index_of(const std::string& text) {
    auto ls = lines();
    for (auto i = ls.size(); i-- > 0;)
      if (ls[i].find(text) != std::string::npos)
        return static_cast<long>(i);
    return -1;
  }

  /// Installs a capture as spdlog's default logger and returns it.
  static std::shared_ptr<log_capture> install() {
    auto sink = std::make_shared<log_capture>();
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
    return sink;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.begin(), msg.payload.end());
    times_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count());
  }
  void flush_() override {}

private:
  std::vector<std::string> lines_;
  std::vector<long long> times_; // steady clock, ns
};

} // namespace grace::test
