#include "runtime/ewma.hpp"

#include <cmath>

namespace grace::runtime {

std::optional<double> ewma_detector::observe(double x) {
  std::optional<double> z;
  if (n_ >= 2 && var_ > 0)
    z = std::abs(x - mean_) / std::sqrt(var_);
  if (n_ == 0) {
    mean_ = x;
    var_ = 0;
  } else {
    // West's incremental form of the exponentially weighted variance.
    auto diff = x - mean_;
    auto incr = alpha_ * diff;
    mean_ += incr;
    var_ = (1 - alpha_) * (var_ + diff * incr);
  }
  ++n_;
  return z;
}

} // namespace grace::runtime
