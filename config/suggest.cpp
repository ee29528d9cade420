#include "config/suggest.hpp"

#include <algorithm>

namespace grace::config {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance; three rows suffice.
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1),
    cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      auto cost = a[i - 1] == b[j - 1] ? 0u : 1u;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(std::string_view word,
                    const std::vector<std::string_view>& candidates) {
  if (word.size() > 64)
    return {};
  std::string_view best;
  auto best_distance = std::size_t{0};
  for (auto c : candidates) {
    auto d = edit_distance(word, c);
    // One edit for short words, up to a third of the word for longer ones.
    auto limit = std::max<std::size_t>(1, std::min(word.size(), c.size()) / 3);
    if (d <= limit && (best.empty() || d < best_distance)) {
      best = c;
      best_distance = d;
    }
  }
  return std::string{best};
}

std::string did_you_mean(std::string_view word,
                         const std::vector<std::string_view>& candidates) {
  auto best = closest(word, candidates);
  return best.empty() ? std::string{} : " (did you mean '" + best + "'?)";
}

} // namespace grace::config
