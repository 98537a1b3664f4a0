#include "base/Error.hpp"
#include "base/Size.hpp"

#include <catch2/catch.hpp>

using namespace cacheman;

TEST_CASE("sizes are bytes or a number with a power of 1024", "[size]") {
    CHECK(parse_size("1") == 1);
    CHECK(parse_size("1000") == 1000);
    CHECK(parse_size("512K") == 512 * 1024);
    CHECK(parse_size("512k") == 512 * 1024);
    CHECK(parse_size("100M") == 100LL * 1024 * 1024);
    CHECK(parse_size("100MB") == 100LL * 1024 * 1024);
    CHECK(parse_size("100mib") == 100LL * 1024 * 1024);
    CHECK(parse_size("100MiB") == 100LL * 1024 * 1024);
    CHECK(parse_size("2G") == 2LL * 1024 * 1024 * 1024);
    CHECK(parse_size("2gb") == 2LL * 1024 * 1024 * 1024);
    CHECK(parse_size("3T") == 3LL * 1024 * 1024 * 1024 * 1024);
}

TEST_CASE("anything else is not a size", "[size]") {
    for (const char* bad : {"",        "0",    "0K",    "-1",   "+1",
                            "-5M",     "1.5G", "1 M",   " 1",   "1M ",
                            "M",       "1X",   "1KK",   "1Kb2", "1B",
                            "1iB",     "1Mi",  "1MIBB", "abc",  "99999999999999999999",
                            "5000000T"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_size(bad), UsageError);
    }
}

TEST_CASE("a size is shown in the largest unit that divides it", "[size]") {
    CHECK(format_size(1) == "1");
    CHECK(format_size(1000) == "1000");
    CHECK(format_size(1024) == "1K");
    CHECK(format_size(1536) == "1536");
    CHECK(format_size(100LL * 1024 * 1024) == "100M");
    CHECK(format_size(2LL * 1024 * 1024 * 1024) == "2G");
    CHECK(format_size(1024LL * 1024 * 1024 * 1024 * 1024) == "1024T");
    for (const std::int64_t n : {1LL, 1023LL, 1024LL, 3LL << 40, 123456789LL}) {
        CHECK(parse_size(format_size(n)) == n);
    }
}

TEST_CASE("a count of entries is a positive integer", "[size]") {
    CHECK(parse_count("1") == 1);
    CHECK(parse_count("1000") == 1000);
    for (const char* bad : {"", "0", "-1", "+1", "1K", "1.0", " 1", "99999999999999999999"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_count(bad), UsageError);
    }
}
