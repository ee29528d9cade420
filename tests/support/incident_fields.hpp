// Reading a parsed incident in tests: a named value of its `detail` (or an
// action's fields), and an action by its step.
#pragma once

#include <string>
#include <variant>

#include "runtime/incident.hpp"

namespace grace::test {

/// The value of type T named `key`, or null (none, or of another type).
template <class T>
const T* field(const runtime::detail_fields& fields, const std::string& key) {
  for (auto& [k, v] : fields)
    if (k == key)
      return std::get_if<T>(&v);
  return nullptr;
}

/// The first action of `x` whose step is `step`, or null.
inline const runtime::incident_action* find_step(const runtime::incident& x,
                                                 const std::string& step) {
  for (auto& a : x.actions)
    if (a.step == step)
      return &a;
  return nullptr;
}

} // namespace grace::test
