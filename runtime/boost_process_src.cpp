// The one translation unit that compiles Boost.Process v2's sources (with
// BOOST_PROCESS_V2_SEPARATE_COMPILATION everywhere else includes only
// declarations).
#include <boost/process/v2/src.hpp>
