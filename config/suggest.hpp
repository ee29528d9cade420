// "Did you mean" suggestions for misspelled keys and values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace grace::config {

/// Returns the edit distance (insertions, deletions, substitutions and
/// transpositions of adjacent characters) between `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Returns the candidate closest to `word` if it is close enough to be a
/// plausible typo, else "".
std::string closest(std::string_view word,
                    const std::vector<std::string_view>& candidates);

/// Returns " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word,
                         const std::vector<std::string_view>& candidates);

} // namespace grace::config
