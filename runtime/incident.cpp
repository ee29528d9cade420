#include "runtime/incident.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

namespace grace::runtime {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::array<std::string_view, 6> status_names{
  "open", "resolved", "failed", "escalated", "held", "abandoned"};

void put(ojson& out, const detail_fields& fields) {
  for (auto& field : fields) // (clang 14 captures no structured binding)
    std::visit([&](auto& v) { out[field.first] = v; }, field.second);
}

std::optional<detail_value> value_of(const ojson& j) {
  if (j.is_boolean())
    return j.get<bool>();
  if (j.is_number_integer())
    return j.get<std::int64_t>();
  if (j.is_number_float())
    return j.get<double>();
  if (j.is_string())
    return j.get<std::string>();
  return std::nullopt;
}

void take(const ojson& j, detail_fields& out,
          std::initializer_list<std::string_view> skip = {}) {
  for (auto& [key, value] : j.items()) {
    if (std::find(skip.begin(), skip.end(), key) != skip.end())
      continue;
    if (auto v = value_of(value))
      out.emplace_back(key, std::move(*v));
  }
}

int digits(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + n, v);
  if (r.ec != std::errc{} || r.ptr != s.data() + pos + n)
    return -1;
  return v;
}

} // namespace

std::string_view to_string(incident_status x) {
  return status_names[static_cast<std::size_t>(x)];
}

std::optional<incident_status> incident_status_from(std::string_view text) {
  for (std::size_t i = 0; i < status_names.size(); ++i)
    if (status_names[i] == text)
      return static_cast<incident_status>(i);
  return std::nullopt;
}

