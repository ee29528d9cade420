#include <caf/all.hpp>
