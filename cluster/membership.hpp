// Which nodes are up, as one node sees them from the heartbeats it hears
// (SPEC.md section 9). Pure: the node actor passes the times in. A node is
// up from the first heartbeat heard from it, and down once `down_after` has
// passed since the last one; that moment (not the moment anyone noticed) is
// when it went down, the `detected_at` of the incidents its loss opens.
//
//   (never heard) --heard--> up --silent for down_after--> down --heard--> up
//                                                          (up_for from 0)
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace grace::cluster {

class membership {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// A node that went down, and when.
  struct went_down {
    std::string node;
    time_point at;
  };

  /// `self` among `nodes`, starting at `now`.
  membership(std::string self, const std::vector<std::string>& nodes,
             std::chrono::milliseconds down_after, time_point now);

  /// A heartbeat from `node` at `now`; false if `node` is not one of the
  /// cluster's.
  bool heard(const std::string& node, time_point now);

  /// Declares down every node silent for down_after at `now`, and returns
  /// them, each with the moment it went down, in order of that moment.
  std::vector<went_down> tick(time_point now);

  /// The nodes up at the last tick (this one included), each with how long
  /// it has been up at `now`.
  std::map<std::string, std::chrono::milliseconds> up(time_point now) const;

  bool is_up(const std::string& node) const;

  /// When `node` went down; none while it is up or was never heard.
  std::optional<time_point> down_since(const std::string& node) const;

  /// When `node` must be heard from again to stay up; none if it is not up.
  std::optional<time_point> deadline(const std::string& node) const;

private:
  struct peer {
    bool up = false;
    time_point up_since{};
    time_point last_heard{};
    std::optional<time_point> down_since;
  };

  std::string self_;
  std::chrono::milliseconds down_after_;
  std::map<std::string, peer> peers_; // self included, always up
};

} // namespace grace::cluster
