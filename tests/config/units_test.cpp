#include <gtest/gtest.h>

#include "config/units.hpp"

using namespace grace::config;
using namespace std::chrono_literals;

namespace {

duration dur_ok(std::string_view text, bool inf = false) {
  auto r = parse_duration(text, inf);
  EXPECT_TRUE(std::holds_alternative<duration>(r))
    << text << ": " << std::get<std::string>(r);
  return std::holds_alternative<duration>(r) ? std::get<duration>(r)
                                             : duration{-1};
}

std::string dur_err(std::string_view text, bool inf = false) {
  auto r = parse_duration(text, inf);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r)
                                                : "parsed";
}

} // namespace

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(dur_ok("150ms"), 150ms);
  EXPECT_EQ(dur_ok("5s"), 5s);
  EXPECT_EQ(dur_ok("2m"), 2min);
  EXPECT_EQ(dur_ok("1h"), 1h);
  EXPECT_EQ(dur_ok("250us"), 250us);
  EXPECT_EQ(dur_ok("1.5s"), 1500ms);
  EXPECT_EQ(dur_ok("0s"), 0s);
}

TEST(Duration, InfinityOnlyWhereAllowed) {
  EXPECT_EQ(dur_ok("infinity", true), infinite_duration);
  EXPECT_EQ(dur_err("infinity"), "'infinity' is not allowed here");
}

TEST(Duration, RejectsMissingOrUnknownUnitsAndNegatives) {
  EXPECT_EQ(dur_err("5"), "duration '5' has no unit (expected a number and a "
                          "unit: us, ms, s, m, h (e.g. 150ms, 5s))");
  EXPECT_EQ(dur_err("5sec"),
            "invalid duration unit 'sec' in '5sec' (expected a number and a "
            "unit: us, ms, s, m, h (e.g. 150ms, 5s))");
  EXPECT_EQ(dur_err("-1s"), "invalid duration '-1s' (expected a number and a "
                            "unit: us, ms, s, m, h (e.g. 150ms, 5s))");
  EXPECT_EQ(dur_err(""), "invalid duration '' (expected a number and a unit: "
                         "us, ms, s, m, h (e.g. 150ms, 5s))");
  EXPECT_EQ(dur_err("ms"), "invalid duration 'ms' (expected a number and a "
                           "unit: us, ms, s, m, h (e.g. 150ms, 5s))");
  EXPECT_EQ(dur_err("99999999999h"), "duration '99999999999h' is too large");
}

TEST(Duration, IsKeptToTheMicrosecondSoThatItPrintsAsItReads) {
  // Found by tests/fuzz/units_fuzz: ".08940108940h" was 321843921840 ns,
  // which printed as "321843921840ns", a unit the config does not read.
  auto d = dur_ok(".08940108940h");
  EXPECT_EQ(d, 321843922us);
  EXPECT_EQ(format_duration(d), "321843922us");
  EXPECT_EQ(dur_ok(format_duration(d)), d);
  EXPECT_EQ(dur_ok("0.0004us"), 0us);
}

TEST(Duration, FormatsAsWritten) {
  EXPECT_EQ(format_duration(150ms), "150ms");
  EXPECT_EQ(format_duration(5s), "5s");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(0s), "0s");
  EXPECT_EQ(format_duration(infinite_duration), "infinity");
}

TEST(Size, ParsesBinaryAndDecimalUnits) {
  auto ok
    = [](std::string_view t) { return std::get<std::uint64_t>(parse_size(t)); };
  EXPECT_EQ(ok("4096"), 4096u);
  EXPECT_EQ(ok("512KiB"), 512u * 1024);
  EXPECT_EQ(ok("64MiB"), 64u * 1024 * 1024);
  EXPECT_EQ(ok("2GiB"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(ok("1TiB"), 1ull << 40);
  EXPECT_EQ(ok("1.5KiB"), 1536u);
  EXPECT_EQ(ok("3MB"), 3'000'000u);
  EXPECT_EQ(ok("10B"), 10u);
}

TEST(Size, RejectsGarbage) {
  auto err
    = [](std::string_view t) { return std::get<std::string>(parse_size(t)); };
  EXPECT_EQ(err("2GB!"), "invalid size unit 'GB!' in '2GB!' (expected bytes "
                         "or a number and a unit: B, KiB, MiB, GiB, TiB (e.g. "
                         "512KiB, 64MiB))");
  EXPECT_EQ(err("-1"), "invalid size '-1' (expected bytes or a number and a "
                       "unit: B, KiB, MiB, GiB, TiB (e.g. 512KiB, 64MiB))");
  EXPECT_EQ(err("0.5B"), "size '0.5B' is not a whole number of bytes");
  EXPECT_EQ(err("99999999TiB"), "size '99999999TiB' is too large");
}

TEST(Name, AcceptsTheSpecAlphabet) {
  EXPECT_EQ(check_name("db"), "");
  EXPECT_EQ(check_name("w-0"), "");
  EXPECT_EQ(check_name("0day_x"), "");
}

TEST(Name, RejectsOthersWithTheReason) {
  EXPECT_EQ(check_name(""), "name must not be empty");
  EXPECT_EQ(check_name("Db"), "invalid name 'Db' (must start with a "
                              "lower-case letter or a digit)");
  EXPECT_EQ(check_name("_x"), "invalid name '_x' (must start with a "
                              "lower-case letter or a digit)");
  EXPECT_EQ(check_name("a/b"),
            "invalid name 'a/b' (allowed: a-z, 0-9, '_' and '-')");
  EXPECT_EQ(check_name(std::string(65, 'a')),
            "name 'aaaaaaaaaaaaaaaa...' is too long (at most 64 characters)");
}
