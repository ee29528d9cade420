// The control actor: serves the control socket's requests (SPEC.md sections
// 1 and 7), one JSON object per line, for the node:
//
//   {"cmd":"status"}                       -> {"ok":true,"components":[...]}
//   {"cmd":"stop","path":"root/workers"}   -> {"ok":true} | {"ok":false,...}
//   {"cmd":"start","path":...}, {"cmd":"restart","path":...}
//   {"cmd":"shutdown"}                     -> {"ok":true}, then grace stops
//
// Anything else gets {"ok":false,"error":"..."}. The socket itself is
// runtime/control_server.hpp; this actor only understands the requests.
#pragma once

#include <functional>
#include <string>

#include <caf/fwd.hpp>

namespace grace::actors {

/// Spawns the control actor for a node whose root supervisor is
/// `root_path`. Send it the node's handle (a caf::actor) once it exists;
/// until then requests are answered "starting".
caf::actor spawn_control(caf::actor_system& sys, std::string root_path);

/// Hands one request line to `control`; `reply` gets the answer line (from
/// an actor's thread), `last` true except for the lines of a stream, for
/// which it returns false once the client is gone.
void send_control_request(const caf::actor& control, std::string line,
                          std::function<bool(std::string, bool)> reply);

} // namespace grace::actors
