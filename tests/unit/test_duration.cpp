#include "base/Duration.hpp"
#include "base/Error.hpp"

#include <catch2/catch.hpp>

using namespace cacheman;
using std::chrono::milliseconds;

TEST_CASE("durations take an integer with a unit; a bare integer is seconds", "[duration]") {
    CHECK(parse_duration("1") == milliseconds(1000));
    CHECK(parse_duration("1500ms") == milliseconds(1500));
    CHECK(parse_duration("1s") == milliseconds(1000));
    CHECK(parse_duration("90m") == milliseconds(90 * 60'000));
    CHECK(parse_duration("2h") == milliseconds(2 * 3'600'000));
    CHECK(parse_duration("7d") == milliseconds(7LL * 86'400'000));
}

TEST_CASE("anything else is a usage error", "[duration]") {
    for (const char* bad : {"", "0", "0s", "-1s", "+1s", "1.5s", "1w", "s", "abc", "1 s", "1S",
                            "10sec", "99999999999999999999", "40000d"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_duration(bad), UsageError);
    }
}
