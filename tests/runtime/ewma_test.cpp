#include <gtest/gtest.h>

#include "runtime/ewma.hpp"

using grace::runtime::ewma_detector;

TEST(Ewma, SteadyValuesScoreLowAndAJumpScoresHigh) {
  ewma_detector d{0.1};
  EXPECT_FALSE(d.observe(10.0)) << "no history yet";
  EXPECT_FALSE(d.observe(10.0)) << "no variance yet";
  for (int i = 0; i < 50; ++i) {
    auto z = d.observe(i % 2 ? 10.5 : 9.5);
    if (i > 5 && z) {
      EXPECT_LT(*z, 3.0) << i;
    }
  }
  EXPECT_NEAR(d.mean(), 10.0, 0.2);
  auto z = d.observe(30.0);
  ASSERT_TRUE(z);
  EXPECT_GT(*z, 20.0);
  EXPECT_EQ(d.samples(), 53u);
}

TEST(Ewma, ConstantValuesHaveNoScore) {
  ewma_detector d;
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(d.observe(5.0));
  EXPECT_DOUBLE_EQ(d.variance(), 0.0);
}
