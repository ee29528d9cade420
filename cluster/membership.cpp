#include "cluster/membership.hpp"

#include <algorithm>

namespace grace::cluster {

membership::membership(std::string self, const std::vector<std::string>& nodes,
                       std::chrono::milliseconds down_after, time_point now)
    : self_(std::move(self)), down_after_(down_after) {
  for (auto& n : nodes)
    peers_[n];
  auto& me = peers_[self_];
  me.up = true;
  me.up_since = now;
  me.last_heard = now;
}

bool membership::heard(const std::string& node, time_point now) {
  auto it = peers_.find(node);
  if (it == peers_.end())
    return false;
  auto& p = it->second;
  if (!p.up) {
    p.up = true;
    p.up_since = now;
    p.down_since.reset();
  }
  p.last_heard = std::max(p.last_heard, now);
  return true;
}

std::vector<membership::went_down> membership::tick(time_point now) {
  std::vector<went_down> out;
  for (auto& [name, p] : peers_) {
    if (name == self_ || !p.up || now < p.last_heard + down_after_)
      continue;
    p.up = false;
    p.down_since = p.last_heard + down_after_;
    out.push_back({name, *p.down_since});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](auto& a, auto& b) { return a.at < b.at; });
  return out;
}

std::map<std::string, std::chrono::milliseconds>
membership::up(time_point now) const {
  std::map<std::string, std::chrono::milliseconds> out;
  for (auto& [name, p] : peers_)
    if (p.up)
      out[name] = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(now - p.up_since, clock::duration::zero()));
  return out;
}

bool membership::is_up(const std::string& node) const {
  auto it = peers_.find(node);
  return it != peers_.end() && it->second.up;
}

std::optional<membership::time_point>
membership::down_since(const std::string& node) const {
  auto it = peers_.find(node);
  return it == peers_.end() ? std::nullopt : it->second.down_since;
}

std::optional<membership::time_point>
membership::deadline(const std::string& node) const {
  auto it = peers_.find(node);
  if (it == peers_.end() || !it->second.up || node == self_)
    return std::nullopt;
  return it->second.last_heard + down_after_;
}

} // namespace grace::cluster
