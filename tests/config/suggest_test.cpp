#include <gtest/gtest.h>

#include "config/suggest.hpp"

using namespace grace::config;

TEST(EditDistance, CountsEditsAndTranspositions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(edit_distance("abc", "abd"), 1u);
  EXPECT_EQ(edit_distance("abc", "acb"), 1u);
  EXPECT_EQ(edit_distance("strategy", "stratgey"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(DidYouMean, SuggestsOnlyPlausibleTypos) {
  std::vector<std::string_view> keys{"strategy", "intensity", "period",
                                     "children", "name"};
  EXPECT_EQ(did_you_mean("stratgey", keys), " (did you mean 'strategy'?)");
  EXPECT_EQ(did_you_mean("childern", keys), " (did you mean 'children'?)");
  EXPECT_EQ(did_you_mean("nmae", keys), " (did you mean 'name'?)");
  EXPECT_EQ(did_you_mean("colour", keys), "");
  EXPECT_EQ(did_you_mean("x", keys), "");
}
