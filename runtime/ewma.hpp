// The anomaly probe's detector: an exponentially weighted moving mean and
// variance of a measured value (say an http probe's latency), and the
// z-score of each new sample against them. Pure arithmetic.
#pragma once

#include <cstdint>
#include <optional>

namespace grace::runtime {

/// EWMA mean and variance with smoothing factor `alpha`.
class ewma_detector {
public:
  explicit ewma_detector(double alpha = 0.1) : alpha_(alpha) {}

  /// Returns the z-score of `x` against what came before (nothing for the
  /// first two samples or a variance of zero), then takes `x` in.
  std::optional<double> observe(double x);

  std::uint64_t samples() const noexcept { return n_; }
  double mean() const noexcept { return mean_; }
  double variance() const noexcept { return var_; }

private:
  double alpha_;
  std::uint64_t n_ = 0;
  double mean_ = 0;
  double var_ = 0;
};

} // namespace grace::runtime
