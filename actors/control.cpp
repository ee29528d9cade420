#include "actors/control.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "runtime/incident.hpp"

namespace grace::actors {

namespace {

using json = nlohmann::json;

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

/// One answer line. Text from a request may be any bytes: invalid UTF-8
/// is replaced, never thrown about.
std::string line_of(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string failure(const std::string& why) {
  return line_of(json{{"ok", false}, {"error", why}});
}

/// The message of an error made with make_error(code, text), else CAF's
/// rendering.
std::string error_text(const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return "no answer in time";
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return to_string(err);
}

json to_json(const component_status& c, std::int64_t now_ns) {
  json j{{"path", c.path},
         {"kind", c.supervisor ? "supervisor" : "process"},
         {"state", c.state},
         {"restarts", c.restarts}};
  j["pid"] = c.pid > 0 ? json(c.pid) : json(nullptr);
  j["uptime_seconds"] = c.ready_ns > 0
                          ? json(static_cast<double>(now_ns - c.ready_ns) / 1e9)
                          : json(nullptr);
  j["last_failure"]
    = c.last_failure.empty() ? json(nullptr) : json(c.last_failure);
  j["probes"] = c.probes.empty() ? json(nullptr) : json(c.probes);
  j["last_failure_ago_seconds"]
    = c.failed_ns > 0 ? json(static_cast<double>(now_ns - c.failed_ns) / 1e9)
                      : json(nullptr);
  return j;
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
          (*r.reply)(
            failure(std::string{"cannot serve the request: "} + e.what()),
            true);
        }
      },
      [this](caf::actor node) { state.node = std::move(node); },
      // What happened, for the `grace events` streams.
      [this](event_atom, const std::string& path, const std::string& what,
             std::int32_t pid, const std::string& detail) {
        if (state.subscribers.empty())
          return;
        json j{{"event", "state"},
               {"at", utc_now()},
               {"path", path},
               {"state", what}};
        j["pid"] = pid > 0 ? json(pid) : json(nullptr);
        if (!detail.empty())
          j["detail"] = detail;
        publish(line_of(j));
      },
      [this](event_atom, const std::string& incident_line) {
        if (!state.subscribers.empty())
          publish(R"({"event":"incident","at":")" + utc_now()
                  + R"(","incident":)" + incident_line + "}");
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
    auto reply = r.reply;
    auto answer
      = [reply](std::string line) { (*reply)(std::move(line), true); };
    json req;
    try {
      req = json::parse(r.line);
    } catch (const json::exception& e) {
      return answer(failure(std::string{"malformed request: "} + e.what()));
    }
    if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
      return answer(failure("a request is an object with a \"cmd\" string"));
    auto cmd = req["cmd"].get<std::string>();
    if (!state.node)
      return answer(failure("grace is starting; ask again"));
    if (cmd == "status") {
      request(state.node, std::chrono::seconds{10}, status_atom::value)
        .then(
          [answer](const status_list& all) {
            auto now = steady_ns();
            json list = json::array();
            for (auto& c : all)
              list.push_back(to_json(c, now));
            answer(line_of(json{{"ok", true}, {"components", list}}));
          },
          [answer](caf::error& err) { answer(failure(error_text(err))); });
      return;
    }
    if (cmd == "reload") {
      request(state.node, std::chrono::minutes{6}, reload_atom::value)
        .then([answer](const std::string& result) { answer(result); },
              [answer](caf::error& err) { answer(failure(error_text(err))); });
      return;
    }
    if (cmd == "events") {
      // A stream: this line, then one per event, until the client goes.
      (*reply)(line_of(json{{"ok", true}, {"stream", "events"}}), false);
      state.subscribers.push_back(reply);
      spdlog::info("a client follows the events ({} in all)",
                   state.subscribers.size());
      return;
    }
    if (cmd == "shutdown") {
      spdlog::info("shutdown asked for over the control socket");
      send(state.node, stop_atom::value);
      return answer(line_of(json{{"ok", true}}));
    }
    if (cmd == "start" || cmd == "stop" || cmd == "restart") {
      if (!req.contains("path") || !req["path"].is_string())
        return answer(failure(cmd + " needs a \"path\""));
      auto path = req["path"].get<std::string>();
      if (path == state.root)
        return answer(
          failure(path
                  + " is the root supervisor: use 'grace shutdown' to stop "
                    "everything"));
      request(state.node, std::chrono::minutes{5}, op_atom::value, cmd, path)
        .then(
          [answer](bool) {
            answer(line_of(json{{"ok", true}}));
          },
          [answer](caf::error& err) { answer(failure(error_text(err))); });
      return;
    }
    answer(
      failure("unknown command '" + cmd
              + "' (status, start, stop, restart, reload, events, shutdown)"));
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
