#include "actors/control.hpp"

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"

namespace grace::actors {

namespace {

using json = nlohmann::json;

/// One request and where its answer goes. Local only: the reply is not
/// serialised.
struct control_request {
  std::string line;
  std::shared_ptr<std::function<void(std::string)>> reply;
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
  j["last_failure_ago_seconds"]
    = c.failed_ns > 0 ? json(static_cast<double>(now_ns - c.failed_ns) / 1e9)
                      : json(nullptr);
  return j;
}

struct control_state {
  static inline const char* name = "grace.control";
  caf::actor node;
  std::string root;
};

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
            failure(std::string{"cannot serve the request: "} + e.what()));
        }
      },
      [this](caf::actor node) { state.node = std::move(node); },
    };
  }

private:
  void serve(const control_request& r) {
    auto reply = r.reply;
    auto answer = [reply](std::string line) { (*reply)(std::move(line)); };
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
    answer(failure("unknown command '" + cmd
                   + "' (status, start, stop, restart, shutdown)"));
  }
};

} // namespace

caf::actor spawn_control(caf::actor_system& sys, std::string root_path) {
  return sys.spawn<control_actor>(std::move(root_path));
}

void send_control_request(const caf::actor& control, std::string line,
                          std::function<void(std::string)> reply) {
  caf::anon_send(
    control, control_request{std::move(line),
                             std::make_shared<std::function<void(std::string)>>(
                               std::move(reply))});
}

} // namespace grace::actors
