#include "actors/control.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "runtime/control_protocol.hpp"
#include "runtime/incident.hpp"

namespace grace::actors {

namespace {

/// One request and where its answer goes. Local only: the reply is not
/// serialised.
using reply_ptr = std::shared_ptr<std::function<bool(std::string, bool)>>;

struct control_request {
  std::string line;
  reply_ptr reply;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control_request& x) {
  return f(caf::meta::type_name("grace.control_request"), x.line);
}

struct control_state {
  static inline const char* name = "grace.control";
  caf::actor node;
  std::string root;
  std::vector<reply_ptr> subscribers; // `grace events` streams
};

std::string utc_now() {
  return runtime::format_utc(
    std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
}

class control_actor : public caf::stateful_actor<control_state> {
public:
  control_actor(caf::actor_config& cfg, std::string root)
      : caf::stateful_actor<control_state>(cfg) {
    state.root = std::move(root);
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    return {
      [this](const control_request& r) {
        try {
          serve(r);
        } catch (const std::exception& e) {
          // Whatever a request holds, it is answered and this actor lives.
          (*r.reply)(runtime::failure_line(
                       std::string{"cannot serve the request: "} + e.what()),
                     true);
        }
      },
      [this](caf::actor node) { state.node = std::move(node); },
      // Everything asked before this is handled (answered, or waits on an
      // actor): the node drains its answers before the socket closes.
      [](done_atom) { return true; },
      // What happened, for the `grace events` streams.
      [this](event_atom, const std::string& path, const std::string& what,
             std::int32_t pid, const std::string& detail) {
        if (!state.subscribers.empty())
          publish(
            runtime::state_event_line(utc_now(), path, what, pid, detail));
      },
      [this](event_atom, const std::string& incident_line) {
        if (!state.subscribers.empty())
          publish(runtime::incident_event_line(utc_now(), incident_line));
      },
    };
  }

private:
  void publish(const std::string& line) {
    auto& subs = state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const reply_ptr& sub) {
                                return !(*sub)(line, false); // gone
                              }),
               subs.end());
  }

  void serve(const control_request& r) {
    using runtime::control_command;
    using runtime::failure_line;
    auto reply = r.reply;
    auto answer
      = [reply](std::string line) { (*reply)(std::move(line), true); };
    auto parsed = runtime::parse_control_request(r.line, state.root);
    if (auto* refused = std::get_if<std::string>(&parsed))
      return answer(*refused);
    auto& req = std::get<runtime::control_request_line>(parsed);
    if (!state.node)
      return answer(failure_line("grace is starting; ask again"));
    auto failed = [answer](caf::error& err) {
      auto code = grace_code(err);
      answer(failure_line(error_text(err), code ? code_name(*code) : ""));
    };
    switch (req.cmd) {
      case control_command::status:
        request(state.node, std::chrono::seconds{10}, status_atom::value)
          .then(
            [answer](const status_list& all, const node_list& nodes) {
              answer(runtime::status_line(all, steady_ns(), nodes));
            },
            failed);
        return;
      case control_command::reload:
        request(state.node, std::chrono::minutes{6}, reload_atom::value)
          .then([answer](const std::string& result) { answer(result); },
                failed);
        return;
      case control_command::events:
        // A stream: this line, then one per event, until the client goes.
        (*reply)(runtime::events_stream_line(), false);
        state.subscribers.push_back(reply);
        spdlog::info("a client follows the events ({} in all)",
                     state.subscribers.size());
        return;
      case control_command::shutdown:
        spdlog::info("shutdown asked for over the control socket");
        send(state.node, stop_atom::value);
        return answer(runtime::ok_line());
      case control_command::start:
      case control_command::stop:
      case control_command::restart: {
        auto verb = req.cmd == control_command::start  ? "start"
                    : req.cmd == control_command::stop ? "stop"
                                                       : "restart";
        request(state.node, std::chrono::minutes{5}, op_atom::value,
                std::string{verb}, req.path)
          .then([answer](bool) { answer(runtime::ok_line()); }, failed);
        return;
      }
    }
  }
};

} // namespace

caf::actor spawn_control(caf::actor_system& sys, std::string root_path) {
  return sys.spawn<control_actor>(std::move(root_path));
}

void send_control_request(const caf::actor& control, std::string line,
                          std::function<bool(std::string, bool)> reply) {
  caf::anon_send(
    control,
    control_request{std::move(line),
                    std::make_shared<std::function<bool(std::string, bool)>>(
                      std::move(reply))});
}

} // namespace grace::actors