std::string format_utc(std::int64_t us) {
  auto secs = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  auto frac = us - secs * 1'000'000;
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

std::optional<std::int64_t> parse_utc(std::string_view s) {
  // 2026-11-27T16:43:28.024197Z
  if (s.size() != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T'
      || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z')
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = digits(s, 0, 4) - 1900;
  tm.tm_mon = digits(s, 5, 2) - 1;
  tm.tm_mday = digits(s, 8, 2);
  tm.tm_hour = digits(s, 11, 2);
  tm.tm_min = digits(s, 14, 2);
  tm.tm_sec = digits(s, 17, 2);
  auto frac = digits(s, 20, 6);
  if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1
      || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0
      || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60 || frac < 0)
    return std::nullopt;
  auto secs = ::timegm(&tm);
  return static_cast<std::int64_t>(secs) * 1'000'000 + frac;
}

std::string incident_ids::next(std::int64_t wall_us) {
  auto base = format_utc(wall_us); // 2026-11-27T16:43:28.024197Z
  std::string id = "inc_";
  id.append(base, 0, 4).append(base, 5, 2).append(base, 8, 2);
  id += '_';
  id.append(base, 11, 2).append(base, 14, 2).append(base, 17, 2);
  id += '_';
  id.append(base, 20, 6);
  auto n = ++recent_[wall_us];
  // Forget what lies ten seconds before the newest detection.
  auto newest = recent_.rbegin()->first;
  recent_.erase(recent_.begin(), recent_.lower_bound(newest - 10'000'000));
  if (n > 1)
    id += "_" + std::to_string(n);
  if (!node_.empty())
    id += "_" + node_;
  return id;
}

std::string to_json_line(const incident& x) {
  ojson j;
  j["incident_id"] = x.id;
  j["component"] = x.component;
  j["failure_mode"] = x.failure_mode;
  j["severity"] = x.severity;
  j["status"] = to_string(x.status);
  j["detected_at"] = format_utc(x.detected_us);
  j["resolved_at"] = nullptr;
  if (x.status == incident_status::resolved && x.closed_us)
    j["resolved_at"] = format_utc(*x.closed_us);
  j["closed_at"] = nullptr;
  if (x.closed_us)
    j["closed_at"] = format_utc(*x.closed_us);
  j["mttr_seconds"] = nullptr;
  if (x.mttr_seconds)
    j["mttr_seconds"] = *x.mttr_seconds;
  j["ttd_seconds"] = nullptr;
  if (x.ttd_seconds)
    j["ttd_seconds"] = *x.ttd_seconds;
  j["success"] = x.success();
  j["playbook"] = x.playbook;
  j["attempts"] = x.attempts;
  j["failures"] = x.failures;
  auto actions = ojson::array();
  for (auto& a : x.actions) {
    ojson step;
    step["step"] = a.step;
    put(step, a.fields);
    step["ok"] = a.ok;
    step["at"] = format_utc(a.at_us);
    actions.push_back(std::move(step));
  }
  j["actions"] = std::move(actions);
  j["snapshot"] = nullptr;
  if (x.snapshot)
    j["snapshot"] = *x.snapshot;
  j["caused_by"] = nullptr;
  if (x.caused_by)
    j["caused_by"] = *x.caused_by;
  auto detail = ojson::object();
  put(detail, x.detail);
  j["detail"] = std::move(detail);
  // Invalid UTF-8 (a child's bytes in a reason) is replaced, never thrown.
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

namespace {

std::optional<incident> read_incident(std::string_view line,
                                      std::string* error) {
  auto fail = [&](std::string why) -> std::optional<incident> {
    if (error)
      *error = std::move(why);
    return std::nullopt;
  };
  auto j = ojson::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("not a JSON object");
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string())
      return std::nullopt;
    return it->get<std::string>();
  };
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number())
      return std::nullopt;
    return it->get<double>();
  };
  incident x;
  auto id = text("incident_id");
  auto component = text("component");
  auto mode = text("failure_mode");
  auto status = text("status");
  auto detected = text("detected_at");
  if (!id || !component || !mode || !status || !detected)
    return fail("missing incident_id, component, failure_mode, status or "
                "detected_at");
  x.id = *id;
  x.component = *component;
  x.failure_mode = *mode;
  x.severity = text("severity").value_or("");
  auto st = incident_status_from(*status);
  if (!st)
    return fail("unknown status '" + *status + "'");
  x.status = *st;
  auto at = parse_utc(*detected);
  if (!at)
    return fail("bad detected_at '" + *detected + "'");
  x.detected_us = *at;
  if (auto closed = text("closed_at"))
    x.closed_us = parse_utc(*closed);
  else if (auto resolved = text("resolved_at"))
    x.closed_us = parse_utc(*resolved);
  x.mttr_seconds = number("mttr_seconds");
  x.ttd_seconds = number("ttd_seconds");
  x.playbook = text("playbook").value_or("");
  // Counts as a line may hold them (a hand edit: 1e300, -5, 2.5).
  auto count = [&](const char* key, int otherwise) {
    auto n = number(key);
    if (!n || !std::isfinite(*n))
      return otherwise;
    return static_cast<int>(std::clamp(*n, 0.0, 1e9));
  };
  x.attempts = count("attempts", 0);
  x.failures = count("failures", 1);
  if (auto it = j.find("actions"); it != j.end() && it->is_array()) {
    for (auto& a : *it) {
      if (!a.is_object())
        continue;
      incident_action act;
      // (value() would throw on a key of another type.)
      if (auto s = a.find("step"); s != a.end() && s->is_string())
        act.step = s->get<std::string>();
      auto ok = a.find("ok");
      act.ok = ok != a.end() && ok->is_boolean() && ok->get<bool>();
      if (auto t = a.find("at"); t != a.end() && t->is_string())
        act.at_us = parse_utc(t->get<std::string>()).value_or(0);
      take(a, act.fields, {"step", "ok", "at"});
      x.actions.push_back(std::move(act));
    }
  }
  x.snapshot = text("snapshot");
  x.caused_by = text("caused_by");
  if (auto it = j.find("detail"); it != j.end() && it->is_object())
    take(*it, x.detail);
  return x;
}

} // namespace

std::optional<incident> incident_from_json(std::string_view line,
                                           std::string* error) {
  // Every key is checked for its type first; should one slip through, a
  // line that makes the JSON library throw is one more unreadable line.
  try {
    return read_incident(line, error);
  } catch (const nlohmann::json::exception& e) {
    if (error)
      *error = e.what();
    return std::nullopt;
  }
}

} // namespace grace::runtime
