#include "FakeEnv.hpp"
#include "base/Clock.hpp"
#include "base/Error.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>

using namespace cacheman;

namespace {

double system_now() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace

TEST_CASE("CACHEMAN_NOW is the time when CACHEMAN_TEST=1", "[clock]") {
    CHECK(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", "1700000000"}})) ==
          1'700'000'000.0);
    CHECK(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", "1700000000.25"}})) ==
          1'700'000'000.25);
    CHECK(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", "0"}})) == 0.0);
    CHECK(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", "253402300799"}})) ==
          253'402'300'799.0);
}

TEST_CASE("without CACHEMAN_TEST=1 CACHEMAN_NOW is ignored, even when invalid", "[clock]") {
    for (const char* test : {"", "0", "yes", "true", " 1", "1 "}) {
        INFO(test);
        CHECK_FALSE(test_clock_time(test::fake_env({{"CACHEMAN_TEST", test}, {"CACHEMAN_NOW", "5"}})));
        CHECK_FALSE(test_clock_time(test::fake_env({{"CACHEMAN_TEST", test}, {"CACHEMAN_NOW", "x"}})));
    }
    CHECK_FALSE(test_clock_time(test::fake_env({{"CACHEMAN_NOW", "1700000000"}})));
}

TEST_CASE("an unset or empty CACHEMAN_NOW leaves the system clock", "[clock]") {
    CHECK_FALSE(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}})));
    CHECK_FALSE(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", ""}})));
}

TEST_CASE("an invalid CACHEMAN_NOW under CACHEMAN_TEST=1 is a usage error", "[clock]") {
    for (const char* bad : {"x", "-1", "+1", "1e9", "1.", ".5", "1.5.5", " 1", "1 ", "1s", "0x10",
                            "inf", "nan", "253402300800", "99999999999999999999"}) {
        INFO(bad);
        CHECK_THROWS_AS(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", bad}})),
                        UsageError);
    }
    CHECK_THROWS_WITH(test_clock_time(test::fake_env({{"CACHEMAN_TEST", "1"}, {"CACHEMAN_NOW", "soon"}})),
                      Catch::Contains("invalid CACHEMAN_NOW 'soon'"));
}

TEST_CASE("unix_now uses an injected clock before anything else", "[clock]") {
    CHECK(unix_now([] { return 42.5; }) == 42.5);
}

TEST_CASE("unix_now without a clock is the system clock when no test clock is set", "[clock]") {
    if (process_test_clock_time()) {
        return; // the unit tests run under CACHEMAN_TEST=1 with CACHEMAN_NOW set
    }
    const double before = system_now();
    const double now = unix_now();
    const double after = system_now();
    CHECK(before <= now);
    CHECK(now <= after);
}
