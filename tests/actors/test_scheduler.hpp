// Stand-ins for tests, most of them on CAF's deterministic scheduler: actors
// that record what they are sent and answer when the test says so. Classes,
// not functions: CAF 0.17's function-based actors without arguments bind a
// null pointer, which UBSan reports.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace grace::test {

/// Keeps the event lines it is sent (the tracker's `grace events`).
class line_sink : public caf::event_based_actor {
public:
  line_sink(caf::actor_config& cfg, std::vector<std::string>* lines)
      : caf::event_based_actor(cfg), lines_(lines) {}

  caf::behavior make_behavior() override {
    return {[this](actors::event_atom, const std::string& line) {
      lines_->push_back(line);
    }};
  }

private:
  std::vector<std::string>* lines_;
};

/// The failure reports a stand-in coordinator received, for a test thread
/// to read while the actor system runs.
struct failures_seen {
  std::mutex mutex;
  std::vector<actors::failure_report> reports;

  std::vector<actors::failure_report> all() {
    std::lock_guard<std::mutex> guard{mutex};
    return reports;
  }
};

/// Keeps the failure reports it is sent, as the coordinator would get them.
class failure_sink : public caf::event_based_actor {
public:
  failure_sink(caf::actor_config& cfg, failures_seen* seen)
      : caf::event_based_actor(cfg), seen_(seen) {}

  caf::behavior make_behavior() override {
    return {[this](const actors::failure_report& f) {
      std::lock_guard<std::mutex> guard{seen_->mutex};
      seen_->reports.push_back(f);
    }};
  }

private:
  failures_seen* seen_;
};

/// What a stand-in for a supervisor or a process actor was asked.
struct asked {
  int restarts = 0;                 // restart_atom
  int verifies = 0;                 // verify_atom
  std::vector<std::string> blocked; // blocked_atom: why
  int unpaused = 0;                 // unpause_atom
};

/// A supervisor that keeps every restart request unanswered until the test
/// sends it `answer` (true), or forever.
class held_supervisor : public caf::event_based_actor {
public:
  held_supervisor(caf::actor_config& cfg, asked* log)
      : caf::event_based_actor(cfg), log_(log) {}

  caf::behavior make_behavior() override {
    return {
      [this](actors::restart_atom, const std::string&) {
        ++log_->restarts;
        pending_.push_back(make_response_promise<bool>());
        return pending_.back();
      },
      [this](actors::done_atom) {
        for (auto& p : pending_)
          p.deliver(true);
        pending_.clear();
      },
    };
  }

  // A promise keeps its requester alive: dropped when this one goes.
  void on_exit() override { pending_.clear(); }

private:
  asked* log_;
  std::vector<caf::typed_response_promise<bool>> pending_;
};

/// A process actor that answers verifications when the test sends it
/// `done_atom` (ready with every probe passing).
class held_child : public caf::event_based_actor {
public:
  held_child(caf::actor_config& cfg, asked* log)
      : caf::event_based_actor(cfg), log_(log) {}

  caf::behavior make_behavior() override {
    return {
      [this](actors::verify_atom, std::uint64_t) {
        ++log_->verifies;
        pending_.push_back(make_response_promise<bool, std::string>());
        return pending_.back();
      },
      [this](actors::done_atom) {
        for (auto& p : pending_)
          p.deliver(true, std::string{});
        pending_.clear();
      },
      [this](actors::unpause_atom) { ++log_->unpaused; },
      [this](actors::blocked_atom, const std::string& why) {
        log_->blocked.push_back(why);
      },
    };
  }

  void on_exit() override { pending_.clear(); }

private:
  asked* log_;
  std::vector<caf::typed_response_promise<bool, std::string>> pending_;
};

} // namespace grace::test
